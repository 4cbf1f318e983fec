"""User data through the WebSocket API: the signature subscription, then executionReport,
listStatus, outboundAccountPosition and balanceUpdate wrapped with their subscriptionId."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.venue.conftest import payload, same_shape


def subscribe_frame(api_key: str, secret: str, rid: Any = 1) -> str:
    params = {"apiKey": api_key, "timestamp": int(time.time() * 1000)}
    q = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new(secret.encode(), q.encode(), hashlib.sha256).hexdigest()
    return orjson.dumps({"id": rid, "method": "userDataStream.subscribe.signature", "params": params}).decode()


async def events(ws: Any, timeout: float = 0.4) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(orjson.loads(await asyncio.wait_for(ws.recv(), timeout)))
        except TimeoutError:
            return out


async def test_subscription_and_order_lifecycle_events(venue_env) -> None:
    srv, c = await venue_env([(100, 100.5, 98.5, 100), (100, 103.5, 99.5, 103)] + [(103, 103.2, 102.9, 103)] * 3)
    async with connect(srv.ws_api_url) as ws:
        await ws.send(orjson.dumps({"id": "p", "method": "ping", "params": {}}).decode())
        assert orjson.loads(await ws.recv())["result"] == {}
        await ws.send(subscribe_frame(c.api_key, "wrong"))
        bad = orjson.loads(await ws.recv())
        assert bad["status"] == 400 and bad["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
        await ws.send(subscribe_frame(c.api_key, c.secret, rid="s1"))
        ack = orjson.loads(await ws.recv())
        ref_ack = {"id": 1, "status": 200, "result": {"subscriptionId": 0},
                   "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                                   "limit": 6000, "count": 4}]}
        assert ack["id"] == "s1" and ack["result"] == {"subscriptionId": 0}  # the id is echoed as sent
        assert not same_shape({**ack, "id": 1}, ref_ack)
        await ws.send(subscribe_frame(c.api_key, c.secret, rid=2))
        assert orjson.loads(await ws.recv())["error"]["code"] == -2035  # one subscription per connection

        otoco = {"symbol": "BTCUSDT", "workingType": "LIMIT", "workingSide": "BUY", "workingPrice": "99",
                 "workingQuantity": "0.5", "workingTimeInForce": "GTC", "pendingSide": "SELL",
                 "pendingQuantity": "0.4", "pendingAboveType": "LIMIT_MAKER", "pendingAbovePrice": "103",
                 "pendingBelowType": "STOP_LOSS", "pendingBelowStopPrice": "97"}
        assert (await c.call("POST", "/api/v3/orderList/otoco", otoco)).status_code == 200
        srv.venue.step_bars(2)
        evs = await events(ws)
    assert all(e["subscriptionId"] == 0 for e in evs)
    kinds = [e["event"]["e"] for e in evs]
    assert {"executionReport", "listStatus", "outboundAccountPosition"} <= set(kinds)
    ers = [e["event"] for e in evs if e["event"]["e"] == "executionReport"]
    ref = payload("docs_examples/spot/userdata_execution_report_wrapped.json")
    new_er = next(e for e in ers if e["x"] == "NEW")
    assert not same_shape({"subscriptionId": 0, "event": new_er}, ref)
    fill = next(e for e in ers if e["x"] == "TRADE")
    live_fill = payload("spot/ws/executionReport_binanceus_BTCUSD_fill_2025-10-01.json")["data"]
    assert not same_shape(fill, live_fill)
    assert fill["X"] == "FILLED" and fill["l"] == fill["z"] == "0.50000000" and fill["L"] == "99.00000000"
    assert fill["N"] == "BTC" and fill["n"] == "0.00050000" and fill["m"] is True and fill["t"] > 0
    expired = next(e for e in ers if e["x"] == "EXPIRED")
    assert not same_shape(expired, payload("docs_examples/spot/userdata_execution_report_expired.json"),
                          ignore_extra={"F", "g", "I", "M", "Y", "Q", "V", "W"})
    assert expired["eR"] == "OCO_TRIGGER" and expired["o"] == "STOP_LOSS"
    ls = [e for e in evs if e["event"]["e"] == "listStatus"]
    assert not same_shape(ls[0], payload("docs_examples/spot/userdata_list_status_wrapped.json"))
    assert ls[0]["event"]["c"] == "OTO" and ls[-1]["event"]["L"] == "ALL_DONE"
    pos = next(e for e in evs if e["event"]["e"] == "outboundAccountPosition")
    assert not same_shape(pos, payload("docs_examples/spot/userdata_account_position_wrapped.json"))
    # Order of life: the entry NEW precedes its TRADE, the TP's NEW precedes its TRADE.
    seq = [(e["i"], e["x"]) for e in ers]
    assert seq.index((1, "NEW")) < seq.index((1, "TRADE")) and seq.index((3, "NEW")) < seq.index((3, "TRADE"))


async def test_balance_update_and_cancel_ids(venue_env) -> None:
    srv, c = await venue_env()
    async with connect(srv.ws_api_url) as ws:
        await ws.send(subscribe_frame(c.api_key, c.secret))
        await ws.recv()
        r = await c.http.post("/_venue/deposit", content=orjson.dumps({"asset": "USDT", "amount": "250"}))
        assert r.status_code == 200
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1",
                 "price": "99.00", "newClientOrderId": "orig-1"}
        await c.call("POST", "/api/v3/order", order)
        await c.call("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "orig-1",
                                                 "newClientOrderId": "cxl-1"})
        evs = [e["event"] for e in await events(ws)]
    bu = next(e for e in evs if e["e"] == "balanceUpdate")
    assert not same_shape({"subscriptionId": 0, "event": bu}, payload("docs_examples/spot/userdata_balance_update_wrapped.json"))
    assert bu["a"] == "USDT" and bu["d"] == "250.00000000"
    cx = next(e for e in evs if e["e"] == "executionReport" and e["x"] == "CANCELED")
    assert cx["c"] == "cxl-1" and cx["C"] == "orig-1" and cx["X"] == "CANCELED"
    acct = (await c.call("GET", "/api/v3/account")).json()
    assert next(b for b in acct["balances"] if b["asset"] == "USDT")["free"] == "10250.00000000"
