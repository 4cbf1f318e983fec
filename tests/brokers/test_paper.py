"""The paper broker: the venue's matching engine fed by candles, the same bracket logic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.brokers.helpers import candle, decision
from tradeterm.brokers.errors import KillSwitchTripped
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.contracts.trading import OrderLeg, OrderStatus
from tradeterm.store import create_store
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue.symbols import SymbolRules

RULES = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                    step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                    min_price=Decimal("0.01"), max_price=Decimal(1000000), max_qty=Decimal(9000))  # fmt: skip


async def _broker(**kw: object) -> PaperBroker:
    t = PaperTransport({"BTCUSDT": RULES}, {"USDT": Decimal(10000), "BTC": Decimal(1)})
    t.set_price("BTCUSDT", Decimal(100), 1_700_000_000_000)
    b = PaperBroker(t, risk=RiskConfig(break_even_on_tp1=False), **kw)  # type: ignore[arg-type]
    await b.start()
    return b


async def test_limit_entry_waits_for_price_then_exits_follow() -> None:
    b = await _broker()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="99", stop="94")
    ack = await b.place_bracket(d)
    assert ack.state is BracketState.ENTRY_WORKING
    await b.on_candle(candle("BTCUSDT", 100, 100.5, 98.5, 100, 1))
    br = b.bracket(d.decision_id)
    assert br.state is BracketState.EXITS_WORKING and br.avg_entry == Decimal(99)
    assert len(b.transport.engine.open_orders("BTCUSDT")) == 4  # two OCO pairs


async def test_bar_touching_target_and_stop_fills_the_stop_first() -> None:
    b = await _broker()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="100.5", stop="95", market_price="100")
    await b.place_bracket(d)
    br = b.bracket(d.decision_id)
    await b.on_candle(candle("BTCUSDT", 100, 112, 90, 91, 1))  # both TPs and the stop in one bar
    assert br.state is BracketState.CLOSED
    legs = {r.leg for r in br.orders.values() if r.status is OrderStatus.FILLED}
    assert OrderLeg.TP not in legs and OrderLeg.STOP in legs
    assert br.total_realized_pnl < 0


async def test_duplicate_decision_places_once_and_store_journals_updates(tmp_path: object) -> None:
    async with create_store(f"sqlite:///{tmp_path}/p.db") as store:  # type: ignore[operator]
        b = await _broker(store=store)
        d = decision(b.filters["BTCUSDT"], venue="paper", entry="100.5", market_price="100")
        await b.place_bracket(d)
        again = await b.place_bracket(d)
        assert again.duplicate
        entries = [o for o in b.transport.engine.orders["BTCUSDT"].values() if o.client_order_id.endswith("-E")]
        assert len(entries) == 1
        stored = await store.list_orders(decision_id=d.decision_id)
        assert {u.client_order_id for u in stored} == set(b.bracket(d.decision_id).orders)


async def test_kill_switch_flattens_and_refuses() -> None:
    b = await _broker()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="100.5", market_price="100")
    await b.place_bracket(d)
    await b.flatten_all("drill")
    assert not b.transport.engine.open_orders("BTCUSDT")
    assert b.bracket(d.decision_id).position == 0
    with pytest.raises(KillSwitchTripped):
        await b.place_bracket(decision(b.filters["BTCUSDT"], venue="paper", entry="100.5",
                                       market_price="100", ticket_id="t2"))  # fmt: skip
