"""Market streams over real WebSockets: raw and combined endpoints, live (un)subscription, the
k.x contract (open candle updates, each closed candle exactly once), shapes of each stream."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.venue.conftest import payload, same_shape


async def _recv_all(ws: Any, timeout: float = 0.3) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(orjson.loads(await asyncio.wait_for(ws.recv(), timeout)))
        except TimeoutError:
            return out


async def _wait_subscribed(srv: Any, name: str) -> None:
    for _ in range(200):
        if name in srv.venue.streams.subs:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never subscribed")


async def test_raw_kline_stream_closes_each_candle_once(venue_env) -> None:
    bars = [(100 + i, 101 + i, 99 + i, 100.5 + i) for i in range(10)]
    srv, _ = await venue_env(bars)
    async with connect(f"{srv.ws_url}/ws/btcusdt@kline_1m") as ws:
        await _wait_subscribed(srv, "btcusdt@kline_1m")
        srv.venue.step_bars(3)
        msgs = await _recv_all(ws)
    assert msgs and all(m["e"] == "kline" and m["s"] == "BTCUSDT" for m in msgs)
    closed = [m["k"] for m in msgs if m["k"]["x"]]
    assert [k["t"] for k in closed] == sorted({k["t"] for k in closed}) and len(closed) == 3
    first = closed[0]
    assert (first["o"], first["h"], first["l"], first["c"]) == ("100.00000000", "101.00000000", "99.00000000",
                                                                "100.50000000")
    for m in msgs:
        k = m["k"]
        if not k["x"]:
            assert float(k["l"]) <= float(k["c"]) <= float(k["h"])
    ref = payload("docs_examples/binance_net_fixtures/stream_spot_Klines.txt")["data"]
    assert not same_shape(msgs[0], ref)
    assert not same_shape(msgs[0], payload("docs_examples/futures/market_kline_stream_closed.json"))


async def test_combined_stream_wrapper_and_live_subscriptions(venue_env) -> None:
    srv, _ = await venue_env([(100, 101, 99, 100.5)] * 10)
    async with connect(f"{srv.ws_url}/stream?streams=btcusdt@trade/btcusdt@kline_5m") as ws:
        await _wait_subscribed(srv, "btcusdt@trade")
        await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "btcusdt@aggTrade",
                                                                      "btcusdt@ticker"], "id": 1}).decode())
        assert orjson.loads(await ws.recv()) == {"result": None, "id": 1}
        await ws.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": "abc"}).decode())
        listed = orjson.loads(await ws.recv())
        assert listed["id"] == "abc" and set(listed["result"]) == {"btcusdt@trade", "btcusdt@kline_5m",
                                                                   "btcusdt@bookTicker", "btcusdt@aggTrade",
                                                                   "btcusdt@ticker"}
        srv.venue.step(2)
        msgs = await _recv_all(ws)
        by = {m["stream"]: m["data"] for m in msgs}
        assert set(by) == set(listed["result"])
        # Capture from 2021: the trade stream's buyer/seller order ids (b, a) were dropped by Binance in 2023.
        assert not same_shape(by["btcusdt@trade"], payload("spot/ws/trade_ETHUSDT_2021-12-12.json")["data"],
                              ignore_missing={"b", "a"})
        assert not same_shape(by["btcusdt@aggTrade"], payload("spot/ws/aggTrade_ETHUSDT_2023-02-07.json")["data"],
                              ignore_missing={"st"})  # "st" is not in the spot docs
        # Spot bookTicker carries no e/E/T (those are futures fields).
        assert not same_shape(by["btcusdt@bookTicker"], payload("docs_examples/futures/market_book_ticker_stream.json"),
                              ignore_missing={"e", "E", "T", "st", "ps"})
        assert not same_shape(by["btcusdt@ticker"], payload("docs_examples/futures/market_ticker_stream.json"),
                              ignore_missing={"st"}, ignore_extra={"x", "b", "B", "a", "A"})
        assert by["btcusdt@kline_5m"]["k"]["i"] == "5m"
        await ws.send(orjson.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@aggTrade",
                                                                        "btcusdt@bookTicker", "btcusdt@ticker"],
                                    "id": 2}).decode())
        assert orjson.loads(await ws.recv()) == {"result": None, "id": 2}
        srv.venue.step(1)
        later = await _recv_all(ws)
        assert later and {m["stream"] for m in later} == {"btcusdt@kline_5m"}
        await ws.send("not json")
        assert orjson.loads(await ws.recv())["error"]["code"] == 3
        await ws.send(orjson.dumps({"method": "FOO", "id": 3}).decode())
        assert orjson.loads(await ws.recv())["error"]["code"] == 2


async def test_bare_ws_with_subscribe_and_max_speed_runs_when_consumed(venue_env) -> None:
    srv, _ = await venue_env([(100, 101, 99, 100.5)] * 50, paused=False)
    async with connect(f"{srv.ws_url}/ws") as ws:
        await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 7}).decode())
        assert orjson.loads(await ws.recv()) == {"result": None, "id": 7}
        got = [orjson.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(20)]
    assert all(g["e"] == "kline" for g in got)
    assert any(g["k"]["x"] for g in got)  # speed=max: bars close as fast as we read
