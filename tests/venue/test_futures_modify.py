"""``PUT /fapi/v1/order`` (modify a LIMIT order's price and quantity) with Binance's semantics and
errors, over loopback HTTP and the user-data stream; the cases that need exact book depth
(partial fills) on the engine itself."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect

from tests.venue.test_futures_engine import engine, limit
from tests.venue.test_futures_faults import listen_key
from tests.venue.test_futures_rest import FLAT, err, fenv, ok, order  # noqa: F401
from tests.venue.test_futures_streams import _recv_all, _wait
from tradeterm.venue.errors import VenueError
from tradeterm.venue.futures_engine import OrderEvent

BID = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
       "price": "49000"}


def amend(oid: int | None = None, cid: str | None = None, **kw: str) -> dict[str, Any]:
    base: dict[str, Any] = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.020", "price": "49100"}
    if oid is not None:
        base["orderId"] = oid
    if cid is not None:
        base["origClientOrderId"] = cid
    base.update(kw)
    return base


async def test_modify_price_and_quantity_over_rest_and_stream(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 5)
    key = await listen_key(c)
    async with connect(f"{srv.ws_url}/private/ws/{key}") as ws:
        await _wait(lambda: len(srv.venue.futures.userdata.conns) == 1)
        placed = await ok(c, "POST", "/fapi/v1/order", {**BID, "newClientOrderId": "m1"})
        got = await ok(c, "PUT", "/fapi/v1/order", amend(placed["orderId"]))
        events = await _recv_all(ws)
    assert got["orderId"] == placed["orderId"] and got["clientOrderId"] == "m1"
    assert (got["status"], got["price"], got["origQty"]) == ("NEW", "49100.0", "0.020")
    assert set(placed) == set(got)  # the new-order response skeleton
    q = await ok(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert (q["price"], q["origQty"], q["status"]) == ("49100.0", "0.020", "NEW")
    amended = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "AMENDMENT"]
    assert len(amended) == 1 and (amended[0]["X"], amended[0]["p"], amended[0]["q"]) == ("NEW", "49100.0", "0.020")
    # origClientOrderId works too; orderId prevails when both are sent
    got = await ok(c, "PUT", "/fapi/v1/order", amend(cid="m1", price="49200"))
    assert got["price"] == "49200.0"
    got = await ok(c, "PUT", "/fapi/v1/order", amend(placed["orderId"], cid="nobody", price="49300"))
    assert got["price"] == "49300.0"


async def test_modify_errors_leave_the_order_as_it_was(fenv: Any) -> None:  # noqa: F811
    _srv, c = await fenv([FLAT] * 5)
    oid = (await ok(c, "POST", "/fapi/v1/order", BID))["orderId"]
    assert await err(c, "PUT", "/fapi/v1/order", amend(oid, quantity="0.010", price="49000")) == \
        (-5027, "No need to modify the order.")
    assert await err(c, "PUT", "/fapi/v1/order", amend(oid, price="49100.05")) == \
        (-1111, "Precision is over the maximum defined for this asset.")  # the filters apply as to a new order
    assert (await err(c, "PUT", "/fapi/v1/order", amend(oid, price="80000")))[0] == -4016  # PERCENT_PRICE
    assert await err(c, "PUT", "/fapi/v1/order", amend(oid, quantity="0.001")) == \
        (-5029, "Order's notional must be no smaller than 100")
    assert await err(c, "PUT", "/fapi/v1/order", amend(oid, side="SELL")) == \
        (-1130, "Invalid data sent for a parameter.")
    assert await err(c, "PUT", "/fapi/v1/order", amend(oid + 999)) == (-2013, "Order does not exist.")
    assert (await err(c, "PUT", "/fapi/v1/order", amend(oid, quantity="50")))[0] == -2019  # margin
    assert (await err(c, "PUT", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.02",
                                                   "price": "49100"}))[0] == -1102  # neither id
    assert (await err(c, "PUT", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": oid, "side": "BUY",
                                                   "quantity": "0.02"}))[0] == -1102  # no price
    q = await ok(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": oid})
    assert (q["price"], q["origQty"], q["status"]) == ("49000.0", "0.010", "NEW")


async def test_modify_that_crosses_trades_and_post_only_cancels(fenv: Any) -> None:  # noqa: F811
    _srv, c = await fenv([FLAT] * 5)
    oid = (await ok(c, "POST", "/fapi/v1/order", BID))["orderId"]
    got = await ok(c, "PUT", "/fapi/v1/order", amend(oid, price="50100"))  # above the ask: takes at once
    assert got["status"] == "FILLED" and got["executedQty"] == "0.020"
    trades = await ok(c, "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert len(trades) == 1 and trades[0]["maker"] is False and D(trades[0]["price"]) <= D(50100)
    risk = await ok(c, "GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
    assert risk[0]["positionAmt"] == "0.020"
    assert (await err(c, "PUT", "/fapi/v1/order", amend(oid, price="49000")))[0] == -2013  # filled: gone
    gtx = (await ok(c, "POST", "/fapi/v1/order", {**BID, "timeInForce": "GTX"}))["orderId"]
    got = await ok(c, "PUT", "/fapi/v1/order", amend(gtx, price="50100"))
    assert got["status"] == "CANCELED"  # a post-only amendment that would take cancels the order
    assert await ok(c, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}) == []


def test_modify_at_or_below_the_filled_quantity_cancels() -> None:
    eng = engine(wallet="100000")
    ask = eng.book("BTCUSDT").best_ask
    o = eng.place_order(limit("BUY", "8", str(ask)), 0)  # five fill at the first level, three rest
    assert o.status == "PARTIALLY_FILLED" and o.executed_qty == D(5)
    eng.drain_events()
    eng.modify_order(o, "BUY", D(6), ask - D(1), 1)  # the rest, 1 more, at a new price
    assert (o.status, o.orig_qty, o.remaining, o.price) == ("PARTIALLY_FILLED", D(6), D(1), ask - D(1))
    ev = eng.drain_events()
    assert [e.exec_type for e in ev if isinstance(e, OrderEvent)] == ["AMENDMENT"]
    eng.modify_order(o, "BUY", D(5), ask - D(1), 2)  # no more than has filled: the amendment cancels it
    assert o.status == "CANCELED" and o.executed_qty == D(5)
    with pytest.raises(VenueError) as e:
        eng.modify_order(o, "BUY", D(7), ask, 3)
    assert e.value.code == -2013


async def test_batch_modify_and_batch_cancel(fenv: Any) -> None:  # noqa: F811
    _srv, c = await fenv([FLAT] * 5)
    ids = [(await ok(c, "POST", "/fapi/v1/order", {**BID, "newClientOrderId": f"b{i}"}))["orderId"] for i in range(3)]
    batch = [{"symbol": "BTCUSDT", "orderId": ids[0], "side": "BUY", "quantity": "0.020", "price": "49100"},
             {"symbol": "BTCUSDT", "origClientOrderId": "b1", "side": "BUY", "quantity": "0.010", "price": "49000"},
             {"symbol": "BTCUSDT", "orderId": 999999, "side": "BUY", "quantity": "0.020", "price": "49100"}]
    got = await ok(c, "PUT", "/fapi/v1/batchOrders", {"batchOrders": orjson.dumps(batch).decode()})
    assert got[0]["price"] == "49100.0" and got[0]["origQty"] == "0.020"
    assert got[1] == {"code": -5027, "msg": "No need to modify the order."}  # each answered on its own
    assert got[2] == {"code": -2013, "msg": "Order does not exist."}
    assert (await err(c, "PUT", "/fapi/v1/batchOrders", {"batchOrders": orjson.dumps(batch * 2).decode()})) == \
        (-4082, "Invalid number of batch place orders.")
    got = await ok(c, "DELETE", "/fapi/v1/batchOrders",
                   {"symbol": "BTCUSDT", "orderIdList": orjson.dumps([ids[0], 424242]).decode()})
    assert got[0]["status"] == "CANCELED" and got[1] == {"code": -2011, "msg": "Unknown order sent."}
    got = await ok(c, "DELETE", "/fapi/v1/batchOrders",
                   {"symbol": "BTCUSDT", "origClientOrderIdList": orjson.dumps(["b1", "b2"]).decode()})
    assert [g["status"] for g in got] == ["CANCELED", "CANCELED"]
    assert await ok(c, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}) == []
    assert (await err(c, "DELETE", "/fapi/v1/batchOrders", {"symbol": "BTCUSDT"}))[0] == -1102
    assert (await err(c, "DELETE", "/fapi/v1/batchOrders",
                      {"symbol": "BTCUSDT", "orderIdList": orjson.dumps(list(range(11))).decode()}))[0] == -4082
    assert (await err(c, "DELETE", "/fapi/v1/batchOrders", {"symbol": "BTCUSDT", "orderIdList": "[1,"}))[0] == -1130
