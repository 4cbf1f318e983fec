"""The pure USD-M engine, with numbers worked out by hand: leverage, entry averaging, PnL, fees,
reduce-only, closePosition, conditional orders and their children, hedge mode, funding and
liquidation (isolated and cross)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tradeterm.venue.errors import VenueError
from tradeterm.venue.funding import FundingSchedule
from tradeterm.venue.futures_engine import (
    AccountEvent,
    AlgoEvent,
    AlgoSpec,
    FuturesEngine,
    OrderEvent,
    OrderSpec,
)
from tradeterm.venue.futures_symbols import futures_rules
from tradeterm.venue.symbols import SymbolRules

BTC = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=D("0.1"), step_size=D("0.001"),
                  min_qty=D("0.001"), min_notional=D(5), min_price=D("0.1"), max_price=D(1000000), max_qty=D(1000))


def engine(wallet: str = "10000", price: str = "50000", **kw: object) -> FuturesEngine:
    eng = FuturesEngine({"BTCUSDT": futures_rules(BTC)}, D(wallet), **kw)  # type: ignore[arg-type]
    eng.set_market("BTCUSDT", D(price), D(5), 0)
    return eng


def move(eng: FuturesEngine, *prices: str, t: int = 1) -> None:
    """Walk the last price through ``prices`` (each leg monotonic, as the replay's path is)."""
    cur = eng.market["BTCUSDT"].last
    for p in prices:
        eng.on_move("BTCUSDT", cur, D(p), t)
        cur = D(p)


def limit(side: str, qty: str, price: str, **kw: object) -> OrderSpec:
    return OrderSpec("BTCUSDT", side, "LIMIT", D(qty), D(price), **kw)  # type: ignore[arg-type]


def code(exc: pytest.ExceptionInfo[VenueError]) -> int:
    return exc.value.code


def test_long_with_leverage_averaging_tp_ladder_and_realised_pnl() -> None:
    eng = engine()
    eng.set_leverage("BTCUSDT", 10)
    eng.place_order(limit("BUY", "0.1", "49000"), 0)
    eng.place_order(limit("BUY", "0.1", "47000"), 0)
    move(eng, "46000")
    pos = eng.position("BTCUSDT")
    assert pos.amt == D("0.2") and pos.entry == D(48000)  # (49000 + 47000) / 2
    fees = D("0.98") + D("0.94")  # maker 0.02 % of 4900 and 4700
    assert eng.wallet == D(10000) - fees
    assert eng.unrealized(pos) == D(-400)  # (46000 - 48000) * 0.2
    assert eng.initial_margin(pos) == D(920)  # 0.2 * 46000 / 10
    eng.place_order(limit("SELL", "0.1", "50000", reduce_only=True), 2)
    eng.place_order(limit("SELL", "0.1", "52000", reduce_only=True), 2)
    eng.place_order(limit("SELL", "0.1", "53000", reduce_only=True), 2)  # a third rung: more than the position
    move(eng, "52500", t=3)
    assert pos.amt == 0 and pos.realized == D(600)  # 2000 * 0.1 + 4000 * 0.1
    expired = [e for e in eng.drain_events() if isinstance(e, OrderEvent) and e.exec_type == "EXPIRED"]
    assert [e.order.price for e in expired] == [D(53000)] and expired[0].order.expiry_reason == 4
    assert eng.wallet == D(10000) - fees + D(600) - D("1.0") - D("1.04")


def test_reduce_only_never_increases_and_one_way_flip() -> None:
    eng = engine()
    with pytest.raises(VenueError) as e:
        eng.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", D("0.1"), reduce_only=True), 0)
    assert code(e) == -2022 and e.value.msg == "ReduceOnly Order is rejected."
    eng.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", D("0.1")), 0)
    with pytest.raises(VenueError) as e:
        eng.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", D("0.1"), reduce_only=True), 0)
    assert code(e) == -2022
    o = eng.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", D("0.5"), reduce_only=True), 0)
    assert o.executed_qty == D("0.1") and o.status == "EXPIRED" and eng.position("BTCUSDT").amt == 0
    eng.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", D("0.1")), 0)
    eng.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", D("0.3")), 0)  # no reduceOnly: flips to short
    pos = eng.position("BTCUSDT")
    assert pos.amt == D("-0.2") and pos.entry == D("50000.0")


def test_margin_insufficient_min_notional_and_brackets() -> None:
    eng = engine(wallet="100")
    eng.set_leverage("BTCUSDT", 10)
    with pytest.raises(VenueError) as e:
        eng.place_order(limit("BUY", "0.1", "49000"), 0)  # 490 initial margin > 100
    assert code(e) == -2019 and e.value.msg == "Margin is insufficient."
    with pytest.raises(VenueError) as e:
        eng.place_order(limit("BUY", "0.001", "49000"), 0)
    assert code(e) == -4164 and "no smaller than 100" in e.value.msg
    with pytest.raises(VenueError) as e:
        eng.place_order(limit("BUY", "0.0001", "49000"), 0)
    assert code(e) == -1111
    with pytest.raises(VenueError) as e:
        eng.place_order(limit("BUY", "0.01", "49000.05"), 0)
    assert code(e) == -1111  # pricePrecision 1: Binance reports precision before the tick
    with pytest.raises(VenueError) as e:
        eng.set_leverage("BTCUSDT", 126)
    assert code(e) == -4028 and e.value.msg == "Leverage 126 is not valid"
    assert eng.set_leverage("BTCUSDT", 125) == (125, D(50000))
    big = engine(wallet="1000000")
    big.set_leverage("BTCUSDT", 125)
    with pytest.raises(VenueError) as e:
        big.place_order(limit("BUY", "2", "49000"), 0)  # 98,000 notional is past the 125x bracket
    assert code(e) == -2027


def test_stop_market_close_position_triggers_child_with_quirky_event_order() -> None:
    eng = engine()
    eng.place_order(limit("BUY", "0.1", "49000"), 0)
    move(eng, "48500")
    algo = eng.place_algo(AlgoSpec("BTCUSDT", "SELL", "STOP_MARKET", trigger_price=D(47000), close_position=True,
                                   working_type="MARK_PRICE", client_algo_id="sl-1"), 1)
    with pytest.raises(VenueError) as e:
        eng.place_algo(AlgoSpec("BTCUSDT", "SELL", "STOP_MARKET", D("0.1"), trigger_price=D(49000),
                                reduce_only=True), 1)
    assert code(e) == -2021
    eng.drain_events()
    move(eng, "46000", t=5)
    assert algo.status == "FINISHED" and eng.position("BTCUSDT").amt == 0
    child = eng.orders["BTCUSDT"][algo.actual_order_id or 0]
    assert child.orig_type == "STOP_MARKET" and child.type == "MARKET" and child.algo_id == algo.algo_id
    assert child.avg_price == D(47000) and child.client_order_id == "sl-1"
    kinds = [(type(ev).__name__, ev.algo.status if isinstance(ev, AlgoEvent) else
              ev.exec_type if isinstance(ev, OrderEvent) else ev.reason) for ev in eng.drain_events()]
    assert kinds == [("AlgoEvent", "TRIGGERING"), ("OrderEvent", "NEW"), ("OrderEvent", "TRADE"),
                     ("AccountEvent", "ORDER"), ("AlgoEvent", "TRIGGERED"), ("AlgoEvent", "FINISHED")]


def test_stop_first_when_the_bar_reaches_both_target_and_stop() -> None:
    eng = engine()
    eng.place_order(limit("BUY", "0.1", "50000"), 0)
    move(eng, "49900")
    eng.place_order(limit("SELL", "0.1", "51000", reduce_only=True), 1)
    eng.place_algo(AlgoSpec("BTCUSDT", "SELL", "STOP_MARKET", trigger_price=D(48000), close_position=True), 1)
    # the bar goes up through the target, then down through the stop: the stop is counted first
    eng.on_move("BTCUSDT", D(49900), D(51500), 2, rest_low=D(47500), rest_high=D(51500))
    pos = eng.position("BTCUSDT")
    assert pos.amt == 0 and pos.realized == D(-200)  # (48000 - 50000) * 0.1
    assert [o.status for o in eng.orders["BTCUSDT"].values()] == ["FILLED", "EXPIRED", "FILLED"]


def test_take_profit_and_trailing_stop_algos() -> None:
    eng = engine()
    eng.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", D("0.2")), 0)
    tp = eng.place_algo(AlgoSpec("BTCUSDT", "SELL", "TAKE_PROFIT", D("0.1"), trigger_price=D(51000),
                                 price=D(51000), reduce_only=True), 0)
    tr = eng.place_algo(AlgoSpec("BTCUSDT", "SELL", "TRAILING_STOP_MARKET", D("0.1"), activate_price=D(51500),
                                 callback_rate=D(1), reduce_only=True), 0)
    move(eng, "52000", t=1)
    assert tp.status == "FINISHED" and tr.activated and tr.extreme == D(52000)
    move(eng, "51600", t=2)
    assert tr.status == "NEW"  # 1 % below 52000 is 51480
    move(eng, "51000", t=3)
    assert tr.status == "FINISHED" and eng.position("BTCUSDT").amt == 0
    child = eng.orders["BTCUSDT"][tr.actual_order_id or 0]
    assert child.avg_price == D("51480.0")


def test_hedge_mode_position_sides() -> None:
    eng = engine()
    with pytest.raises(VenueError) as e:
        eng.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", D("0.1"), position_side="LONG"), 0)
    assert code(e) == -4061
    eng.set_dual(True)
    with pytest.raises(VenueError) as e:
        eng.set_dual(True)
    assert code(e) == -4059
    with pytest.raises(VenueError) as e:
        eng.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", D("0.1")), 0)
    assert code(e) == -4061
    eng.place_order(OrderSpec("BTCUSDT", "BUY", "MARKET", D("0.2"), position_side="LONG"), 0)
    eng.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", D("0.1"), position_side="SHORT"), 0)
    assert eng.position("BTCUSDT", "LONG").amt == D("0.2") and eng.position("BTCUSDT", "SHORT").amt == D("-0.1")
    with pytest.raises(VenueError) as e:
        eng.set_dual(False)
    assert code(e) == -4068
    eng.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", D("0.5"), position_side="LONG"), 0)  # closes, never flips
    assert eng.position("BTCUSDT", "LONG").amt == 0 and eng.position("BTCUSDT", "SHORT").amt == D("-0.1")
    with pytest.raises(VenueError) as e:
        eng.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", D("0.1"), position_side="LONG"), 0)
    assert code(e) == -2022


def test_funding_by_hand() -> None:
    rate = D("0.0001")
    eng = engine(funding={"BTCUSDT": FundingSchedule.constant(rate)})
    eng.place_order(limit("BUY", "0.2", "50000"), 0)
    move(eng, "49000", "50000")
    w0 = eng.wallet
    assert eng.settle_funding("BTCUSDT", 28_800_000) == D("-1.00000000")  # 0.2 * 50000 * 0.0001, long pays
    eng.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", D("0.5")), 1)  # now short 0.3
    move(eng, "40000")
    w1 = eng.wallet
    assert eng.settle_funding("BTCUSDT", 57_600_000, D("-0.0002")) == D("-2.40000000")  # short pays a negative rate
    assert eng.settle_funding("BTCUSDT", 86_400_000, D("0.0003")) == D("3.60000000")  # 0.3 * 40000 * 0.0003
    assert w0 - eng.wallet != 0 and eng.wallet == w1 - D("2.4") + D("3.6")
    funding = [i.amount for i in eng.income if i.type == "FUNDING_FEE"]
    assert funding == [D(-1), D("-2.4"), D("3.6")]
    ev = [e for e in eng.drain_events() if isinstance(e, AccountEvent) and e.reason == "FUNDING_FEE"]
    assert len(ev) == 3 and ev[0].positions == []  # cross positions: balance only


def test_isolated_liquidation_at_the_formula_price() -> None:
    eng = engine()
    eng.set_margin_type("BTCUSDT", True, 0)
    eng.set_leverage("BTCUSDT", 100)
    eng.place_order(limit("BUY", "0.1", "50000"), 0)
    move(eng, "49900")
    pos = eng.position("BTCUSDT")
    assert pos.iw == D(50)  # 5000 / 100
    lp = eng.liquidation_price(pos)
    assert abs(lp - D("49698.7951807")) < D("0.0001")  # (50 - 5000) / (0.1 * 0.004 - 0.1)
    move(eng, "49000", t=7)
    assert pos.amt == 0 and eng.wallet == D(10000) - D(1) - D(50)  # maker fee, then the isolated wallet
    liq = [e for e in eng.drain_events() if isinstance(e, OrderEvent) and e.exec_type == "CALCULATED"]
    assert len(liq) == 1 and liq[0].order.client_order_id == "autoclose-7"
    assert liq[0].last_price == D("49698.7")  # the liquidation price, on the tick, adverse side


def test_cross_liquidation_takes_wallet_not_below_zero() -> None:
    eng = engine(wallet="1000")
    eng.set_leverage("BTCUSDT", 20)
    eng.place_order(limit("BUY", "0.3", "50000"), 0)
    move(eng, "49900")
    lp = eng.liquidation_price(eng.position("BTCUSDT"))
    assert abs(lp - (D(997) - D(15000)) / (D("0.3") * D("0.004") - D("0.3"))) < D("0.0001")
    move(eng, "47000", t=2)
    assert eng.position("BTCUSDT").amt == D("0.3")  # the liquidation price is about 46863.5
    move(eng, "46000", t=3)
    assert eng.position("BTCUSDT").amt == 0 and D(0) <= eng.wallet < D(100)
    assert eng.open_positions() == []


def _liquidation(eng: FuturesEngine) -> OrderEvent:
    liq = [e for e in eng.drain_events() if isinstance(e, OrderEvent) and e.exec_type == "CALCULATED"]
    assert len(liq) == 1
    return liq[0]


def _isolated_long_100x() -> FuturesEngine:
    """0.1 BTC long at 50000, isolated, 100x: isolated wallet 50 USDT, maker fee 1 USDT."""
    eng = engine()
    eng.set_margin_type("BTCUSDT", True, 0)
    eng.set_leverage("BTCUSDT", 100)
    eng.place_order(limit("BUY", "0.1", "50000"), 0)
    move(eng, "49900")
    assert eng.position("BTCUSDT").iw == D(50) and eng.wallet == D(9999)
    eng.drain_events()
    return eng


def test_isolated_liquidation_fills_at_market_with_bankruptcy_price_and_clearance_fee() -> None:
    eng = _isolated_long_100x()
    pos = eng.position("BTCUSDT")
    assert eng.bankruptcy_price(pos) == D(49500)  # 50000 - 50 / 0.1: margin balance zero
    move(eng, "49000", t=7)  # the path crosses the liquidation price, 49698.79... (49698.7 on the tick)
    ev = _liquidation(eng)
    o = ev.order
    assert (o.client_order_id, o.type, o.time_in_force, o.reduce_only, o.status) == \
        ("autoclose-7", "LIMIT", "IOC", True, "FILLED")
    assert o.price == D("49500.0")  # the order's price: the bankruptcy price
    assert ev.last_price == D("49698.7")  # the fill: the market when it triggered
    assert ev.realized == D("-30.13")  # (49698.7 - 50000) * 0.1
    assert ev.commission == D("2.48493500")  # taker 0.05% of 4969.87, as in Binance's sample event
    # clearance fee: the margin left after the fill, 50 - 30.13 - 2.484935 = 17.385065, below the
    # cap 2% * 4969.87 = 99.3974; the isolated wallet is gone, and not a cent more
    incomes = [(i.type, i.amount) for i in eng.income if i.time == 7]
    assert incomes == [("REALIZED_PNL", D("-30.13")), ("COMMISSION", D("-2.484935")),
                       ("INSURANCE_CLEAR", D("-17.385065"))]
    assert eng.wallet == D(9949) and pos.amt == 0 and pos.iw == 0


def test_isolated_liquidation_through_a_gap_closes_at_the_bankruptcy_price() -> None:
    eng = _isolated_long_100x()
    eng.on_move("BTCUSDT", D(49900), D(49000), 9, gap=True)  # opens below the bankruptcy price
    ev = _liquidation(eng)
    assert ev.last_price == D("49500.0")  # never beyond the bankruptcy price: the insurance fund takes the rest
    assert ev.realized == D("-50.00") and ev.commission == D("2.47500000")
    incomes = [(i.type, i.amount) for i in eng.income if i.time == 9]
    assert incomes == [("REALIZED_PNL", D("-50.00")), ("COMMISSION", D("-2.475")),
                       ("INSURANCE_CLEAR", D("2.475"))]  # the fund covers what the wallet cannot
    assert eng.wallet == D(9949)


def test_cross_liquidation_by_hand() -> None:
    eng = engine(wallet="1000")
    eng.set_leverage("BTCUSDT", 20)
    eng.place_order(limit("BUY", "0.3", "50000"), 0)
    move(eng, "49900")
    pos = eng.position("BTCUSDT")
    eng.drain_events()
    assert eng.wallet == D(997)  # maker fee 3
    # bankruptcy: 997 + (bp - 50000) * 0.3 = 0 → 46676.66..., a sell order rounds up to 46676.7
    assert abs(eng.bankruptcy_price(pos) - D("46676.6666667")) < D("0.0001")
    move(eng, "46000", t=4)  # liquidation price (997 - 15000) / (0.0012 - 0.3) = 46864.12..., 46864.1 on the tick
    ev = _liquidation(eng)
    assert ev.order.price == D("46676.7") and ev.last_price == D("46864.1")
    assert ev.realized == D("-940.77") and ev.commission == D("7.02961500")
    # the cross margin balance left, 997 - 940.77 - 7.029615 = 49.200385 (< 2% * 14059.23), is the fee
    assert [(i.type, i.amount) for i in eng.income if i.time == 4][-1] == ("INSURANCE_CLEAR", D("-49.200385"))
    assert eng.wallet == 0
