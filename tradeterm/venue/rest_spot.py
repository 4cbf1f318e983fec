"""Spot REST (``/api/v3/…``) as Starlette routes.

Every request passes the same gate, in Binance's order: injected faults, request weight (429/418),
parameter parsing, API key and signature, timestamp window; then the handler. Handlers read all
their parameters (``Params.finish`` → -1104 for the rest) before they change anything."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tradeterm.venue import errors as E
from tradeterm.venue import responses as R
from tradeterm.venue.errors import VenueError
from tradeterm.venue.matching import Order, OrderList, OrderSpec
from tradeterm.venue.params import Params
from tradeterm.venue.ratelimit import RateLimiter
from tradeterm.venue.symbols import f8
from tradeterm.venue.venue import INTERVALS, Venue, f8_float, ticker_stats

SIDES = ("BUY", "SELL")
TYPES = ("LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER")
TIFS = ("GTC", "IOC", "FOK")
RESP_TYPES = ("ACK", "RESULT", "FULL")
STP = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT", "TRANSFER")
OCO_LEG_TYPES = ("STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")


@dataclass
class Ctx:
    venue: Venue
    ip: str
    order_endpoint: bool = False
    api_key: str | None = None  # the X-MBX-APIKEY header (USER_STREAM endpoints need only this)


Handler = Callable[[Params, Ctx], Any]

# A query string of printable ASCII other than ``#`` reads the same raw as through starlette's
# ``request.url.query`` (which rebuilds and re-splits the whole URL); anything else takes that path.
_PLAIN_QUERY = re.compile(rb"[!-\x22$-~]*")


def raw_query(request: Request) -> str:
    """The query string as received (what signatures are computed over)."""
    qs: bytes = request.scope.get("query_string", b"")
    if _PLAIN_QUERY.fullmatch(qs):
        return qs.decode()
    return request.url.query


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


class SpotApi:
    def __init__(self, venue: Venue, limiter: RateLimiter | None = None) -> None:
        self.venue = venue
        self.limiter = limiter or venue.limiter  # USD-M has its own limits (another host on Binance)

    # ------------------------------------------------------------------ the gate
    def _headers(self, ip: str) -> dict[str, str]:
        used = self.limiter.used_weight(ip)
        n10, nday = self.limiter.order_counts()
        return {"x-mbx-used-weight": str(used), "x-mbx-used-weight-1m": str(used),
                "x-mbx-order-count-10s": str(n10), "x-mbx-order-count-1d": str(nday)}

    def endpoint(self, handler: Handler, weight: Callable[[Params], int] | int, *, signed: bool = False,
                 order: bool = False) -> Callable[[Request], Awaitable[Response]]:
        venue = self.venue
        limiter = self.limiter

        async def run(request: Request) -> Response:
            ip = request.client.host if request.client else "?"
            faults = venue.faults
            w = 0
            try:
                burst = faults.take_burst()
                if burst is not None:
                    raise burst
                if faults.delay_ms > 0:
                    await asyncio.sleep(faults.delay_ms / 1000)
                query = raw_query(request)
                raw_body = (await request.body()).decode() if request.method != "GET" else ""
                p = Params(query, raw_body)
                w = weight(p) if callable(weight) else weight
                limiter.spend(ip, w)
                api_key = request.headers.get("x-mbx-apikey")
                if signed:
                    venue.auth.check_rest(api_key, query, raw_body, p)
                if order:
                    limiter.check_order()
                venue.sync()
                ctx = Ctx(venue, ip, order, api_key)
                body = handler(p, ctx)
                p.finish()
                venue.dispatch_events()
                status = 200
                if order:
                    limiter.refund(ip, w)  # successful order requests weigh 0
                    failure = faults.take_order_failure()
                    if failure == "5xx":
                        raise E.err(E.UNEXPECTED_RESP)
                    if failure == "timeout":
                        await asyncio.sleep(faults.timeout_s)
                        raise E.err(E.TIMEOUT)
                return _json(body, status, self._headers(ip))
            except VenueError as e:
                venue.dispatch_events()
                headers = self._headers(ip)
                if e.retry_after is not None:
                    headers["Retry-After"] = str(e.retry_after)
                return _json(e.body(), e.http_status, headers)

        return run

    def routes(self) -> list[Route]:
        ep = self.endpoint
        return [
            Route("/api/v3/ping", ep(lambda p, c: {}, 1), methods=["GET"]),
            Route("/api/v3/time", ep(lambda p, c: {"serverTime": c.venue.server_clock.now_ms()}, 1), methods=["GET"]),
            Route("/api/v3/exchangeInfo", ep(exchange_info, 20), methods=["GET"]),
            Route("/api/v3/klines", ep(klines, 2), methods=["GET"]),
            Route("/api/v3/uiKlines", ep(klines, 2), methods=["GET"]),
            Route("/api/v3/ticker/price", ep(ticker_price, _sym_weight(2, 4)), methods=["GET"]),
            Route("/api/v3/ticker/bookTicker", ep(book_ticker, _sym_weight(2, 4)), methods=["GET"]),
            Route("/api/v3/ticker/24hr", ep(ticker_24hr, _sym_weight(2, 80)), methods=["GET"]),
            Route("/api/v3/depth", ep(depth, _depth_weight), methods=["GET"]),
            Route("/api/v3/avgPrice", ep(avg_price, 2), methods=["GET"]),
            Route("/api/v3/order", ep(new_order, 1, signed=True, order=True), methods=["POST"]),
            Route("/api/v3/order/test", ep(test_order, _test_weight, signed=True), methods=["POST"]),
            Route("/api/v3/order", ep(get_order, 4, signed=True), methods=["GET"]),
            Route("/api/v3/order", ep(cancel_order, 1, signed=True), methods=["DELETE"]),
            Route("/api/v3/openOrders", ep(open_orders, _sym_weight(6, 80), signed=True), methods=["GET"]),
            Route("/api/v3/openOrders", ep(cancel_open_orders, 1, signed=True), methods=["DELETE"]),
            Route("/api/v3/allOrders", ep(all_orders, 20, signed=True), methods=["GET"]),
            Route("/api/v3/orderList/oco", ep(new_oco, 1, signed=True, order=True), methods=["POST"]),
            Route("/api/v3/orderList/oto", ep(new_oto, 1, signed=True, order=True), methods=["POST"]),
            Route("/api/v3/orderList/otoco", ep(new_otoco, 1, signed=True, order=True), methods=["POST"]),
            Route("/api/v3/orderList", ep(cancel_order_list, 1, signed=True), methods=["DELETE"]),
            Route("/api/v3/orderList", ep(get_order_list, 4, signed=True), methods=["GET"]),
            Route("/api/v3/openOrderList", ep(open_order_lists, 6, signed=True), methods=["GET"]),
            Route("/api/v3/allOrderList", ep(all_order_lists, 20, signed=True), methods=["GET"]),
            Route("/api/v3/account", ep(account, 20, signed=True), methods=["GET"]),
            Route("/api/v3/myTrades", ep(my_trades, 20, signed=True), methods=["GET"]),
        ]


def _sym_weight(one: int, all_: int) -> Callable[[Params], int]:
    return lambda p: one if "symbol" in p.values else all_


def _depth_weight(p: Params) -> int:
    try:
        n = int(p.values.get("limit", "100"))
    except ValueError:
        return 5
    return 5 if n <= 100 else 25 if n <= 500 else 50 if n <= 1000 else 250


def _test_weight(p: Params) -> int:
    return 20 if p.values.get("computeCommissionRates") == "true" else 1


# ---------------------------------------------------------------------- market data
def _symbol(p: Params, c: Ctx, required: bool = True) -> str | None:
    s = p.str("symbol", required)
    if s is None:
        return None
    if s.upper() != s or s not in c.venue.series:
        raise E.err(E.BAD_SYMBOL)
    return s


def _symbols(p: Params, c: Ctx) -> list[str]:
    """``symbol`` or a JSON ``symbols`` array; neither means all."""
    one = _symbol(p, c, required=False)
    many = p.str("symbols")
    if one and many:
        raise E.err(E.OPT_COMBO)
    if one:
        return [one]
    if many:
        try:
            names = orjson.loads(many)
        except orjson.JSONDecodeError:
            raise E.illegal("symbols", r"^\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\]$") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise E.err(E.INVALID_PARAMETER)
        for n in names:
            if n not in c.venue.series:
                raise E.err(E.BAD_SYMBOL)
        return names
    return list(c.venue.series)


def exchange_info(p: Params, c: Ctx) -> dict[str, Any]:
    p.str("permissions")
    p.bool("showPermissionSets")
    status = p.str("symbolStatus")
    names = _symbols(p, c)
    if status is not None and status not in ("TRADING", "HALT", "BREAK", "END_OF_DAY", "CANCEL_ONLY"):
        raise E.err((-1122, "Invalid symbol status."))
    syms = [c.venue.series[n].rules.exchange_info() for n in names]
    if status is not None:
        syms = [s for s in syms if s["status"] == status]
    return {"timezone": "UTC", "serverTime": c.venue.server_clock.now_ms(),
            "rateLimits": c.venue.limiter.rate_limits(),
            "exchangeFilters": [], "symbols": syms}


def _limit(p: Params, default: int, maximum: int) -> int:
    n = p.int("limit")
    if n is None:
        return default
    if n <= 0:
        raise E.err(E.INVALID_PARAMETER)
    return min(n, maximum)


def klines(p: Params, c: Ctx) -> list[list[Any]]:
    sym = _symbol(p, c)
    iv = p.str("interval", required=True)
    start = p.int("startTime")
    end = p.int("endTime")
    tz = p.str("timeZone")
    limit = _limit(p, 500, 1000)
    tf = INTERVALS.get(iv or "")
    se = c.venue.series[sym or ""]
    if tf is None or tf.ms < se.tf.ms or (tf is not se.tf and tf.ms % se.tf.ms and tf.value != "1M"):
        raise E.err(E.BAD_INTERVAL)
    if tz not in (None, "0", "+0", "-0", "00:00", "+00:00"):
        raise VenueError(-1130, "Invalid data sent for a parameter.")  # only UTC bars are served
    bars = se.klines(tf, c.venue.market_ms, start, end, limit)
    return [[b.open_time, f8_float(b.open), f8_float(b.high), f8_float(b.low), f8_float(b.close),
             f8_float(b.volume), b.close_time, f8_float(b.quote_volume), b.trades, f8_float(b.taker_buy_base),
             f8_float(b.taker_buy_quote), "0"] for b in bars]


def _one_or_list(p: Params, rows: list[dict[str, Any]]) -> Any:
    return rows[0] if "symbol" in p.values else rows


def ticker_price(p: Params, c: Ctx) -> Any:
    rows = [{"symbol": s, "price": f8(c.venue.last_price(s))} for s in _symbols(p, c)]
    return _one_or_list(p, rows)


def book_ticker(p: Params, c: Ctx) -> Any:
    rows = []
    for s in _symbols(p, c):
        bk = c.venue.engine.book(s)
        size = f8(bk.level_size(0))
        rows.append({"symbol": s, "bidPrice": f8(bk.best_bid), "bidQty": size, "askPrice": f8(bk.best_ask),
                     "askQty": size})
    return _one_or_list(p, rows)


def ticker_24hr(p: Params, c: Ctx) -> Any:
    kind = p.enum("type", ("FULL", "MINI")) or "FULL"
    rows = []
    for s in _symbols(p, c):
        st = ticker_stats(c.venue, s, c.venue.market_ms)
        if kind == "MINI":
            st = {k: st[k] for k in ("symbol", "openPrice", "highPrice", "lowPrice", "lastPrice", "volume",
                                     "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count")}
        rows.append(st)
    return _one_or_list(p, rows)


def depth(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    limit = _limit(p, 100, 5000)
    bk = c.venue.engine.book(sym)
    return {"lastUpdateId": c.venue._trade_ids[sym] * 7 + c.venue.market_ms // 1000,
            "bids": [[f8(px), f8(q)] for px, q in bk.levels("bids", limit)],
            "asks": [[f8(px), f8(q)] for px, q in bk.levels("asks", limit)]}


def avg_price(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    se = c.venue.series[sym]
    mins = se.rules.avg_price_mins
    t = c.venue.market_ms
    i = max(se.index_at(t), 0)
    close_t = se.tf.close_time(int(se.open_time[max(i - 1, 0)]))
    return {"mins": mins, "price": f8(Decimal(repr(se.avg_price(t, mins)))), "closeTime": close_t}


# ---------------------------------------------------------------------- orders
def _order_spec(p: Params, c: Ctx, sym: str) -> tuple[OrderSpec, str]:
    side = p.enum("side", SIDES, required=True, error=E.INVALID_SIDE)
    type_ = p.enum("type", TYPES, required=True, error=E.INVALID_ORDER_TYPE)
    tif = p.enum("timeInForce", TIFS, error=E.INVALID_TIF)
    qty = p.decimal("quantity")
    qqty = p.decimal("quoteOrderQty")
    price = p.decimal("price")
    stop = p.decimal("stopPrice")
    cid = p.client_id("newClientOrderId")
    resp = p.enum("newOrderRespType", RESP_TYPES)
    stp = p.enum("selfTradePreventionMode", STP) or "NONE"
    if stp not in ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"):
        raise E.err(E.INVALID_PARAMETER)
    assert type_ is not None and side is not None
    if type_ == "MARKET":
        if qty is None and qqty is None:
            raise E.either("quantity", "quoteOrderQty")
        if qty is not None and qqty is not None:
            raise E.not_required("quoteOrderQty")
        p.not_allowed("price", "timeInForce", "stopPrice")
    else:
        if qqty is not None:
            raise E.not_required("quoteOrderQty")
        if qty is None:
            raise E.mandatory("quantity")
        needs_price = type_ in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER")
        needs_tif = type_ in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
        needs_stop = type_ in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
        if needs_tif and tif is None:
            raise E.mandatory("timeInForce")
        if needs_price and price is None:
            raise E.mandatory("price")
        if needs_stop and stop is None:
            raise E.mandatory("stopPrice")
        if not needs_price:
            p.not_allowed("price")
        if not needs_tif:
            p.not_allowed("timeInForce")
        if not needs_stop:
            p.not_allowed("stopPrice")
    spec = OrderSpec(symbol=sym, side=side, type=type_, quantity=qty, quote_order_qty=qqty, price=price,
                     stop_price=stop, time_in_force=tif, client_order_id=cid, stp_mode=stp)
    return spec, resp or ("FULL" if type_ in ("LIMIT", "MARKET") else "ACK")


def new_order(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    spec, resp = _order_spec(p, c, sym)
    p.finish()
    t = c.venue.market_ms
    order, fills = c.venue.engine.place_order(spec, t)
    c.venue.limiter.count_orders(1)
    return R.order_response(order, t, resp, fills)


def test_order(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    spec, _ = _order_spec(p, c, sym)
    rates = p.bool("computeCommissionRates")
    p.finish()
    c.venue.engine._validate(spec)
    if not rates:
        return {}
    eng = c.venue.engine
    zero = f8(0)
    return {"standardCommissionForOrder": {"maker": f8(eng.maker_fee), "taker": f8(eng.taker_fee)},
            "specialCommissionForOrder": {"maker": zero, "taker": zero},
            "taxCommissionForOrder": {"maker": zero, "taker": zero},
            "discount": {"enabledForAccount": False, "enabledForSymbol": False, "discountAsset": "BNB",
                         "discount": zero}}


def _lookup(p: Params, c: Ctx, sym: str, missing: tuple[int, str]) -> Order:
    oid = p.int("orderId")
    cid = p.raw("origClientOrderId")
    if cid == "":
        raise E.err(E.EMPTY_ORG_CL_ORD_ID)
    if oid is None and cid is None:
        raise E.either("orderId", "origClientOrderId")
    p.finish()
    eng = c.venue.engine
    order = eng.find_order(sym, order_id=oid) if oid is not None else eng.find_order(sym, client_id=cid)
    if order is None:
        raise E.err(missing)
    if oid is not None and cid is not None and order.client_order_id != cid:
        raise E.err(E.CLIENT_ID_MISMATCH if missing == E.NO_SUCH_ORDER else E.UNKNOWN_ORDER)
    return order


def get_order(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    return R.order_query(_lookup(p, c, sym, E.NO_SUCH_ORDER))


def cancel_order(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    cancel_id = p.client_id("newClientOrderId")
    restriction = p.str("cancelRestrictions")
    if restriction is not None and restriction not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
        raise VenueError(-1145, "Invalid cancelRestrictions")
    order = _lookup(p, c, sym, E.UNKNOWN_ORDER)
    if not order.is_open:
        raise E.err(E.UNKNOWN_ORDER)
    if restriction is not None and order.status != restriction[len("ONLY_"):]:
        raise VenueError(-2011, "Order was not canceled due to cancel restrictions.")
    eng = c.venue.engine
    cid = cancel_id or eng.new_client_id()
    t = c.venue.market_ms
    eng.cancel_order(sym, order, t, cid)
    return R.cancel_response(order, cid, t)


def open_orders(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c, required=False)
    p.finish()
    return [R.order_query(o) for o in sorted(c.venue.engine.open_orders(sym), key=lambda o: (o.symbol, o.order_id))]


def cancel_open_orders(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c) or ""
    p.finish()
    eng = c.venue.engine
    if not eng.open_orders(sym):
        raise E.err(E.UNKNOWN_ORDER)
    t = c.venue.market_ms
    out: list[dict[str, Any]] = []
    for item in eng.cancel_all(sym, t):
        if isinstance(item, OrderList):
            legs = eng.list_orders(item)
            out.append(R.list_response(item, legs, [R.cancel_response(o, eng.new_client_id(), t) for o in legs]))
        else:
            out.append(R.cancel_response(item, eng.new_client_id(), t))
    return out


def _time_range(p: Params) -> tuple[int | None, int | None]:
    start, end = p.int("startTime"), p.int("endTime")
    if start is not None and end is not None and end - start > 86_400_000:
        raise VenueError(-1127, "More than 24 hours between startTime and endTime.")
    return start, end


def all_orders(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c) or ""
    oid = p.int("orderId")
    start, end = _time_range(p)
    limit = _limit(p, 500, 1000)
    p.finish()
    rows = sorted(c.venue.engine.orders[sym].values(), key=lambda o: o.order_id)
    if oid is not None:
        rows = [o for o in rows if o.order_id >= oid]
    if start is not None:
        rows = [o for o in rows if o.time >= start]
    if end is not None:
        rows = [o for o in rows if o.time <= end]
    rows = rows[:limit] if (oid is not None or start is not None) else rows[-limit:]
    return [R.order_query(o) for o in rows]


# ---------------------------------------------------------------------- order lists
def _leg(p: Params, sym: str, prefix: str, side: str, qty: Decimal | None, types: tuple[str, ...]) -> OrderSpec:
    """One leg of an order list from its prefixed parameters (``abovePrice``, ``pendingBelowType``…)."""
    def n(name: str) -> str:
        return prefix + name[0].upper() + name[1:] if prefix else name
    type_ = p.str(n("type"), required=True)
    if type_ not in types:
        raise VenueError(-1116, "Invalid orderType.")
    cid = p.client_id(n("clientOrderId"))
    price = p.decimal(n("price"))
    stop = p.decimal(n("stopPrice"))
    tif = p.enum(n("timeInForce"), TIFS, error=E.INVALID_TIF)
    needs_price = type_ in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
    needs_stop = type_ in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
    needs_tif = type_ in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
    if needs_price and price is None:
        raise E.mandatory(n("price"))
    if needs_stop and stop is None:
        raise E.mandatory(n("stopPrice"))
    if needs_tif and tif is None:
        raise E.mandatory(n("timeInForce"))
    if not needs_price and price is not None:
        raise E.not_required(n("price"))
    if not needs_stop and stop is not None:
        raise E.not_required(n("stopPrice"))
    if not needs_tif and tif is not None:
        raise E.not_required(n("timeInForce"))
    return OrderSpec(symbol=sym, side=side, type=type_, quantity=qty, price=price, stop_price=stop,
                     time_in_force=tif, client_order_id=cid)


def _list_reply(c: Ctx, ol: OrderList, legs: list[Order], resp: str, fills_by_id: dict[int, list[Any]]) -> dict[str, Any]:
    t = ol.transaction_time
    reports = [R.order_response(o, t, "FULL" if resp == "FULL" else "RESULT", fills_by_id.get(o.order_id, []))
               for o in legs]
    if resp == "ACK":
        reports = [R.order_result(o, t) for o in legs]
    for rep in reports:  # list placement reports carry no origQuoteOrderQty (Binance docs examples)
        rep.pop("origQuoteOrderQty", None)
    return R.list_response(ol, legs, reports)


def _list_common(p: Params, c: Ctx) -> tuple[str, str | None, str]:
    sym = _symbol(p, c) or ""
    list_cid = p.client_id("listClientOrderId")
    resp = p.enum("newOrderRespType", RESP_TYPES) or "ACK"
    stp = p.enum("selfTradePreventionMode", STP)
    if stp not in (None, "NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"):
        raise E.err(E.INVALID_PARAMETER)
    return sym, list_cid, resp


def _oco_pair(p: Params, sym: str, prefix: str, side: str, qty: Decimal) -> tuple[OrderSpec, OrderSpec]:
    above = _leg(p, sym, prefix + "above" if prefix else "above", side, qty, OCO_LEG_TYPES)
    below = _leg(p, sym, prefix + "Below" if prefix else "below", side, qty, OCO_LEG_TYPES)
    if above.type == "LIMIT_MAKER" and below.type == "LIMIT_MAKER":
        raise VenueError(-1168, "At least one OCO order must be contingent.")
    return above, below


def new_oco(p: Params, c: Ctx) -> dict[str, Any]:
    sym, list_cid, resp = _list_common(p, c)
    side = p.enum("side", SIDES, required=True, error=E.INVALID_SIDE) or ""
    qty = p.decimal("quantity", required=True)
    assert qty is not None
    above, below = _oco_pair(p, sym, "", side, qty)
    p.finish()
    t = c.venue.market_ms
    ol, legs = c.venue.engine.place_oco(sym, above, below, list_cid, t)
    c.venue.limiter.count_orders(2)
    return _list_reply(c, ol, legs, resp, {})


def _working(p: Params, sym: str) -> OrderSpec:
    side = p.enum("workingSide", SIDES, required=True, error=E.INVALID_SIDE) or ""
    qty = p.decimal("workingQuantity", required=True)
    return _leg(p, sym, "working", side, qty, ("LIMIT", "LIMIT_MAKER"))


def new_oto(p: Params, c: Ctx) -> dict[str, Any]:
    sym, list_cid, resp = _list_common(p, c)
    working = _working(p, sym)
    pside = p.enum("pendingSide", SIDES, required=True, error=E.INVALID_SIDE) or ""
    pqty = p.decimal("pendingQuantity", required=True)
    pending = _leg(p, sym, "pending", pside, pqty, TYPES[:1] + TYPES[2:] )
    p.finish()
    t = c.venue.market_ms
    ol, legs, fills = c.venue.engine.place_oto(sym, working, [pending], list_cid, t)
    c.venue.limiter.count_orders(2)
    return _list_reply(c, ol, legs, resp, {legs[0].order_id: fills})


def new_otoco(p: Params, c: Ctx) -> dict[str, Any]:
    sym, list_cid, resp = _list_common(p, c)
    working = _working(p, sym)
    pside = p.enum("pendingSide", SIDES, required=True, error=E.INVALID_SIDE) or ""
    pqty = p.decimal("pendingQuantity", required=True)
    assert pqty is not None
    above = _leg(p, sym, "pendingAbove", pside, pqty, OCO_LEG_TYPES)
    below = _leg(p, sym, "pendingBelow", pside, pqty, OCO_LEG_TYPES)
    if above.type == "LIMIT_MAKER" and below.type == "LIMIT_MAKER":
        raise VenueError(-1168, "At least one OCO order must be contingent.")
    p.finish()
    t = c.venue.market_ms
    ol, legs, fills = c.venue.engine.place_oto(sym, working, [above, below], list_cid, t)
    c.venue.limiter.count_orders(3)
    return _list_reply(c, ol, legs, resp, {legs[0].order_id: fills})


def _find_list(p: Params, c: Ctx, id_name: str, client_name: str, missing: tuple[int, str]) -> OrderList:
    lid = p.int(id_name)
    cid = p.raw(client_name)
    if lid is None and not cid:
        raise E.either(id_name, client_name)
    ol = c.venue.engine.find_list(list_id=lid) if lid is not None else c.venue.engine.find_list(client_id=cid)
    if ol is None:
        raise E.err(missing)
    return ol


def cancel_order_list(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    cancel_id = p.client_id("newClientOrderId")
    ol = _find_list(p, c, "orderListId", "listClientOrderId", E.UNKNOWN_ORDER)
    p.finish()
    if ol.symbol != sym or not ol.is_open:
        raise E.err(E.UNKNOWN_ORDER)
    eng = c.venue.engine
    cid = cancel_id or eng.new_client_id()
    t = c.venue.market_ms
    ol, legs = eng.cancel_list(ol, t, cid)
    ol.transaction_time = t
    return R.list_response(ol, legs, [R.cancel_response(o, cid, t) for o in legs])


def get_order_list(p: Params, c: Ctx) -> dict[str, Any]:
    ol = _find_list(p, c, "orderListId", "origClientOrderId", (-2013, "Order list does not exist."))
    p.finish()
    return R.list_response(ol, c.venue.engine.list_orders(ol), None)


def open_order_lists(p: Params, c: Ctx) -> list[dict[str, Any]]:
    p.finish()
    eng = c.venue.engine
    return [R.list_response(ol, eng.list_orders(ol), None) for ol in eng.lists.values() if ol.is_open]


def all_order_lists(p: Params, c: Ctx) -> list[dict[str, Any]]:
    from_id = p.int("fromId")
    start, end = _time_range(p)
    limit = _limit(p, 500, 1000)
    p.finish()
    eng = c.venue.engine
    rows = [ol for ol in eng.lists.values() if (from_id is None or ol.order_list_id >= from_id)
            and (start is None or ol.transaction_time >= start) and (end is None or ol.transaction_time <= end)]
    return [R.list_response(ol, eng.list_orders(ol), None) for ol in rows[:limit]]


# ---------------------------------------------------------------------- account
def account(p: Params, c: Ctx) -> dict[str, Any]:
    omit = p.bool("omitZeroBalances")
    p.finish()
    eng = c.venue.engine
    fee_bp = int(eng.maker_fee * 10_000)
    balances = [{"asset": a, "free": f8(eng.free[a]), "locked": f8(eng.locked.get(a, Decimal(0)))}
                for a in sorted(eng.free)]
    if omit:
        balances = [b for b in balances if Decimal(b["free"]) != 0 or Decimal(b["locked"]) != 0]
    return {"makerCommission": fee_bp, "takerCommission": int(eng.taker_fee * 10_000), "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": f8(eng.maker_fee), "taker": f8(eng.taker_fee), "buyer": f8(0),
                                "seller": f8(0)},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": eng.update_time,
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354937868}


def my_trades(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c) or ""
    oid = p.int("orderId")
    start, end = _time_range(p)
    from_id = p.int("fromId")
    limit = _limit(p, 500, 1000)
    if from_id is not None and (start is not None or end is not None):
        raise E.err(E.OPT_COMBO)
    p.finish()
    rows = c.venue.engine.trades[sym]
    if oid is not None:
        rows = [t for t in rows if t.order_id == oid]
    if from_id is not None:
        rows = [t for t in rows if t.id >= from_id]
    if start is not None:
        rows = [t for t in rows if t.time >= start]
    if end is not None:
        rows = [t for t in rows if t.time <= end]
    rows = rows[:limit] if (from_id is not None or start is not None) else rows[-limit:]
    return [R.trade_json(t) for t in rows]
