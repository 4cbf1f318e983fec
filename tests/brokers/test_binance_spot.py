"""The Binance Spot broker against the venue over loopback HTTP and WebSocket, with faults."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.brokers.conftest import wait_for
from tests.brokers.helpers import decision
from tradeterm.brokers.binance_spot import BinanceSpotBroker
from tradeterm.brokers.errors import AuthError, KillSwitchTripped
from tradeterm.brokers.http import SpotHttp
from tradeterm.brokers.signing import HmacSigner
from tradeterm.contracts.trading import OrderLeg, OrderStatus
from tradeterm.store import create_store
from tradeterm.trading.bracket_records import BracketState

VENUE = "binance-spot"


def _decision(b: Any, **kw: Any) -> Any:
    return decision(b.filters["BTCUSDT"], venue=VENUE, entry="100.5", market_price="100", **kw)


def assert_matches_venue(env: Any, bracket: Any) -> None:
    """The state machine equals the venue's truth, order by order; no leg placed twice."""
    for cid, rec in bracket.orders.items():
        found = env.orders_with(cid)
        assert len(found) <= 1, f"{cid} placed {len(found)} times"
        if rec.status is OrderStatus.REJECTED and not found:
            continue
        (o,) = found
        assert (o.status, o.executed_qty) == (rec.status.value, rec.filled_qty), cid
    for o in env.open_orders():
        assert o.client_order_id in bracket.orders


def assert_protected(env: Any, bracket: Any) -> None:
    """Every unit held is under a working stop. Exits placed before the entry's base-asset
    commission was known (fill learned from a REST query) are sized on the gross fill, so they
    may exceed the net position by at most that commission; never the other way round."""
    if bracket.position > 0:
        stops = [o for o in env.open_orders() if o.type == "STOP_LOSS_LIMIT"]
        covered = sum(o.orig_qty - o.executed_qty for o in stops)
        entry = bracket.entry_order
        fee = entry.fee if entry is not None and entry.fee_asset == "BTC" else 0
        step = bracket.filters.quantity_step()
        assert bracket.position <= covered <= bracket.position + fee + step


async def test_bracket_lifecycle_survives_duplicated_and_reordered_events(env: Any) -> None:
    e = await env()
    e.venue.faults.update({"userdata_duplicate": True, "userdata_reorder": True})
    b = await e.broker()
    d = _decision(b)
    ack = await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    (entry,) = e.orders_with(br.entry_id)
    net = sum((t.qty - t.commission for t in e.venue.engine.trades["BTCUSDT"] if t.order_id == entry.order_id),
              Decimal(0))  # fmt: skip
    step = br.filters.quantity_step()
    await wait_for(lambda: net - step < br.position <= net)  # the buy's BTC commission is not held
    assert ack.state is BracketState.EXITS_WORKING and br.position < d.quantity
    assert_protected(e, br)
    e.step_bars(4)  # through TP1 (1R)
    await wait_for(lambda: any(r.leg is OrderLeg.TP and r.status is OrderStatus.FILLED for r in br.orders.values())
                   and br.stop_revision == 1 and len(e.open_orders()) == 2)  # fmt: skip
    e.venue.faults.update({"userdata_reorder": False})
    e.step_bars(4)  # the crash: the break-even stop takes the rest
    await wait_for(lambda: br.state is BracketState.CLOSED)
    assert br.position == 0 and not e.open_orders()
    assert_matches_venue(e, br)
    assert br.total_realized_pnl > 0  # TP1 plus a break-even stop


async def test_5xx_after_accept_is_adopted_not_resent(env: Any) -> None:
    e = await env()
    b = await e.broker()
    e.venue.faults.update({"fail_orders": 2, "fail_mode": "5xx"})  # the entry and the first OCO
    d = _decision(b)
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.EXITS_WORKING
    assert len(e.orders_with(br.entry_id)) == 1
    assert_matches_venue(e, br)
    assert_protected(e, br)


async def test_timeout_after_accept_is_adopted(env: Any) -> None:
    e = await env()
    b = await e.broker()
    e.venue.faults.update({"fail_orders": 1, "fail_mode": "timeout", "timeout_s": 0.2})
    d = _decision(b)
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert len(e.orders_with(br.entry_id)) == 1
    assert br.state is BracketState.EXITS_WORKING
    assert_matches_venue(e, br)


class DropFirstOrder(httpx.AsyncBaseTransport):
    """The first order POST never reaches the server: the client sees a timeout."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/v3/order" and not self.dropped:
            self.dropped += 1
            raise httpx.ReadTimeout("timed out", request=request)
        return await self.inner.handle_async_request(request)


async def test_lost_request_is_resent_once_after_the_window(env: Any) -> None:
    e = await env()
    drop = DropFirstOrder()
    http = SpotHttp(e.server.rest_url, HmacSigner(e.api_key, e.secret), recv_window=500, transport=drop)
    b = await e.broker(http=http)
    d = _decision(b)
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert drop.dropped == 1
    assert len(e.orders_with(br.entry_id)) == 1
    assert br.state is BracketState.EXITS_WORKING


async def test_429_burst_waits_and_places_once(env: Any) -> None:
    e = await env()
    b = await e.broker()
    e.venue.faults.update({"burst_429": 1})
    d = _decision(b)
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert len(e.orders_with(br.entry_id)) == 1 and br.state is BracketState.EXITS_WORKING
    assert b.transport.http.limiter.blocked_until > 0  # Retry-After was honoured


async def test_clock_skew_resyncs_once_and_succeeds(env: Any) -> None:
    e = await env()
    b = await e.broker()
    e.venue.faults.update({"clock_skew_ms": -3000})
    e.venue.server_clock.skew_ms = -3000
    d = _decision(b)
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.EXITS_WORKING
    assert -3300 < b.transport.http.offset_ms < -2700


async def test_stream_dropped_during_a_fill_is_reconciled(env: Any) -> None:
    e = await env()
    b = await e.broker()
    d = _decision(b)
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    stream = b.transport.stream
    assert stream is not None
    await e.drop_user_data()
    e.step_bars(4)  # TP1 fills while nobody listens
    await wait_for(lambda: stream.connections >= 2 and b.reconciles_after_reconnect >= 1)
    br = b.bracket(d.decision_id)
    assert any(r.leg is OrderLeg.TP and r.status is OrderStatus.FILLED for r in br.orders.values())
    await wait_for(lambda: len(e.open_orders()) == 2)
    assert_matches_venue(e, br)
    assert_protected(e, br)


async def test_restart_adopts_ours_flags_foreign_and_restores_a_missing_stop(env: Any, tmp_path: Any) -> None:
    e = await env()
    url = f"sqlite:///{tmp_path / 'tt.db'}"
    async with create_store(url) as store:
        a = await e.broker(store=store)
        d = _decision(a)
        await a.place_bracket(d)
        await a.close()
    # Outside the broker: the OCOs are cancelled and someone places an order of their own.
    for ol in list(e.venue.engine.lists.values()):
        if ol.is_open:
            e.venue.engine.cancel_list(ol, e.venue.market_ms)
    foreign = e.venue.engine.place_order(__import__("tradeterm.venue.matching", fromlist=["OrderSpec"]).OrderSpec(
        symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=Decimal("0.1"), price=Decimal(90),
        time_in_force="GTC", client_order_id="manual-1"), e.venue.market_ms)[0]  # fmt: skip
    async with create_store(url) as store:
        b = await e.broker(store=store, start=False)
        report = await b.start()
        assert report.foreign_orders == [foreign.client_order_id]
        assert d.decision_id in report.adopted
        br = b.bracket(d.decision_id)
        # What the entry holds net of its BTC commission (known from the FULL answer and stored).
        assert br.position == br.entry_held < d.quantity and br.stop_revision == 1  # re-placed as revision 1
        assert_protected(e, br)
        kinds = {a.kind for a in await store.list_audit(limit=None)}
        assert {"foreign_order", "adopted"} <= kinds


async def test_kill_switch_cancels_flattens_and_refuses(env: Any) -> None:
    e = await env()
    b = await e.broker(kill_sell_symbols=["BTCUSDT"])
    d = _decision(b)
    await b.place_bracket(d)
    await b.flatten_all("test")
    await wait_for(lambda: not e.open_orders())
    assert e.venue.engine.free["BTC"] + e.venue.engine.locked["BTC"] < Decimal("0.00001")  # dust below the step
    with pytest.raises(KillSwitchTripped):
        await b.place_bracket(_decision(b, ticket_id="t2"))
    assert b.reset_kill_switch("me")


async def test_secrets_stay_out_of_logs_and_errors(env: Any, caplog: Any) -> None:
    from tradeterm.ops.logging import RedactingFilter

    e = await env()
    wrong = SpotHttp(e.server.rest_url, HmacSigner(e.api_key, "not-the-secret-" + "x" * 20))
    with pytest.raises(AuthError) as info:
        await wrong.request("GET", "/api/v3/account", signed=True)
    await wrong.aclose()
    assert e.api_key not in str(info.value) and "signature" not in str(info.value)
    HmacSigner(e.api_key, e.secret)
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("tradeterm.test.secrets")
    log.addHandler(handler)
    with caplog.at_level(logging.INFO):
        caplog.handler.addFilter(RedactingFilter())
        log.info("key %s secret %s", e.api_key, e.secret)
    assert e.secret not in caplog.text and e.api_key not in caplog.text
    assert repr(HmacSigner(e.api_key, e.secret)).count("***") == 1


async def test_commission_learned_after_the_exits_shrinks_them(env: Any) -> None:
    """No user-data stream: the entry answers 5xx after the venue filled it, so its fill is
    learned from a query, which carries no commission, and the OCOs go out on the gross
    quantity (the account holds other BTC, so they are accepted). When the execution report
    with the commission arrives, the pairs are re-placed for what the trade really holds."""
    e = await env()
    signer = HmacSigner(e.api_key, e.secret)
    b = BinanceSpotBroker(e.server.rest_url, signer, None, recv_window=1000)
    e.brokers.append(b)
    await b.start()
    e.venue.faults.update({"fail_orders": 1, "fail_mode": "5xx"})
    d = _decision(b)
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    entry = br.entry_order
    assert entry is not None and entry.fee == 0 and br.position == d.quantity
    (o,) = e.orders_with(br.entry_id)
    trades = [t for t in e.venue.engine.trades["BTCUSDT"] if t.order_id == o.order_id]
    fee = sum((t.commission for t in trades), Decimal(0))
    assert fee > 0 and {t.commission_asset for t in trades} == {"BTC"}
    late = b.known[br.entry_id].model_copy(update={"fee": fee, "fee_asset": "BTC"})
    await b.ingest([(late, None)])  # what the stream would have delivered
    step = br.filters.quantity_step()
    assert br.stop_revision == 1 and d.quantity - fee - step < br.position <= d.quantity - fee  # on the step
    stops = [x for x in e.open_orders() if x.type == "STOP_LOSS_LIMIT"]
    assert sum(x.orig_qty - x.executed_qty for x in stops) == br.position
    assert_matches_venue(e, br)
