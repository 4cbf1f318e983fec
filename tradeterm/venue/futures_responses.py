"""JSON shapes of USD-M REST answers and user-data events, built from futures-engine objects.

One definition per object, shared by REST, the user-data stream and the shape tests against the
captured payloads. Prices carry the symbol's pricePrecision, quantities its quantityPrecision,
money eight decimals, as Binance prints them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tradeterm.venue.futures_engine import (
    AccountEvent,
    AlgoEvent,
    AlgoOrder,
    ConfigEvent,
    FuturesEngine,
    Order,
    OrderEvent,
    Position,
    Trade,
)
from tradeterm.venue.futures_symbols import FuturesRules

Q8 = Decimal("0.00000001")


def money(x: Decimal) -> str:
    return f"{x.quantize(Q8, ROUND_HALF_UP):f}"


def price(r: FuturesRules, x: Decimal) -> str:
    return f"{x.quantize(Decimal(1).scaleb(-r.price_precision), ROUND_HALF_UP):f}"


def qty(r: FuturesRules, x: Decimal) -> str:
    return f"{x.quantize(Decimal(1).scaleb(-r.quantity_precision), ROUND_HALF_UP):f}"


def _order_common(o: Order, r: FuturesRules) -> dict[str, Any]:
    return {"orderId": o.order_id, "symbol": o.symbol, "status": o.status, "clientOrderId": o.client_order_id,
            "price": price(r, o.price), "avgPrice": price(r, o.avg_price), "origQty": qty(r, o.orig_qty),
            "executedQty": qty(r, o.executed_qty)}


def _order_tail(o: Order, r: FuturesRules) -> dict[str, Any]:
    return {"cumQuote": money(o.cum_quote), "timeInForce": o.time_in_force, "type": o.type,
            "reduceOnly": o.reduce_only, "closePosition": o.close_position, "side": o.side,
            "positionSide": o.position_side, "stopPrice": price(r, o.stop_price), "workingType": o.working_type,
            "priceProtect": o.price_protect, "origType": o.orig_type, "priceMatch": "NONE",
            "selfTradePreventionMode": o.stp_mode, "goodTillDate": 0}


def order_response(o: Order, r: FuturesRules) -> dict[str, Any]:
    """``POST /fapi/v1/order`` (and batch items): the documented new-order skeleton."""
    d = _order_common(o, r)
    d["cumQty"] = qty(r, o.executed_qty)
    d.update(_order_tail(o, r))
    d["updateTime"] = o.update_time
    return d


def order_query(o: Order, r: FuturesRules) -> dict[str, Any]:
    """``GET /fapi/v1/order``, ``openOrders``, ``allOrders``, cancels."""
    d = _order_common(o, r)
    d.update(_order_tail(o, r))
    d["time"] = o.time
    d["updateTime"] = o.update_time
    return d


def algo_json(a: AlgoOrder, r: FuturesRules, query: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {
        "algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "algoType": "CONDITIONAL", "orderType": a.type,
        "symbol": a.symbol, "side": a.side, "positionSide": a.position_side, "timeInForce": a.time_in_force,
        "quantity": qty(r, a.quantity), "algoStatus": a.status, "triggerPrice": price(r, a.trigger_price),
        "price": price(r, a.price), "icebergQuantity": None, "selfTradePreventionMode": a.stp_mode,
        "workingType": a.working_type, "priceMatch": "NONE", "closePosition": a.close_position,
        "priceProtect": a.price_protect, "reduceOnly": a.reduce_only,
        "activatePrice": price(r, a.activate_price) if a.type == "TRAILING_STOP_MARKET" else "",
        "callbackRate": f"{a.callback_rate}" if a.type == "TRAILING_STOP_MARKET" else "",
        "createTime": a.create_time, "updateTime": a.update_time, "triggerTime": a.trigger_time, "goodTillDate": 0}
    if query:
        d.update({"actualOrderId": str(a.actual_order_id) if a.actual_order_id is not None else "",
                  "actualPrice": price(r, a.actual_price), "actualType": a.actual_type,
                  "actualQty": qty(r, a.actual_qty)})
    return d


def trade_json(tr: Trade, r: FuturesRules, asset: str) -> dict[str, Any]:
    return {"symbol": tr.symbol, "id": tr.id, "orderId": tr.order_id, "side": tr.side, "price": price(r, tr.price),
            "qty": qty(r, tr.qty), "realizedPnl": money(tr.realized), "marginAsset": asset,
            "quoteQty": money(tr.price * tr.qty), "commission": money(tr.commission), "commissionAsset": asset,
            "time": tr.time, "positionSide": tr.position_side, "buyer": tr.side == "BUY", "maker": tr.maker}


def _bep(eng: FuturesEngine, p: Position) -> Decimal:
    if not p.amt:
        return Decimal(0)
    return p.entry * (1 + eng.taker_fee) if p.amt > 0 else p.entry * (1 - eng.taker_fee)


def position_v3(eng: FuturesEngine, p: Position) -> dict[str, Any]:
    r = eng.rules[p.symbol]
    bk = eng.open_orders(p.symbol)
    bid = sum((o.remaining * o.price for o in bk if o.side == "BUY"), Decimal(0))
    ask = sum((o.remaining * o.price for o in bk if o.side == "SELL"), Decimal(0))
    iso = eng.isolated[p.symbol]
    up = eng.unrealized(p)
    im = eng.initial_margin(p)
    oim = sum((eng.order_im(o) for o in bk if o.position_side == p.side), Decimal(0))
    return {"symbol": p.symbol, "positionSide": p.side, "positionAmt": qty(r, p.amt), "entryPrice": money(p.entry),
            "breakEvenPrice": money(_bep(eng, p)), "markPrice": money(eng.mark(p.symbol)),
            "unRealizedProfit": money(up), "liquidationPrice": money(eng.liquidation_price(p)),
            "isolatedMargin": money(p.iw + up if iso else Decimal(0)), "notional": money(p.amt * eng.mark(p.symbol)),
            "marginAsset": eng.asset, "isolatedWallet": money(p.iw if iso else Decimal(0)),
            "initialMargin": money(im + oim), "maintMargin": money(eng.maint_margin(p)),
            "positionInitialMargin": money(im), "openOrderInitialMargin": money(oim), "adl": 0,
            "bidNotional": money(bid), "askNotional": money(ask), "updateTime": p.update_time}


def position_v2(eng: FuturesEngine, p: Position) -> dict[str, Any]:
    r = eng.rules[p.symbol]
    iso = eng.isolated[p.symbol]
    up = eng.unrealized(p)
    lev = eng.leverage[p.symbol]
    return {"symbol": p.symbol, "positionAmt": qty(r, p.amt), "entryPrice": money(p.entry),
            "breakEvenPrice": money(_bep(eng, p)), "markPrice": money(eng.mark(p.symbol)),
            "unRealizedProfit": money(up), "liquidationPrice": money(eng.liquidation_price(p)),
            "leverage": str(lev), "maxNotionalValue": f"{r.max_notional_for(lev).normalize():f}",
            "marginType": "isolated" if iso else "cross", "isolatedMargin": money(p.iw + up if iso else Decimal(0)),
            "isAutoAddMargin": "false", "positionSide": p.side, "notional": money(p.amt * eng.mark(p.symbol)),
            "isolatedWallet": money(p.iw if iso else Decimal(0)), "updateTime": p.update_time}


def sides(eng: FuturesEngine) -> tuple[str, ...]:
    return ("LONG", "SHORT") if eng.dual else ("BOTH",)


def totals(eng: FuturesEngine) -> dict[str, Decimal]:
    positions = eng.open_positions()
    up = sum((eng.unrealized(p) for p in positions), Decimal(0))
    pim = sum((eng.initial_margin(p) for p in positions), Decimal(0))
    oim = eng.open_order_im()
    mm = sum((eng.maint_margin(p) for p in positions), Decimal(0))
    avail = max(eng.available(), Decimal(0))
    return {"wallet": eng.wallet, "up": up, "margin": eng.wallet + up, "pim": pim, "oim": oim, "im": pim + oim,
            "mm": mm, "cross": eng.cross_wallet(), "cross_up": eng.cross_unrealized(), "avail": avail,
            "max_withdraw": min(avail, eng.wallet)}


def asset_row(eng: FuturesEngine) -> dict[str, Any]:
    t = totals(eng)
    return {"asset": eng.asset, "walletBalance": money(t["wallet"]), "unrealizedProfit": money(t["up"]),
            "marginBalance": money(t["margin"]), "maintMargin": money(t["mm"]), "initialMargin": money(t["im"]),
            "positionInitialMargin": money(t["pim"]), "openOrderInitialMargin": money(t["oim"]),
            "crossWalletBalance": money(t["cross"]), "crossUnPnl": money(t["cross_up"]),
            "availableBalance": money(t["avail"]), "maxWithdrawAmount": money(t["max_withdraw"]),
            "marginAvailable": True, "updateTime": eng.update_time}


def account(eng: FuturesEngine, version: int) -> dict[str, Any]:
    t = totals(eng)
    d: dict[str, Any] = {}
    if version == 2:
        d.update({"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
                  "updateTime": eng.update_time, "multiAssetsMargin": False, "tradeGroupId": -1})
    d.update({"totalInitialMargin": money(t["im"]), "totalMaintMargin": money(t["mm"]),
              "totalWalletBalance": money(t["wallet"]), "totalUnrealizedProfit": money(t["up"]),
              "totalMarginBalance": money(t["margin"]), "totalPositionInitialMargin": money(t["pim"]),
              "totalOpenOrderInitialMargin": money(t["oim"]), "totalCrossWalletBalance": money(t["cross"]),
              "totalCrossUnPnl": money(t["cross_up"]), "availableBalance": money(t["avail"]),
              "maxWithdrawAmount": money(t["max_withdraw"]), "assets": [asset_row(eng)]})
    rows = []
    for sym in eng.rules:
        for side in sides(eng):
            p = eng.position(sym, side)
            if version == 3 and not p.amt:
                continue
            r = eng.rules[sym]
            up = eng.unrealized(p)
            base = {"symbol": sym, "initialMargin": money(eng.initial_margin(p)),
                    "maintMargin": money(eng.maint_margin(p)), "unrealizedProfit": money(up),
                    "positionInitialMargin": money(eng.initial_margin(p)), "openOrderInitialMargin": money(
                        sum((eng.order_im(o) for o in eng.open_orders(sym) if o.position_side == side), Decimal(0))),
                    "leverage": str(eng.leverage[sym]), "isolated": eng.isolated[sym], "entryPrice": money(p.entry),
                    "maxNotional": f"{r.max_notional_for(eng.leverage[sym]).normalize():f}",
                    "bidNotional": "0", "askNotional": "0", "positionSide": side,
                    "positionAmt": qty(r, p.amt), "updateTime": p.update_time}
            if version == 3:
                base = {k: base[k] for k in ("symbol", "positionSide", "positionAmt", "unrealizedProfit",
                                             "initialMargin", "maintMargin", "updateTime")}
                base["isolatedMargin"] = money(p.iw + up if eng.isolated[sym] else Decimal(0))
                base["notional"] = money(p.amt * eng.mark(sym))
                base["isolatedWallet"] = money(p.iw if eng.isolated[sym] else Decimal(0))
            rows.append(base)
    d["positions"] = rows
    return d


def balance_rows(eng: FuturesEngine) -> list[dict[str, Any]]:
    t = totals(eng)
    return [{"accountAlias": "SgsR", "asset": eng.asset, "balance": money(t["wallet"]),
             "crossWalletBalance": money(t["cross"]), "crossUnPnl": money(t["cross_up"]),
             "availableBalance": money(t["avail"]), "maxWithdrawAmount": money(t["max_withdraw"]),
             "marginAvailable": True, "updateTime": eng.update_time}]


# ------------------------------------------------------------------ user-data events
def order_trade_update(ev: OrderEvent, r: FuturesRules, asset: str, event_time: int) -> dict[str, Any]:
    o = ev.order
    return {"e": "ORDER_TRADE_UPDATE", "T": ev.t, "E": event_time, "o": {
        "s": o.symbol, "c": o.client_order_id, "S": o.side, "o": o.type, "f": o.time_in_force, "q": qty(r, o.orig_qty),
        "p": price(r, o.price), "ap": price(r, o.avg_price), "sp": price(r, o.stop_price), "x": ev.exec_type,
        "X": o.status, "i": o.order_id, "l": qty(r, ev.last_qty), "z": qty(r, o.executed_qty),
        "L": price(r, ev.last_price), "N": asset, "n": money(ev.commission), "T": ev.t, "t": ev.trade_id,
        "b": "0", "a": "0", "m": ev.maker, "R": o.reduce_only, "wt": o.working_type, "ot": o.orig_type,
        "ps": o.position_side, "cp": o.close_position, "AP": "0", "cr": "0", "pP": o.price_protect, "si": 0,
        "ss": 0, "rp": money(ev.realized), "V": o.stp_mode, "pm": "NONE", "gtd": 0, "er": str(o.expiry_reason)}}


def trade_lite(ev: OrderEvent, r: FuturesRules, event_time: int) -> dict[str, Any]:
    o = ev.order
    return {"e": "TRADE_LITE", "E": event_time, "T": ev.t, "s": o.symbol, "c": o.client_order_id, "S": o.side,
            "q": qty(r, o.orig_qty), "p": price(r, o.price), "i": o.order_id, "l": qty(r, ev.last_qty),
            "L": price(r, ev.last_price), "t": ev.trade_id, "m": ev.maker}


def algo_update(ev: AlgoEvent, r: FuturesRules, event_time: int) -> dict[str, Any]:
    a = ev.algo
    o: dict[str, Any] = {
        "caid": a.client_algo_id, "aid": a.algo_id, "at": "CONDITIONAL", "o": a.type, "s": a.symbol, "S": a.side,
        "ps": a.position_side, "f": a.time_in_force, "q": qty(r, a.quantity), "X": a.status,
        "ai": str(a.actual_order_id) if a.actual_order_id is not None else ""}
    if a.actual_order_id is not None:
        o.update({"ap": price(r, a.actual_price), "aq": qty(r, a.actual_qty), "act": a.actual_type})
    o.update({"tp": price(r, a.trigger_price), "p": price(r, a.price), "V": a.stp_mode, "wt": a.working_type,
              "pm": "NONE", "cp": a.close_position, "pP": a.price_protect, "R": a.reduce_only,
              "tt": a.trigger_time, "gtd": 0})
    if a.reason:
        o["rm"] = a.reason
    return {"e": "ALGO_UPDATE", "T": ev.t, "E": event_time, "o": o}


def account_update(ev: AccountEvent, eng: FuturesEngine, event_time: int) -> dict[str, Any]:
    rows = []
    for p in ev.positions:
        r = eng.rules[p.symbol]
        up = (eng.mark(p.symbol) - p.entry) * p.amt if p.amt else Decimal(0)
        rows.append({"s": p.symbol, "pa": qty(r, p.amt), "ep": money(p.entry), "bep": money(_bep(eng, p)),
                     "cr": money(p.realized), "up": money(up), "mt": "isolated" if eng.isolated[p.symbol] else "cross",
                     "iw": money(p.iw), "ps": p.side})
    a: dict[str, Any] = {"m": ev.reason, "B": [{"a": eng.asset, "wb": money(ev.wallet), "cw": money(ev.cross_wallet),
                                                "bc": money(ev.balance_change)}], "P": rows}
    if ev.symbol is not None:
        a["S"] = ev.symbol
    return {"e": "ACCOUNT_UPDATE", "T": ev.t, "E": event_time, "a": a}


def account_config_update(ev: ConfigEvent, event_time: int) -> dict[str, Any]:
    """User data after a leverage change (Binance's ``ACCOUNT_CONFIG_UPDATE`` with ``ac``)."""
    return {"e": "ACCOUNT_CONFIG_UPDATE", "E": event_time, "T": ev.t, "ac": {"s": ev.symbol, "l": ev.leverage}}


def force_order(ev: OrderEvent, r: FuturesRules) -> dict[str, Any]:
    """The market stream ``<symbol>@forceOrder`` / ``!forceOrder@arr``: a liquidation order, its
    price the bankruptcy price and ``ap`` the average fill."""
    o = ev.order
    return {"e": "forceOrder", "E": ev.t, "o": {
        "s": o.symbol, "S": o.side, "o": o.type, "f": o.time_in_force, "q": qty(r, o.orig_qty),
        "p": price(r, o.price), "ap": price(r, o.avg_price), "X": o.status, "l": qty(r, ev.last_qty),
        "z": qty(r, o.executed_qty), "T": ev.t}}


def mark_price_update(sym: str, mark: Decimal, index: Decimal, rate: Decimal, next_funding: int,
                      t: int) -> dict[str, Any]:
    """``<symbol>@markPrice[@1s]`` and the items of ``!markPrice@arr[@1s]``."""
    return {"e": "markPriceUpdate", "E": t, "s": sym, "p": money(mark), "i": money(index), "P": money(mark),
            "r": f"{rate:.8f}", "T": next_funding}
