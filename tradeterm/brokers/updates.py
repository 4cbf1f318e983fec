"""Binance order JSON → ``OrderUpdateV1`` (and ``Fill``): one translation for the user-data
stream, REST answers and the paper broker (which renders the venue's own executionReport).

``sequence`` and ``event_time`` are the exchange's transaction time (``T``, ``updateTime``,
``transactTime``): the same clock whichever path an order state arrived by, so the bracket's
"older never overrides newer" rule works across a REST answer and a late stream event.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType, OrderUpdateV1
from tradeterm.store.records import Fill
from tradeterm.trading.ids import parse_client_order_id

ZERO = Decimal(0)


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


def _build(
    venue: str, symbol: str, cid: str, order_id: Any, side: str, type_: str, status: str,
    price: Any, stop: Any, orig: Any, filled: Any, quote: Any, t: int, reason: str | None,
    last_qty: Any = None, last_price: Any = None, fee: Any = None, fee_asset: str | None = None,
) -> OrderUpdateV1 | None:  # fmt: skip
    orig_q = _dec(orig)
    filled_q = _dec(filled)
    if orig_q <= 0:  # a quote-quantity market order before it traded: nothing to track yet
        return None
    decision_id, leg, index = _ours(cid)
    avg = (_dec(quote) / filled_q) if filled_q > 0 else None
    return OrderUpdateV1(
        venue=venue, symbol=symbol, client_order_id=cid,
        exchange_order_id=None if order_id is None else str(order_id),
        decision_id=decision_id, leg=leg, leg_index=index, side=Side(side),
        order_type=OrderType(type_), status=OrderStatus(status), price=_opt(price),
        stop_price=_opt(stop), orig_qty=orig_q, filled_qty=filled_q, avg_price=avg,
        last_fill_qty=_opt(last_qty), last_fill_price=_opt(last_price), fee=_dec(fee),
        fee_asset=fee_asset, reason=reason, event_time=t, sequence=t,
    )  # fmt: skip


def from_execution_report(e: Mapping[str, Any], venue: str) -> tuple[OrderUpdateV1 | None, Fill | None]:
    """One ``executionReport``; for a cancel the order's own id is ``C`` (``c`` is the cancel's)."""
    cid = e["C"] if e.get("x") == "CANCELED" and e.get("C") else e["c"]
    reason = e.get("r") if e.get("r") not in (None, "NONE") else None
    if reason is None and e.get("eR") not in (None, "NONE"):
        reason = str(e["eR"])
    t = int(e["T"])
    u = _build(
        venue, e["s"], cid, e.get("i"), e["S"], e["o"], e["X"], e.get("p"), e.get("P"),
        e.get("q"), e.get("z"), e.get("Z"), t, reason, e.get("l"), e.get("L"),
        e.get("n") if e.get("x") == "TRADE" else None, e.get("N"),
    )  # fmt: skip
    fill = None
    if u is not None and e.get("x") == "TRADE" and int(e.get("t", -1)) >= 0:
        fill = Fill(
            venue=venue, symbol=e["s"], trade_id=str(e["t"]), client_order_id=cid, side=e["S"],
            price=_dec(e.get("L")), quantity=_dec(e.get("l")), quote_quantity=_dec(e.get("Y")),
            fee=_dec(e.get("n")), fee_asset=e.get("N"), is_maker=bool(e.get("m")), time=t,
        )  # fmt: skip
    return u, fill


def from_order_json(d: Mapping[str, Any], venue: str) -> OrderUpdateV1 | None:
    """An order object from REST (query, openOrders, RESULT/FULL answers, cancel answers)."""
    cid = d.get("origClientOrderId") or d["clientOrderId"]
    t = int(d.get("updateTime") or d.get("transactTime") or d.get("time") or 0)
    reason = d.get("expiryReason") if d.get("expiryReason") not in (None, "NONE") else None
    fee = ZERO
    asset = None
    for f in d.get("fills", ()):
        fee += _dec(f.get("commission"))
        asset = f.get("commissionAsset")
    return _build(
        venue, d["symbol"], cid, d.get("orderId"), d["side"], d["type"], d["status"],
        d.get("price"), d.get("stopPrice"), d.get("origQty"), d.get("executedQty"),
        d.get("cummulativeQuoteQty"), t, reason, fee=fee, fee_asset=asset,
    )  # fmt: skip
