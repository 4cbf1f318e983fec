"""The part-1 faults on the USD-M paths, over real HTTP and WebSockets: a 5xx or a timeout after
the order (or algo order) was accepted, 429/418 bursts with Retry-After, clock skew, streams cut
on every futures path (routed and classic market streams, routed and classic user data), and
user-data events delivered twice or out of order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.venue.test_futures_rest import FLAT, err, fenv, ok, order  # noqa: F401
from tests.venue.test_futures_streams import _recv_all, _wait

LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
         "price": "49000"}


async def set_faults(c: Any, **kw: Any) -> dict[str, Any]:
    r = await c.http.post("/_venue/faults", content=orjson.dumps(kw))
    assert r.status_code == 200, r.text
    return r.json()


async def listen_key(c: Any) -> str:
    r = await c.http.post("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.api_key})
    assert r.status_code == 200, r.text
    return r.json()["listenKey"]


async def test_5xx_after_the_futures_order_was_accepted(fenv: Any) -> None:  # noqa: F811
    _srv, c = await fenv([FLAT] * 5)
    await set_faults(c, fail_orders=1, fail_mode="5xx")
    r = await c.call("POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": "unknown-1"})
    assert r.status_code == 503 and r.json()["code"] == -1006
    q = await ok(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "unknown-1"})
    assert q["status"] == "NEW"  # it exists; the client could not know
    assert await err(c, "POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": "unknown-1"}) == \
        (-4116, "ClientOrderId is duplicated.")  # the retry with the same id proves it
    assert len(await ok(c, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})) == 1


async def test_timeout_after_the_algo_order_was_accepted(fenv: Any) -> None:  # noqa: F811
    _srv, c = await fenv([FLAT] * 5)
    await set_faults(c, fail_orders=1, fail_mode="timeout", timeout_s=3.0)
    q = c.sign({"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
                "quantity": "0.01", "triggerPrice": "51000", "clientAlgoId": "lost-1"})
    with pytest.raises(httpx.ReadTimeout):
        await c.http.post("/fapi/v1/algoOrder", content=q, timeout=0.3,
                          headers={"X-MBX-APIKEY": c.api_key, "Content-Type": "application/x-www-form-urlencoded"})
    algo = await ok(c, "GET", "/fapi/v1/algoOrder", {"clientAlgoId": "lost-1"})
    assert algo["algoStatus"] == "NEW"
    await set_faults(c, fail_orders=1, fail_mode="timeout", timeout_s=0.2)
    r = await c.call("POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": "late-1"})
    assert r.status_code == 408 and r.json() == {"code": -1007, "msg": ("Timeout waiting for response from backend "
                                                 "server. Send status unknown; execution status unknown.")}
    assert (await ok(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "late-1"}))["status"] \
        == "NEW"


async def test_429_418_bursts_and_clock_skew_on_fapi(fenv: Any) -> None:  # noqa: F811
    _srv, c = await fenv([FLAT] * 5)
    await set_faults(c, burst_429=1, burst_418=1)
    r = await c.http.get("/fapi/v1/ping")
    assert r.status_code == 418 and r.json()["code"] == -1003 and int(r.headers["Retry-After"]) > 0
    r = await c.call("POST", "/fapi/v1/order", LIMIT)
    assert r.status_code == 429 and r.json()["code"] == -1003 and int(r.headers["Retry-After"]) > 0
    assert "x-mbx-used-weight-1m" in r.headers
    assert await ok(c, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}) == []  # nothing was placed
    assert (await c.http.get("/fapi/v1/ping")).status_code == 200
    await set_faults(c, clock_skew_ms=30_000)
    server = (await c.http.get("/fapi/v1/time")).json()["serverTime"]
    assert server - time.time() * 1000 > 25_000
    assert await err(c, "GET", "/fapi/v3/account") == (-1021, ("Timestamp for this request is outside of the "
                                                        "recvWindow."))
    assert (await c.call("GET", "/fapi/v3/account", ts=server)).status_code == 200


async def test_futures_order_rate_limit(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 5, futures_orders_per_10s=2)
    srv.venue.futures.limiter._clock = lambda: 1_000_001.0
    for i in range(2):
        await ok(c, "POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": f"r{i}"})
    r = await c.call("POST", "/fapi/v1/order", LIMIT)
    assert r.status_code == 429 and r.json()["code"] == -1015
    assert (await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                   "timeInForce": "GTC", "quantity": "0.1", "price": "99.00"})
            ).status_code != 429  # spot counts its own orders (another host on Binance)
    await c.http.post("/_venue/reset-limits")
    await ok(c, "POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": "r9"})


async def test_drop_streams_cuts_every_futures_connection(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 5)
    key = await listen_key(c)
    fm = srv.venue.futures
    urls = [f"{srv.ws_url}/market/ws/btcusdt@markPrice@1s", f"{srv.ws_url}/public/stream?streams=btcusdt@bookTicker",
            f"{srv.fstream_url}/ws/btcusdt@aggTrade", f"{srv.fstream_url}/stream?streams=btcusdt@kline_1m",
            f"{srv.ws_url}/private/ws/{key}", f"{srv.ws_url}/private/stream?listenKey={key}",
            f"{srv.fstream_url}/ws/{key}"]
    socks = [await connect(u) for u in urls]
    try:
        await _wait(lambda: len(fm.streams.conns) == 4 and len(fm.userdata.conns) == 3)
        r = await c.http.post("/_venue/drop-streams")
        assert r.status_code == 200
        for ws in socks:
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
        await _wait(lambda: not fm.streams.conns and not fm.userdata.conns)
    finally:
        for ws in socks:
            await ws.close()
    # the listenKey stays valid: a client reconnects with it and keeps receiving its events
    async with connect(f"{srv.ws_url}/private/ws/{key}") as ws:
        await _wait(lambda: len(fm.userdata.conns) == 1)
        await ok(c, "POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": "after-drop"})
        got = await _recv_all(ws)
    assert [e["e"] for e in got] == ["ORDER_TRADE_UPDATE"] and got[0]["o"]["c"] == "after-drop"


async def test_periodic_drop_on_futures_paths(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 30)
    key = await listen_key(c)
    await set_faults(c, drop_streams_every_s=0.2)
    srv.venue.clock.resume()  # the feed loop runs the periodic drop
    for url in (f"{srv.ws_url}/market/ws/btcusdt@markPrice@1s", f"{srv.ws_url}/private/ws/{key}"):
        async with connect(url) as ws:
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)


async def test_duplicated_and_reordered_futures_user_data(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 5)
    key = await listen_key(c)
    async with connect(f"{srv.ws_url}/private/ws/{key}") as ws:
        await _wait(lambda: len(srv.venue.futures.userdata.conns) == 1)
        await set_faults(c, userdata_duplicate=True)
        await ok(c, "POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": "d1"})
        dup = await _recv_all(ws)
        assert len(dup) == 2 and dup[0] == dup[1] and dup[0]["o"]["c"] == "d1"
        await set_faults(c, userdata_duplicate=False, userdata_reorder=True)
        await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.01", newClientOrderId="m1"))
        swapped = [(e["e"], e.get("o", {}).get("X", "")) for e in await _recv_all(ws)]
        # NEW, TRADE_LITE, FILLED, ACCOUNT_UPDATE arrive as pairs swapped
        assert swapped == [("TRADE_LITE", ""), ("ORDER_TRADE_UPDATE", "NEW"), ("ACCOUNT_UPDATE", ""),
                           ("ORDER_TRADE_UPDATE", "FILLED")]
        await ok(c, "POST", "/fapi/v1/order", {**LIMIT, "newClientOrderId": "held"})
        assert await _recv_all(ws) == []  # an odd event is held back while the fault is on...
        await set_faults(c, userdata_reorder=False)
        released = await _recv_all(ws)
        assert [e["o"]["c"] for e in released] == ["held"]  # ...and released when it is switched off
