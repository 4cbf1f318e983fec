"""Bad input reaching the ingest over a real socket: a local WebSocket server replays garbage
(the venue never sends it) while history comes from the venue. Every bad frame is counted by
kind and never stored; the connection survives; the one good candle after them is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from tradeterm.bus import EventBus
from tradeterm.contracts import Timeframe
from tradeterm.market.ingest import IngestConfig, MarketIngest
from tradeterm.market.spec import SPOT
from tradeterm.market.stream import StreamConfig
from tradeterm.store import create_store
from tradeterm.venue.app import VenueServer
from tradeterm.venue.config import VenueConfig


class Replayer:
    """Accepts stream connections, acks control messages, and sends what the test queues."""

    def __init__(self) -> None:
        self.conns: list[ServerConnection] = []

    async def handler(self, ws: ServerConnection) -> None:
        self.conns.append(ws)
        try:
            async for raw in ws:
                m = orjson.loads(raw)
                await ws.send(orjson.dumps({"result": None, "id": m["id"]}))
        except Exception:  # noqa: BLE001, S110 - a client going away is normal for a test server
            pass
        finally:
            self.conns.remove(ws)

    async def send(self, *frames: str) -> None:
        for ws in self.conns:
            for f in frames:
                await ws.send(f)


def kline(at: int, *, sym: str = "BTCUSDT", interval: str = "1m", closed: bool = True, **k: object) -> str:
    body = {"t": at, "T": at + Timeframe(interval).ms - 1, "s": sym, "i": interval, "f": 1, "L": 2, "o": "100.5",
            "c": "101.25", "h": "102", "l": "99.75", "v": "3.5", "n": 7, "x": closed, "q": "352.1",
            "V": "1.5", "Q": "150.9", "B": "0", **k}
    return orjson.dumps({"stream": f"{sym.lower()}@kline_{interval}",
                         "data": {"e": "kline", "E": at + 61_000, "s": sym, "k": body}}).decode()


@pytest.fixture
async def replayer() -> AsyncIterator[tuple[Replayer, str]]:
    r = Replayer()
    server = await serve(r.handler, "127.0.0.1", 0)
    yield r, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()
    await server.wait_closed()


async def test_garbage_is_counted_never_stored_and_never_fatal(replayer, tmp_path: Path) -> None:
    rep, ws_url = replayer
    srv = VenueServer(VenueConfig(synthetic=["BTCUSDT"], speed=None, paused=True, history_bars=100))
    await srv.start()
    srv.venue.step(1)
    try:
        async with create_store(f"sqlite:///{tmp_path / 'bad.db'}") as store:
            cfg = IngestConfig(history_bars=20, stream=StreamConfig(backoff_base=0.01, backoff_cap=0.05,
                                                                    ping_interval=None))
            async with MarketIngest(SPOT, rest_url=srv.rest_url, ws_url=ws_url, bus=EventBus(), store=store,
                                    config=cfg) as ing:
                await ing.subscribe("BTCUSDT", "1m")
                await ing.wait_ready("BTCUSDT", "1m", 10)
                before = await store.candle_count("binance-spot", "BTCUSDT", "1m")
                book_before = ing.book.view("binance-spot", "BTCUSDT", "1m").copy()
                t = ing._routes[("BTCUSDT", Timeframe.M1)].seq.next_open
                assert t is not None
                await rep.send(
                    "{oops", "", "null", "[1, 2]", '"text"',
                    '{"stream": "btcusdt@kline_1m", "data": 42}',
                    '{"e": "trade", "s": "BTCUSDT", "p": "1"}',
                    kline(t, o="NaN"), kline(t, v="-1"), kline(t, h="1"), kline(t, c="0"),
                    kline(t, o=None), kline(t, x="true"), kline(t, t=str(t)), kline(t + 5),
                    kline(t, sym="ETHUSDT"), kline(t - t % 180_000, interval="3m"),
                    '{"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": 1}}',
                )
                await rep.send(kline(t))  # finally a good one
                route = ing._routes[("BTCUSDT", Timeframe.M1)]
                for _ in range(1000):
                    if route.seq.next_open != t:
                        break
                    await asyncio.sleep(0.01)
                await ing.flush()
                assert route.seq.next_open == t + 60_000
                after = await store.fetch_candles("binance-spot", "BTCUSDT", "1m")
                assert after is not None and len(after) == before + 1
                assert (after.open_time[-1], after.open[-1], after.close[-1], after.trades[-1]) == (t, 100.5, 101.25, 7)
                assert ing.rejects.counts == {
                    "malformed_json": 2, "not_an_object": 3, "bad_type": 5, "unknown_event": 1, "bad_value": 5,
                    "unsubscribed": 2,
                }
                assert ing.stream.drops == 0 and ing.stream.handler_errors == 0
                book = ing.book.view("binance-spot", "BTCUSDT", "1m")
                assert book.open_time.tolist() == book_before.open_time.tolist()  # no invented bar
                assert book.close[:-1].tolist() == book_before.close[:-1].tolist()
                assert book.close[-1] == 101.25 and bool(book.closed[-1])
    finally:
        await srv.stop()
