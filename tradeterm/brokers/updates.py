"""Binance order JSON → ``OrderUpdateV1`` (and ``Fill``): one translation for the user-data
stream, REST answers and the paper broker (which renders the venue's own executionReport).

``sequence`` and ``event_time`` are the exchange's transaction time (``T``, ``updateTime``,
``transactTime``): the same clock whichever path an order state arrived by, so the bracket's
"older never overrides newer" rule works across a REST answer and a late stream event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from types import NoneType
from typing import Any

from tradeterm.contracts.base import _MAX_MS, _MIN_MS, _SYMBOL_RE, Side
from tradeterm.contracts.trading import (
    CLIENT_ORDER_ID_PATTERN,
    OrderLeg,
    OrderStatus,
    OrderType,
    OrderUpdateV1,
)
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


# What OrderUpdateV1's validation would check or change, restated for the trusted path (see
# :func:`_construct`); tests/brokers/test_paper_updates.py holds the two paths equal.
_VENUE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")  # contracts.base.Venue
_CID_RE = re.compile(CLIENT_ORDER_ID_PATTERN)
_NAMES_OK: set[tuple[str, re.Pattern[str]]] = set()  # venues and symbols: a handful per process


def _known_name(s: object, pattern: re.Pattern[str]) -> bool:
    if type(s) is not str:
        return False
    if (s, pattern) in _NAMES_OK:
        return True
    if pattern.match(s) is None:
        return False
    if len(_NAMES_OK) < 1024:
        _NAMES_OK.add((s, pattern))
    return True


def _plain(s: str | None) -> bool:
    """A string the contract keeps as is (``str_strip_whitespace`` would not change it)."""
    return s is None or (type(s) is str and s == s.strip())


def _money(d: Decimal | None, *, positive: bool = False) -> bool:
    return d is None or (type(d) is Decimal and d.is_finite() and (d > 0 if positive else d >= 0))


def _construct(fields: dict[str, Any]) -> OrderUpdateV1:
    """``OrderUpdateV1`` from values built by this process (the paper engine's own reports).

    Validation costs about as much as the rest of turning an engine event into an update, and
    the paper broker makes several per bracket; so when every rule the contract would apply is
    already known to hold (checked here, cheaply), the model is built without it (:func:`_assemble`).
    Anything else — a time outside the contract's range, a malformed id, an impossible fill —
    goes through full validation and fails exactly as before."""
    f = fields
    ok = (
        _known_name(f["venue"], _VENUE_RE)
        and _known_name(f["symbol"], _SYMBOL_RE)
        and type(f["client_order_id"]) is str and _CID_RE.match(f["client_order_id"]) is not None
        and _plain(f["exchange_order_id"]) and _plain(f["decision_id"])
        and _plain(f["fee_asset"]) and _plain(f["reason"])
        and 0 <= f["leg_index"] <= 32
        and all(_money(f[k]) for k in ("price", "stop_price", "filled_qty", "avg_price",
                                        "last_fill_qty", "last_fill_price", "fee"))
        and _money(f["orig_qty"], positive=True)
        and type(f["event_time"]) is int and _MIN_MS <= f["event_time"] <= _MAX_MS
        and type(f["sequence"]) is int and f["sequence"] >= 0
        # OrderUpdateV1._fills
        and f["filled_qty"] <= f["orig_qty"]
        and (f["status"] is not OrderStatus.FILLED or f["filled_qty"] == f["orig_qty"])
        and (f["filled_qty"] == 0 or f["avg_price"] is not None)
    )  # fmt: skip
    return _assemble(f) if ok else OrderUpdateV1(**f)


_FIELDS = OrderUpdateV1.model_fields
_REQUIRED = frozenset(k for k, v in _FIELDS.items() if v.is_required())
# Every field in declaration order, defaults filled in (required ones are always overwritten).
_TEMPLATE = {k: None if v.is_required() else v.get_default() for k, v in _FIELDS.items()}
# ``model_construct`` costs nearly as much as validation (it walks aliases per field); for this
# model — no aliases, no post-init, no extras, no private attributes — it reduces to setting
# the instance dict and the fields set, which is what :func:`_assemble` does directly.
_SIMPLE = (
    not OrderUpdateV1.__pydantic_post_init__
    and not OrderUpdateV1.__private_attributes__
    and OrderUpdateV1.model_config.get("extra") != "allow"
    and all(f.alias is None and f.validation_alias is None for f in _FIELDS.values())
    # defaults shared by every instance built from the template: immutable ones only
    and all(isinstance(v, int | str | Decimal | NoneType) for v in _TEMPLATE.values())
)


def _assemble(f: dict[str, Any]) -> OrderUpdateV1:
    if not _SIMPLE or not _REQUIRED <= f.keys() or not f.keys() <= _TEMPLATE.keys():
        return OrderUpdateV1.model_construct(**f)
    m = OrderUpdateV1.__new__(OrderUpdateV1)
    values = _TEMPLATE.copy()
    values.update(f)  # keys keep the template's (declaration) order
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(f))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


def _build(
    venue: str, symbol: str, cid: str, order_id: Any, side: str, type_: str, status: str,
    price: Any, stop: Any, orig: Any, filled: Any, quote: Any, t: int, reason: str | None,
    last_qty: Any = None, last_price: Any = None, fee: Any = None, fee_asset: str | None = None,
    *, trusted: bool = False,
) -> OrderUpdateV1 | None:  # fmt: skip
    orig_q = _dec(orig)
    filled_q = _dec(filled)
    if orig_q <= 0:  # a quote-quantity market order before it traded: nothing to track yet
        return None
    decision_id, leg, index = _ours(cid)
    avg = (_dec(quote) / filled_q) if filled_q > 0 else None
    fields: dict[str, Any] = {
        "venue": venue, "symbol": symbol, "client_order_id": cid,
        "exchange_order_id": None if order_id is None else str(order_id),
        "decision_id": decision_id, "leg": leg, "leg_index": index, "side": Side(side),
        "order_type": OrderType(type_), "status": OrderStatus(status), "price": _opt(price),
        "stop_price": _opt(stop), "orig_qty": orig_q, "filled_qty": filled_q, "avg_price": avg,
        "last_fill_qty": _opt(last_qty), "last_fill_price": _opt(last_price), "fee": _dec(fee),
        "fee_asset": fee_asset, "reason": reason, "event_time": t, "sequence": t,
    }  # fmt: skip
    return _construct(fields) if trusted else OrderUpdateV1(**fields)


def from_execution_report(
    e: Mapping[str, Any], venue: str, *, trusted: bool = False
) -> tuple[OrderUpdateV1 | None, Fill | None]:
    """One ``executionReport``; for a cancel the order's own id is ``C`` (``c`` is the cancel's).
    ``trusted``: the report was rendered by this process (paper), see :func:`_construct`."""
    cid = e["C"] if e.get("x") == "CANCELED" and e.get("C") else e["c"]
    reason = e.get("r") if e.get("r") not in (None, "NONE") else None
    if reason is None and e.get("eR") not in (None, "NONE"):
        reason = str(e["eR"])
    t = int(e["T"])
    u = _build(
        venue, e["s"], cid, e.get("i"), e["S"], e["o"], e["X"], e.get("p"), e.get("P"),
        e.get("q"), e.get("z"), e.get("Z"), t, reason, e.get("l"), e.get("L"),
        e.get("n") if e.get("x") == "TRADE" else None, e.get("N"), trusted=trusted,
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
