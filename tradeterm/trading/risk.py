"""Risk settings and the account figures sizing reads: what 1R is and what may be spent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeterm.trading.decimals import fmt, to_decimal
from tradeterm.trading.fees import FeeRates
from tradeterm.trading.ladder import DEFAULT_LADDER, LadderSpec


class RiskAmount(BaseModel):
    """1R: a percent of equity (``"1%"``) or a fixed amount of quote currency (``"50"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["percent", "fixed"]
    value: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _bounded(self) -> RiskAmount:
        if self.kind == "percent" and self.value > 100:
            raise ValueError(f"risk {fmt(self.value)}% is more than the whole equity")
        return self

    @classmethod
    def parse(cls, text: str | Decimal | float) -> RiskAmount:
        """``"1%"``/``"0.5 %"`` → percent of equity; ``"50"`` → 50 quote. Errors say which."""
        if isinstance(text, str):
            raw = text.strip()
            percent = raw.endswith("%")
            number = raw.removesuffix("%").strip()
            try:
                value = to_decimal(number, name="risk")
            except ValueError:
                raise ValueError(
                    f"risk {text!r} must be a percent of equity like '1%' or a quote amount like '50'"
                ) from None
        else:
            percent, value = False, to_decimal(text, name="risk")
        if value <= 0:
            raise ValueError(f"risk {text!r} must be above zero")
        if percent and value > 100:
            raise ValueError(f"risk {text!r} is more than the whole equity")
        return cls(kind="percent" if percent else "fixed", value=value)

    def amount(self, equity: Decimal) -> Decimal:
        return equity * self.value / 100 if self.kind == "percent" else self.value

    def __str__(self) -> str:
        return f"{fmt(self.value)}%" if self.kind == "percent" else fmt(self.value)


def _risk_input(value: Any) -> Any:
    return RiskAmount.parse(value) if isinstance(value, (str, int, float, Decimal)) else value


class AccountSnapshot(BaseModel):
    """What the account holds at decision time, in quote currency.

    ``available`` is free quote balance on spot and available margin on USD-M; it caps the size
    (times leverage on futures). ``equity`` is what a percent risk is a percent of.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    equity: Decimal = Field(ge=0)
    available: Decimal = Field(ge=0)
    quote_asset: str | None = None


class RiskConfig(BaseModel):
    """How a signal or ticket is turned into a bracket.

    * ``risk`` — 1R (``"1%"`` of equity or a fixed quote amount);
    * ``include_fees_in_risk`` — size so that the loss at the stop *including* entry and exit
      commission (both taker, the worst case) is 1R;
    * ``max_notional`` — hard cap on position value, whatever the stop distance;
    * ``leverage`` — USD-M only (spot is always 1);
    * ``ladder`` — take-profit levels and splits;
    * ``break_even_on_tp1`` / ``trail_atr_multiple`` — stop management after TP1 / TP2;
    * ``stop_limit_slippage`` — room between a spot STOP_LOSS_LIMIT's trigger and limit;
    * ``maintenance_margin_rate`` — for the liquidation estimate (default: the symbol's).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    risk: RiskAmount = RiskAmount(kind="percent", value=Decimal(1))
    include_fees_in_risk: bool = False
    max_notional: Decimal | None = Field(default=None, gt=0)
    leverage: int = Field(default=1, ge=1, le=125)
    fees: FeeRates = FeeRates()
    ladder: LadderSpec = DEFAULT_LADDER
    break_even_on_tp1: bool = True
    trail_atr_multiple: Decimal | None = Field(default=None, gt=0)
    stop_limit_slippage: Decimal = Field(default=Decimal("0.005"), ge=0, lt=1)
    maintenance_margin_rate: Decimal | None = Field(default=None, ge=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _texts(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "risk" in data:
                data["risk"] = _risk_input(data["risk"])
            if isinstance(data.get("ladder"), (list, str)):
                data["ladder"] = LadderSpec.parse(data["ladder"])
        return data
