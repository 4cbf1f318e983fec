"""Exits planned against the last price: a stop or spot target the market already passed."""

from __future__ import annotations

from tests.trading.bracket_driver import Driver, make_bracket
from tests.trading.helpers import D, make_spot, make_usdm
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType
from tradeterm.trading.bracket import BracketState
from tradeterm.trading.intents import ClosePosition, PlaceExits

SPOT = make_spot()
USDM = make_usdm()


def _filled(filters):  # type: ignore[no-untyped-def]
    d = Driver(make_bracket(filters))
    d.start()
    d.send(d.id("E"), OrderStatus.NEW)
    (exits,) = d.send(d.id("E"), OrderStatus.FILLED, "0.5", "62000")
    assert isinstance(exits, PlaceExits)
    return d, exits


def test_nothing_crossed_keeps_the_plan() -> None:
    d, exits = _filled(SPOT)
    assert d.b.exits_against_price(exits.orders, D(62000)) is None
    d, exits = _filled(USDM)
    assert d.b.exits_against_price(exits.orders, D(62000)) is None


def test_stop_crossed_closes_at_market() -> None:
    for filters in (SPOT, USDM):
        d, exits = _filled(filters)
        (close,) = d.b.exits_against_price(exits.orders, D(61700))
        assert isinstance(close, ClosePosition)
        assert close.order.order_type is OrderType.MARKET and close.order.quantity == d.b.position
        assert "already crossed" in d.b.log[-1]
        assert d.b.state is not BracketState.ERROR


def test_spot_target_crossed_sells_that_slice_at_market() -> None:
    d, exits = _filled(SPOT)
    tp1 = min((s for s in exits.orders if s.leg is OrderLeg.TP), key=lambda s: s.price)
    (plan,) = d.b.exits_against_price(exits.orders, tp1.price)
    assert isinstance(plan, PlaceExits)
    now = [s for s in plan.orders if s.index == tp1.index]
    assert [(s.leg, s.order_type, s.quantity, s.list_client_order_id) for s in now] == [
        (OrderLeg.TP, OrderType.MARKET, tp1.quantity, None)
    ]
    rest = [s for s in plan.orders if s.index != tp1.index]
    assert rest == [s for s in exits.orders if s.index != tp1.index]
    assert any(s.leg is OrderLeg.STOP for s in rest)


def test_usdm_target_crossed_is_left_alone() -> None:
    # A reduce-only LIMIT past the market just fills: nothing to re-plan.
    d, exits = _filled(USDM)
    top = max(s.price for s in exits.orders if s.leg is OrderLeg.TP)
    assert d.b.exits_against_price(exits.orders, top + 1) is None
