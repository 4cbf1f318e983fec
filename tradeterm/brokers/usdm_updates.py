"""USD-M order JSON and user-data events → ``OrderUpdateV1`` (and ``Fill``).

Two id spaces meet here. Engine orders (entry, take profits, closes) are known by
``clientOrderId``; the stop is an *algo* order (``/fapi/v1/algoOrder``) known by
``clientAlgoId``, which, once triggered, places a child engine order whose ``orderId`` is the
algo's ``actualOrderId`` (``ai``). The bracket knows one id per leg, so every state of the
stop, whether the algo's (``ALGO_UPDATE``) or its child's (``ORDER_TRADE_UPDATE``), is
reported under the ``clientAlgoId``.

Arrival order is not guaranteed: Binance (and the venue, which reproduces it) may deliver the
child's fill *before* the ``ALGO_UPDATE`` that says the algo triggered. Both orders give the same
result because (a) a child whose ``c`` already is our algo id needs no lookup, (b) a child
whose ``c`` is not ours but whose type says it came from a conditional order is held until the
``ALGO_UPDATE`` naming its ``orderId`` arrives, and (c) an algo's ``FINISHED`` carries the child's
executed quantity and average price (``aq``/``ap``), so whichever of the two comes first already
reports the fill; the second is stale to the bracket (a final state is final).

``sequence``/``event_time`` are the exchange's transaction time (``T``, ``updateTime``), the same
clock for REST answers and stream events.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradeterm.brokers.transport import Report
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType, OrderUpdateV1
from tradeterm.store.records import Fill
from tradeterm.trading.ids import parse_client_order_id

ZERO = Decimal(0)
CONDITIONAL_TYPES = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})
ALGO_ORDER_TYPES = frozenset(OrderType(t) for t in CONDITIONAL_TYPES)
MAX_HELD = 256  # child events waiting for their ALGO_UPDATE; bounded so a stray id cannot grow it

# Futures ``er`` (expiry reason) codes, in words for the activity log.
EXPIRY_REASONS = {
    "1": "self-trade prevention", "2": "IOC remainder", "3": "IOC remainder and self-trade prevention",
    "4": "reduce-only: no position left to reduce", "5": "liquidation", "6": "GTE condition unmet",
    "7": "symbol delisted", "8": "expired after the stop triggered", "9": "MARKET remainder",
}  # fmt: skip

_ALGO_WORKING = {"NEW", "TRIGGERING", "TRIGGERED"}
_ALGO_STATUS = {"CANCELED": OrderStatus.CANCELED, "REJECTED": OrderStatus.REJECTED, "EXPIRED": OrderStatus.EXPIRED}


def _dec(v: Any) -> Decimal:
    return Decimal(str(v)) if v not in (None, "") else ZERO


def _opt(v: Any) -> Decimal | None:
    d = _dec(v)
    return d if d > 0 else None


def _ours(cid: str) -> tuple[str | None, OrderLeg, int]:
    parsed = parse_client_order_id(cid)
    if parsed is None or parsed.leg is None:
        return None, OrderLeg.OTHER, 0
    return parsed.decision_id, parsed.leg, min(parsed.index, 32)


def _type(type_: str, orig_type: str | None) -> OrderType:
    """A conditional order's child trades as MARKET/LIMIT; the bracket knows it by its origin."""
    if orig_type in CONDITIONAL_TYPES:
        return OrderType(orig_type)
    return OrderType(type_)


def _update(
    venue: str, symbol: str, cid: str, order_id: Any, side: str, type_: OrderType, status: OrderStatus,
    price: Any, stop: Any, orig: Decimal, filled: Decimal, avg: Decimal | None, t: int, *,
    reason: str | None = None, last_qty: Any = None, last_price: Any = None, fee: Any = None,
    fee_asset: str | None = None, reduce_only: bool = False,
) -> OrderUpdateV1 | None:  # fmt: skip
    orig = max(orig, filled)  # a closePosition child closes what the position was, not the algo's 0
    if orig <= 0:  # closePosition algo with no known size: nothing a bracket could track
        return None
    decision_id, leg, index = _ours(cid)
    if filled > 0 and avg is None:
        avg = _opt(last_price) or _opt(price) or _opt(stop)
    if status is OrderStatus.FILLED and filled != orig:
        status = OrderStatus.EXPIRED if filled < orig else status
    return OrderUpdateV1(
        venue=venue, symbol=symbol, client_order_id=cid,
        exchange_order_id=None if order_id in (None, "") else str(order_id),
        decision_id=decision_id, leg=leg, leg_index=index, side=Side(side), order_type=type_,
        status=status, price=_opt(price), stop_price=_opt(stop), orig_qty=orig, filled_qty=filled,
        avg_price=avg if filled > 0 else None, last_fill_qty=_opt(last_qty), last_fill_price=_opt(last_price),
        fee=_dec(fee), fee_asset=fee_asset if _dec(fee) > 0 else None, reduce_only=reduce_only,
        reason=reason, event_time=t, sequence=t,
    )  # fmt: skip


# ---------------------------------------------------------------------- engine orders
def _expiry_reason(status: str, er: Any) -> str | None:
    if status != "EXPIRED" or er in (None, "", "0", 0):
        return None
    return EXPIRY_REASONS.get(str(er), f"expiry reason {er}")


def from_order_trade_update(
    e: Mapping[str, Any], venue: str, cid: str | None = None
) -> tuple[OrderUpdateV1 | None, Fill | None]:
    """One ``ORDER_TRADE_UPDATE``; ``cid`` overrides ``o.c`` (a child reported under its algo id)."""
    o = e["o"]
    cid = cid or o["c"]
    t = int(o.get("T") or e.get("T") or e.get("E") or 0)
    filled = _dec(o.get("z"))
    avg = _opt(o.get("ap")) if filled > 0 else None
    trade = o.get("x") in ("TRADE", "CALCULATED")
    u = _update(
        venue, o["s"], cid, o.get("i"), o["S"], _type(o["o"], o.get("ot")), OrderStatus(o["X"]),
        o.get("p"), o.get("sp"), _dec(o.get("q")), filled, avg, t,
        reason=_expiry_reason(o["X"], o.get("er")), last_qty=o.get("l"), last_price=o.get("L"),
        fee=o.get("n") if trade else None, fee_asset=o.get("N"), reduce_only=bool(o.get("R")),
    )  # fmt: skip
    fill = None
    if u is not None and trade and int(o.get("t", -1) or -1) >= 0 and _dec(o.get("l")) > 0:
        fill = Fill(
            venue=venue, symbol=o["s"], trade_id=str(o["t"]), client_order_id=cid, side=o["S"],
            price=_dec(o.get("L")), quantity=_dec(o.get("l")), quote_quantity=_dec(o.get("L")) * _dec(o.get("l")),
            fee=_dec(o.get("n")), fee_asset=o.get("N"), is_maker=bool(o.get("m")), time=t,
        )  # fmt: skip
    return u, fill


def from_futures_order_json(d: Mapping[str, Any], venue: str, cid: str | None = None) -> OrderUpdateV1 | None:
    """An engine order from REST (new-order RESULT, query, openOrders, cancel answers)."""
    filled = _dec(d.get("executedQty"))
    # cumQuote / executedQty is exact; avgPrice is rounded to the price precision (and SDK 14
    # dropped cumQuote from its model, so it is the fallback).
    avg = _dec(d.get("cumQuote")) / filled if filled > 0 and _dec(d.get("cumQuote")) > 0 else _opt(d.get("avgPrice"))
    t = int(d.get("updateTime") or d.get("time") or 0)
    return _update(
        venue, d["symbol"], cid or d["clientOrderId"], d.get("orderId"), d["side"],
        _type(d["type"], d.get("origType")), OrderStatus(d["status"]), d.get("price"), d.get("stopPrice"),
        _dec(d.get("origQty")), filled, avg, t, reduce_only=bool(d.get("reduceOnly")),
    )  # fmt: skip


# ---------------------------------------------------------------------- algo orders
def _algo_status(status: str, qty: Decimal, executed: Decimal) -> OrderStatus:
    if status in _ALGO_WORKING:
        return OrderStatus.NEW
    if status == "FINISHED":  # the child ended: filled, or (partly) unfilled
        return OrderStatus.FILLED if executed > 0 and executed >= qty else OrderStatus.EXPIRED
    return _ALGO_STATUS.get(status, OrderStatus.EXPIRED)


def from_algo_json(d: Mapping[str, Any], venue: str, quantity_hint: Decimal | None = None) -> OrderUpdateV1 | None:
    """An algo order from REST (place answer, ``GET algoOrder``, ``openAlgoOrders``)."""
    qty = _dec(d.get("quantity")) or (quantity_hint or ZERO)
    executed = _dec(d.get("actualQty"))
    status = d.get("algoStatus", "NEW")
    t = int(d.get("updateTime") or d.get("createTime") or 0)
    return _update(
        venue, d["symbol"], d["clientAlgoId"], d.get("actualOrderId") or None, d["side"],
        OrderType(d.get("orderType") or d["type"]), _algo_status(status, qty, executed), d.get("price"),
        d.get("triggerPrice"), qty, executed if status == "FINISHED" else ZERO, _opt(d.get("actualPrice")), t,
        reduce_only=bool(d.get("reduceOnly")) or bool(d.get("closePosition")),
    )  # fmt: skip


def from_algo_update(e: Mapping[str, Any], venue: str, quantity_hint: Decimal | None = None) -> OrderUpdateV1 | None:
    """One ``ALGO_UPDATE``. Before the trigger the algo is a working order (NEW); TRIGGERING and
    TRIGGERED stay NEW (the child reports its own progress); FINISHED reports the child's fill."""
    o = e["o"]
    qty = _dec(o.get("q")) or (quantity_hint or ZERO)
    executed = _dec(o.get("aq"))
    status = o["X"]
    t = int(e.get("T") or e.get("E") or 0)
    reason = o.get("rm") or None
    return _update(
        venue, o["s"], o["caid"], o.get("ai") or None, o["S"], OrderType(o["o"]), _algo_status(status, qty, executed),
        o.get("p"), o.get("tp"), qty, executed if status == "FINISHED" else ZERO, _opt(o.get("ap")), t,
        reason=reason, reduce_only=bool(o.get("R")) or bool(o.get("cp")),
    )  # fmt: skip


# ---------------------------------------------------------------------- correlation
@dataclass
class AlgoCorrelator:
    """Routes user-data events to reports, joining a triggered algo with its child order.

    ``child_of`` maps an engine ``orderId`` to the ``clientAlgoId`` of the algo that placed it
    (learnt from ``ALGO_UPDATE.ai`` or a REST query); ``held`` keeps child events that arrived
    before that link was known. ``quantities`` remembers what we asked a closePosition algo to
    close, for reports of an algo that states no quantity.
    """

    venue: str
    child_of: dict[str, str] = field(default_factory=dict)
    held: OrderedDict[str, list[Mapping[str, Any]]] = field(default_factory=OrderedDict)
    quantities: dict[str, Decimal] = field(default_factory=dict)

    def link(self, order_id: Any, client_algo_id: str) -> None:
        if order_id not in (None, ""):
            self.child_of[str(order_id)] = client_algo_id

    def on_event(self, e: Mapping[str, Any]) -> list[Report]:
        kind = e.get("e")
        if kind == "ORDER_TRADE_UPDATE":
            return self._order(e)
        if kind == "ALGO_UPDATE":
            return self._algo(e)
        return []

    def _order(self, e: Mapping[str, Any]) -> list[Report]:
        o = e["o"]
        oid = str(o.get("i", ""))
        cid: str | None = self.child_of.get(oid)
        if cid is None and parse_client_order_id(o["c"]) is None and o.get("ot") in CONDITIONAL_TYPES:
            # A child whose ALGO_UPDATE has not arrived: hold it (in arrival order) until it does.
            self.held.setdefault(oid, []).append(e)
            while len(self.held) > MAX_HELD:
                self.held.popitem(last=False)
            return []
        u, fill = from_order_trade_update(e, self.venue, cid)
        return [(u, fill)] if u is not None else []

    def _algo(self, e: Mapping[str, Any]) -> list[Report]:
        o = e["o"]
        caid = o["caid"]
        out: list[Report] = []
        u = from_algo_update(e, self.venue, self.quantities.get(caid))
        if u is not None:
            out.append((u, None))
        ai = o.get("ai")
        if ai not in (None, ""):
            self.link(ai, caid)
            for held in self.held.pop(str(ai), []):
                child, fill = from_order_trade_update(held, self.venue, caid)
                if child is not None:
                    out.append((child, fill))
        return out
