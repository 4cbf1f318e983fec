"""Symbol filters, checked the way Binance checks them, each failing with its own message
(``-1013 Filter failure: <NAME>``). Pure functions: the engine calls them, so the paper broker
that reuses the engine rejects exactly what Binance would."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeterm.venue.errors import ZERO_NOTIONAL, filter_failure, rejected
from tradeterm.venue.symbols import SymbolRules

LIMIT_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
ALGO_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
MARKET_TYPES = frozenset({"MARKET", "STOP_LOSS", "TAKE_PROFIT"})


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """What the filters need to know about one order."""

    side: str
    type: str
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None


def _multiple(x: Decimal, step: Decimal) -> bool:
    return step == 0 or (x % step) == 0


def check_price_filter(rules: SymbolRules, price: Decimal) -> None:
    if price <= 0:
        raise filter_failure("PRICE_FILTER")
    if rules.min_price > 0 and price < rules.min_price:
        raise filter_failure("PRICE_FILTER")
    if rules.max_price > 0 and price > rules.max_price:
        raise filter_failure("PRICE_FILTER")
    if not _multiple(price, rules.tick_size):
        raise filter_failure("PRICE_FILTER")


def check_order(rules: SymbolRules, o: OrderCheck, *, ref_price: Decimal, open_orders: int,
                open_algo_orders: int) -> None:
    """Raise the first failing filter, in the order Binance lists them for a new order.

    ``ref_price`` is the avgPrice (``avgPriceMins`` VWAP) the percent and notional filters use;
    the counts are the symbol's open orders before this one."""
    for p in (o.price, o.stop_price):
        if p is not None:
            check_price_filter(rules, p)
    if o.price is not None and o.type in LIMIT_TYPES and ref_price > 0:
        lo, hi = ref_price * rules.percent_down, ref_price * rules.percent_up
        if not lo <= o.price <= hi:
            raise filter_failure("PERCENT_PRICE_BY_SIDE")
    if o.quantity is not None:
        q = o.quantity
        if q < rules.min_qty or q > rules.max_qty or not _multiple(q, rules.step_size):
            raise filter_failure("LOT_SIZE")
        if o.type in MARKET_TYPES:
            mmax = rules.market_max_qty or rules.max_qty
            if q > mmax:
                raise filter_failure("MARKET_LOT_SIZE")
    if o.type == "MARKET":
        notional = o.quote_order_qty if o.quote_order_qty is not None else (o.quantity or Decimal(0)) * ref_price
        if notional <= 0:
            raise rejected(ZERO_NOTIONAL)
        if notional < rules.min_notional:
            raise filter_failure("NOTIONAL")
    else:
        px = o.price if o.type in LIMIT_TYPES else o.stop_price
        notional = (px or Decimal(0)) * (o.quantity or Decimal(0))
        if notional <= 0:
            raise rejected(ZERO_NOTIONAL)
        if notional < rules.min_notional or notional > rules.max_notional:
            raise filter_failure("NOTIONAL")
    if open_orders + 1 > rules.max_num_orders:
        raise filter_failure("MAX_NUM_ORDERS")
    if o.type in ALGO_TYPES and open_algo_orders + 1 > rules.max_num_algo_orders:
        raise filter_failure("MAX_NUM_ALGO_ORDERS")
