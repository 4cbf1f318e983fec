"""Exits the market already passed when the entry fills (a fast market): a crossed stop closes
the position at market, a crossed spot target takes its slice; neither is an error."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.brokers.helpers import candle, decision
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.killswitch import ErrorRateWindow
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue.symbols import SymbolRules

RULES = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                    step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                    min_price=Decimal("0.01"), max_price=Decimal(1000000), max_qty=Decimal(9000))  # fmt: skip


async def _broker(**kw: Any) -> PaperBroker:
    t = PaperTransport({"BTCUSDT": RULES}, {"USDT": Decimal(10000), "BTC": Decimal(1)})
    t.set_price("BTCUSDT", Decimal(100), 1_700_000_000_000)
    # One counted error would trip this window: a crossed exit must not count.
    b = PaperBroker(t, risk=RiskConfig(break_even_on_tp1=False),
                    error_window=ErrorRateWindow(60_000, max_errors=1, min_samples=1), **kw)  # fmt: skip
    await b.start()
    return b


async def test_stop_crossed_before_exits_closes_at_market() -> None:
    b = await _broker()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="99", stop="94")
    await b.place_bracket(d)
    await b.on_candle(candle("BTCUSDT", 100, 100.5, 92, 93, 1))  # fills at 99, ends below the stop
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.CLOSED, br.errors
    assert br.position == 0 and not br.errors
    closes = [r for r in br.orders.values() if r.leg is OrderLeg.CLOSE]
    assert [r.status for r in closes] == [OrderStatus.FILLED]
    assert not any(r.status is OrderStatus.REJECTED for r in br.orders.values())
    assert not b.transport.engine.open_orders("BTCUSDT")
    assert any("already crossed" in line for line in br.log)
    assert not b.killswitch.tripped


async def test_take_profit_crossed_takes_the_slice_and_keeps_a_stop() -> None:
    b = await _broker()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="99", stop="94")  # TPs 104, 109
    await b.place_bracket(d)
    await b.on_candle(candle("BTCUSDT", 100, 105, 98.5, 105, 1))  # fills at 99, ends past TP1
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.EXITS_WORKING, br.errors
    tp1 = [r for r in br.orders.values() if r.leg is OrderLeg.TP and r.index == 1]
    assert [(r.status, r.order_type) for r in tp1] == [(OrderStatus.FILLED, OrderType.MARKET)]
    assert br.position > 0 and not br.errors
    working = {r.leg for r in br.orders.values() if not r.status.is_final}
    assert working == {OrderLeg.TP, OrderLeg.STOP}
    assert len(b.transport.engine.open_orders("BTCUSDT")) == 2  # TP2's OCO pair
    assert not b.killswitch.tripped
    await b.on_candle(candle("BTCUSDT", 105, 105, 93, 93, 2))  # the remaining stop works
    assert br.state is BracketState.CLOSED and br.position == 0


async def test_price_moves_between_check_and_send_falls_back() -> None:
    b = await _broker()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="99", stop="94")
    await b.place_bracket(d)
    real = b.transport.last_price
    calls: list[int] = []

    async def stale_once(symbol: str) -> Decimal:
        calls.append(1)
        return Decimal(99) if len(calls) == 1 else await real(symbol)

    b.transport.last_price = stale_once  # type: ignore[method-assign]
    await b.on_candle(candle("BTCUSDT", 100, 100.5, 92, 93, 1))
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.CLOSED and br.position == 0 and not br.errors
    assert not b.killswitch.tripped


async def test_normal_path_unchanged() -> None:
    b = await _broker()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="99", stop="94")
    await b.place_bracket(d)
    await b.on_candle(candle("BTCUSDT", 100, 100.5, 98.5, 100, 1))
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.EXITS_WORKING and not br.errors
    assert not any(r.order_type is OrderType.MARKET for r in br.orders.values())
    assert len(b.transport.engine.open_orders("BTCUSDT")) == 4  # two OCO pairs
    assert not b.killswitch.tripped
