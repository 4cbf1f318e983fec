"""The filters against every symbol of the real exchangeInfo snapshots.

The oracle below re-implements the documented rules straight from the raw JSON (not from the
parsed model), so a parsing slip or a wrong rule in ``SymbolFilters.validate`` shows up as a
disagreement in either direction: a rounded order the code calls valid must pass the oracle,
and one the oracle accepts must not be refused by the code.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.trading.helpers import spot_symbols, usdm_symbols
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderType
from tradeterm.trading.decimals import decimals
from tradeterm.trading.filters import Market, PriceRole, SymbolFilters, price_direction

D = Decimal


def _raw(entry: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((f for f in entry["filters"] if f["filterType"] == kind), None)


def _all() -> list[tuple[dict[str, Any], SymbolFilters]]:
    return [(e, SymbolFilters.from_exchange_info(e)) for e in (*spot_symbols(), *usdm_symbols())]


ALL = _all()


def oracle(
    entry: dict[str, Any],
    price: Decimal | None,
    qty: Decimal,
    side: Side,
    market_order: bool,
    reference: Decimal,
) -> list[str]:
    """Binance's rules as the reference sheet words them, from the raw filters."""
    futures = "contractType" in entry
    bad: list[str] = []
    with localcontext() as ctx:
        ctx.prec = 100
        pf = _raw(entry, "PRICE_FILTER")
        if price is not None and pf:
            lo, hi, tick = D(pf["minPrice"]), D(pf["maxPrice"]), D(pf["tickSize"])
            if (lo and price < lo) or (hi and price > hi) or (tick and price % tick != 0):
                bad.append("PRICE_FILTER")
        for kind in ("LOT_SIZE", "MARKET_LOT_SIZE") if market_order else ("LOT_SIZE",):
            lot = _raw(entry, kind)
            if lot:
                lo, hi, step = D(lot["minQty"]), D(lot["maxQty"]), D(lot["stepSize"])
                if qty <= 0 or (lo and qty < lo) or (hi and qty > hi) or (step and qty % step != 0):
                    bad.append(kind)
        value = (reference if market_order else price) * qty  # type: ignore[operator]
        if futures:
            mn = _raw(entry, "MIN_NOTIONAL")
            if mn and value < D(mn["notional"]):
                bad.append("MIN_NOTIONAL")
            pp = _raw(entry, "PERCENT_PRICE")
            if pp and price is not None:
                if side is Side.BUY and price > reference * D(pp["multiplierUp"]):
                    bad.append("PERCENT_PRICE")
                if side is Side.SELL and price < reference * D(pp["multiplierDown"]):
                    bad.append("PERCENT_PRICE")
            qd, pd = entry["quantityPrecision"], entry["pricePrecision"]
        else:
            nf = _raw(entry, "NOTIONAL")
            if nf:
                if (not market_order or nf["applyMinToMarket"]) and value < D(nf["minNotional"]):
                    bad.append("NOTIONAL")
                if (
                    (not market_order or nf["applyMaxToMarket"])
                    and D(nf["maxNotional"])
                    and value > D(nf["maxNotional"])
                ):
                    bad.append("NOTIONAL")
            pp = _raw(entry, "PERCENT_PRICE_BY_SIDE")
            if pp and price is not None:
                up, down = (
                    ("bidMultiplierUp", "bidMultiplierDown")
                    if side is Side.BUY
                    else ("askMultiplierUp", "askMultiplierDown")
                )
                if not reference * D(pp[down]) <= price <= reference * D(pp[up]):
                    bad.append("PERCENT_PRICE_BY_SIDE")
            qd, pd = entry["baseAssetPrecision"], entry["quoteAssetPrecision"]
        if decimals(qty) > qd or (price is not None and decimals(price) > pd):
            bad.append("PRECISION")
    return bad


def _log_uniform(lo: Decimal, hi: Decimal, u: float) -> Decimal:
    x = math.exp(math.log(float(lo)) + u * (math.log(float(hi)) - math.log(float(lo))))
    return D(repr(x))


@st.composite
def orders(
    draw: st.DrawFn,
) -> tuple[dict[str, Any], SymbolFilters, Decimal, Decimal, Side, PriceRole, Decimal]:
    entry, f = draw(st.sampled_from(ALL))
    pf = _raw(entry, "PRICE_FILTER")
    assert pf is not None
    lo = max(D(pf["minPrice"]), D(pf["tickSize"]), D("1e-8"))
    hi = D(pf["maxPrice"]) or lo * 10**6
    price = min(
        max(_log_uniform(lo, hi, draw(st.floats(0, 1))), lo), hi
    )  # float log/exp may overshoot
    # Sizes around the notional minimum (where rounding decides validity) and far above it.
    notional = _log_uniform(D("0.01"), D("5e6"), draw(st.floats(0, 1)))
    qty = D(repr(float(notional / price)))
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    role = draw(st.sampled_from(list(PriceRole)))
    reference = price * D(repr(draw(st.floats(0.3, 3.0))))
    return entry, f, price, qty, side, role, reference


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders())
def test_rounded_limit_orders_agree_with_the_raw_rules(case: tuple) -> None:
    entry, f, price, qty, side, role, reference = case
    r = f.round_order(
        price=price,
        quantity=qty,
        side=side,
        order_type=OrderType.LIMIT,
        role=role,
        reference_price=reference,
    )
    assert r.price is not None
    tick = D(_raw(entry, "PRICE_FILTER")["tickSize"])  # type: ignore[index]
    step = D(_raw(entry, "LOT_SIZE")["stepSize"])  # type: ignore[index]
    with localcontext() as ctx:
        ctx.prec = 100
        # On the grid, exactly.
        assert r.price % tick == 0 and r.quantity % step == 0
        # Moved by less than one tick/step, in the documented direction.
        position_side = (
            side if role is PriceRole.ENTRY else (Side.SELL if side is Side.BUY else Side.BUY)
        )
        if price_direction(role, position_side) == "down":
            assert price - tick < r.price <= price
        else:
            assert price <= r.price < price + tick
        assert qty - step < r.quantity <= qty
    # Valid per the code <=> valid per the raw rules; and "valid" means validate() says so.
    expected = oracle(entry, r.price, r.quantity, side, False, reference)
    assert r.valid == (not expected), (entry["symbol"], r, expected)
    if r.valid:
        assert f.validate(r.price, r.quantity, side, OrderType.LIMIT, reference) == []
    else:
        assert {v.filter for v in r.violations} == set(expected)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders())
def test_rounded_market_orders_agree_with_the_raw_rules(case: tuple) -> None:
    entry, f, _price, qty, side, _, reference = case
    r = f.round_order(
        price=None,
        quantity=qty,
        side=side,
        order_type=OrderType.MARKET,
        role=PriceRole.ENTRY,
        reference_price=reference,
    )
    expected = oracle(entry, None, r.quantity, side, True, reference)
    assert r.valid == (not expected), (entry["symbol"], r, expected)
    assert f.validate(None, r.quantity, side, OrderType.MARKET, reference) == list(r.violations)


def test_every_symbol_parses_and_accepts_a_comfortable_order() -> None:
    """Exhaustive over all 1,686 symbols: a mid-range price and a size well inside the limits
    round to an order that the code and the raw rules both accept."""
    seen = {Market.SPOT: 0, Market.USDM: 0}
    for entry, f in ALL:
        seen[f.market] += 1
        pf, lot = _raw(entry, "PRICE_FILTER"), _raw(entry, "LOT_SIZE")
        assert pf is not None and lot is not None
        assert f.tick_size == D(pf["tickSize"]) and f.quantity_step() == D(lot["stepSize"])
        assert f.market is (Market.USDM if "contractType" in entry else Market.SPOT)
        lo = max(D(pf["minPrice"]), D(pf["tickSize"]))
        price = f.round_entry(
            Side.BUY, lo * 1000 if not D(pf["maxPrice"]) or lo * 1000 < D(pf["maxPrice"]) else lo
        )
        min_notional = max((n.min_notional for n in f.notional_filters), default=D(0))
        qty = max(f.min_quantity(), (min_notional * 3) / price) * 2
        max_qty = f.max_quantity()
        if max_qty is not None:
            qty = min(qty, max_qty)
        r = f.round_order(
            price=price,
            quantity=qty,
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            role=PriceRole.ENTRY,
            reference_price=price,
        )
        assert r.valid, (entry["symbol"], r)
        assert oracle(entry, r.price, r.quantity, Side.BUY, False, price) == []
    assert seen == {Market.SPOT: 1248, Market.USDM: 438}
