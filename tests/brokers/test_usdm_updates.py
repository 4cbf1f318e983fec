"""USD-M user data → order updates, without a network: the documented payloads, and a stop's
algo and child events fed to the state machine in either arrival order."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.trading.bracket_driver import make_bracket
from tests.trading.helpers import make_usdm
from tradeterm.brokers.usdm_updates import (
    AlgoCorrelator,
    from_algo_json,
    from_algo_update,
    from_futures_order_json,
    from_order_trade_update,
)
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.intents import CancelLegs, Intent, PlaceExits
from tradeterm.trading.risk import RiskConfig

DOCS = Path("/work/shared/data/binance_payloads/docs_examples/futures")
T = 1_700_000_100_000


def _doc(name: str) -> dict[str, Any]:
    path = DOCS / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())


def test_documented_payloads_parse() -> None:
    u, fill = from_order_trade_update(_doc("userdata_order_update_trade_partial.json"), "binance-usdm")
    assert u is not None and fill is not None
    assert (u.status, u.filled_qty, u.orig_qty, u.avg_price) == (
        OrderStatus.PARTIALLY_FILLED, Decimal("0.001"), Decimal("0.002"), Decimal("7100.50"))  # fmt: skip
    assert (fill.trade_id, fill.fee, fill.fee_asset, fill.is_maker) == ("12345678", Decimal("0.01"), "USDT", True)
    assert u.decision_id is None and u.leg is OrderLeg.OTHER  # "TEST" is not one of our ids
    a = from_algo_update(_doc("userdata_algo_update_new.json"), "binance-usdm")
    assert a is not None and (a.status, a.order_type, a.stop_price, a.orig_qty) == (
        OrderStatus.NEW, OrderType.TAKE_PROFIT, Decimal(750), Decimal("0.01"))  # fmt: skip
    c = from_algo_update(_doc("userdata_algo_update_canceled.json"), "binance-usdm")
    assert c is not None and c.status is OrderStatus.CANCELED and c.client_order_id == "Q5xaq5EGKgXXa0fD7fs0Ip"


def test_rest_shapes() -> None:
    q = from_futures_order_json({"orderId": 9, "symbol": "BTCUSDT", "status": "FILLED", "clientOrderId": "x1",
                                 "price": "0", "avgPrice": "62001.5", "origQty": "0.5", "executedQty": "0.5",
                                 "cumQuote": "31000.75", "type": "MARKET", "origType": "STOP_MARKET",
                                 "side": "SELL", "stopPrice": "61800", "reduceOnly": True,
                                 "updateTime": T}, "binance-usdm")  # fmt: skip
    assert q is not None and q.order_type is OrderType.STOP_MARKET and q.reduce_only
    assert (q.avg_price, q.stop_price, q.exchange_order_id) == (Decimal("62001.5"), Decimal(61800), "9")
    a = from_algo_json({"algoId": 5, "clientAlgoId": "sl", "orderType": "STOP_MARKET", "symbol": "BTCUSDT",
                        "side": "SELL", "quantity": "0", "algoStatus": "NEW", "triggerPrice": "61800",
                        "price": "0", "closePosition": True, "createTime": T, "updateTime": T},
                       "binance-usdm", quantity_hint=Decimal("0.5"))  # fmt: skip
    assert a is not None and a.orig_qty == Decimal("0.5") and a.reduce_only  # closePosition: size from the hint


def _algo(cid: str, status: str, *, ai: str = "", aq: str = "0", ap: str = "0", t: int = T) -> dict[str, Any]:
    return {"e": "ALGO_UPDATE", "T": t, "E": t + 3, "o": {
        "caid": cid, "aid": 42, "at": "CONDITIONAL", "o": "STOP_MARKET", "s": "BTCUSDT", "S": "SELL", "ps": "BOTH",
        "f": "GTC", "q": "0.500", "X": status, "ai": ai, "ap": ap, "aq": aq, "act": "MARKET" if ai else "0",
        "tp": "61800.0", "p": "0", "V": "EXPIRE_MAKER", "wt": "MARK_PRICE", "pm": "NONE", "cp": False,
        "pP": False, "R": True, "tt": t if ai else 0, "gtd": 0}}  # fmt: skip


def _order(cid: str, status: str, x: str, *, side: str = "SELL", type_: str = "LIMIT", ot: str | None = None,
           q: str = "0.500", z: str = "0", price: str = "0", last: str = "0", oid: int = 1, t: int = T,
           trade: int = -1) -> dict[str, Any]:  # fmt: skip
    return {"e": "ORDER_TRADE_UPDATE", "T": t, "E": t + 2, "o": {
        "s": "BTCUSDT", "c": cid, "S": side, "o": type_, "f": "GTC", "q": q, "p": price,
        "ap": last if z != "0" else "0", "sp": "0", "x": x, "X": status, "i": oid, "l": z if x == "TRADE" else "0",
        "z": z, "L": last, "N": "USDT", "n": "0.5" if x == "TRADE" else "0", "T": t, "t": trade, "m": False,
        "R": side == "SELL", "wt": "CONTRACT_PRICE", "ot": ot or type_, "ps": "BOTH", "cp": False, "rp": "0"}}  # fmt: skip


def _feed(c: AlgoCorrelator, bracket: Any, events: list[dict[str, Any]]) -> list[Intent]:
    out: list[Intent] = []
    for e in events:
        for u, _ in c.on_event(e):
            out += bracket.apply(u)
    return out


@pytest.mark.parametrize("child_cid", ["tt-own", "electron_a1b2c3"], ids=["child-has-algo-id", "child-own-id"])
@pytest.mark.parametrize("fill_first", [True, False], ids=["child-fill-first", "algo-update-first"])
def test_stop_trigger_in_either_order_closes_and_cancels_targets(fill_first: bool, child_cid: str) -> None:
    b = make_bracket(make_usdm(), RiskConfig(leverage=5))
    did = b.decision_id
    sid, eid = f"tt-{did}-S", f"tt-{did}-E"
    c = AlgoCorrelator("binance-usdm")
    b.start()
    (exits,) = _feed(c, b, [_order(eid, "NEW", "NEW", side="BUY", price="62000", t=T - 10),
                            _order(eid, "FILLED", "TRADE", side="BUY", z="0.500", price="62000", last="62000",
                                   t=T - 9, trade=1)])  # fmt: skip
    assert isinstance(exits, PlaceExits)
    acks = [_algo(sid, "NEW", t=T - 8)]
    tps = [o for o in exits.orders if o.leg is OrderLeg.TP]
    acks += [_order(o.client_order_id, "NEW", "NEW", q=str(o.quantity), price=str(o.price), oid=10 + o.index,
                    t=T - 8) for o in tps]  # fmt: skip
    assert _feed(c, b, acks) == []
    own = sid if child_cid == "tt-own" else child_cid  # the venue reuses the algo id; Binance may not
    child = [_order(own, "NEW", "NEW", type_="MARKET", ot="STOP_MARKET", oid=777),
             _order(own, "FILLED", "TRADE", type_="MARKET", ot="STOP_MARKET", z="0.500", last="61790", oid=777,
                    trade=2)]  # fmt: skip
    algo = [_algo(sid, "TRIGGERING"), _algo(sid, "TRIGGERED", ai="777"),
            _algo(sid, "FINISHED", ai="777", aq="0.500", ap="61790")]  # fmt: skip
    intents = _feed(c, b, child + algo if fill_first else algo + child)
    cancels = [i for i in intents if isinstance(i, CancelLegs)]
    assert len(cancels) == 1 and set(cancels[0].client_order_ids) == {o.client_order_id for o in tps}
    assert b.state is BracketState.CLOSED and b.position == 0
    stop = b.orders[sid]
    assert (stop.status, stop.filled_qty, stop.avg_price) == (OrderStatus.FILLED, Decimal("0.5"), Decimal(61790))
    assert not c.held  # nothing left waiting
    assert child_cid not in b.orders  # the child is known only under the stop's id


def test_held_children_are_bounded() -> None:
    c = AlgoCorrelator("binance-usdm")
    for i in range(300):
        assert c.on_event(_order(f"x{i}", "NEW", "NEW", type_="MARKET", ot="STOP_MARKET", oid=i)) == []
    assert len(c.held) == 256
    foreign = c.on_event(_order("plain", "NEW", "NEW", oid=999))  # not from a conditional: reported as is
    assert [u.client_order_id for u, _ in foreign] == ["plain"]
