"""USD-M REST (``/fapi/...``) as Starlette routes, through the same gate as spot (faults, weight,
parameters, key, signature, timestamp) but with the futures rate limits and headers.

Since 2025-12-09 ``/fapi/v1/order`` takes LIMIT and MARKET only; conditional types answer
``-4120`` and live on ``/fapi/v1/algoOrder``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
from starlette.routing import Route

from tradeterm.venue import errors as E
from tradeterm.venue import futures_responses as FR
from tradeterm.venue.errors import VenueError
from tradeterm.venue.futures_engine import (
    ZERO,
    AlgoOrder,
    AlgoSpec,
    FuturesEngine,
    Order,
    OrderSpec,
)
from tradeterm.venue.futures_venue import FuturesMarket
from tradeterm.venue.params import Params
from tradeterm.venue.rest_spot import SIDES, Ctx, SpotApi, _limit
from tradeterm.venue.venue import INTERVALS, Venue, ticker_stats

CONDITIONAL = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
TIFS = ("GTC", "IOC", "FOK", "GTX")
POSITION_SIDES = ("BOTH", "LONG", "SHORT")
STP = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")
NOT_ALGO = (-4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")
OK = {"code": 200, "msg": "success"}
BATCH_SIZE = (-4082, "Invalid number of batch place orders.")


class FuturesApi(SpotApi):
    def __init__(self, venue: Venue, market: FuturesMarket) -> None:
        super().__init__(venue, market.limiter)
        self.market = market

    def _headers(self, ip: str) -> dict[str, str]:
        used = self.limiter.used_weight(ip)
        n10, n1m = self.limiter.order_counts()
        return {"x-mbx-used-weight-1m": str(used), "x-mbx-order-count-10s": str(n10),
                "x-mbx-order-count-1m": str(n1m)}

    def routes(self) -> list[Route]:  # type: ignore[override]
        ep = self.endpoint
        v1 = "/fapi/v1"
        r = [
            Route(f"{v1}/ping", ep(lambda p, c: {}, 1), methods=["GET"]),
            Route(f"{v1}/time", ep(lambda p, c: {"serverTime": c.venue.server_clock.now_ms()}, 1), methods=["GET"]),
            Route(f"{v1}/exchangeInfo", ep(exchange_info, 1), methods=["GET"]),
            Route(f"{v1}/klines", ep(klines, _kline_weight), methods=["GET"]),
            Route(f"{v1}/premiumIndex", ep(premium_index, _sym_weight(1, 10)), methods=["GET"]),
            Route(f"{v1}/fundingRate", ep(funding_rate, 1), methods=["GET"]),
            Route(f"{v1}/ticker/price", ep(ticker_price, _sym_weight(1, 2)), methods=["GET"]),
            Route("/fapi/v2/ticker/price", ep(ticker_price, _sym_weight(1, 2)), methods=["GET"]),
            Route(f"{v1}/ticker/bookTicker", ep(book_ticker, _sym_weight(2, 5)), methods=["GET"]),
            Route(f"{v1}/ticker/24hr", ep(ticker_24hr, _sym_weight(1, 40)), methods=["GET"]),
            Route(f"{v1}/leverageBracket", ep(leverage_bracket, 1, signed=True), methods=["GET"]),
            Route(f"{v1}/order", ep(new_order, 0, signed=True, order=True), methods=["POST"]),
            Route(f"{v1}/order/test", ep(test_order, 0, signed=True), methods=["POST"]),
            Route(f"{v1}/order", ep(get_order, 1, signed=True), methods=["GET"]),
            Route(f"{v1}/order", ep(cancel_order, 1, signed=True), methods=["DELETE"]),
            Route(f"{v1}/order", ep(modify_order, 1, signed=True, order=True), methods=["PUT"]),
            Route(f"{v1}/batchOrders", ep(batch_orders, 5, signed=True, order=True), methods=["POST"]),
            Route(f"{v1}/batchOrders", ep(batch_modify, 5, signed=True, order=True), methods=["PUT"]),
            Route(f"{v1}/batchOrders", ep(batch_cancel, 1, signed=True), methods=["DELETE"]),
            Route(f"{v1}/openOrder", ep(get_open_order, 1, signed=True), methods=["GET"]),
            Route(f"{v1}/openOrders", ep(open_orders, _sym_weight(1, 40), signed=True), methods=["GET"]),
            Route(f"{v1}/allOrders", ep(all_orders, 5, signed=True), methods=["GET"]),
            Route(f"{v1}/allOpenOrders", ep(cancel_all, 1, signed=True), methods=["DELETE"]),
            Route(f"{v1}/algoOrder", ep(new_algo, 0, signed=True, order=True), methods=["POST"]),
            Route(f"{v1}/algoOrder", ep(get_algo, 1, signed=True), methods=["GET"]),
            Route(f"{v1}/algoOrder", ep(cancel_algo, 1, signed=True), methods=["DELETE"]),
            Route(f"{v1}/openAlgoOrders", ep(open_algos, _sym_weight(1, 40), signed=True), methods=["GET"]),
            Route(f"{v1}/algoOpenOrders", ep(cancel_all_algos, 1, signed=True), methods=["DELETE"]),
            Route(f"{v1}/allAlgoOrders", ep(all_algos, 5, signed=True), methods=["GET"]),
            Route(f"{v1}/leverage", ep(set_leverage, 1, signed=True), methods=["POST"]),
            Route(f"{v1}/marginType", ep(set_margin_type, 1, signed=True), methods=["POST"]),
            Route(f"{v1}/positionSide/dual", ep(set_dual, 1, signed=True), methods=["POST"]),
            Route(f"{v1}/positionSide/dual", ep(get_dual, 30, signed=True), methods=["GET"]),
            Route(f"{v1}/userTrades", ep(user_trades, 5, signed=True), methods=["GET"]),
            Route(f"{v1}/income", ep(income, 30, signed=True), methods=["GET"]),
            Route(f"{v1}/listenKey", ep(listen_key_new, 1), methods=["POST"]),
            Route(f"{v1}/listenKey", ep(listen_key_keepalive, 1), methods=["PUT"]),
            Route(f"{v1}/listenKey", ep(listen_key_close, 1), methods=["DELETE"]),
        ]
        for v in (2, 3):
            r += [Route(f"/fapi/v{v}/positionRisk", ep(position_risk(v), 5, signed=True), methods=["GET"]),
                  Route(f"/fapi/v{v}/account", ep(account(v), 5, signed=True), methods=["GET"]),
                  Route(f"/fapi/v{v}/balance", ep(balance, 5, signed=True), methods=["GET"])]
        return r


def _sym_weight(one: int, all_: int) -> Callable[[Params], int]:
    return lambda p: one if "symbol" in p.values else all_


def _kline_weight(p: Params) -> int:
    try:
        n = int(p.values.get("limit", "500"))
    except ValueError:
        return 5
    return 1 if n < 100 else 2 if n < 500 else 5 if n <= 1000 else 10


def _fm(c: Ctx) -> FuturesMarket:
    assert c.venue.futures is not None
    return c.venue.futures


def _eng(c: Ctx) -> FuturesEngine:
    return _fm(c).engine


def _symbol(p: Params, c: Ctx, required: bool = True) -> str | None:
    s = p.str("symbol", required)
    if s is None:
        return None
    if s not in _fm(c).rules:
        raise E.err(E.BAD_SYMBOL)
    return s


def _one_or_all(p: Params, c: Ctx, row: Callable[[str], dict[str, Any]]) -> Any:
    sym = _symbol(p, c, required=False)
    return row(sym) if sym else [row(s) for s in _fm(c).rules]


# ---------------------------------------------------------------------- market data
def exchange_info(p: Params, c: Ctx) -> dict[str, Any]:
    fm = _fm(c)
    limits = [rl for rl in fm.limiter.rate_limits() if rl["rateLimitType"] != "RAW_REQUESTS"]
    return {"timezone": "UTC", "serverTime": c.venue.server_clock.now_ms(), "futuresType": "U_MARGINED",
            "rateLimits": limits, "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [r.exchange_info() for r in fm.rules.values()]}


def klines(p: Params, c: Ctx) -> list[list[Any]]:
    sym = _symbol(p, c) or ""
    iv = p.str("interval", required=True)
    start, end = p.int("startTime"), p.int("endTime")
    limit = _limit(p, 500, 1500)
    se = c.venue.series[sym]
    tf = INTERVALS.get(iv or "")
    if tf is None or tf.value == "1s" or tf.ms < se.tf.ms:
        raise E.err(E.BAD_INTERVAL)
    r = _fm(c).rules[sym]

    def px(x: float) -> str:
        return FR.price(r, Decimal(repr(x)))

    def q(x: float) -> str:
        return FR.qty(r, Decimal(repr(x)))

    return [[b.open_time, px(b.open), px(b.high), px(b.low), px(b.close), q(b.volume), b.close_time,
             FR.money(Decimal(repr(b.quote_volume))), b.trades, q(b.taker_buy_base),
             FR.money(Decimal(repr(b.taker_buy_quote))), "0"]
            for b in se.klines(tf, c.venue.market_ms, start, end, limit)]


def premium_index(p: Params, c: Ctx) -> Any:
    fm = _fm(c)

    def row(s: str) -> dict[str, Any]:
        m = fm.engine.market[s]
        return {"symbol": s, "markPrice": FR.money(m.mark), "indexPrice": FR.money(m.last),
                "estimatedSettlePrice": FR.money(m.mark), "lastFundingRate": f"{fm.funding_rate(s):.8f}",
                "interestRate": "0.00010000", "nextFundingTime": fm.next_funding(s), "time": c.venue.market_ms}

    return _one_or_all(p, c, row)


def funding_rate(p: Params, c: Ctx) -> list[dict[str, Any]]:
    fm = _fm(c)
    sym = _symbol(p, c, required=False)
    start, end = p.int("startTime"), p.int("endTime")
    limit = _limit(p, 100, 1000)
    out: list[dict[str, Any]] = []
    for s in [sym] if sym else list(fm.rules):
        se = c.venue.series[s]
        for t, rate in fm.funding[s].history(c.venue.market_ms, start, end, limit):
            i = se.index_at(t)
            mark = ""
            if 0 <= i and t <= se.last_close:
                mark = FR.money(fm.engine._mark_of(s, Decimal(repr(se.price_on_path(i, se.fraction(i, t))))))
            out.append({"symbol": s, "fundingTime": t, "fundingRate": f"{rate:.8f}", "markPrice": mark})
    out.sort(key=lambda row: row["fundingTime"])
    return out[:limit] if start is not None else out[-limit:]


def ticker_price(p: Params, c: Ctx) -> Any:
    eng = _eng(c)
    return _one_or_all(p, c, lambda s: {"symbol": s, "price": FR.price(eng.rules[s], eng.market[s].last),
                                        "time": c.venue.market_ms})


def book_ticker(p: Params, c: Ctx) -> Any:
    eng = _eng(c)

    def row(s: str) -> dict[str, Any]:
        r, bk = eng.rules[s], eng.book(s)
        size = FR.qty(r, bk.level_size(0))
        return {"symbol": s, "bidPrice": FR.price(r, bk.best_bid), "bidQty": size, "askPrice": FR.price(r, bk.best_ask),
                "askQty": size, "time": c.venue.market_ms, "lastUpdateId": c.venue.market_ms // 1000}

    return _one_or_all(p, c, row)


def ticker_24hr(p: Params, c: Ctx) -> Any:
    keys = ("symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "lastPrice", "lastQty", "openPrice",
            "highPrice", "lowPrice", "volume", "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count")
    return _one_or_all(p, c, lambda s: {k: v for k, v in ticker_stats(c.venue, s, c.venue.market_ms).items()
                                        if k in keys})


def leverage_bracket(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c, required=False)
    fm = _fm(c)
    return [{"symbol": s, "notionalCoef": 1.0, "brackets": [b.json() for b in fm.rules[s].brackets]}
            for s in ([sym] if sym else list(fm.rules))]


# ---------------------------------------------------------------------- orders
def _bool(p: Params, name: str) -> bool | None:
    v = p.str(name)
    if v is None:
        return None
    if v.lower() not in ("true", "false"):
        raise VenueError(-1130, "Invalid data sent for a parameter.")
    return v.lower() == "true"


def _order_spec(p: Params, c: Ctx) -> tuple[OrderSpec, str]:
    eng = _eng(c)
    sym = _symbol(p, c) or ""
    side = p.enum("side", SIDES, required=True, error=E.INVALID_SIDE) or ""
    ps = p.enum("positionSide", POSITION_SIDES) or "BOTH"
    type_ = p.str("type", required=True) or ""
    if type_ in CONDITIONAL:
        raise E.err(NOT_ALGO)
    if type_ not in ("LIMIT", "MARKET"):
        raise E.err(E.INVALID_ORDER_TYPE)
    tif = p.enum("timeInForce", TIFS, error=E.INVALID_TIF)
    qty = p.decimal("quantity", required=True)
    price = p.decimal("price")
    cid = p.client_id("newClientOrderId")
    resp = p.enum("newOrderRespType", ("ACK", "RESULT")) or "ACK"
    stp = p.enum("selfTradePreventionMode", STP) or "EXPIRE_MAKER"
    if p.enum("priceMatch", ("NONE",)) is not None and price is None and type_ == "LIMIT":
        raise E.mandatory("price")
    reduce_only = False
    if p.has("reduceOnly"):
        if eng.dual:
            raise VenueError(-1106, "Parameter 'reduceonly' sent when not required.")
        reduce_only = bool(_bool(p, "reduceOnly"))
    assert qty is not None
    if type_ == "LIMIT":
        if tif is None:
            raise E.mandatory("timeInForce")
        if price is None:
            raise E.mandatory("price")
    else:
        p.not_allowed("price", "timeInForce")
    return OrderSpec(symbol=sym, side=side, type=type_, quantity=qty, price=price, time_in_force=tif or "GTC",
                     position_side=ps, reduce_only=reduce_only, client_order_id=cid, stp_mode=stp), resp


def _respond(o: Order, resp: str, c: Ctx) -> dict[str, Any]:
    r = _fm(c).rules[o.symbol]
    if resp == "ACK":  # the order as accepted, before any fill
        o = replace(o, status="NEW", executed_qty=ZERO, cum_quote=ZERO, update_time=o.time)
    return FR.order_response(o, r)


def new_order(p: Params, c: Ctx) -> dict[str, Any]:
    spec, resp = _order_spec(p, c)
    p.finish()
    o = _eng(c).place_order(spec, c.venue.market_ms)
    _fm(c).limiter.count_orders(1)
    return _respond(o, resp, c)


def test_order(p: Params, c: Ctx) -> dict[str, Any]:
    spec, _ = _order_spec(p, c)
    p.finish()
    _eng(c).validate(spec)
    return {}


def batch_orders(p: Params, c: Ctx) -> list[dict[str, Any]]:
    raw = p.str("batchOrders", required=True) or ""
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise VenueError(-1130, "Data sent for parameter 'batchOrders' is not valid.") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise VenueError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
    if len(items) > 5:
        raise E.err(BATCH_SIZE)  # Binance caps a batch at 5 (-4082 INVALID_BATCH_PLACE_ORDER_SIZE)
    p.finish()
    out: list[dict[str, Any]] = []
    for item in items:
        try:
            ip = Params(values={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in item.items()})
            spec, resp = _order_spec(ip, c)
            ip.finish()
            o = _eng(c).place_order(spec, c.venue.market_ms)
            _fm(c).limiter.count_orders(1)
            out.append(_respond(o, resp, c))
        except VenueError as e:
            out.append(e.body())
    return out


def _batch_items(p: Params, name: str, cap: int, cap_error: tuple[int, str]) -> list[Any]:
    raw = p.str(name, required=True) or ""
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise VenueError(-1130, f"Data sent for parameter '{name}' is not valid.") from None
    if not isinstance(items, list) or not items:
        raise VenueError(-1130, f"Data sent for parameter '{name}' is not valid.")
    if len(items) > cap:
        raise E.err(cap_error)
    return items


def batch_modify(p: Params, c: Ctx) -> list[dict[str, Any]]:
    """``PUT /fapi/v1/batchOrders``: up to 5 modifications, each answered on its own (an order or
    an error object), in request order."""
    items = _batch_items(p, "batchOrders", 5, BATCH_SIZE)
    if not all(isinstance(i, dict) for i in items):
        raise VenueError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
    p.finish()
    out: list[dict[str, Any]] = []
    for item in items:
        try:
            ip = Params(values={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in item.items()})
            out.append(modify_order(ip, c))
        except VenueError as e:
            out.append(e.body())
    return out


def batch_cancel(p: Params, c: Ctx) -> list[dict[str, Any]]:
    """``DELETE /fapi/v1/batchOrders``: ``orderIdList`` or ``origClientOrderIdList`` (at most 10);
    each entry answered on its own (the cancelled order or ``-2011``)."""
    sym = _symbol(p, c) or ""
    if p.has("orderIdList"):
        ids = _batch_items(p, "orderIdList", 10, BATCH_SIZE)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise VenueError(-1130, "Data sent for parameter 'orderIdList' is not valid.")
        keys: list[tuple[int | None, str | None]] = [(i, None) for i in ids]
    elif p.has("origClientOrderIdList"):
        cids = _batch_items(p, "origClientOrderIdList", 10, BATCH_SIZE)
        if not all(isinstance(i, str) for i in cids):
            raise VenueError(-1130, "Data sent for parameter 'origClientOrderIdList' is not valid.")
        keys = [(None, i) for i in cids]
    else:
        raise E.either("orderIdList", "origClientOrderIdList")
    p.finish()
    eng, rules = _eng(c), _fm(c).rules[sym]
    out: list[dict[str, Any]] = []
    for oid, cid in keys:
        o = eng.find_order(sym, order_id=oid, client_id=cid)
        try:
            if o is None:
                raise E.err(E.UNKNOWN_ORDER)
            eng.cancel_order(o, c.venue.market_ms)
            out.append(FR.order_query(o, rules))
        except VenueError as e:
            out.append(e.body())
    return out


def _find(p: Params, c: Ctx, missing: tuple[int, str]) -> Order:
    sym = _symbol(p, c) or ""
    oid = p.int("orderId")
    cid = p.raw("origClientOrderId")
    if oid is None and not cid:
        raise E.either("orderId", "origClientOrderId")
    p.finish()
    o = _eng(c).find_order(sym, order_id=oid, client_id=cid)
    if o is None:
        raise E.err(missing)
    return o


def get_order(p: Params, c: Ctx) -> dict[str, Any]:
    o = _find(p, c, E.NO_SUCH_ORDER)
    return FR.order_query(o, _fm(c).rules[o.symbol])


def get_open_order(p: Params, c: Ctx) -> dict[str, Any]:
    o = _find(p, c, E.NO_SUCH_ORDER)
    if not o.is_open:
        raise VenueError(-2013, "Order does not exist.")
    return FR.order_query(o, _fm(c).rules[o.symbol])


def cancel_order(p: Params, c: Ctx) -> dict[str, Any]:
    o = _find(p, c, E.UNKNOWN_ORDER)
    _eng(c).cancel_order(o, c.venue.market_ms)
    return FR.order_query(o, _fm(c).rules[o.symbol])


def modify_order(p: Params, c: Ctx) -> dict[str, Any]:
    """``PUT /fapi/v1/order``: a LIMIT order's new price and quantity (both required; ``orderId``
    prevails over ``origClientOrderId``). See :meth:`FuturesEngine.modify_order` for the rules."""
    sym = _symbol(p, c) or ""
    oid = p.int("orderId")
    cid = p.raw("origClientOrderId")
    if oid is None and not cid:
        raise E.either("orderId", "origClientOrderId")
    side = p.enum("side", SIDES, required=True, error=E.INVALID_SIDE) or ""
    qty = p.decimal("quantity", required=True)
    price = p.decimal("price")
    p.enum("priceMatch", ("NONE",))  # price matching is not imitated: a price is required
    if price is None:
        raise E.mandatory("price")
    p.finish()
    assert qty is not None
    eng = _eng(c)
    o = eng.find_order(sym, order_id=oid, client_id=cid if oid is None else None)
    if o is None:
        raise E.err(E.NO_SUCH_ORDER)
    eng.modify_order(o, side, qty, price, c.venue.market_ms)
    _fm(c).limiter.count_orders(1)
    return FR.order_response(o, _fm(c).rules[sym])


def open_orders(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c, required=False)
    p.finish()
    rules = _fm(c).rules
    return [FR.order_query(o, rules[o.symbol]) for o in _eng(c).open_orders(sym)]


def all_orders(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c) or ""
    oid, start, end = p.int("orderId"), p.int("startTime"), p.int("endTime")
    limit = _limit(p, 500, 1000)
    p.finish()
    rows = [o for o in _eng(c).orders[sym].values() if (oid is None or o.order_id >= oid)
            and (start is None or o.time >= start) and (end is None or o.time <= end)]
    rows = rows[:limit] if oid is not None or start is not None else rows[-limit:]
    return [FR.order_query(o, _fm(c).rules[sym]) for o in rows]


def cancel_all(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    p.finish()
    _eng(c).cancel_all(sym, c.venue.market_ms)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


# ---------------------------------------------------------------------- algo orders
def new_algo(p: Params, c: Ctx) -> dict[str, Any]:
    eng = _eng(c)
    algo_type = p.str("algoType", required=True)
    if algo_type != "CONDITIONAL":
        raise VenueError(-1130, "Invalid data sent for a parameter.")
    sym = _symbol(p, c) or ""
    side = p.enum("side", SIDES, required=True, error=E.INVALID_SIDE) or ""
    ps = p.enum("positionSide", POSITION_SIDES) or "BOTH"
    type_ = p.str("type", required=True) or ""
    if type_ not in CONDITIONAL:
        raise E.err(E.INVALID_ORDER_TYPE)
    tif = p.enum("timeInForce", TIFS, error=E.INVALID_TIF) or "GTC"
    qty = p.decimal("quantity")
    price = p.decimal("price")
    trigger = p.decimal("triggerPrice")
    working = p.enum("workingType", ("MARK_PRICE", "CONTRACT_PRICE")) or "CONTRACT_PRICE"
    p.enum("priceMatch", ("NONE",))
    close = bool(_bool(p, "closePosition"))
    protect = bool(_bool(p, "priceProtect"))
    activate = p.decimal("activatePrice")
    rate = p.decimal("callbackRate")
    cid = p.client_id("clientAlgoId")
    p.enum("newOrderRespType", ("ACK", "RESULT"))
    stp = p.enum("selfTradePreventionMode", STP) or "EXPIRE_MAKER"
    p.int("goodTillDate")
    reduce_only = False
    if p.has("reduceOnly"):
        if eng.dual or close:
            raise VenueError(-1106, "Parameter 'reduceonly' sent when not required.")
        reduce_only = bool(_bool(p, "reduceOnly"))
    if close:
        if type_ not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
            raise VenueError(-4136, f"Target strategy invalid for orderType {type_},closePosition true")
        if qty is not None:
            raise VenueError(-4137, "Quantity must be zero with closePosition equals true.")
    elif qty is None:
        raise E.mandatory("quantity")
    if type_ == "TRAILING_STOP_MARKET":
        if trigger is not None:
            raise E.not_required("triggerPrice")
        if rate is None:
            raise E.mandatory("callbackRate")
        if not Decimal("0.1") <= rate <= Decimal(20):
            raise VenueError(-2007, "Invalid callBackRate.")
    else:
        if trigger is None:
            raise E.mandatory("triggerPrice")
        p.not_allowed("activatePrice", "callbackRate")
    if type_ in ("STOP", "TAKE_PROFIT") and price is None:
        raise E.mandatory("price")
    if type_ not in ("STOP", "TAKE_PROFIT") and price is not None:
        raise E.not_required("price")
    p.finish()
    spec = AlgoSpec(symbol=sym, side=side, type=type_, quantity=qty, trigger_price=trigger, price=price,
                    time_in_force=tif, position_side=ps, working_type=working, price_protect=protect,
                    reduce_only=reduce_only, close_position=close, activate_price=activate, callback_rate=rate,
                    client_algo_id=cid, stp_mode=stp)
    a = eng.place_algo(spec, c.venue.market_ms)
    _fm(c).limiter.count_orders(1)
    return FR.algo_json(a, _fm(c).rules[sym])


def _find_algo(p: Params, c: Ctx, missing: tuple[int, str]) -> AlgoOrder:
    aid = p.int("algoId")
    cid = p.raw("clientAlgoId")
    if aid is None and not cid:
        raise E.either("algoId", "clientAlgoId")
    p.finish()
    a = _eng(c).find_algo(algo_id=aid, client_id=cid)
    if a is None:
        raise E.err(missing)
    return a


def get_algo(p: Params, c: Ctx) -> dict[str, Any]:
    a = _find_algo(p, c, E.NO_SUCH_ORDER)
    return FR.algo_json(a, _fm(c).rules[a.symbol], query=True)


def cancel_algo(p: Params, c: Ctx) -> dict[str, Any]:
    a = _find_algo(p, c, E.UNKNOWN_ORDER)
    _eng(c).cancel_algo(a, c.venue.market_ms)
    return {"algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "code": "200", "msg": "success"}


def open_algos(p: Params, c: Ctx) -> list[dict[str, Any]]:
    p.enum("algoType", ("CONDITIONAL",))
    sym = _symbol(p, c, required=False)
    aid = p.int("algoId")
    p.finish()
    rules = _fm(c).rules
    return [FR.algo_json(a, rules[a.symbol], query=True) for a in _eng(c).open_algos(sym)
            if aid is None or a.algo_id == aid]


def cancel_all_algos(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    p.finish()
    _eng(c).cancel_all_algos(sym, c.venue.market_ms)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def all_algos(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c) or ""
    aid, start, end = p.int("algoId"), p.int("startTime"), p.int("endTime")
    limit = _limit(p, 500, 1000)
    p.int("page")
    p.finish()
    now = c.venue.market_ms
    lo = start if start is not None else (end if end is not None else now) - 7 * 86_400_000
    hi = end if end is not None else lo + 7 * 86_400_000
    if hi - lo > 7 * 86_400_000:
        raise VenueError(-1127, "More than 7 days between startTime and endTime.")
    rows = [a for a in _eng(c).algos.values() if a.symbol == sym and (aid is None or a.algo_id >= aid)
            and lo <= a.create_time <= hi]
    return [FR.algo_json(a, _fm(c).rules[sym], query=True) for a in rows[:limit]]


# ---------------------------------------------------------------------- account
def set_leverage(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    lev = p.int("leverage", required=True)
    p.finish()
    assert lev is not None
    got, cap = _eng(c).set_leverage(sym, lev, c.venue.market_ms)
    return {"leverage": got, "maxNotionalValue": f"{cap.normalize():f}", "symbol": sym}


def set_margin_type(p: Params, c: Ctx) -> dict[str, Any]:
    sym = _symbol(p, c) or ""
    mt = p.str("marginType", required=True)
    if mt not in ("ISOLATED", "CROSSED"):
        raise VenueError(-4044, "The margin type is invalid.")
    p.finish()
    _eng(c).set_margin_type(sym, mt == "ISOLATED", c.venue.market_ms)
    return dict(OK)


def set_dual(p: Params, c: Ctx) -> dict[str, Any]:
    v = p.str("dualSidePosition", required=True) or ""
    if v.lower() not in ("true", "false"):
        raise VenueError(-1130, "Invalid data sent for a parameter.")
    p.finish()
    _eng(c).set_dual(v.lower() == "true")
    return dict(OK)


def get_dual(p: Params, c: Ctx) -> dict[str, Any]:
    p.finish()
    return {"dualSidePosition": _eng(c).dual}


def position_risk(version: int) -> Callable[[Params, Ctx], list[dict[str, Any]]]:
    def handler(p: Params, c: Ctx) -> list[dict[str, Any]]:
        sym = _symbol(p, c, required=False)
        p.finish()
        eng = _eng(c)
        rows = []
        for s in [sym] if sym else list(eng.rules):
            for side in FR.sides(eng):
                pos = eng.position(s, side)
                if version == 3:
                    if pos.amt or any(o.position_side == side for o in eng.open_orders(s)):
                        rows.append(FR.position_v3(eng, pos))
                else:
                    rows.append(FR.position_v2(eng, pos))
        return rows
    return handler


def account(version: int) -> Callable[[Params, Ctx], dict[str, Any]]:
    def handler(p: Params, c: Ctx) -> dict[str, Any]:
        p.finish()
        return FR.account(_eng(c), version)
    return handler


def balance(p: Params, c: Ctx) -> list[dict[str, Any]]:
    p.finish()
    return FR.balance_rows(_eng(c))


def user_trades(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c) or ""
    oid, start, end, from_id = p.int("orderId"), p.int("startTime"), p.int("endTime"), p.int("fromId")
    limit = _limit(p, 500, 1000)
    p.finish()
    rows = [t for t in _eng(c).trades[sym] if (oid is None or t.order_id == oid) and
            (from_id is None or t.id >= from_id) and (start is None or t.time >= start) and
            (end is None or t.time <= end)]
    rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
    eng = _eng(c)
    return [FR.trade_json(t, eng.rules[sym], eng.asset) for t in rows]


def income(p: Params, c: Ctx) -> list[dict[str, Any]]:
    sym = _symbol(p, c, required=False)
    kind = p.str("incomeType")
    start, end = p.int("startTime"), p.int("endTime")
    page = p.int("page") or 1
    limit = _limit(p, 100, 1000)
    p.finish()
    eng = _eng(c)
    if start is None and end is None:
        start = c.venue.market_ms - 7 * 86_400_000
    rows = [i for i in eng.income if (sym is None or i.symbol == sym) and (kind is None or i.type == kind)
            and (start is None or i.time >= start) and (end is None or i.time <= end)]
    rows = rows[(page - 1) * limit: page * limit]
    return [{"symbol": i.symbol, "incomeType": i.type, "income": FR.money(i.amount), "asset": eng.asset,
             "info": i.info or i.type, "time": i.time, "tranId": i.tran_id, "tradeId": i.trade_id} for i in rows]


# ---------------------------------------------------------------------- listenKey (USER_STREAM: key only)
def _api_key(c: Ctx) -> str:
    return c.venue.auth.credential(c.api_key).api_key


def listen_key_new(p: Params, c: Ctx) -> dict[str, Any]:
    p.finish()
    return {"listenKey": _fm(c).userdata.create(_api_key(c))}


def listen_key_keepalive(p: Params, c: Ctx) -> dict[str, Any]:
    p.str("listenKey")
    p.finish()
    return {"listenKey": _fm(c).userdata.keepalive(_api_key(c))}


def listen_key_close(p: Params, c: Ctx) -> dict[str, Any]:
    p.str("listenKey")
    p.finish()
    _fm(c).userdata.close(_api_key(c))
    return {}
