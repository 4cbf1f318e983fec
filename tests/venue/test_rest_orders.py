"""Signed order endpoints over loopback HTTP: authentication, parameter validation, every filter,
engine rejects, response types, and the shapes of Binance's documented payloads."""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.venue.conftest import btc_source, payload, same_shape, venue_config
from tradeterm.venue.auth import Credential

LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1",
         "price": "99.50"}
RESULT_KEYS_EXTRA = {"workingTime", "expiryReason"}


async def test_limit_order_round_trip_and_shapes(venue_env) -> None:
    _srv, c = await venue_env()
    r = await c.call("POST", "/api/v3/order", {**LIMIT, "newClientOrderId": "my-1"})
    assert r.status_code == 200, r.text
    full = r.json()
    assert not same_shape(full, payload("docs_examples/spot/rest_new_order_full_response.json"))
    assert full["status"] == "NEW" and full["clientOrderId"] == "my-1" and full["price"] == "99.50000000"
    assert "x-mbx-order-count-10s" in r.headers and r.headers["x-mbx-order-count-10s"] == "1"
    q = (await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": full["orderId"]})).json()
    assert not same_shape(q, payload("docs_examples/spot/rest_order_response.json"))
    q2 = (await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "my-1"})).json()
    assert q2 == q
    oo = (await c.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})).json()
    assert not same_shape(oo, payload("docs_examples/spot/rest_open_orders_response.json")) and len(oo) == 1
    acct = (await c.call("GET", "/api/v3/account")).json()
    assert not same_shape(acct, payload("docs_examples/spot/rest_account_response.json"))
    usdt = next(b for b in acct["balances"] if b["asset"] == "USDT")
    assert usdt == {"asset": "USDT", "free": "9990.05000000", "locked": "9.95000000"}
    cx = (await c.call("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "my-1"}))
    assert cx.status_code == 200
    assert not same_shape(cx.json(), payload("docs_examples/spot/rest_cancel_order_response.json"))
    assert cx.json()["status"] == "CANCELED" and cx.json()["origClientOrderId"] == "my-1"
    again = await c.call("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": full["orderId"]})
    assert again.status_code == 400 and again.json() == {"code": -2011, "msg": "Unknown order sent."}
    gone = await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 999})
    assert gone.json() == {"code": -2013, "msg": "Order does not exist."}
    allo = (await c.call("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"})).json()
    assert [o["status"] for o in allo] == ["CANCELED"]


async def test_response_types_ack_result_full_and_market_fills(venue_env) -> None:
    _srv, c = await venue_env()
    ack = (await c.call("POST", "/api/v3/order", {**LIMIT, "newOrderRespType": "ACK"})).json()
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    res = (await c.call("POST", "/api/v3/order", {**LIMIT, "newOrderRespType": "RESULT"})).json()
    assert "fills" not in res and res["status"] == "NEW"
    mkt = (await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                   "quantity": "0.5"})).json()
    assert mkt["status"] == "FILLED" and mkt["fills"] and all(f["commissionAsset"] == "USDT" for f in mkt["fills"])
    qq = (await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                  "quoteOrderQty": "20"})).json()
    assert qq["origQuoteOrderQty"] == "20.00000000" and float(qq["cummulativeQuoteQty"]) <= 20
    stop = (await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS",
                                                    "quantity": "0.1", "stopPrice": "90"})).json()
    assert set(stop) == set(ack)  # non-LIMIT/MARKET orders answer ACK by default
    trades = (await c.call("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})).json()
    assert not same_shape(trades, payload("docs_examples/spot/rest_account_trades_response.json"))
    test = await c.call("POST", "/api/v3/order/test", LIMIT)
    assert test.status_code == 200 and test.json() == {}


@pytest.mark.parametrize(("params", "code", "msg"), [
    ({"price": "99.505"}, -1013, "Filter failure: PRICE_FILTER"),
    ({"price": "1000001"}, -1013, "Filter failure: PRICE_FILTER"),
    ({"price": "10.00"}, -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"),
    ({"quantity": "0.000000001"}, -1111, "Parameter 'quantity' has too much precision."),
    ({"price": "99.123456789"}, -1111, "Parameter 'price' has too much precision."),
    ({"quantity": "0.000015"}, -1013, "Filter failure: LOT_SIZE"),
    ({"quantity": "0.00001"}, -1013, "Filter failure: NOTIONAL"),
    ({"quantity": "9001"}, -1013, "Filter failure: LOT_SIZE"),
    ({"quantity": "0.123456"}, -1013, "Filter failure: LOT_SIZE"),
    ({"quantity": "1e3"}, -1100, ("Illegal characters found in parameter 'quantity'; legal range is "
                                  "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")),
    ({"side": "LONG"}, -1117, "Invalid side."),
    ({"type": "ICEBERG"}, -1116, "Invalid orderType."),
    ({"timeInForce": "GTX"}, -1115, "Invalid timeInForce."),
    ({"timeInForce": None}, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
    ({"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
    ({"stopPrice": "90"}, -1106, "Parameter 'stopPrice' sent when not required."),
    ({"reduceOnly": "true"}, -1104, "Not all sent parameters were read; read '8' parameter(s) but was sent '9'."),
    ({"newClientOrderId": "bad id!"}, -1100, ("Illegal characters found in parameter 'newClientOrderId'; legal "
                                            "range is '^[a-zA-Z0-9-_]{1,36}$'.")),
    ({"newClientOrderId": "x" * 37}, -1100, ("Illegal characters found in parameter 'newClientOrderId'; legal "
                                           "range is '^[a-zA-Z0-9-_]{1,36}$'.")),
    ({"quantity": "200"}, -2010, "Account has insufficient balance for requested action."),
    ({"type": "LIMIT_MAKER", "timeInForce": None, "price": "100.5"}, -2010, "Order would immediately match and take."),
])
async def test_order_rejections(venue_env, params: dict, code: int, msg: str) -> None:
    srv, c = await venue_env()
    body = {k: v for k, v in {**LIMIT, **params}.items() if v is not None}
    r = await c.call("POST", "/api/v3/order", body)
    assert r.status_code == 400 and r.json() == {"code": code, "msg": msg}
    assert srv.venue.engine.open_orders() == []


async def test_market_order_parameter_rules(venue_env) -> None:
    _srv, c = await venue_env()
    m = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}
    r = await c.call("POST", "/api/v3/order", m)
    assert r.json() == {"code": -1102, "msg": "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"}
    r = await c.call("POST", "/api/v3/order", {**m, "quantity": "0.1", "price": "100"})
    assert r.json() == {"code": -1106, "msg": "Parameter 'price' sent when not required."}


async def test_order_count_filters(venue_env) -> None:
    srv, c = await venue_env()
    for k in range(5):
        r = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS",
                                                   "quantity": "0.1", "stopPrice": f"9{k}"})
        assert r.status_code == 200
    r = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS",
                                               "quantity": "0.1", "stopPrice": "89"})
    assert r.json() == {"code": -1013, "msg": "Filter failure: MAX_NUM_ALGO_ORDERS"}
    srv.venue.engine.rules["BTCUSDT"] = type(srv.venue.engine.rules["BTCUSDT"])(
        **{**{f: getattr(srv.venue.engine.rules["BTCUSDT"], f) for f in srv.venue.engine.rules["BTCUSDT"].__slots__},
           "max_num_orders": 6})
    assert (await c.call("POST", "/api/v3/order", LIMIT)).status_code == 200
    r = await c.call("POST", "/api/v3/order", LIMIT)
    assert r.json() == {"code": -1013, "msg": "Filter failure: MAX_NUM_ORDERS"}


async def test_duplicate_client_order_id_among_open_orders(venue_env) -> None:
    _srv, c = await venue_env()
    assert (await c.call("POST", "/api/v3/order", {**LIMIT, "newClientOrderId": "dup"})).status_code == 200
    r = await c.call("POST", "/api/v3/order", {**LIMIT, "newClientOrderId": "dup"})
    assert r.json() == {"code": -2010, "msg": "Duplicate order sent."}
    await c.call("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "dup"})
    assert (await c.call("POST", "/api/v3/order", {**LIMIT, "newClientOrderId": "dup"})).status_code == 200


async def test_authentication_errors(venue_env) -> None:
    _srv, c = await venue_env()
    r = await c.http.get("/api/v3/account?" + c.sign({}))
    assert r.status_code == 401 and r.json() == {"code": -2014, "msg": "API-key format invalid."}
    r = await c.call("GET", "/api/v3/account", api_key="nope")
    assert r.status_code == 401 and r.json() == {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    r = await c.call("GET", "/api/v3/account", secret="wrong")
    assert r.status_code == 400 and r.json() == {"code": -1022, "msg": "Signature for this request is not valid."}
    now = int(time.time() * 1000)
    r = await c.call("GET", "/api/v3/account", ts=now - 6000)
    assert r.json() == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    r = await c.call("GET", "/api/v3/account", {"recvWindow": 10000}, ts=now - 6000)
    assert r.status_code == 200
    r = await c.call("GET", "/api/v3/account", ts=now + 2000)
    assert r.json() == {"code": -1021, "msg": "Timestamp for this request was 1000ms ahead of the server's time."}
    r = await c.call("GET", "/api/v3/account", {"recvWindow": 70000})
    assert r.json()["code"] == -1131
    r = await c.http.get("/api/v3/account", headers={"X-MBX-APIKEY": c.api_key})
    assert r.json() == {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."}
    q = f"timestamp={now}"
    r = await c.http.get("/api/v3/account?" + q, headers={"X-MBX-APIKEY": c.api_key})
    assert r.json() == {"code": -1102, "msg": "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."}
    r = await c.http.get(f"/api/v3/account?{q}&timestamp={now}&signature=x", headers={"X-MBX-APIKEY": c.api_key})
    assert r.json() == {"code": -1101, "msg": "Duplicate values for a parameter detected."}


async def test_signature_over_mixed_query_and_body(venue_env) -> None:
    """Binance's own example: part in the query, part in the body, signed as query+body (no '&')."""
    import hashlib
    import hmac
    _srv, c = await venue_env()
    q = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.1&price=99.50&recvWindow=5000&timestamp={int(time.time() * 1000)}"
    sig = hmac.new(c.secret.encode(), (q + body).encode(), hashlib.sha256).hexdigest()
    r = await c.http.post(f"/api/v3/order?{q}", content=f"{body}&signature={sig}",
                          headers={"X-MBX-APIKEY": c.api_key, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text


async def test_ed25519_signed_requests(make_server) -> None:
    import httpx
    key = Ed25519PrivateKey.generate()
    cred = Credential("ed-key-1", ed25519=key.public_key())
    srv = await make_server(venue_config([btc_source([(100, 101, 99, 100)] * 5)], credentials=[cred]))
    async with httpx.AsyncClient(base_url=srv.rest_url) as http:
        payload_ = f"symbol=BTCUSDT&timestamp={int(time.time() * 1000)}"
        sig = quote(base64.b64encode(key.sign(payload_.encode())).decode(), safe="")
        r = await http.get(f"/api/v3/openOrders?{payload_}&signature={sig}", headers={"X-MBX-APIKEY": "ed-key-1"})
        assert r.status_code == 200 and r.json() == []
        other = Ed25519PrivateKey.generate()
        bad = quote(base64.b64encode(other.sign(payload_.encode())).decode(), safe="")
        r = await http.get(f"/api/v3/openOrders?{payload_}&signature={bad}", headers={"X-MBX-APIKEY": "ed-key-1"})
        assert r.json() == {"code": -1022, "msg": "Signature for this request is not valid."}


async def test_order_lists_over_http(venue_env) -> None:
    srv, c = await venue_env([(100, 100.5, 98.5, 100), (100, 103.5, 99.5, 103)] + [(103, 103.2, 102.8, 103)] * 5)
    otoco = {"symbol": "BTCUSDT", "listClientOrderId": "br-1", "workingType": "LIMIT", "workingSide": "BUY",
             "workingPrice": "99", "workingQuantity": "0.5", "workingTimeInForce": "GTC", "pendingSide": "SELL",
             "pendingQuantity": "0.4", "pendingAboveType": "LIMIT_MAKER", "pendingAbovePrice": "103",
             "pendingBelowType": "STOP_LOSS_LIMIT", "pendingBelowStopPrice": "97", "pendingBelowPrice": "96.5",
             "pendingBelowTimeInForce": "GTC"}
    r = await c.call("POST", "/api/v3/orderList/otoco", otoco)
    assert r.status_code == 200, r.text
    body = r.json()
    ref = payload("docs_examples/binance_net_fixtures/rest_spot_PlaceOtocoOrderList.txt")
    assert not same_shape(body, ref, ignore_extra={"stopPrice"})
    assert body["contingencyType"] == "OTO" and [o["status"] for o in body["orderReports"]] == ["NEW", "PENDING_NEW", "PENDING_NEW"]
    assert body["orderReports"][1]["workingTime"] == -1
    got = (await c.call("GET", "/api/v3/orderList", {"origClientOrderId": "br-1"})).json()
    assert not same_shape(got, payload("docs_examples/binance_net_fixtures/rest_spot_GetOcoOrder.txt"))
    assert len((await c.call("GET", "/api/v3/openOrderList")).json()) == 1
    srv.venue.step_bars(2)
    got = (await c.call("GET", "/api/v3/orderList", {"orderListId": body["orderListId"]})).json()
    assert got["listOrderStatus"] == "ALL_DONE"
    statuses = [(await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": o["orderId"]})).json()["status"]
                for o in body["orders"]]
    assert statuses == ["FILLED", "EXPIRED", "FILLED"]
    # A standalone OCO, then cancelled as a list.
    oco = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.3", "aboveType": "LIMIT_MAKER", "abovePrice": "105",
           "belowType": "STOP_LOSS", "belowStopPrice": "101"}
    r = await c.call("POST", "/api/v3/orderList/oco", oco)
    assert r.status_code == 200, r.text
    lid = r.json()["orderListId"]
    cx = await c.call("DELETE", "/api/v3/orderList", {"symbol": "BTCUSDT", "orderListId": lid})
    # origQuoteOrderQty: in the newer docs example (cancel openOrders) but not in this older one.
    assert not same_shape(cx.json(), payload("docs_examples/binance_net_fixtures/rest_spot_CancelOcoOrder.txt"),
                          ignore_extra={"stopPrice", "origQuoteOrderQty"})
    assert [o["status"] for o in cx.json()["orderReports"]] == ["CANCELED", "CANCELED"]
    bad = {**oco, "abovePrice": "100.50", "belowStopPrice": "104"}
    r = await c.call("POST", "/api/v3/orderList/oco", bad)
    assert r.json() == {"code": -2010, "msg": "The relationship of the prices for the orders is not correct."}
    oto = {"symbol": "BTCUSDT", "workingType": "LIMIT", "workingSide": "BUY", "workingPrice": "102",
           "workingQuantity": "0.1", "workingTimeInForce": "GTC", "pendingType": "LIMIT_MAKER", "pendingSide": "SELL",
           "pendingPrice": "106", "pendingQuantity": "0.1"}
    assert (await c.call("POST", "/api/v3/order", {**LIMIT, "price": "102.00"})).status_code == 200
    r = await c.call("POST", "/api/v3/orderList/oto", oto)
    assert r.status_code == 200 and len(r.json()["orders"]) == 2
    cxall = (await c.call("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})).json()
    ref = payload("docs_examples/spot/rest_cancel_open_orders_response.json")
    assert len(cxall) == 2 and "orderListId" in cxall[1] and "orderReports" in cxall[1]
    # stopPrice/icebergQty are conditional: the reference list's legs are iceberg stop-limits.
    assert not same_shape(cxall[0], ref[0])
    assert not same_shape(cxall[1], ref[-1], ignore_missing={"stopPrice", "icebergQty"})
    r = await c.call("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert r.json() == {"code": -2011, "msg": "Unknown order sent."}
