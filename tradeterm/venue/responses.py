"""JSON shapes of REST answers and user-data events, built from engine objects.

Kept apart from the routes so that the WS API and the REST API (and tests checking shapes
against captured payloads) share one definition of each object."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeterm.venue.matching import (
    BalanceEvent,
    ExecEvent,
    Fill,
    ListEvent,
    Order,
    OrderList,
    Trade,
)
from tradeterm.venue.symbols import f8

STOP_FIELD_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})


def order_ack(o: Order, t: int) -> dict[str, Any]:
    return {"symbol": o.symbol, "orderId": o.order_id, "orderListId": o.order_list_id,
            "clientOrderId": o.client_order_id, "transactTime": t}


def order_result(o: Order, t: int) -> dict[str, Any]:
    d = order_ack(o, t)
    d.update({"price": f8(o.price), "origQty": f8(o.orig_qty), "executedQty": f8(o.executed_qty),
              "origQuoteOrderQty": f8(o.orig_quote_qty), "cummulativeQuoteQty": f8(o.cum_quote),
              "status": o.status, "timeInForce": o.time_in_force, "type": o.type, "side": o.side})
    if o.type in STOP_FIELD_TYPES:
        d["stopPrice"] = f8(o.stop_price)
    d["workingTime"] = o.working_time
    d["selfTradePreventionMode"] = o.stp_mode
    if o.status == "EXPIRED":
        d["expiryReason"] = o.expiry_reason
    return d


def fill_json(f: Fill) -> dict[str, Any]:
    return {"price": f8(f.price), "qty": f8(f.qty), "commission": f8(f.commission),
            "commissionAsset": f.commission_asset, "tradeId": f.trade_id}


def order_response(o: Order, t: int, resp_type: str, fills: list[Fill]) -> dict[str, Any]:
    if resp_type == "ACK":
        return order_ack(o, t)
    d = order_result(o, t)
    if resp_type == "FULL":
        d["fills"] = [fill_json(f) for f in fills]
    return d


def order_query(o: Order) -> dict[str, Any]:
    return {"symbol": o.symbol, "orderId": o.order_id, "orderListId": o.order_list_id,
            "clientOrderId": o.client_order_id, "price": f8(o.price), "origQty": f8(o.orig_qty),
            "executedQty": f8(o.executed_qty), "cummulativeQuoteQty": f8(o.cum_quote), "status": o.status,
            "timeInForce": o.time_in_force, "type": o.type, "side": o.side, "stopPrice": f8(o.stop_price),
            "icebergQty": f8(0), "time": o.time, "updateTime": o.update_time, "isWorking": o.is_working
            or (o.working_time != -1 and o.status in ("FILLED", "PARTIALLY_FILLED")),
            "workingTime": o.working_time, "origQuoteOrderQty": f8(o.orig_quote_qty),
            "selfTradePreventionMode": o.stp_mode}


def cancel_response(o: Order, cancel_id: str, t: int) -> dict[str, Any]:
    d: dict[str, Any] = {"symbol": o.symbol, "origClientOrderId": o.client_order_id, "orderId": o.order_id,
                         "orderListId": o.order_list_id, "clientOrderId": cancel_id, "transactTime": t,
                         "price": f8(o.price), "origQty": f8(o.orig_qty), "executedQty": f8(o.executed_qty),
                         "origQuoteOrderQty": f8(o.orig_quote_qty), "cummulativeQuoteQty": f8(o.cum_quote),
                         "status": o.status, "timeInForce": o.time_in_force, "type": o.type, "side": o.side}
    if o.type in STOP_FIELD_TYPES:
        d["stopPrice"] = f8(o.stop_price)
    d["selfTradePreventionMode"] = o.stp_mode
    return d


def list_response(ol: OrderList, orders: list[Order], reports: list[dict[str, Any]] | None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "orderListId": ol.order_list_id, "contingencyType": ol.contingency_type,
        "listStatusType": ol.list_status_type, "listOrderStatus": ol.list_order_status,
        "listClientOrderId": ol.list_client_order_id, "transactionTime": ol.transaction_time,
        "symbol": ol.symbol,
        "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
                   for o in orders],
    }
    if reports is not None:
        d["orderReports"] = reports
    return d


def trade_json(tr: Trade) -> dict[str, Any]:
    return {"symbol": tr.symbol, "id": tr.id, "orderId": tr.order_id, "orderListId": tr.order_list_id,
            "price": f8(tr.price), "qty": f8(tr.qty), "quoteQty": f8(tr.quote_qty),
            "commission": f8(tr.commission), "commissionAsset": tr.commission_asset, "time": tr.time,
            "isBuyer": tr.is_buyer, "isMaker": tr.is_maker, "isBestMatch": True}


# ------------------------------------------------------------------ user-data events
def execution_report(ev: ExecEvent, exec_id: int, event_time: int) -> dict[str, Any]:
    o = ev.order
    cancel = ev.cancel_client_id is not None
    d: dict[str, Any] = {
        "e": "executionReport", "E": event_time, "s": o.symbol,
        "c": ev.cancel_client_id if cancel else o.client_order_id,
        "S": o.side, "o": o.type, "f": o.time_in_force, "q": f8(o.orig_qty), "p": f8(o.price),
        "P": f8(o.stop_price), "F": f8(0), "g": o.order_list_id,
        "C": o.client_order_id if cancel else "", "x": ev.exec_type, "X": o.status, "r": ev.reject_reason,
        "i": o.order_id, "l": f8(ev.last_qty), "z": f8(o.executed_qty), "L": f8(ev.last_price),
        "n": f8(ev.commission) if ev.commission_asset else "0", "N": ev.commission_asset, "T": ev.t,
        "t": ev.trade_id, "I": exec_id, "w": o.is_working and o.status in ("NEW", "PARTIALLY_FILLED"),
        "m": ev.is_maker, "M": False, "O": o.time, "Z": f8(o.cum_quote),
        "Y": f8(ev.last_qty * ev.last_price), "Q": f8(o.orig_quote_qty),
    }
    if o.working_time != -1:
        d["W"] = o.working_time
    d["V"] = o.stp_mode
    if ev.exec_type == "EXPIRED":
        d["eR"] = o.expiry_reason
    return d


def list_status(ev: ListEvent, event_time: int) -> dict[str, Any]:
    ol = ev.order_list
    return {"e": "listStatus", "E": event_time, "s": ol.symbol, "g": ol.order_list_id,
            "c": ol.contingency_type, "l": ol.list_status_type, "L": ol.list_order_status,
            "r": ev.reject_reason, "C": ol.list_client_order_id, "T": ev.t,
            "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in ev.orders]}


def account_position(ev: BalanceEvent, event_time: int) -> dict[str, Any]:
    return {"e": "outboundAccountPosition", "E": event_time, "u": ev.t,
            "B": [{"a": a, "f": f8(free), "l": f8(locked)} for a, (free, locked) in ev.balances.items()]}


def balance_update(asset: str, delta: Decimal, event_time: int, t: int) -> dict[str, Any]:
    return {"e": "balanceUpdate", "E": event_time, "a": asset, "d": f8(delta), "T": t}
