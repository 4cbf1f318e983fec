"""The demo profile trades USD-M beside spot: the in-process venue serves futures, a USD-M broker
trades its simulated futures account, the USD-M klines and mark price are followed (funding guard
input), manual tickets route by market, the read model labels every row with its market, and
readiness covers both brokers. Every wait polls with a generous deadline (shared slow machine);
nothing asserts a duration."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.waiting import until
from tradeterm.analysis.guards import FundingGuard, FundingGuardConfig, GuardBoard, default_board
from tradeterm.config import load_settings
from tradeterm.contracts import Side, Timeframe
from tradeterm.errors import UserError
from tradeterm.pipeline.controller import PipelineController, PipelineOptions
from tradeterm.pipeline.metrics import ControllerCollector
from tradeterm.pipeline.supervisor import BackoffPolicy
from tradeterm.trading.ticket import ManualTicket

SLOW = 90.0
SYMBOL = "BTCUSDT"


def _calm_board() -> GuardBoard:
    """Every guard but the regime's; the funding guard without its settlement window (at a fast
    demo speed a settlement comes round every few wall seconds), so it still reads the funding
    data (and would block an extreme rate) without making the test depend on the moment."""
    guards = [g for g in default_board().guards if g.name not in ("regime", "funding")]
    return GuardBoard([FundingGuard(FundingGuardConfig(minutes_before=0, minutes_after=0)), *guards])


@pytest.fixture
async def controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[PipelineController]:
    for key in list(os.environ):
        if key.startswith("TRADETERM_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRADETERM_DATA_DIR", str(tmp_path))
    c = PipelineController(load_settings(use_default_file=False), PipelineOptions(
        symbols=(SYMBOL, "ETHUSDT"), timeframes=("1m", "15m"), speed=600, history_bars=200, guards=_calm_board,
        heartbeat_s=0.2, backoff=BackoffPolicy(base_s=0.01, cap_s=0.05)))
    await c.start()
    try:
        yield c
    finally:
        await c.stop()  # idempotent for the tests that stop it themselves


def _usdm_ready(c: PipelineController) -> bool:
    t = c.usdm_trading
    return t is not None and t.account is not None and t.reconcile_report is not None


async def test_demo_starts_both_markets_and_readiness_covers_usdm(controller: PipelineController) -> None:
    c = controller
    assert c.markets == ("spot", "usdm")
    assert c.venue_server is not None and c.venue_server.venue.futures is not None
    await until(lambda: _usdm_ready(c) and c.trading is not None and c.trading.account is not None, "both brokers")
    assert c.brokers_not_ready() == []
    # Market data of both markets in the one candle book; funding windows for every USD-M symbol.
    await until(lambda: c.frame(SYMBOL, "1m", market="usdm") is not None and c.frame(SYMBOL, "15m", market="usdm")
                 is not None, "USD-M history")
    await until(lambda: {SYMBOL, "ETHUSDT"} <= set(c.funding), "funding windows")
    w = c.funding[SYMBOL]
    assert w.venue == "binance-usdm" and w.mark_price is not None and w.mark_price > 0
    # The USD-M guard board reads that window; the spot board has no funding (not a perpetual).
    usdm_funding = next(g for g in c.board(SYMBOL, "usdm").guards if g.name == "funding")
    spot_funding = next(g for g in c.board(SYMBOL).guards if g.name == "funding")
    assert "next settlement" in usdm_funding.reason and "no funding data" in spot_funding.reason
    # Readiness: the heartbeat's broker check names both brokers; the status has both markets.
    await until(lambda: c.heartbeat.last is not None and "binance-usdm" in
                 next(x for x in c.heartbeat.last.checks if x.name == "broker").detail, "heartbeat of both brokers")
    hb = c.heartbeat.last
    assert hb is not None
    broker = next(x for x in hb.checks if x.name == "broker")
    assert broker.ok and "paper" in broker.detail and "binance-usdm connected, reconciled" in broker.detail
    for _ in range(int(SLOW / 0.05)):  # readiness of every followed series of both markets (/readyz asks it)
        waiting = await c.series_not_ready()
        if not waiting:
            break
        await asyncio.sleep(0.05)
    assert waiting == []
    status = c.status()
    assert status["markets"]["usdm"]["ready"] and status["markets"]["spot"]["ready"]
    assert set(status["usdm_guards"]) == {SYMBOL, "ETHUSDT"}
    assert Decimal(status["markets"]["usdm"]["account"]["equity"]) == 10_000
    assert Decimal(status["account"]["equity"]) == 10_000  # the spot account, as before
    snap = c.snapshot()
    assert snap.markets == ("spot", "usdm") and snap.market == "spot" and snap.venue == "paper"
    assert {a.market for a in snap.accounts} == {"spot", "usdm"}
    text = generate_latest(_registry(c)).decode()
    for needle in ('tradeterm_broker_reconciled{market="usdm"} 1.0', 'tradeterm_broker_reconciled{market="spot"} 1.0',
                   'tradeterm_market_equity{market="usdm",quote="USDT"} 10000',
                   'tradeterm_rate_limit_weight_used{market="binance-usdm"}', 'tradeterm_funding_rate{symbol="BTCUSDT"}',
                   'tradeterm_equity{quote="USDT"} 10000'):
        assert needle in text, needle


def _registry(c: PipelineController) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(ControllerCollector(c))
    return reg


async def test_manual_usdm_bracket_opens_a_leveraged_position(controller: PipelineController) -> None:
    c = controller
    await until(lambda: _usdm_ready(c) and c.frame(SYMBOL, "1m", market="usdm") is not None
                 and SYMBOL in c.funding, "USD-M ready")
    mark = c.funding[SYMBOL].mark_price
    assert mark is not None
    stop = (mark * Decimal("0.9")).quantize(Decimal("0.1"))  # far: the position stays open while the test looks
    ticket = ManualTicket.parse({"venue": "binance-usdm", "symbol": SYMBOL, "side": "buy", "entry": "market",
                                 "stop": str(stop), "leverage": 3, "risk": "50", "take_profits": ["5R:100"]})
    pv = c.preview(ticket)
    assert pv.leverage == 3
    did = await c.place_bracket(ticket)
    fut = c.venue_server.venue.futures.engine
    await until(lambda: fut.position(SYMBOL).amt > 0, "a long on the venue")
    assert fut.leverage[SYMBOL] == 3 and fut.isolated[SYMBOL]
    assert c.usdm_trading is not None and did in c.usdm_trading.broker.brackets
    assert c.trading is not None and did not in c.trading.broker.brackets  # not on the spot account
    await until(lambda: any(p.market == "usdm" and p.symbol == SYMBOL for p in c.snapshot().positions),
                 "the position in the read model")
    snap = c.snapshot()
    (pos,) = [p for p in snap.positions if p.market == "usdm"]
    assert pos.side == "BUY" and pos.quantity == fut.position(SYMBOL).amt and pos.leverage == 3
    assert pos.mark is not None and pos.liquidation is not None and pos.liquidation < stop
    (br,) = [b for b in snap.brackets if b.bracket_id == did]
    assert br.market == "usdm" and br.leverage == 3 and br.filled == pos.quantity
    assert all(b.market == "spot" for b in snap.brackets if b.bracket_id != did)
    assert any(o.decision_id == did for o in snap.orders)
    await until(lambda: (a := next(x for x in c.snapshot().accounts if x.market == "usdm")).available < a.equity,
                 "margin in use")
    status = c.status()
    assert any(b["id"] == did and b["market"] == "usdm" and b["leverage"] == 3 for b in status["brackets"])
    # Close it through the intents: the position goes, the bracket ends.
    await c.close_position(SYMBOL, market="usdm")
    await until(lambda: fut.position(SYMBOL).amt == 0, "flat on the venue")
    await until(lambda: not [p for p in c.snapshot().positions if p.market == "usdm"], "no USD-M position shown")


async def test_tickets_route_by_market_and_selection(controller: PipelineController) -> None:
    c = controller
    await until(lambda: _usdm_ready(c), "USD-M ready")
    t = ManualTicket(venue="paper", symbol=SYMBOL, side=Side.BUY, entry=Decimal(1), stop=Decimal("0.9"))
    assert c.market_of(t) == "spot"
    assert c.market_of(t.model_copy(update={"venue": "binance-usdm"})) == "usdm"
    assert c.market_of(t, market="usdm") == "usdm"
    with pytest.raises(UserError, match="unknown market"):
        c.market_of(t, market="coin-m")
    c.select_market("usdm")
    snap = c.snapshot()
    assert snap.market == "usdm" and snap.venue == "binance-usdm"
    assert snap.account is not None and snap.account.market == "usdm"
    await until(lambda: c.snapshot().chart is not None, "the USD-M chart")
    c.select_market("spot")
    assert c.snapshot().venue == "paper"


async def test_stop_is_clean_and_kill_switch_covers_both(controller: PipelineController) -> None:
    c = controller
    await until(lambda: _usdm_ready(c) and c.trading is not None and c.trading.account is not None, "both brokers")
    await c.kill_switch("test")
    assert c.trading is not None and c.usdm_trading is not None
    assert c.trading.broker.killswitch.tripped and c.usdm_trading.broker.killswitch.tripped
    c.reset_kill_switch()
    assert not c.trading.broker.killswitch.tripped and not c.usdm_trading.broker.killswitch.tripped
    workers = set(c.supervisor.workers)
    assert {"usdm-order-updates", "usdm-account", "usdm-funding", "order-updates", "paper-feed"} <= workers
    await c.stop()
    assert all(w.state == "stopped" for w in c.supervisor.workers.values())
    with pytest.raises(UserError):
        await c.place_bracket(ManualTicket(venue="binance-usdm", symbol=SYMBOL, side=Side.BUY, entry=Decimal(1),
                                           stop=Decimal("0.9")))


async def test_a_sell_signal_approved_into_usdm_opens_a_short(controller: PipelineController) -> None:
    """Spot cannot sell short; the same signal approved into the futures account can."""
    from tradeterm.contracts import SignalRawV1

    c = controller
    await until(lambda: _usdm_ready(c) and SYMBOL in c.funding and c.frame(SYMBOL, "1m") is not None, "USD-M ready")
    mark = c.funding[SYMBOL].mark_price
    assert mark is not None
    frame = c.frame(SYMBOL, "1m")
    assert frame is not None
    t = int(frame.open_time[-1])
    sig = SignalRawV1(venue="binance-spot", symbol=SYMBOL, tf=Timeframe.M1, time=t, confirmed_at=t + 59_999,
                      signal_id="test-sell-1", strategy="test", side=Side.SELL,
                      entry=(mark * Decimal("0.999")).quantize(Decimal("0.1")),  # below the price: fills at once
                      stop=(mark * Decimal("1.1")).quantize(Decimal("0.1")), take_profits_r=[Decimal(5)],
                      score=0.9, ttl_bars=10_000)
    c._on_signal(sig)
    spot = c.ticket_for_signal("test-sell-1")
    assert spot.venue == "paper" and spot.leverage is None  # the selected market: spot
    ticket = c.ticket_for_signal("test-sell-1", market="usdm")
    assert ticket.venue == "binance-usdm" and ticket.leverage == 5 and ticket.side is Side.SELL
    did = await c.place_bracket(ticket)
    fut = c.venue_server.venue.futures.engine
    await until(lambda: fut.position(SYMBOL).amt < 0, "a short on the venue")
    await until(lambda: any(p.market == "usdm" and p.side == "SELL" for p in c.snapshot().positions),
                 "the short in the read model")
    (br,) = [b for b in c.snapshot().brackets if b.bracket_id == did]
    assert br.market == "usdm" and br.side == "SELL" and br.leverage == 5
    await c.close_position(SYMBOL)  # only the futures account holds BTCUSDT: that one is closed
    await until(lambda: fut.position(SYMBOL).amt == 0, "flat on the venue")
