"""Commission rates and the fee arithmetic that sizing, break-even and the preview share."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.contracts.base import Side


class FeeRates(BaseModel):
    """Maker and taker commission as fractions of notional (0.001 = 0.1 %).

    Defaults are Binance spot's base tier, the dearest common case: a size computed with them
    never risks more than 1R on a cheaper account.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    maker: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    taker: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)

    def rate(self, *, maker: bool) -> Decimal:
        return self.maker if maker else self.taker


def fee(notional: Decimal, rate: Decimal) -> Decimal:
    return notional * rate


def break_even_price(
    side: Side, avg_entry: Decimal, entry_rate: Decimal, exit_rate: Decimal
) -> Decimal:
    """The exit price at which a position nets zero after paying both commissions.

    Long: ``P·(1−exit) = E·(1+entry)``; short: ``P·(1+exit) = E·(1−entry)``. Unrounded; the
    caller rounds with the stop rule (long up, short down) so the result never loses money.
    """
    if side is Side.BUY:
        return avg_entry * (1 + entry_rate) / (1 - exit_rate)
    return avg_entry * (1 - entry_rate) / (1 + exit_rate)
