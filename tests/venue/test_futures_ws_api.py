"""The USD-M WebSocket API (``/ws-fapi/v1``) over a real WebSocket: order.place / modify / status
/ cancel and algoOrder.place / cancel signed as Binance signs WebSocket API requests, user-data
listenKeys, the errors, and the faults (a 5xx after an accepted order, a 429 burst)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.venue.test_futures_faults import set_faults
from tests.venue.test_futures_rest import FLAT, fenv, ok  # noqa: F401
from tests.venue.test_futures_streams import _recv_all, _wait

_ids = iter(range(1, 1_000_000))


def signed(c: Any, method: str, params: dict[str, Any], secret: str | None = None) -> str:
    ps: dict[str, Any] = {**params, "apiKey": c.api_key, "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={'true' if v is True else 'false' if v is False else v}" for k, v in sorted(ps.items()))
    ps["signature"] = hmac.new((secret or c.secret).encode(), payload.encode(), hashlib.sha256).hexdigest()
    return orjson.dumps({"id": f"r{next(_ids)}", "method": method, "params": ps}).decode()


async def rpc(ws: Any, frame: str) -> dict[str, Any]:
    await ws.send(frame)
    return orjson.loads(await ws.recv())


async def test_orders_over_the_futures_ws_api(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 5)
    async with connect(srv.ws_fapi_url) as ws:
        r = await rpc(ws, signed(c, "order.place", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                    "timeInForce": "GTC", "quantity": "0.010", "price": "49000",
                                                    "newClientOrderId": "w1"}))
        assert r["status"] == 200 and r["id"].startswith("r")
        rest = await ok(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "w1"})
        assert r["result"]["orderId"] == rest["orderId"] and r["result"]["status"] == "NEW"
        assert set(r["result"]) == set(await ok(c, "POST", "/fapi/v1/order", {
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
            "price": "48000"}))  # the REST new-order shape
        assert r["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
        oid = r["result"]["orderId"]
        r = await rpc(ws, signed(c, "order.modify", {"symbol": "BTCUSDT", "orderId": oid, "side": "BUY",
                                                     "quantity": "0.020", "price": "49100"}))
        assert r["status"] == 200 and (r["result"]["price"], r["result"]["origQty"]) == ("49100.0", "0.020")
        r = await rpc(ws, signed(c, "order.status", {"symbol": "BTCUSDT", "orderId": oid}))
        assert r["result"]["price"] == "49100.0" and r["result"]["time"] > 0
        r = await rpc(ws, signed(c, "order.cancel", {"symbol": "BTCUSDT", "origClientOrderId": "w1"}))
        assert r["status"] == 200 and r["result"]["status"] == "CANCELED"
        r = await rpc(ws, signed(c, "algoOrder.place", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT",
                                                        "side": "SELL", "type": "STOP_MARKET", "quantity": "0.010",
                                                        "triggerPrice": "48000", "reduceOnly": False,
                                                        "clientAlgoId": "wa"}))
        assert r["status"] == 200 and r["result"]["algoStatus"] == "NEW"
        r = await rpc(ws, signed(c, "algoOrder.cancel", {"clientAlgoId": "wa"}))
        assert r["result"]["msg"] == "success"
        r = await rpc(ws, signed(c, "account.position", {"symbol": "BTCUSDT"}))
        assert r["result"][0]["positionAmt"] == "0.000"
        r = await rpc(ws, signed(c, "account.balance", {}))
        assert r["result"][0]["asset"] == "USDT"


async def test_ws_api_errors_and_listen_keys(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 5)
    async with connect(srv.ws_fapi_url) as ws:
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET", "quantity": "0.010"}
        r = await rpc(ws, signed(c, "order.place", order))
        assert r["status"] == 400 and r["error"]["code"] == -4120  # conditional types: the algo API
        r = await rpc(ws, signed(c, "order.place", {**order, "type": "LIMIT"}, secret="wrong"))
        assert r["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
        r = await rpc(ws, signed(c, "order.place", {**order, "type": "LIMIT", "price": "49000", "timeInForce": "GTC", "bogus": 1}))
        assert r["error"]["code"] == -1104  # unread parameter
        r = await rpc(ws, orjson.dumps({"id": 1, "method": "order.teleport", "params": {}}).decode())
        assert r["id"] == 1 and r["error"]["code"] == -1020
        await ws.send("not json")
        assert orjson.loads(await ws.recv())["error"]["code"] == -1000
        start = orjson.dumps({"id": 2, "method": "userDataStream.start", "params": {"apiKey": c.api_key}}).decode()
        key = (await rpc(ws, start))["result"]["listenKey"]
        ping = orjson.dumps({"id": 3, "method": "userDataStream.ping", "params": {"apiKey": c.api_key}}).decode()
        assert (await rpc(ws, ping))["result"] == {"listenKey": key}
        async with connect(f"{srv.ws_url}/private/ws/{key}") as ud:
            await _wait(lambda: len(srv.venue.futures.userdata.conns) == 1)
            r = await rpc(ws, signed(c, "order.place", {**order, "type": "MARKET"}))
            assert r["result"]["status"] == "NEW"  # ACK: the order as accepted
            kinds = [e["e"] for e in await _recv_all(ud)]
        assert kinds == ["ORDER_TRADE_UPDATE", "TRADE_LITE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
        stop = orjson.dumps({"id": 4, "method": "userDataStream.stop", "params": {"apiKey": c.api_key}}).decode()
        assert (await rpc(ws, stop))["result"] == {}
        assert (await rpc(ws, ping))["error"]["code"] == -1125


async def test_ws_api_faults(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 5)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
             "price": "49000"}
    async with connect(srv.ws_fapi_url) as ws:
        await set_faults(c, fail_orders=1, fail_mode="5xx")
        r = await rpc(ws, signed(c, "order.place", {**order, "newClientOrderId": "lost"}))
        assert r["status"] == 503 and r["error"]["code"] == -1006
        q = await rpc(ws, signed(c, "order.status", {"symbol": "BTCUSDT", "origClientOrderId": "lost"}))
        assert q["result"]["status"] == "NEW"  # accepted after all
        await set_faults(c, burst_429=1)
        r = await rpc(ws, signed(c, "order.place", order))
        assert r["status"] == 429 and r["error"]["code"] == -1003 and r["error"]["data"]["retryAfter"] > 0
        assert (await rpc(ws, signed(c, "order.place", order)))["status"] == 200
