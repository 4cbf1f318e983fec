"""Every injectable fault, switched through the control API as an out-of-process test would."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.venue.test_userdata import events, subscribe_frame

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1",
         "price": "99.00"}


async def set_faults(c, **kw) -> dict:
    r = await c.http.post("/_venue/faults", content=orjson.dumps(kw))
    assert r.status_code == 200, r.text
    return r.json()


async def test_5xx_after_the_order_was_accepted(venue_env) -> None:
    _srv, c = await venue_env()
    await set_faults(c, fail_orders=1, fail_mode="5xx")
    r = await c.call("POST", "/api/v3/order", {**ORDER, "newClientOrderId": "unknown-1"})
    assert r.status_code == 503 and r.json()["code"] == -1006
    q = await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "unknown-1"})
    assert q.status_code == 200 and q.json()["status"] == "NEW"  # it exists; the client could not know
    r = await c.call("POST", "/api/v3/order", {**ORDER, "newClientOrderId": "unknown-1"})
    assert r.json() == {"code": -2010, "msg": "Duplicate order sent."}


async def test_timeout_after_the_order_was_accepted(venue_env) -> None:
    _srv, c = await venue_env()
    await set_faults(c, fail_orders=1, fail_mode="timeout", timeout_s=3.0)
    with pytest.raises(httpx.ReadTimeout):
        q = c.sign({**ORDER, "newClientOrderId": "lost-1"})
        await c.http.post("/api/v3/order", content=q, timeout=0.3,
                          headers={"X-MBX-APIKEY": c.api_key, "Content-Type": "application/x-www-form-urlencoded"})
    q = await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "lost-1"})
    assert q.json()["status"] == "NEW"


async def test_delay(venue_env) -> None:
    _srv, c = await venue_env()
    await set_faults(c, delay_ms=3000)
    with pytest.raises(httpx.ReadTimeout):
        await c.http.get("/api/v3/ping", timeout=0.3)
    await set_faults(c, delay_ms=0)
    assert (await c.http.get("/api/v3/ping")).status_code == 200


async def test_429_and_418_bursts(venue_env) -> None:
    _srv, c = await venue_env()
    await set_faults(c, burst_429=2, burst_418=1)
    r = await c.http.get("/api/v3/ping")
    assert r.status_code == 418 and r.json()["code"] == -1003 and int(r.headers["Retry-After"]) > 0
    for _ in range(2):
        r = await c.http.get("/api/v3/ping")
        assert r.status_code == 429 and r.json()["code"] == -1003 and "Retry-After" in r.headers
    assert (await c.http.get("/api/v3/ping")).status_code == 200


async def test_real_weight_limit_then_ban(venue_env) -> None:
    srv, c = await venue_env(weight_per_minute=5)
    srv.venue.limiter._clock = lambda: 1_000_040.0  # pin the window: no minute rollover mid-test
    for _ in range(5):
        assert (await c.http.get("/api/v3/ping")).status_code == 200
    r = await c.http.get("/api/v3/ping")
    assert r.status_code == 429 and r.headers["Retry-After"] == "40" and r.headers["x-mbx-used-weight-1m"] == "6"
    assert r.json()["msg"].startswith("Too much request weight used; current limit is 5 request weight per 1 MINUTE.")
    codes = [(await c.http.get("/api/v3/ping")).status_code for _ in range(4)]
    assert codes == [429, 429, 418, 418]  # a client that keeps going is banned
    await c.http.post("/_venue/reset-limits")
    assert (await c.http.get("/api/v3/ping")).status_code == 200


async def test_order_rate_limit(venue_env) -> None:
    srv, c = await venue_env(orders_per_10s=2)
    srv.venue.limiter._clock = lambda: 1_000_001.0
    for _ in range(2):
        assert (await c.call("POST", "/api/v3/order", ORDER)).status_code == 200
    r = await c.call("POST", "/api/v3/order", ORDER)
    assert r.status_code == 429 and r.json() == {"code": -1015, "msg": "Too many new orders; current limit is 2 orders per 10 SECOND."}
    assert r.headers["x-mbx-order-count-10s"] == "2"


async def test_clock_skew(venue_env) -> None:
    _srv, c = await venue_env()
    await set_faults(c, clock_skew_ms=30_000)
    server = (await c.http.get("/api/v3/time")).json()["serverTime"]
    assert server - time.time() * 1000 > 25_000
    r = await c.call("GET", "/api/v3/account")
    assert r.json() == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    r = await c.call("GET", "/api/v3/account", ts=server)  # a client that syncs to serverTime is fine
    assert r.status_code == 200


async def test_drop_streams_on_demand_and_periodically(venue_env) -> None:
    srv, c = await venue_env()
    async with connect(f"{srv.ws_url}/ws/btcusdt@kline_1m") as ws:
        await asyncio.sleep(0.05)
        await c.http.post("/_venue/drop-streams")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    await set_faults(c, drop_streams_every_s=0.2)
    srv.venue.clock.resume()  # the feed loop runs the periodic drop
    async with connect(f"{srv.ws_url}/ws/btcusdt@kline_1m") as ws:
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)


async def test_duplicated_and_reordered_user_data(venue_env) -> None:
    srv, c = await venue_env()
    async with connect(srv.ws_api_url) as ws:
        await ws.send(subscribe_frame(c.api_key, c.secret))
        await ws.recv()
        await set_faults(c, userdata_duplicate=True)
        await c.call("POST", "/api/v3/order", {**ORDER, "newClientOrderId": "d1"})
        dup = [e["event"] for e in await events(ws)]
        assert len(dup) == 4 and dup[0] == dup[1] and dup[2] == dup[3]  # executionReport, account position
        await set_faults(c, userdata_duplicate=False, userdata_reorder=True)
        await c.call("POST", "/api/v3/order", {**ORDER, "newClientOrderId": "d2"})
        swapped = [e["event"]["e"] for e in await events(ws)]
        assert swapped == ["outboundAccountPosition", "executionReport"]
