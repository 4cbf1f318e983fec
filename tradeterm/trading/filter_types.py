"""The shapes of exchange filters, shared by the parser and the checks.

Each Binance filter family gets one model whatever its spelling on spot or USD-M (legacy
MIN_NOTIONAL, NOTIONAL, futures MIN_NOTIONAL with ``notional``; three PERCENT_PRICE variants), so
the checks have one rule per family instead of one per payload dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

ZERO = Decimal(0)


class Market(StrEnum):
    """Which Binance product a symbol trades on; decides order shapes and filter semantics."""

    SPOT = "spot"
    USDM = "usdm"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceFilter(Frozen):
    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal


class LotSizeFilter(Frozen):
    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal


class NotionalFilter(Frozen):
    """NOTIONAL (spot), legacy MIN_NOTIONAL (spot) and MIN_NOTIONAL (futures) in one shape."""

    filter_type: Literal["NOTIONAL", "MIN_NOTIONAL"]
    min_notional: Decimal
    max_notional: Decimal = ZERO
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False
    avg_price_mins: int | None = None
    # USD-M: "notional no smaller than 5.0 (unless you choose reduce only)" (-4164).
    reduce_only_exempt: bool = False


class PercentPriceFilter(Frozen):
    """PERCENT_PRICE_BY_SIDE, spot PERCENT_PRICE and futures PERCENT_PRICE in one shape.

    Bounds are multipliers of the reference price (spot: average/reference price, futures: mark
    price); ``None`` means the side has no bound in that direction (futures only bounds a BUY
    from above and a SELL from below).
    """

    filter_type: Literal["PERCENT_PRICE", "PERCENT_PRICE_BY_SIDE"]
    bid_up: Decimal | None
    bid_down: Decimal | None
    ask_up: Decimal | None
    ask_down: Decimal | None
    avg_price_mins: int | None = None
    multiplier_decimal: int | None = None


@dataclass(frozen=True, slots=True)
class FilterViolation:
    """One broken rule, named the way Binance names it so logs match exchange errors."""

    filter: str
    rule: str
    detail: str
    code: int

    @property
    def message(self) -> str:
        if self.filter == "PRECISION":
            return "Precision is over the maximum defined for this asset."
        if self.filter == "ORDER_TYPE":
            return "Unsupported order combination"
        return f"Filter failure: {self.filter}"

    @property
    def is_minimum(self) -> bool:
        """A "too small" failure, which more quantity (merging legs) can cure."""
        return self.rule in ("minQty", "minNotional")

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})"


@dataclass(frozen=True, slots=True)
class RoundedOrder:
    """An order after rounding, with the violations that remain (empty = sendable)."""

    price: Decimal | None
    quantity: Decimal
    stop_price: Decimal | None
    violations: tuple[FilterViolation, ...]

    @property
    def valid(self) -> bool:
        return not self.violations
