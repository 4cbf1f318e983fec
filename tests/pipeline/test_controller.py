"""The controller wired end to end against the in-process demo venue (loopback only)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from tests.waiting import until
from tradeterm.analysis.guards import GuardBoard, default_board
from tradeterm.config import load_settings
from tradeterm.contracts import Side
from tradeterm.errors import UserError
from tradeterm.pipeline.controller import PipelineController, PipelineOptions
from tradeterm.trading.ticket import ManualTicket


def _calm_board() -> GuardBoard:
    """The default guards minus the regime guard, whose verdict depends on the random market."""
    return GuardBoard([g for g in default_board().guards if g.name != "regime"])


@pytest.fixture
async def controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for key in list(os.environ):
        if key.startswith("TRADETERM_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRADETERM_DATA_DIR", str(tmp_path))
    settings = load_settings(use_default_file=False)
    c = PipelineController(settings, PipelineOptions(symbols=("BTCUSDT", "ETHUSDT"), timeframes=("1m", "5m"),
                                                     speed=1200, history_bars=300, guards=_calm_board))
    async with c:
        yield c


async def test_live_candles_flow_into_book_analysis_and_store(controller: PipelineController) -> None:
    c = controller
    await until(lambda: c.analysis is not None and c.analysis.events_out > 0 and c.ingest is not None and c.ingest.stored > 5)
    snap = c.snapshot()
    assert snap.feed_status == "live" and (snap.symbol, snap.tf) == ("BTCUSDT", "1m")
    assert snap.chart is not None and len(snap.chart.frame) >= 300
    assert [w.symbol for w in snap.watchlist] == ["BTCUSDT", "ETHUSDT"]
    assert all(w.last is not None and len(w.spark) > 0 for w in snap.watchlist)
    assert {g.name for g in snap.guards} == {"news", "funding", "session", "drawdown", "exposure", "heartbeat"}
    assert [g.status for g in snap.guards if g.name == "heartbeat"] == ["SAFE"]  # live feed is fresh
    stored = await c.store.candle_count("binance-spot", "BTCUSDT", "1m")
    assert stored >= 300  # history plus live closes, nothing lost
    frame = await c.store.fetch_candles("binance-spot", "BTCUSDT", "1m")
    assert frame is not None
    gaps = (frame.open_time[1:] - frame.open_time[:-1]) != 60_000
    assert not gaps.any()  # no hole, no duplicate in what was stored
    assert snap.version < c.snapshot().version


async def test_selection_and_intents_refuse_bad_input(controller: PipelineController) -> None:
    c = controller
    c.select("ethusdt", "5m")
    assert (c.snapshot().symbol, c.snapshot().tf) == ("ETHUSDT", "5m")
    with pytest.raises(UserError, match="not followed"):
        c.select("DOGEUSDT", "1m")
    with pytest.raises(UserError, match="not followed"):
        c.select("BTCUSDT", "4h")
    with pytest.raises(UserError, match="no pending signal"):
        c.reject_signal("nope")
    with pytest.raises(UserError, match="no pending signal"):
        c.ticket_for_signal("nope")


async def test_preview_rounds_with_the_venue_filters(controller: PipelineController) -> None:
    c = controller
    await until(lambda: c.frame("BTCUSDT", "1m") is not None)
    frame = c.frame("BTCUSDT", "1m")
    assert frame is not None
    last = Decimal(str(frame.close[-1])).quantize(Decimal("0.01"))
    ticket = ManualTicket(venue="binance-spot", symbol="BTCUSDT", side=Side.BUY, entry=last,
                          stop=last - Decimal("123.456"))
    p = c.preview(ticket)
    assert p.quantity > 0
    assert p.quantity == p.quantity.quantize(Decimal("0.00001"))  # BTCUSDT step size


async def test_bracket_end_to_end_then_kill_switch(controller: PipelineController) -> None:
    c = controller
    await until(lambda: c.trading is not None and c.trading.account is not None and c.frame("BTCUSDT", "1m") is not None)
    frame = c.frame("BTCUSDT", "1m")
    assert frame is not None
    last = Decimal(str(frame.close[-1])).quantize(Decimal("0.01"))
    # A resting buy well below the market, with guards that can pass (equity data exists now).
    ticket = ManualTicket(venue="binance-spot", symbol="BTCUSDT", side=Side.BUY, entry=last * Decimal("0.9"),
                          stop=last * Decimal("0.88"))
    assert [g.name for g in c.snapshot().guards if g.status == "BLOCK"] == []
    did = await c.place_bracket(ticket)
    await until(lambda: any(b.bracket_id == did for b in c.snapshot().brackets))
    snap = c.snapshot()
    (row,) = [b for b in snap.brackets if b.bracket_id == did]
    assert row.symbol == "BTCUSDT" and row.quantity > 0
    assert snap.account is not None and snap.account.equity > 0
    await until(lambda: any(o.client_order_id.endswith("-E") for o in c.snapshot().orders))
    await c.kill_switch("test")
    snap = c.snapshot()
    assert snap.account is not None and snap.account.kill_switch
    with pytest.raises(UserError, match="refused"):
        await c.place_bracket(ticket)
    c.reset_kill_switch()
    assert not c.snapshot().account.kill_switch  # type: ignore[union-attr]


async def test_invalid_ticket_is_refused_with_reason(controller: PipelineController) -> None:
    c = controller
    await until(lambda: c.trading is not None and c.trading.account is not None)
    with pytest.raises(UserError, match="no exchange filters"):
        await c.place_bracket(ManualTicket(venue="paper", symbol="DOGEUSDT", side=Side.BUY,
                                           entry=Decimal("0.1"), stop=Decimal("0.09")))
    with pytest.raises(UserError, match="refused"):  # a tiny stop distance on a tiny account still sizes,
        await c.place_bracket(ManualTicket(venue="paper", symbol="BTCUSDT", side=Side.BUY,  # but min notional fails
                                           entry=Decimal(10), stop=Decimal(1)))
    with pytest.raises(UserError, match="no bracket"):
        await c.cancel_bracket("d-none")
    with pytest.raises(UserError, match="no open position"):
        await c.close_position("ETHUSDT")


async def test_guard_block_refuses_before_sending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADETERM_DATA_DIR", str(tmp_path))
    from tradeterm.analysis.guards import GuardState, GuardStatus

    class Closed:
        name = "session"

        def evaluate(self, inputs: object, now_ms: int) -> GuardState:
            return GuardState(name="session", status=GuardStatus.BLOCK, reason="market closed for the test")

    def closed_market() -> GuardBoard:
        return GuardBoard([Closed()])
    c = PipelineController(load_settings(use_default_file=False),
                           PipelineOptions(symbols=("BTCUSDT",), timeframes=("1m",), speed=1200, history_bars=100,
                                           guards=closed_market))
    async with c:
        await until(lambda: c.trading is not None and c.trading.account is not None)
        with pytest.raises(UserError, match="guard BLOCK: .*market closed for the test"):
            await c.place_bracket(ManualTicket(venue="paper", symbol="BTCUSDT", side=Side.BUY,
                                               entry=Decimal(50000), stop=Decimal(49000)))
        assert c.snapshot().brackets == ()
