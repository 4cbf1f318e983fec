"""How a bracket's exits look on each market, and the filter checks for them.

Spot has no reduce-only and few conditional types (every symbol in the 2024 snapshot offers
STOP_LOSS_LIMIT but not STOP_LOSS), so each take-profit slice is an OCO of a LIMIT_MAKER target
and a STOP_LOSS_LIMIT stop for the same quantity: every slice must pass the filters at *both*
prices. USD-M has reduce-only orders: each take-profit slice is a reduce-only LIMIT resting on the
book (maker fee, no trigger slippage, exempt from MIN_NOTIONAL, and on the safe side of
PERCENT_PRICE since a target is beyond the market), and the stop is one reduce-only STOP_MARKET
algo order for the position's quantity. A quantity rather than ``closePosition`` so the stop
says exactly what it protects: the bracket re-places it smaller when a take profit fills, and
reconciliation can compare it with the position.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderType
from tradeterm.trading.filters import FilterViolation, Market, SymbolFilters
from tradeterm.trading.ids import client_order_id, list_client_order_id
from tradeterm.trading.intents import OrderSpec


@dataclass(frozen=True, slots=True)
class ExitShape:
    take_profit_type: OrderType
    stop_type: OrderType
    oco_per_leg: bool
    reduce_only: bool


_SHAPES = {
    Market.SPOT: ExitShape(
        OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT, oco_per_leg=True, reduce_only=False
    ),
    Market.USDM: ExitShape(
        OrderType.LIMIT, OrderType.STOP_MARKET, oco_per_leg=False, reduce_only=True
    ),
}


def exit_shape(market: Market) -> ExitShape:
    return _SHAPES[market]


def opposite(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY


def stop_limit_price(
    position_side: Side, stop: Decimal, slippage: Decimal, filters: SymbolFilters
) -> Decimal:
    """Limit price of a STOP_LOSS_LIMIT: ``slippage`` beyond the stop, rounded further away.

    An unfilled stop-limit in a fast market is the real danger, so this price rounds away from
    the stop (long: down, short: up), giving the order more room, never less.
    """
    if position_side is Side.BUY:
        return filters.round_price(stop * (1 - slippage), "down")
    return filters.round_price(stop * (1 + slippage), "up")


def validate_take_profit(
    filters: SymbolFilters,
    position_side: Side,
    price: Decimal,
    qty: Decimal,
    reference: Decimal | None,
) -> list[FilterViolation]:
    """Checks for one take-profit slice as the order that will carry it."""
    shape = exit_shape(filters.market)
    return filters.validate(
        price,
        qty,
        opposite(position_side),
        shape.take_profit_type,
        reference,
        reduce_only=shape.reduce_only,
    )


def validate_stop(
    filters: SymbolFilters,
    position_side: Side,
    stop: Decimal,
    qty: Decimal,
    reference: Decimal | None,
    slippage: Decimal,
) -> list[FilterViolation]:
    """Checks for a stop order of ``qty`` (spot: one OCO slice; USD-M: the whole position)."""
    shape = exit_shape(filters.market)
    side = opposite(position_side)
    if shape.stop_type is OrderType.STOP_LOSS_LIMIT:
        limit = stop_limit_price(position_side, stop, slippage, filters)
        return filters.validate(limit, qty, side, shape.stop_type, reference, stop_price=stop)
    return filters.validate(
        stop, qty, side, shape.stop_type, reference, reduce_only=shape.reduce_only
    )


# ------------------------------------------------------------------ order specs
def take_profit_order(
    decision_id: str, filters: SymbolFilters, position_side: Side, index: int, revision: int,
    quantity: Decimal, price: Decimal,
) -> OrderSpec:  # fmt: skip
    """Spot: the LIMIT_MAKER half of OCO ``index``; USD-M: a reduce-only LIMIT at the target."""
    shape = exit_shape(filters.market)
    cid = client_order_id(decision_id, OrderLeg.TP, index, revision)
    side = opposite(position_side)
    if shape.oco_per_leg:
        return OrderSpec(
            client_order_id=cid, leg=OrderLeg.TP, index=index, side=side, order_type=shape.take_profit_type,
            quantity=quantity, price=price, list_client_order_id=list_client_order_id(decision_id, index, revision),
        )  # fmt: skip
    return OrderSpec(
        client_order_id=cid, leg=OrderLeg.TP, index=index, side=side, order_type=shape.take_profit_type,
        quantity=quantity, price=price, reduce_only=True,
    )  # fmt: skip


def stop_order(
    decision_id: str, filters: SymbolFilters, position_side: Side, index: int, revision: int,
    quantity: Decimal, stop: Decimal, slippage: Decimal,
) -> OrderSpec:  # fmt: skip
    """Spot: the STOP_LOSS_LIMIT half of OCO ``index`` (index 0: a lone stop, no TPs); USD-M: the
    one reduce-only STOP_MARKET (an algo order) for ``quantity``, the open position."""
    shape = exit_shape(filters.market)
    cid = client_order_id(decision_id, OrderLeg.STOP, index, revision)
    side = opposite(position_side)
    if shape.oco_per_leg:
        return OrderSpec(
            client_order_id=cid, leg=OrderLeg.STOP, index=index, side=side, order_type=shape.stop_type,
            quantity=quantity, stop_price=stop, price=stop_limit_price(position_side, stop, slippage, filters),
            list_client_order_id=list_client_order_id(decision_id, index, revision) if index else None,
        )  # fmt: skip
    return OrderSpec(
        client_order_id=cid, leg=OrderLeg.STOP, index=index, side=side, order_type=shape.stop_type,
        quantity=quantity, stop_price=stop, reduce_only=True,
    )  # fmt: skip


def close_order(
    decision_id: str, filters: SymbolFilters, position_side: Side, revision: int, quantity: Decimal
) -> OrderSpec:
    """Flatten at market; reduce-only where the venue has it, so it can never open a position."""
    return OrderSpec(
        client_order_id=client_order_id(decision_id, OrderLeg.CLOSE, 0, revision), leg=OrderLeg.CLOSE,
        side=opposite(position_side), order_type=OrderType.MARKET, quantity=quantity,
        reduce_only=filters.market is Market.USDM,
    )  # fmt: skip


# ------------------------------------------------------------------ exits against the market
def already_crossed(position_side: Side, spec: OrderSpec, last: Decimal) -> bool:
    """The market is already at or past this exit's price: a stop would trigger at once (spot
    OCO: -2010 "relationship of the prices"; USD-M STOP_MARKET: -2021), a take profit would take
    liquidity (a LIMIT_MAKER cannot)."""
    long = position_side is Side.BUY
    if spec.leg is OrderLeg.STOP and spec.stop_price is not None:
        return last <= spec.stop_price if long else last >= spec.stop_price
    if spec.leg is OrderLeg.TP and spec.price is not None:
        return last >= spec.price if long else last <= spec.price
    return False


def take_profit_now(spec: OrderSpec) -> OrderSpec:
    """A take-profit slice whose target the market already passed: sold at market, alone (its
    OCO stop half is not needed for a slice that closes at once)."""
    return spec.model_copy(
        update={"order_type": OrderType.MARKET, "price": None, "list_client_order_id": None}
    )
