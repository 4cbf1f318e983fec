"""USD-M futures market data: klines and mark price on the routed ``/market`` stream path, REST
history and gap backfill from ``/fapi/v1/klines``, mark price and funding published as
``funding_window.v1`` and sampled into the store. Once against a stand-in written from Binance's
documented protocol (``fundingInfo`` intervals, exact request shapes), once against the venue's
USD-M side with a dropped stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.waiting import until
from tradeterm.bus import EventBus
from tradeterm.contracts import FundingWindowV1, Timeframe
from tradeterm.market.frame import CandleFrame
from tradeterm.market.ingest import IngestConfig, MarketIngest
from tradeterm.market.rest import RestClient
from tradeterm.market.spec import USDM
from tradeterm.market.stream import StreamConfig
from tradeterm.market.synthetic import SyntheticMarket
from tradeterm.store import create_store

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


class FuturesExchange:
    """Just enough of fapi + fstream: a 1m series whose bar ``now`` is forming."""

    def __init__(self, frame: CandleFrame, now: int) -> None:
        self.frame = frame
        self.now = now
        self.requests: list[httpx.Request] = []
        self.paths: list[str] = []
        self.conns: list[ServerConnection] = []
        self.control: list[dict[str, Any]] = []

    def row(self, i: int) -> list[Any]:
        f = self.frame
        t = int(f.open_time[i])
        return [t, f"{f.open[i]:.8f}", f"{f.high[i]:.8f}", f"{f.low[i]:.8f}", f"{f.close[i]:.8f}",
                f"{f.volume[i]:.8f}", t + 59_999, f"{f.quote_volume[i]:.8f}", int(f.trades[i]),
                f"{f.taker_buy_base[i]:.8f}", f"{f.taker_buy_quote[i]:.8f}", "0"]

    def rest(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        p = request.url.params
        if request.url.path == "/fapi/v1/fundingInfo":
            return httpx.Response(200, json=[{"symbol": "BTCUSDT", "adjustedFundingRateCap": "0.02",
                                              "adjustedFundingRateFloor": "-0.02", "fundingIntervalHours": 4}])
        assert request.url.path == "/fapi/v1/klines" and p["interval"] == "1m"
        limit = int(p["limit"])
        assert limit <= 1500
        ot = self.frame.open_time
        last = self.now  # the forming bar is the newest the exchange has
        if "endTime" in p:
            last = min(last, int((int(p["endTime"]) - T0) // 60_000))
        if "startTime" in p:
            first = max(0, -(-(int(p["startTime"]) - T0) // 60_000))
            idx = list(range(first, last + 1))[:limit]
        else:
            idx = list(range(max(0, last - limit + 1), last + 1))
        assert all(int(ot[i]) == T0 + i * 60_000 for i in idx)
        return httpx.Response(200, json=[self.row(i) for i in idx], headers={"X-MBX-USED-WEIGHT-1M": "7"})

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.conns.append(ws)
        try:
            async for raw in ws:
                m = orjson.loads(raw)
                self.control.append(m)
                await ws.send(orjson.dumps({"result": None, "id": m["id"]}))
        except Exception:  # noqa: BLE001, S110 - a client going away is normal for a test server
            pass
        finally:
            self.conns.remove(ws)

    async def push(self, stream: str, data: dict[str, Any]) -> None:
        for ws in self.conns:
            await ws.send(orjson.dumps({"stream": stream, "data": data}).decode())

    async def close_bar(self, i: int) -> None:
        r = self.row(i)
        k = {"t": r[0], "T": r[6], "s": "BTCUSDT", "i": "1m", "f": 1, "L": 2, "o": r[1], "c": r[4], "h": r[2],
             "l": r[3], "v": r[5], "n": r[8], "x": True, "q": r[7], "V": r[9], "Q": r[10], "B": "0"}
        await self.push("btcusdt@kline_1m", {"e": "kline", "E": r[6] + 1, "s": "BTCUSDT", "k": k})


@pytest.fixture
async def exchange() -> AsyncIterator[tuple[FuturesExchange, str]]:
    frame = SyntheticMarket("BTCUSDT", seed=7, start_ms=T0).generate(300)
    ex = FuturesExchange(frame, now=100)
    server = await serve(ex.handler, "127.0.0.1", 0)
    yield ex, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()
    await server.wait_closed()


async def test_futures_klines_backfill_and_funding(exchange, tmp_path: Path) -> None:
    ex, ws_url = exchange
    http = httpx.AsyncClient(transport=httpx.MockTransport(ex.rest))
    rest = RestClient("https://fapi.test", USDM, http=http)
    bus = EventBus()
    funding = bus.subscribe(FundingWindowV1)
    cfg = IngestConfig(history_bars=30, retry_base=0.01, retry_cap=0.05,
                       stream=StreamConfig(backoff_base=0.01, backoff_cap=0.05, ping_interval=None))
    async with create_store(f"sqlite:///{tmp_path / 'fut.db'}") as store:
        async with MarketIngest(USDM, rest_url="https://fapi.test", ws_url=ws_url, bus=bus, store=store, config=cfg,
                                rest=rest) as ing:
            await ing.subscribe("BTCUSDT", "1m")
            await ing.subscribe_funding("BTCUSDT")
            await ing.wait_ready("BTCUSDT", "1m", 10)
            route = ing._routes[("BTCUSDT", Timeframe.M1)]
            assert route.seq.next_open == T0 + 100 * 60_000
            for i in (100, 101, 102):
                ex.now = i + 1
                await ex.close_bar(i)
            ex.now = 106
            await ex.close_bar(105)  # 103 and 104 were lost: the gap is backfilled from /fapi/v1/klines
            await until(lambda: route.seq.next_open == T0 + 106 * 60_000, "the gap to be filled")
            mark = {"e": "markPriceUpdate", "E": T0 + 106 * 60_000 + 5, "s": "BTCUSDT", "p": "60123.10000000",
                    "ap": "60120.0", "i": "60110.50000000", "P": "60111.0", "r": "0.00010000",
                    "T": T0 + 8 * 3_600_000}
            await ex.push("btcusdt@markPrice@1s", mark)
            await ex.push("btcusdt@markPrice@1s", {**mark, "E": mark["E"] + 1000, "r": "0.00012000"})
            await until(lambda: funding.pending() == 2, "two funding windows")
            await ing.flush()
            await until(lambda: not ing._tasks, "the funding sample to be stored")
            stored = await store.fetch_candles("binance-usdm", "BTCUSDT", "1m")
            assert stored is not None
            want = ex.frame.slice(70, 106)
            assert stored.open_time.tolist() == want.open_time.tolist()
            assert stored.close.tolist() == want.close.tolist() and stored.trades.tolist() == want.trades.tolist()
            w1, w2 = funding.get_nowait(), funding.get_nowait()
            assert (w1.rate, w2.rate) == (Decimal("0.00010000"), Decimal("0.00012000"))
            assert w1.interval_hours == 4 and w1.mark_price == Decimal("60123.10000000")
            kept = await store.read("funding_window.v1", venue="binance-usdm")
            assert [k.observed_at for k in kept] == [mark["E"]]  # one sample per minute, not every second
        assert ex.paths == ["/market/stream?streams=btcusdt@kline_1m"]
        assert ex.control[0]["method"] == "SUBSCRIBE" and ex.control[0]["params"] == ["btcusdt@markPrice@1s"]
        assert ing.rejects.total == 0
    await http.aclose()


async def test_futures_against_the_venue_with_a_drop_mid_candle(tmp_path: Path) -> None:
    """The venue's USD-M side: routed ``/market`` streams, ``/fapi/v1/klines``, mark price."""
    from tradeterm.venue.app import VenueServer
    from tradeterm.venue.config import VenueConfig

    srv = VenueServer(VenueConfig(synthetic=["BTCUSDT"], speed=None, paused=True, history_bars=200))
    if getattr(srv.venue, "futures", None) is None:
        pytest.skip("this venue build serves spot only")
    await srv.start()
    srv.venue.step(1)
    bus = EventBus()
    funding = bus.subscribe(FundingWindowV1, policy="latest")
    cfg = IngestConfig(history_bars=30, retry_base=0.01, retry_cap=0.05,
                       stream=StreamConfig(backoff_base=0.01, backoff_cap=0.05, ping_interval=None))
    try:
        async with (
            create_store(f"sqlite:///{tmp_path / 'fv.db'}") as store,
            MarketIngest(USDM, rest_url=srv.rest_url, ws_url=srv.ws_url, bus=bus, store=store, config=cfg) as ing,
        ):
            await ing.subscribe_many([("BTCUSDT", "1m"), ("BTCUSDT", "5m")])
            await ing.subscribe_funding("BTCUSDT")
            await ing.wait_ready("BTCUSDT", "5m", 10)
            route = ing._routes[("BTCUSDT", Timeframe.M1)]
            srv.venue.step(7)  # mid-candle
            srv.venue.drop_streams()
            srv.venue.step(3 * 6)  # six bars close unseen
            now_bar = Timeframe.M1.bucket_start(srv.venue.market_ms)
            await until(lambda: route.seq.next_open == now_bar and ing.stream.drops >= 1, "the backfill")
            srv.venue.step(3 * 4)
            now_bar = Timeframe.M1.bucket_start(srv.venue.market_ms)
            await until(lambda: route.seq.next_open == now_bar, "the live closes")
            await until(lambda: funding.pending() > 0, "a funding window")
            await ing.flush()
            got = await store.fetch_candles("binance-usdm", "BTCUSDT", "1m")
            assert got is not None
            async with httpx.AsyncClient(base_url=srv.rest_url) as http:
                rows = (await http.get("/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m",
                                                                   "startTime": int(got.open_time[0]),
                                                                   "limit": 1500})).json()[:-1]
            assert got.open_time.tolist() == [r[0] for r in rows]  # no gap, no duplicate, no forming bar
            cols = (got.open, got.high, got.low, got.close, got.volume, got.quote_volume, got.trades,
                    got.taker_buy_base, got.taker_buy_quote)
            mine = [tuple(c[i].item() for c in cols) for i in range(len(got))]
            assert mine == [(*(float(x) for x in r[1:6]), float(r[7]), r[8], float(r[9]), float(r[10]))
                            for r in rows]
            w = funding.get_nowait()
            assert w.venue == "binance-usdm" and w.rate == Decimal("0.0001") and w.mark_price is not None
            assert w.funding_time > w.observed_at
        assert ing.rejects.total == 0
    finally:
        await srv.stop()
