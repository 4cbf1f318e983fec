"""The matching engine's fill rules, driven through the replay walk (no HTTP): hand-made bars make
every expected fill computable by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.venue.conftest import btc_source, venue_config
from tradeterm.venue.errors import VenueError
from tradeterm.venue.matching import ExecEvent, ListEvent, OrderSpec
from tradeterm.venue.venue import Venue


def make_venue(bars: list[tuple[float, float, float, float]], **kw: object) -> Venue:
    return Venue(venue_config([btc_source(bars)], **kw))


def spec(side: str, type_: str, qty: str, price: str | None = None, stop: str | None = None,
         tif: str | None = None, cid: str | None = None) -> OrderSpec:
    return OrderSpec("BTCUSDT", side, type_, quantity=D(qty), price=D(price) if price else None,
                     stop_price=D(stop) if stop else None, time_in_force=tif, client_order_id=cid)


def test_resting_limit_fills_at_its_price_as_maker_with_fee_in_base() -> None:
    v = make_venue([(100, 100.5, 99, 99.5), (99.5, 100, 99.4, 99.8)])
    o, fills = v.engine.place_order(spec("BUY", "LIMIT", "1", "99.2", tif="GTC"), v.market_ms)
    assert fills == [] and o.status == "NEW"
    assert v.engine.locked["USDT"] == D("99.2") and v.engine.free["USDT"] == D("9900.8")
    v.step_bars(1)
    assert o.status == "FILLED" and o.cum_quote == D("99.2")
    tr = v.engine.trades["BTCUSDT"][-1]
    assert tr.is_maker and tr.price == D("99.2") and tr.commission == D("0.001") and tr.commission_asset == "BTC"
    assert v.engine.free["BTC"] == D("1.999") and v.engine.locked["USDT"] == 0
    assert v.engine.free["USDT"] == D("9900.8")


def test_limit_not_reached_stays_open() -> None:
    v = make_venue([(100, 100.5, 99.5, 100)] * 3)
    o, _ = v.engine.place_order(spec("BUY", "LIMIT", "1", "99.4", tif="GTC"), v.market_ms)
    v.step_bars(3)
    assert o.status == "NEW"


def _oco(v: Venue, tp: str = "102", sl: str = "98") -> list:
    _ol, legs = v.engine.place_oco("BTCUSDT", spec("SELL", "LIMIT_MAKER", "0.5", tp),
                                  spec("SELL", "STOP_LOSS", "0.5", stop=sl), None, v.market_ms)
    return legs


def test_bar_touching_both_oco_legs_fills_the_stop_even_when_the_target_comes_first() -> None:
    # Down bar: the path visits the high (103, target) before the low (97, stop).
    v = make_venue([(100, 103, 97, 99)])
    stop, target = _oco(v)
    assert stop.type == "STOP_LOSS"  # Binance lists the stop leg first
    v.step_bars(1)
    assert stop.status == "FILLED" and target.status == "EXPIRED" and target.expiry_reason == "OCO_TRIGGER"
    ol = v.engine.lists[stop.order_list_id]
    assert ol.list_order_status == "ALL_DONE"
    assert v.engine.locked["BTC"] == 0 and v.engine.free["BTC"] == D("0.5")


def test_target_fills_when_the_rest_of_the_bar_misses_the_stop() -> None:
    v = make_venue([(100, 103, 99, 99.5)])
    stop, target = _oco(v)
    v.step_bars(1)
    assert target.status == "FILLED" and stop.status == "EXPIRED"
    assert v.engine.trades["BTCUSDT"][-1].price == D(102)


def test_cancelling_one_oco_leg_cancels_the_list_and_unlocks_once() -> None:
    v = make_venue([(100, 100.5, 99.5, 100)])
    stop, target = _oco(v)
    assert v.engine.locked["BTC"] == D("0.5")  # one lock for both legs
    v.engine.cancel_order("BTCUSDT", target, v.market_ms)
    assert stop.status == target.status == "CANCELED"
    assert v.engine.locked["BTC"] == 0 and v.engine.free["BTC"] == D(1)


def _otoco(v: Venue) -> tuple:
    return v.engine.place_oto("BTCUSDT", spec("BUY", "LIMIT", "0.5", "99", tif="GTC"),
                              [spec("SELL", "LIMIT_MAKER", "0.4", "103"), spec("SELL", "STOP_LOSS", "0.4", stop="97")],
                              "bracket1", v.market_ms)


def test_otoco_pair_exists_only_after_the_entry_fills() -> None:
    v = make_venue([(100, 100.5, 98.5, 100), (100, 103.5, 99.5, 103)])
    ol, legs, _fills = _otoco(v)
    entry, stop, tp = legs
    assert [o.status for o in legs] == ["NEW", "PENDING_NEW", "PENDING_NEW"]
    assert stop.working_time == tp.working_time == -1 and v.engine.locked["BTC"] == 0
    v.step_bars(1)
    assert entry.status == "FILLED" and stop.status == "NEW" and tp.status == "NEW"
    assert v.engine.locked["BTC"] == D("0.4")
    v.step_bars(1)
    assert tp.status == "FILLED" and stop.status == "EXPIRED" and ol.list_order_status == "ALL_DONE"
    assert v.engine.locked == {"BTC": 0, "USDT": 0}


def test_otoco_stop_can_fill_later_in_the_entry_bar() -> None:
    v = make_venue([(100, 100.2, 96, 96.5)])  # down bar: entry 99 on the way down, then stop 97
    _ol, legs, _ = _otoco(v)
    v.step_bars(1)
    entry, stop, tp = legs
    assert entry.status == "FILLED" and stop.status == "FILLED" and tp.status == "EXPIRED"


def test_cancelling_the_otoco_entry_cancels_the_pending_pair() -> None:
    v = make_venue([(100, 100.5, 99.5, 100)])
    ol, legs, _ = _otoco(v)
    v.engine.cancel_order("BTCUSDT", legs[0], v.market_ms)
    assert [o.status for o in legs] == ["CANCELED"] * 3 and ol.list_order_status == "ALL_DONE"
    assert v.engine.locked["USDT"] == 0 and v.engine.free["USDT"] == D(10000)


def test_stop_triggers_at_the_open_across_a_gap() -> None:
    v = make_venue([(100, 100.2, 99.8, 100), (95, 95.5, 94.5, 95)])
    o, _ = v.engine.place_order(spec("SELL", "STOP_LOSS", "0.1", stop="98"), v.market_ms)
    v.step(2)  # two thirds into the first bar
    assert o.status == "NEW"
    v.step(1)  # the first bar closes at 100 and the next opens at 95
    assert o.status == "FILLED"
    assert all(t.price <= D(95) for t in v.engine.trades["BTCUSDT"] if t.order_id == o.order_id)


def test_stop_limit_becomes_a_limit_and_fills_when_reached() -> None:
    v = make_venue([(100, 101.5, 99.9, 101.2), (101.2, 101.3, 100.8, 101)])
    o, _ = v.engine.place_order(spec("BUY", "STOP_LOSS_LIMIT", "0.1", "101", stop="101", tif="GTC"), v.market_ms)
    v.step_bars(2)
    assert o.triggered and o.status == "FILLED"


def test_market_order_sweeps_the_synthetic_book_as_taker() -> None:
    v = make_venue([(100, 100.5, 99.5, 100)] * 3)
    o, fills = v.engine.place_order(spec("BUY", "MARKET", "5"), v.market_ms)
    assert o.status == "FILLED" and len(fills) > 1
    assert sum(f.qty for f in fills) == D(5) and not any(f.is_maker for f in fills)
    assert [f.price for f in fills] == sorted(f.price for f in fills)
    assert fills[0].price == v.engine.book("BTCUSDT").best_ask


def test_quote_order_qty_spends_at_most_the_amount() -> None:
    v = make_venue([(100, 100.5, 99.5, 100)] * 3)
    o, _fills = v.engine.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", quote_order_qty=D(50)), v.market_ms)
    assert o.status in ("FILLED", "EXPIRED")
    assert o.cum_quote <= D(50) and o.cum_quote > D(49)


@pytest.mark.parametrize(("order", "msg"), [
    (spec("BUY", "LIMIT_MAKER", "0.1", "100.5"), "Order would immediately match and take."),
    (spec("SELL", "STOP_LOSS", "0.1", stop="100.5"), "Order would trigger immediately."),
    (spec("BUY", "LIMIT", "200", "99", tif="GTC"), "Account has insufficient balance for requested action."),
])
def test_engine_rejections_use_binance_texts(order: OrderSpec, msg: str) -> None:
    v = make_venue([(100, 100.5, 99.5, 100)])
    with pytest.raises(VenueError) as ei:
        v.engine.place_order(order, v.market_ms)
    assert ei.value.code == -2010 and ei.value.msg == msg


def test_duplicate_client_id_rejected_only_while_open() -> None:
    v = make_venue([(100, 100.5, 99, 100)] * 3)
    o, _ = v.engine.place_order(spec("BUY", "LIMIT", "0.1", "99.5", tif="GTC", cid="dup-1"), v.market_ms)
    with pytest.raises(VenueError) as ei:
        v.engine.place_order(spec("BUY", "LIMIT", "0.1", "99.5", tif="GTC", cid="dup-1"), v.market_ms)
    assert (ei.value.code, ei.value.msg) == (-2010, "Duplicate order sent.")
    v.step_bars(1)
    assert o.status == "FILLED"
    o2, _ = v.engine.place_order(spec("BUY", "LIMIT", "0.1", "99.5", tif="GTC", cid="dup-1"), v.market_ms)
    assert o2.order_id != o.order_id


def test_events_follow_the_binance_lifecycle() -> None:
    v = make_venue([(100, 100.5, 98.5, 100)])
    v.engine.drain_events()
    ev: list = []
    v.dispatch_events = lambda: ev.extend(v.engine.drain_events())  # type: ignore[method-assign]
    _otoco(v)
    v.dispatch_events()
    v.step_bars(1)
    seq = [(e.order.order_id, e.exec_type, e.order.status) for e in ev if isinstance(e, ExecEvent)]
    assert seq[:3] == [(1, "NEW", "NEW"), (2, "NEW", "PENDING_NEW"), (3, "NEW", "PENDING_NEW")]
    assert (1, "TRADE", "FILLED") in seq and (2, "NEW", "NEW") in seq and (3, "NEW", "NEW") in seq
    lists = [(e.order_list.list_status_type, e.order_list.list_order_status) for e in ev if isinstance(e, ListEvent)]
    assert lists[0] == ("EXEC_STARTED", "EXECUTING")
