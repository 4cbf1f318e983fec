"""The market-data stage end to end, over real WebSocket and HTTP against the built-in venue, with
faults: whatever happens, the stored series must equal the venue's own series exactly — no gap,
no duplicate, no invented candle — and higher timeframes must equal the venue's own bars."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.waiting import until
from tradeterm.bus import EventBus
from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.market.ingest import IngestConfig, LiveCandle, MarketIngest
from tradeterm.market.spec import SPOT
from tradeterm.market.stream import StreamConfig
from tradeterm.store import Store, create_store
from tradeterm.venue.app import VenueServer
from tradeterm.venue.config import VenueConfig
from tradeterm.venue.venue import kline_event

VENUE = "binance-spot"


@pytest.fixture
async def venue() -> AsyncIterator[VenueServer]:
    srv = VenueServer(VenueConfig(synthetic=["BTCUSDT", "ETHUSDT"], speed=None, paused=True, history_bars=200))
    await srv.start()
    srv.venue.step(1)
    yield srv
    await srv.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with create_store(f"sqlite:///{tmp_path / 'md.db'}") as s:
        yield s


def make_ingest(srv: VenueServer, bus: EventBus, store: Store | None, **kw: Any) -> MarketIngest:
    cfg = IngestConfig(history_bars=kw.pop("history_bars", 40), retry_base=0.05, retry_cap=0.2,
                       stream=StreamConfig(backoff_base=0.01, backoff_cap=0.05, ping_interval=None), **kw)
    return MarketIngest(SPOT, rest_url=srv.rest_url, ws_url=srv.ws_url, bus=bus, store=store, config=cfg)


async def settle(ing: MarketIngest, srv: VenueServer, symbols: tuple[str, ...] = ("BTCUSDT",)) -> None:
    """Until every closed bar up to the venue's clock has been released, published and stored."""
    now = srv.venue.market_ms

    def done() -> bool:
        for sym in symbols:
            ring = ing.book.ring(VENUE, sym, "1m")
            route = ing._routes[(sym, Timeframe.M1)]
            if ring is None or route.seq.next_open != Timeframe.M1.bucket_start(now):
                return False
            if int(ring.view().event_time[-1]) not in (now, 0):  # 0: the forming bar as REST last saw it
                return False
        return True

    await until(done, f"the ingest to catch up with market time {now}")
    await ing.flush()


async def venue_closed(srv: VenueServer, symbol: str, tf: str, start: int) -> list[tuple]:
    """The venue's closed klines from ``start`` via plain HTTP (not through the code under test)."""
    rows: list[list] = []
    async with httpx.AsyncClient(base_url=srv.rest_url) as http:
        cursor = start
        while True:
            page = (await http.get("/api/v3/klines", params={"symbol": symbol, "interval": tf, "limit": 1000,
                                                             "startTime": cursor})).json()
            rows += page
            if len(page) < 1000:
                break
            cursor = page[-1][0] + 1
    return [(r[0], *(float(x) for x in r[1:6]), float(r[7]), r[8], float(r[9]), float(r[10])) for r in rows[:-1]]


async def stored(store: Store, symbol: str, tf: str) -> list[tuple]:
    f = await store.fetch_candles(VENUE, symbol, tf)
    assert f is not None
    cols = (f.open_time, f.open, f.high, f.low, f.close, f.volume, f.quote_volume, f.trades, f.taker_buy_base,
            f.taker_buy_quote)
    return [tuple(c[i].item() for c in cols) for i in range(len(f))]


async def assert_store_equals_venue(store: Store, srv: VenueServer, symbol: str, tf: str) -> list[tuple]:
    got = await stored(store, symbol, tf)
    want = await venue_closed(srv, symbol, tf, got[0][0])
    if tf == "1m":
        assert got == want
    else:  # OHLC, base volume and counts exactly; quote sums of 8-dp values to the last double digit
        assert [g[:6] + g[7:9] for g in got] == [w[:6] + w[7:9] for w in want]
        for g, w in zip(got, want):
            assert g[6] == pytest.approx(w[6], rel=1e-12) and g[9] == pytest.approx(w[9], rel=1e-12)
    return got


async def test_history_then_live_equals_the_venue_including_derived_timeframes(venue, store) -> None:
    bus = EventBus()
    closed_sub = bus.subscribe(CandleV1)
    live_sub = bus.subscribe("candles.live", policy="latest")
    async with make_ingest(venue, bus, store) as ing:
        for tf in ("1m", "5m", "15m"):
            await ing.subscribe("BTCUSDT", tf)
        await ing.wait_ready("BTCUSDT", "15m", 10)
        await ing.wait_ready("BTCUSDT", "5m", 10)
        assert ing.stream.streams == frozenset({"btcusdt@kline_1m"})  # 5m and 15m are derived, not streamed
        for _ in range(40):
            venue.venue.step(2)
            await asyncio.sleep(0)
        await settle(ing, venue)
        m1 = await assert_store_equals_venue(store, venue, "BTCUSDT", "1m")
        m5 = await assert_store_equals_venue(store, venue, "BTCUSDT", "5m")
        m15 = await assert_store_equals_venue(store, venue, "BTCUSDT", "15m")
        assert len(m1) >= 40 + 26 and len(m5) >= 8 and len(m15) >= 3
        # The bus carried each live close once, in order per series; history was not replayed.
        events = []
        while closed_sub.pending():
            events.append(closed_sub.get_nowait())
        for tf in ("1m", "5m"):
            times = [e.open_time for e in events if e.tf == tf]
            assert times == sorted(set(times)) and len(times) >= (26 if tf == "1m" else 4)
        assert ing.published == len(events)
        latest = {}
        while live_sub.pending():
            ev = live_sub.get_nowait()
            latest[ev.tf] = ev
        assert isinstance(latest[Timeframe.M1], LiveCandle) and set(latest) == {Timeframe.M1, Timeframe.M5,
                                                                                 Timeframe.M15}
        now_bar = Timeframe.M1.bucket_start(venue.venue.market_ms)
        assert latest[Timeframe.M1].open_time == now_bar
        assert latest[Timeframe.M15].open_time == Timeframe.M15.bucket_start(now_bar)
        # The book holds the same closed bars (zero-copy views for the chart and analysis).
        view = ing.book.view(VENUE, "BTCUSDT", "5m")
        by_t = {r[0]: r for r in m5}
        for i in range(len(view)):
            t = int(view.open_time[i])
            if t in by_t:
                assert bool(view.closed[i]) and view.close[i] == by_t[t][4] and view.high[i] == by_t[t][2]
        assert not view.closed[-1]
    assert ing.rejects.total == 0


async def test_stream_dropped_mid_candle_and_429_during_backfill(venue, store) -> None:
    async with make_ingest(venue, EventBus(), store) as ing:
        await ing.subscribe("BTCUSDT", "1m")
        await ing.subscribe("BTCUSDT", "5m")
        await ing.wait_ready("BTCUSDT", "5m", 10)
        venue.venue.step(4)
        await settle(ing, venue)
        venue.venue.step(1)  # a third into a bar: the drop comes mid-candle
        await settle(ing, venue)
        venue.venue.faults.update({"burst_429": 2})
        venue.venue.streams.drop_all()
        venue.venue.step(3 * 7)  # seven bars close while nobody is connected
        await settle(ing, venue)
        assert ing.stream.drops >= 1 and ing.rest.rate_limited == 2
        assert ing.stats()["series"]["BTCUSDT 1m"]["backfills"] >= 1
        for _ in range(10):
            venue.venue.step(2)
            await asyncio.sleep(0)
        await settle(ing, venue)
        await assert_store_equals_venue(store, venue, "BTCUSDT", "1m")
        await assert_store_equals_venue(store, venue, "BTCUSDT", "5m")
    assert ing.rejects.total == 0


async def test_duplicated_late_and_foreign_klines_change_nothing(venue, store) -> None:
    bus = EventBus()
    closed_sub = bus.subscribe(CandleV1)
    async with make_ingest(venue, bus, store) as ing:
        await ing.subscribe("BTCUSDT", "1m")
        await ing.wait_ready("BTCUSDT", "1m", 10)
        venue.venue.step(9)
        await settle(ing, venue)
        se = venue.venue.series["BTCUSDT"]
        i = se.index_at(venue.venue.market_ms)
        last_closed, forming = se.bar(i - 1), se.bar(i, venue.venue.market_ms)
        now = venue.venue.market_ms
        hub = venue.venue.streams
        name = "btcusdt@kline_1m"
        # The same closed candle again, then once more with other values: the first close is final.
        hub.publish(name, kline_event("BTCUSDT", Timeframe.M1, last_closed, now, 1))
        doctored = kline_event("BTCUSDT", Timeframe.M1, last_closed, now, 1)
        doctored["k"]["c"] = doctored["k"]["h"]
        hub.publish(name, doctored)
        # An open update older than the newest one applied; a kline for a symbol not subscribed here.
        stale = kline_event("BTCUSDT", Timeframe.M1, forming, now - 5000, 1)
        stale["k"]["c"] = stale["k"]["o"]
        hub.publish(name, stale)
        foreign = kline_event("ETHUSDT", Timeframe.M1, venue.venue.series["ETHUSDT"].bar(i - 1), now, 1)
        hub.publish(name, foreign)
        await until(lambda: ing.rejects.counts.get("unsubscribed") == 1, "the foreign kline")
        venue.venue.step(6)
        await settle(ing, venue)
        await assert_store_equals_venue(store, venue, "BTCUSDT", "1m")
        view = ing.book.view(VENUE, "BTCUSDT", "1m")
        row = list(view.open_time).index(last_closed.open_time)
        assert view.close[row] == float(f"{last_closed.close:.8f}")
        route = ing._routes[("BTCUSDT", Timeframe.M1)]
        assert route.seq.duplicates >= 2
        times = []
        while closed_sub.pending():
            times.append(closed_sub.get_nowait().open_time)
        assert times == sorted(set(times))
    assert ing.rejects.counts == {"unsubscribed": 1}


async def test_restart_fills_the_hole_since_the_last_stored_bar(venue, store) -> None:
    async with make_ingest(venue, EventBus(), store) as ing:
        await ing.subscribe("BTCUSDT", "1m")
        await ing.wait_ready("BTCUSDT", "1m", 10)
        venue.venue.step(9)
        await settle(ing, venue)
    first = await stored(store, "BTCUSDT", "1m")
    venue.venue.step(3 * 60)  # an hour passes while tradeterm is not running
    async with make_ingest(venue, EventBus(), store, history_bars=5) as ing:
        await ing.subscribe("BTCUSDT", "1m")
        await ing.wait_ready("BTCUSDT", "1m", 10)
        await settle(ing, venue)
        got = await assert_store_equals_venue(store, venue, "BTCUSDT", "1m")
    assert got[0] == first[0] and len(got) >= len(first) + 60


async def test_symbols_switch_at_run_time(venue, store) -> None:
    async with make_ingest(venue, EventBus(), store) as ing:
        await ing.subscribe_many([("BTCUSDT", "1m"), ("BTCUSDT", "15m")])
        await ing.wait_ready("BTCUSDT", "15m", 10)
        venue.venue.step(6)
        await settle(ing, venue)
        await ing.unsubscribe("BTCUSDT", "15m")  # the chart switches timeframe: 1m stays
        assert ing.book.ring(VENUE, "BTCUSDT", "15m") is None
        assert ing.stream.streams == frozenset({"btcusdt@kline_1m"})
        await ing.subscribe("ETHUSDT", "1m")  # the UI opens a second chart
        await ing.wait_ready("ETHUSDT", "1m", 10)
        assert len(ing.stream.connections) == 1
        venue.venue.step(6)
        await settle(ing, venue, ("BTCUSDT", "ETHUSDT"))
        await ing.unsubscribe("BTCUSDT", "1m")  # … and closes the first
        await until(lambda: not any(n.startswith("btcusdt") for n in venue.venue.streams.subs), "unsubscription")
        btc_before = await stored(store, "BTCUSDT", "1m")
        venue.venue.step(6)
        await settle(ing, venue, ("ETHUSDT",))
        await assert_store_equals_venue(store, venue, "ETHUSDT", "1m")
        assert await stored(store, "BTCUSDT", "1m") == btc_before
        assert ing.book.ring(VENUE, "BTCUSDT", "1m") is None
        assert ing.series == [("ETHUSDT", Timeframe.M1)]
    assert ing.rejects.total == 0


async def test_periodic_drops_while_the_market_runs_at_full_speed(venue, store) -> None:
    """The venue replays as fast as we consume and cuts every stream connection every 0.3 s:
    closes race with reconnects and backfills. The stored series must still be the venue's."""
    async with make_ingest(venue, EventBus(), store) as ing:
        await ing.subscribe_many([("BTCUSDT", "1m"), ("BTCUSDT", "5m"), ("ETHUSDT", "1m")])
        for sym, tf in (("BTCUSDT", "5m"), ("ETHUSDT", "1m")):
            await ing.wait_ready(sym, tf, 10)
        venue.venue.faults.update({"drop_streams_every_s": 0.3})
        venue.venue.clock.resume()
        venue.venue.wake()
        await until(lambda: ing.stream.drops >= 3 and ing.stored >= 150, "several drops and many closes", 60)
        venue.venue.clock.pause()
        venue.venue.faults.update({"drop_streams_every_s": 0.0})
        venue.venue.step(1)  # a last push, so the final reconnect has something to backfill against
        await settle(ing, venue, ("BTCUSDT", "ETHUSDT"))
        for sym in ("BTCUSDT", "ETHUSDT"):
            await assert_store_equals_venue(store, venue, sym, "1m")
        await assert_store_equals_venue(store, venue, "BTCUSDT", "5m")
        stats = ing.stats()
        assert sum(s["backfills"] for s in stats["series"].values()) >= 3
        assert all(s["holes"] == 0 and s["waiting"] == 0 for s in stats["series"].values())
    assert ing.rejects.total == 0


async def test_ingest_for_a_venue_uses_the_settings_endpoints() -> None:
    from tradeterm.config import Settings
    from tradeterm.errors import UserError

    endpoints = Settings(binance={"usdm_rest_url": "http://127.0.0.1:1", "usdm_ws_url": "ws://127.0.0.1:1"}).endpoints
    ing = MarketIngest.for_venue("binance-usdm", endpoints, bus=EventBus())
    assert (ing.venue, ing.rest.base_url, ing.stream.url_for(["x"])) == (
        "binance-usdm", "http://127.0.0.1:1", "ws://127.0.0.1:1/market/stream?streams=x")
    spot = MarketIngest.for_venue("binance-spot", endpoints, bus=EventBus())
    assert spot.rest.base_url == "https://api.binance.com"  # the profile default (never contacted here)
    with pytest.raises(UserError, match="funding exists on binance-usdm only"):
        await spot.subscribe_funding("BTCUSDT")
    with pytest.raises(UserError, match="no 1s klines"):
        await ing.subscribe("BTCUSDT", "1s")
    await ing.rest.aclose()
    await spot.rest.aclose()
