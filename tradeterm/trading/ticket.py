"""A bracket typed by a person: the input of ``tradeterm orders bracket`` and the UI panel.

Everything arrives as text (``--entry market --stop 61800 --tp 1.5R:40,2R:30,3R:30 --risk 1%``),
so parsing is where a user learns what is wrong; :meth:`ManualTicket.parse` turns every problem
into one line naming the field, never a traceback or a pydantic dump.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tradeterm.contracts.base import Side, Symbol, Venue
from tradeterm.trading.decimals import fmt, to_decimal
from tradeterm.trading.ladder import LadderSpec
from tradeterm.trading.risk import RiskAmount

_MARKET_WORDS = frozenset({"market", "mkt", "m"})
_SIDES = {"buy": Side.BUY, "long": Side.BUY, "sell": Side.SELL, "short": Side.SELL}


class ManualTicket(BaseModel):
    """Side, entry (a price, or None for market), stop, optional ladder, risk and lifetime.

    ``take_profits`` and ``risk`` left out mean "use the RiskConfig's"; ``ttl_ms`` bounds how
    long an unfilled entry may rest; ``ticket_id`` (set by the UI per submission) makes the
    decision id stable when the same ticket is submitted twice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    venue: Venue
    symbol: Symbol
    side: Side
    entry: Decimal | None = Field(default=None, description="None = market entry")
    stop: Decimal
    take_profits: LadderSpec | None = None
    risk: RiskAmount | None = None
    leverage: int | None = Field(default=None, ge=1, le=125)
    ttl_ms: int | None = Field(default=None, gt=0)
    ticket_id: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, value: Any) -> Any:
        if isinstance(value, str):
            side = _SIDES.get(value.strip().lower())
            if side is None:
                raise ValueError(f"side {value!r} must be buy/long or sell/short")
            return side
        return value

    @field_validator("entry", mode="before")
    @classmethod
    def _entry(cls, value: Any) -> Any:
        if value is None or (
            isinstance(value, str) and value.strip().lower() in _MARKET_WORDS | {""}
        ):
            return None
        try:
            price = to_decimal(value, name="entry")
        except ValueError:
            raise ValueError(f"entry {value!r} must be a price or 'market'") from None
        if price <= 0:
            raise ValueError(f"entry {value!r} must be a positive price")
        return price

    @field_validator("stop", mode="before")
    @classmethod
    def _stop(cls, value: Any) -> Any:
        try:
            price = to_decimal(value, name="stop")
        except ValueError:
            raise ValueError(f"stop {value!r} must be a price") from None
        if price <= 0:
            raise ValueError(f"stop {value!r} must be a positive price")
        return price

    @field_validator("take_profits", mode="before")
    @classmethod
    def _tps(cls, value: Any) -> Any:
        if isinstance(value, (str, list, tuple)) and all(isinstance(v, str) for v in value):
            return LadderSpec.parse(value)
        return value

    @field_validator("risk", mode="before")
    @classmethod
    def _risk(cls, value: Any) -> Any:
        if isinstance(value, (str, int, float, Decimal)) and not isinstance(value, bool):
            return RiskAmount.parse(value)
        return value

    @model_validator(mode="after")
    def _stop_side(self) -> ManualTicket:
        if self.entry is not None:
            if self.stop == self.entry:
                raise ValueError(f"stop {fmt(self.stop)} equals the entry: stop distance is zero")
            if self.side is Side.BUY and self.stop > self.entry:
                raise ValueError(
                    f"a buy needs its stop below the entry ({fmt(self.stop)} >= {fmt(self.entry)})"
                )
            if self.side is Side.SELL and self.stop < self.entry:
                raise ValueError(
                    f"a sell needs its stop above the entry ({fmt(self.stop)} <= {fmt(self.entry)})"
                )
        return self

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ManualTicket:
        """Build from user text; raises ``ValueError`` with one readable line per problem."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                msg = str(err.get("msg", "")).removeprefix("Value error, ")
                field = ".".join(str(p) for p in err.get("loc", ()))
                if err.get("type") == "missing":
                    msg = f"{field} is required"
                elif err.get("type") == "extra_forbidden":
                    msg = f"{field} is not a ticket field"
                elif field and field.split(".")[0] not in msg:
                    msg = f"{field}: {msg}"
                lines.append(msg)
            raise ValueError("; ".join(lines)) from None

    @property
    def is_market(self) -> bool:
        return self.entry is None

    def key(self) -> str:
        """What the decision id is derived from: the ticket id, else the canonical content."""
        if self.ticket_id:
            return "id:" + self.ticket_id
        return (
            "content:"
            + orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS).decode()
        )
