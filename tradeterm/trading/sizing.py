"""Position size from risk: quantity = 1R / loss per unit at the stop, then every cap.

The size is the smallest of what the risk allows and what the account, the user's notional cap
and the exchange's maximums allow, rounded *down* to the step so the loss at the stop never
exceeds 1R. Every cap that bit is named, because "why is my size smaller than I expected" is
the first question a trader asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from tradeterm.contracts.base import Side
from tradeterm.trading.decimals import floor_quotient_to_step, fmt
from tradeterm.trading.fees import FeeRates
from tradeterm.trading.filters import SymbolFilters


@dataclass(frozen=True, slots=True)
class SizeResult:
    quantity: Decimal  # on the step, after every cap
    raw_quantity: Decimal  # 1R / loss per unit, before rounding and caps
    loss_per_unit: Decimal
    risk_amount: Decimal  # 1R
    actual_risk: Decimal  # quantity × loss per unit (≤ 1R)
    notional: Decimal
    caps: tuple[str, ...]


def loss_per_unit(entry: Decimal, stop: Decimal, fees: FeeRates | None = None) -> Decimal:
    """What one unit loses if stopped out; with ``fees``, both sides are charged taker."""
    loss = abs(entry - stop)
    if fees is not None:
        loss += entry * fees.taker + stop * fees.taker
    return loss


def size_position(
    *,
    entry: Decimal,
    stop: Decimal,
    risk_amount: Decimal,
    available: Decimal,
    filters: SymbolFilters,
    step: Decimal,
    leverage: int = 1,
    max_notional: Decimal | None = None,
    fees: FeeRates | None = None,
    include_fees_in_risk: bool = False,
    market_order: bool = False,
) -> SizeResult:
    """Size a position entered at ``entry`` with its stop at ``stop``.

    Caps: ``max_notional``; buying power ``available × leverage`` after the entry commission
    (taker, so a marketable limit still fits); LOT_SIZE/MARKET_LOT_SIZE maxQty; NOTIONAL
    maxNotional. ``step`` is the grid of the whole bracket (see ``bracket_quantity_step``).
    Raises ``ValueError`` for a zero stop distance: there is no size for an undefined risk.
    """
    if entry <= 0:
        raise ValueError(f"entry {fmt(entry)} must be positive")
    loss = loss_per_unit(entry, stop, fees if include_fees_in_risk else None)
    if entry == stop or loss <= 0:
        raise ValueError("stop distance is zero")
    fee_rate = fees.taker if fees is not None else Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 50
        raw = risk_amount / loss
        limits: list[tuple[Decimal, str]] = [
            (floor_quotient_to_step(risk_amount, loss, step), "risk")
        ]
        if max_notional is not None:
            limits.append(
                (
                    floor_quotient_to_step(max_notional, entry, step),
                    f"max notional {fmt(max_notional)}",
                )
            )
        per_unit_cost = entry / leverage + entry * fee_rate
        where = f"available {fmt(available)}" + (f" x {leverage} leverage" if leverage > 1 else "")
        limits.append((floor_quotient_to_step(available, per_unit_cost, step), where))
        max_qty = filters.max_quantity(market_order=market_order)
        if max_qty is not None:
            limits.append(
                (floor_quotient_to_step(max_qty, Decimal(1), step), f"maxQty {fmt(max_qty)}")
            )
        for f in filters.notional_filters:
            if f.max_notional > 0 and (not market_order or f.apply_max_to_market):
                limits.append(
                    (
                        floor_quotient_to_step(f.max_notional, entry, step),
                        f"{f.filter_type} maxNotional {fmt(f.max_notional)}",
                    )
                )
        by_risk = limits[0][0]
        quantity = min(q for q, _ in limits)
        caps = tuple(
            f"size capped by {label}: {fmt(q)} instead of {fmt(by_risk)}"
            for q, label in limits[1:]
            if q < by_risk and q == quantity
        )
        return SizeResult(
            quantity=quantity,
            raw_quantity=raw,
            loss_per_unit=loss,
            risk_amount=risk_amount,
            actual_risk=quantity * loss,
            notional=quantity * entry,
            caps=caps,
        )


def liquidation_price(
    side: Side,
    entry: Decimal,
    leverage: int,
    maintenance_margin_rate: Decimal,
    cum_per_unit: Decimal = Decimal(0),
) -> Decimal:
    """Isolated-margin liquidation estimate for a lone USD-M position (one-way mode).

    Liquidation is where margin balance meets maintenance margin:
    ``Q·E/L + s·Q·(P − E) = Q·P·MMR − cum`` with ``s`` = +1 long, −1 short, which gives
    long ``P = (E·(1 − 1/L) − cum/Q) / (1 − MMR)`` and short ``P = (E·(1 + 1/L) + cum/Q) / (1 + MMR)``.
    ``cum_per_unit`` is Binance's bracket maintenance amount "cum" divided by the quantity; funding and fees are
    ignored, so treat the result as an estimate. A long at 1x never liquidates (returns 0).
    """
    with localcontext() as ctx:
        ctx.prec = 50
        inv = Decimal(1) / leverage
        if side is Side.BUY:
            return max(
                Decimal(0), (entry * (1 - inv) - cum_per_unit) / (1 - maintenance_margin_rate)
            )
        return (entry * (1 + inv) + cum_per_unit) / (1 + maintenance_margin_rate)
