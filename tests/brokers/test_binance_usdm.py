"""The Binance USD-M broker against the venue over loopback HTTP and WebSocket: a leveraged long
with a reduce-only TP ladder and an algo stop, break-even after TP1, the stop closing the rest,
events in either arrival order, faults, kill switch, reconciliation, typed errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.brokers.conftest import wait_for
from tests.brokers.usdm_helpers import (
    SYMBOL,
    algos,
    assert_matches_venue,
    assert_protected,
    engine_orders,
    fut,
    open_algos,
    open_engine,
    position,
    usdm_broker,
    usdm_decision,
)
from tradeterm.brokers.binance_usdm import UsdmSetup
from tradeterm.brokers.errors import (
    AlgoEndpointRequired,
    BinanceError,
    FilterRejected,
    KillSwitchTripped,
    MarginInsufficient,
    NotionalTooSmall,
    PositionSideMismatch,
    ReduceOnlyRejected,
    WouldTrigger,
    map_futures_error,
)
from tradeterm.brokers.http import SpotHttp
from tradeterm.brokers.signing import HmacSigner
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType
from tradeterm.store import create_store
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.intents import OrderSpec
from tradeterm.trading.risk import RiskConfig


@pytest.mark.parametrize("fill_first", [True, False], ids=["child-fill-first", "algo-update-first"])
async def test_long_with_leverage_tp1_break_even_then_stop_closes(env: Any, fill_first: bool) -> None:
    e = await env(algo_fill_before_update=fill_first)
    b = await usdm_broker(e)
    eng = fut(e)
    assert eng.leverage[SYMBOL] == 5 and eng.isolated[SYMBOL] and not eng.dual  # setup on start
    d = usdm_decision(b.filters[SYMBOL])
    ack = await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert br is not None and ack.state is BracketState.EXITS_WORKING and br.position == d.quantity
    # Take profits: reduce-only LIMITs on the book; the stop: one reduce-only STOP_MARKET algo.
    tps = sorted(open_engine(e), key=lambda o: o.price)
    assert [(o.type, o.reduce_only, o.orig_qty) for o in tps] == [
        ("LIMIT", True, lv.quantity) for lv in br.levels
    ]  # fmt: skip
    (stop,) = open_algos(e)
    assert (stop.type, stop.trigger_price, stop.quantity, stop.reduce_only, stop.working_type) == (
        "STOP_MARKET", Decimal(95), d.quantity, True, "MARK_PRICE")  # fmt: skip
    assert position(e) == d.quantity
    (pos,) = await b.position_risk()
    assert (pos.symbol, pos.amount, pos.side, pos.position_side) == (SYMBOL, d.quantity, Side.BUY, "BOTH")
    assert br.avg_entry is not None and abs(pos.entry_price - br.avg_entry) < Decimal("0.00000001")
    assert pos.initial_margin > 0
    snap = await b.account_snapshot()  # margin balance; the isolated margin is not available
    acct = await b.futures_account()
    assert snap.equity == acct.margin_balance and snap.available == acct.available_balance < snap.equity
    assert Decimal(9_990) < snap.equity < Decimal(10_000)  # the entry's commission, no PnL yet
    e.step_bars(4)  # the run-up through TP1
    await wait_for(lambda: br.stop_revision == 1 and len(open_algos(e)) == 1
                   and open_algos(e)[0].client_algo_id.endswith("-Sr1"))  # fmt: skip
    be = open_algos(e)[0]
    assert be.trigger_price > br.avg_entry and be.quantity == br.position == d.quantity - br.levels[0].quantity
    assert algos(e, stop.client_algo_id)[0].status == "CANCELED"
    assert_protected(e, br)
    e.step_bars(4)  # the crash: the break-even stop takes the rest, TP2 is cancelled
    await wait_for(lambda: br.state is BracketState.CLOSED and not open_engine(e) and not open_algos(e)
                   and all(r.status.is_final for r in br.orders.values()))  # fmt: skip
    assert position(e) == 0 and br.position == 0
    rec = br.orders[be.client_algo_id]
    assert rec.status is OrderStatus.FILLED and rec.filled_qty == be.quantity
    tp2 = next(r for r in br.orders.values() if r.leg is OrderLeg.TP and r.index == 2)
    assert tp2.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED) and tp2.filled_qty == 0
    assert br.total_realized_pnl > 0  # TP1 plus a break-even stop
    assert_matches_venue(e, br)
    assert await b.position_risk() == []


async def test_stop_hit_cancels_every_take_profit(env: Any) -> None:
    e = await env([(100, 100, 100, 100)] * 3 + [(100, 100, 90, 90)] + [(90, 90, 90, 90)] * 3)
    b = await usdm_broker(e)
    d = usdm_decision(b.filters[SYMBOL], tps=("1R:40", "2R:30", "3R:30"))
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert len(open_engine(e)) == 3 and len(open_algos(e)) == 1
    e.step_bars(4)
    await wait_for(lambda: br.state is BracketState.CLOSED and not open_engine(e) and not open_algos(e)
                   and all(r.status.is_final for r in br.orders.values()))  # fmt: skip
    stop = br.orders[f"tt-{d.decision_id}-S"]
    assert stop.status is OrderStatus.FILLED and stop.order_type is OrderType.STOP_MARKET
    assert all(r.status.is_final and r.filled_qty == 0 for r in br.orders.values() if r.leg is OrderLeg.TP)
    assert position(e) == 0 and br.total_realized_pnl < 0
    assert_matches_venue(e, br)


async def test_short_with_a_market_entry_stopped_out(env: Any) -> None:
    e = await env()  # the run-up to 107 takes a short's stop at 105
    b = await usdm_broker(e)
    d = usdm_decision(b.filters[SYMBOL], side="sell", entry=None, stop="105")
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.EXITS_WORKING and position(e) == -br.position
    (stop,) = open_algos(e)
    assert (stop.side, stop.type, stop.trigger_price, stop.reduce_only) == ("BUY", "STOP_MARKET", Decimal(105), True)
    assert all(o.side == "BUY" and o.reduce_only and o.price < 100 for o in open_engine(e))
    e.step_bars(4)
    await wait_for(lambda: br.state is BracketState.CLOSED and not open_engine(e) and not open_algos(e)
                   and all(r.status.is_final for r in br.orders.values()))  # fmt: skip
    assert position(e) == 0 and br.total_realized_pnl < 0
    assert_matches_venue(e, br)


async def test_completed_take_profit_shrinks_the_stop(env: Any) -> None:
    """Without break-even, TP1 still re-places the stop: same trigger, the remaining quantity."""
    e = await env()
    b = await usdm_broker(e, risk=RiskConfig(leverage=5, break_even_on_tp1=False))
    d = usdm_decision(b.filters[SYMBOL], tps=("1R:40", "2R:30", "3R:30"))
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    e.step_bars(4)
    await wait_for(lambda: br.stop_revision == 1 and [a.client_algo_id[-3:] for a in open_algos(e)] == ["Sr1"])
    (stop,) = open_algos(e)
    assert stop.trigger_price == Decimal(95) and stop.quantity == br.position == d.quantity - br.levels[0].quantity
    assert_protected(e, br)
    e.step_bars(4)
    await wait_for(lambda: br.state is BracketState.CLOSED and not open_engine(e) and not open_algos(e)
                   and all(r.status.is_final for r in br.orders.values()))  # fmt: skip
    assert position(e) == 0
    assert_matches_venue(e, br)


async def test_duplicated_and_reordered_user_data(env: Any) -> None:
    e = await env()
    e.venue.faults.update({"userdata_duplicate": True, "userdata_reorder": True})
    b = await usdm_broker(e)
    d = usdm_decision(b.filters[SYMBOL])
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    e.step_bars(4)
    await wait_for(lambda: br.stop_revision == 1 and [a.client_algo_id[-3:] for a in open_algos(e)] == ["Sr1"])
    e.venue.faults.update({"userdata_reorder": False})
    e.step_bars(4)
    await wait_for(lambda: br.state is BracketState.CLOSED and not open_engine(e) and not open_algos(e)
                   and all(r.status.is_final for r in br.orders.values()))  # fmt: skip
    assert position(e) == 0
    assert_matches_venue(e, br)


# ------------------------------------------------------------------ faults and idempotency
@pytest.mark.parametrize("mode", ["5xx", "timeout"])
async def test_unknown_outcome_is_looked_up_not_resent(env: Any, mode: str) -> None:
    """The entry, both take profits and the algo stop all answer 5xx / time out after the venue
    accepted them: each is found by its client id (algo: clientAlgoId) and placed once."""
    e = await env()
    b = await usdm_broker(e)
    e.venue.faults.update({"fail_orders": 4, "fail_mode": mode, "timeout_s": 0.2})
    d = usdm_decision(b.filters[SYMBOL])
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert e.venue.faults.fail_orders == 0
    assert br.state is BracketState.EXITS_WORKING and br.position == d.quantity
    assert len(engine_orders(e, br.entry_id)) == 1
    assert_matches_venue(e, br)
    assert_protected(e, br)


class DropFirstAlgo(httpx.AsyncBaseTransport):
    """The first algo-order POST never reaches the server: the client sees a timeout."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/fapi/v1/algoOrder" and not self.dropped:
            self.dropped += 1
            raise httpx.ReadTimeout("timed out", request=request)
        return await self.inner.handle_async_request(request)


async def test_lost_stop_is_resent_once_after_the_window(env: Any) -> None:
    e = await env()
    drop = DropFirstAlgo()
    http = SpotHttp(e.server.rest_url, HmacSigner(e.api_key, e.secret), recv_window=500, transport=drop,
                    time_path="/fapi/v1/time", error_mapper=map_futures_error)  # fmt: skip
    b = await usdm_broker(e, http=http)
    d = usdm_decision(b.filters[SYMBOL])
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert drop.dropped == 1
    assert len(algos(e, f"tt-{d.decision_id}-S")) == 1  # provably absent, so sent again, once
    assert_protected(e, br)


# ------------------------------------------------------------------ kill switch
async def test_kill_switch_cancels_orders_and_algos_then_flattens(env: Any) -> None:
    e = await env()
    b = await usdm_broker(e)
    d = usdm_decision(b.filters[SYMBOL])
    await b.place_bracket(d)
    raw = b.transport.http
    # Someone else's orders and position on the same account: a resting limit, an algo, a market.
    await raw.request("POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                                 "quantity": "2", "newClientOrderId": "manual-mkt"}, signed=True)  # fmt: skip
    await raw.request("POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "price": "90",
                                                 "timeInForce": "GTC", "quantity": "2",
                                                 "newClientOrderId": "manual-lmt"}, signed=True)  # fmt: skip
    await raw.request("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL",
                                                     "type": "STOP_MARKET", "triggerPrice": "80", "quantity": "2",
                                                     "reduceOnly": "true", "clientAlgoId": "manual-sl"}, signed=True)  # fmt: skip
    assert position(e) == d.quantity + 2
    await b.flatten_all("test")
    await wait_for(lambda: not open_engine(e) and not open_algos(e) and position(e) == 0)
    assert await b.position_risk() == []
    br = b.bracket(d.decision_id)
    await wait_for(lambda: br.state is BracketState.CLOSED)
    closes = [o for o in fut(e).orders[SYMBOL].values() if o.type == "MARKET" and o.side == "SELL"]
    assert closes and all(o.reduce_only for o in closes)  # flattened reduce-only, never flipped
    with pytest.raises(KillSwitchTripped):
        await b.place_bracket(usdm_decision(b.filters[SYMBOL], ticket_id="f2"))
    assert b.reset_kill_switch("me")


# ------------------------------------------------------------------ reconciliation
async def test_restart_adopts_ours_flags_foreign_and_restores_a_missing_stop(env: Any, tmp_path: Any) -> None:
    e = await env()
    url = f"sqlite:///{tmp_path / 'tt.db'}"
    async with create_store(url) as store:
        a = await usdm_broker(e, store=store)
        d = usdm_decision(a.filters[SYMBOL])
        await a.place_bracket(d)
        raw = SpotHttp(e.server.rest_url, HmacSigner(e.api_key, e.secret), time_path="/fapi/v1/time",
                       error_mapper=map_futures_error)  # fmt: skip
        await a.close()
    try:
        # While no broker runs: our stop is cancelled, someone adds an order, an algo and a position.
        await raw.request("DELETE", "/fapi/v1/algoOrder", {"clientAlgoId": f"tt-{d.decision_id}-S"}, signed=True)
        await raw.request("POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "price": "90",
                                                     "timeInForce": "GTC", "quantity": "2",
                                                     "newClientOrderId": "manual-1"}, signed=True)  # fmt: skip
        await raw.request("POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                                     "quantity": "1", "newClientOrderId": "manual-2"}, signed=True)  # fmt: skip
        await raw.request("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": SYMBOL,
                                                         "side": "SELL", "type": "STOP_MARKET", "triggerPrice": "70",
                                                         "closePosition": "true", "clientAlgoId": "manual-sl"},
                          signed=True)  # fmt: skip
    finally:
        await raw.aclose()
    async with create_store(url) as store:
        b = await usdm_broker(e, store=store, start=False)
        report = await b.start()
        assert sorted(report.foreign_orders) == ["manual-1", "manual-sl"]
        # The cancelled stop is seen in the replay, so the state machine itself re-protects (a
        # stop at the same price, next revision) before the final "no working stop" check.
        assert report.adopted == [d.decision_id]
        assert report.foreign_positions == {SYMBOL: Decimal(1)}
        br = b.bracket(d.decision_id)
        assert br.position == d.quantity and br.stop_revision == 1  # the stop re-placed as revision 1
        ours = [a for a in open_algos(e) if a.client_algo_id.startswith("tt-")]
        assert [(a.client_algo_id, a.quantity, a.trigger_price) for a in ours] == [
            (f"tt-{d.decision_id}-Sr1", d.quantity, Decimal(95))]  # fmt: skip
        assert all(len(engine_orders(e, cid)) <= 1 and len(algos(e, cid)) <= 1 for cid in br.orders)
        kinds = {x.kind for x in await store.list_audit(limit=None)}
        assert {"foreign_order", "adopted", "foreign_position"} <= kinds


async def test_stream_dropped_during_a_fill_is_reconciled(env: Any) -> None:
    e = await env()
    b = await usdm_broker(e)
    d = usdm_decision(b.filters[SYMBOL])
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    stream = b.transport.stream
    assert stream is not None
    for c in list(e.venue.futures.userdata.conns):
        await c.ws.close()
    e.step_bars(4)  # TP1 fills while nobody listens
    await wait_for(lambda: stream.connections >= 2 and b.reconciles_after_reconnect >= 1)
    br = b.bracket(d.decision_id)
    await wait_for(lambda: br.stop_revision == 1 and [a.client_algo_id[-3:] for a in open_algos(e)] == ["Sr1"])
    assert any(r.leg is OrderLeg.TP and r.status is OrderStatus.FILLED for r in br.orders.values())
    assert_matches_venue(e, br)
    assert_protected(e, br)


# ------------------------------------------------------------------ errors
async def test_every_error_class_carries_its_code(env: Any) -> None:
    e = await env()
    b = await usdm_broker(e)
    t = b.transport

    def spec(cid: str, side: Side, qty: str, type_: OrderType = OrderType.MARKET, **kw: Any) -> OrderSpec:
        return OrderSpec(client_order_id=cid, leg=OrderLeg.OTHER, side=side, order_type=type_,
                         quantity=Decimal(qty), **kw)  # fmt: skip

    async def code_of(exc_type: type[Exception], coro: Any) -> int:
        with pytest.raises(exc_type) as info:
            await coro
        assert e.api_key not in str(info.value) and e.secret not in str(info.value)
        assert str(info.value.code) in str(info.value)  # type: ignore[attr-defined]
        return info.value.code  # type: ignore[attr-defined]

    assert await code_of(MarginInsufficient, t.place_order(SYMBOL, spec("big", Side.BUY, "1000"))) == -2019
    assert await code_of(ReduceOnlyRejected, t.place_order(SYMBOL, spec("ro", Side.SELL, "1", reduce_only=True))) == -2022
    assert await code_of(WouldTrigger, t.place_order(SYMBOL, spec("sl", Side.SELL, "1", OrderType.STOP_MARKET,
                                                                  stop_price=Decimal(101), reduce_only=True))) == -2021
    # Our own filter check refuses before sending; the venue says the same when asked directly.
    assert await code_of(NotionalTooSmall, t.place_order(SYMBOL, spec("tiny", Side.BUY, "0.5"))) == -4164
    t.validate_before_send = False
    assert await code_of(NotionalTooSmall, t.place_order(SYMBOL, spec("tiny", Side.BUY, "0.5"))) == -4164
    assert await code_of(FilterRejected, t.place_order(SYMBOL, spec("tick", Side.BUY, "5", OrderType.LIMIT,
                                                                    price=Decimal("90.001")))) == -1111
    t.validate_before_send = True
    assert await code_of(AlgoEndpointRequired, t.http.request(
        "POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "SELL", "type": "STOP_MARKET", "quantity": "1",
                                   "stopPrice": "90"}, signed=True)) == -4120  # fmt: skip
    assert await code_of(BinanceError, t.http.request("GET", "/fapi/v1/order", {"symbol": "NOPEUSDT",
                                                                                "orderId": 1}, signed=True)) == -1121
    # Setup answers "no need to change": success, not an error.
    assert await t.set_margin_type(SYMBOL, "ISOLATED") is False
    assert await t.set_position_mode(False) is False
    fut(e).dual = True  # the account switched to hedge mode behind our back
    assert await code_of(PositionSideMismatch, t.place_order(SYMBOL, spec("hm", Side.BUY, "5"))) == -4061
    fut(e).dual = False
    assert not open_engine(e) and not open_algos(e) and position(e) == 0  # nothing got through


async def test_kill_switch_survives_a_restart_until_reset(env: Any, tmp_path: Any) -> None:
    e = await env()
    url = f"sqlite:///{tmp_path / 'ks.db'}"
    async with create_store(url) as store:
        a = await usdm_broker(e, store=store)
        await a.place_bracket(usdm_decision(a.filters[SYMBOL]))
        await a.flatten_all("drawdown seen by hand")
        await a.close()
    async with create_store(url) as store:
        b = await usdm_broker(e, store=store)
        assert b.killswitch.tripped and b.killswitch.trip is not None
        assert b.killswitch.trip.reason == "drawdown seen by hand"
        with pytest.raises(KillSwitchTripped, match="drawdown seen by hand"):
            await b.place_bracket(usdm_decision(b.filters[SYMBOL], ticket_id="f3"))
        assert b.reset_kill_switch("me")
        await b.close()  # waits for the reset to be saved
    async with create_store(url) as store:
        c = await usdm_broker(e, store=store)
        assert not c.killswitch.tripped
        ack = await c.place_bracket(usdm_decision(c.filters[SYMBOL], ticket_id="f4"))
        assert ack.state is BracketState.EXITS_WORKING
        states = [x.data["tripped"] for x in await store.list_audit(kind="kill_switch_state", limit=None)]
        assert states == [False, True]  # newest first: the reset, then the trip


async def test_symbol_setup_on_first_bracket_and_a_margin_type_that_cannot_change(env: Any) -> None:
    e = await env()
    eng = fut(e)
    b = await usdm_broker(e, setup=UsdmSetup())  # nothing per symbol at start
    assert not eng.isolated[SYMBOL]
    await b.place_bracket(usdm_decision(b.filters[SYMBOL], leverage=3))
    assert eng.isolated[SYMBOL] and eng.leverage[SYMBOL] == 3  # set before the entry
    await b.flatten_all("done")
    eng.isolated[SYMBOL] = False  # back to cross, and someone opens a position meanwhile
    await b.transport.http.request("POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                                              "quantity": "2"}, signed=True)  # fmt: skip
    c = await usdm_broker(e)  # asks for ISOLATED: -4048 (position exists) is a warning, not a failure
    assert not eng.isolated[SYMBOL] and eng.leverage[SYMBOL] == 5
    assert c.transport.stream is not None and c.transport.stream.connected.is_set()


async def test_expired_listen_key_is_renewed_and_reconciled(env: Any) -> None:
    e = await env()
    b = await usdm_broker(e)
    d = usdm_decision(b.filters[SYMBOL])
    await b.place_bracket(d)
    stream = b.transport.stream
    assert stream is not None
    ud = e.venue.futures.userdata
    (key,) = list(ud.keys)
    ud.expire(key)  # an hour without keepalive: listenKeyExpired, then silence on that key
    await wait_for(lambda: stream.connections >= 2 and b.reconciles_after_reconnect >= 1)
    assert list(ud.keys) != [key]
    e.step_bars(4)  # TP1 over the new key's connection
    await wait_for(lambda: b.bracket(d.decision_id).stop_revision == 1  # type: ignore[union-attr]
                   and [a.client_algo_id[-3:] for a in open_algos(e)] == ["Sr1"])  # fmt: skip
    assert_protected(e, b.bracket(d.decision_id))
