"""The workstation's market choice against the real controller (demo profile, in-process venue):
a ticket sent through the intents with ``market="usdm"`` lands on the USD-M broker whatever its
venue says, and the bracket panel driven by keys (market key, USD-M leverage, send) does the
same end to end. Waits poll with a generous deadline (shared slow machine); nothing asserts a
duration."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.waiting import until
from tradeterm.analysis.guards import GuardBoard, default_board
from tradeterm.config import load_settings
from tradeterm.contracts import Side
from tradeterm.pipeline.controller import PipelineController, PipelineOptions
from tradeterm.pipeline.supervisor import BackoffPolicy
from tradeterm.trading.ticket import ManualTicket

SLOW = 90.0
SYMBOL = "BTCUSDT"


def _calm_board() -> GuardBoard:
    """No regime or funding guard: the test is about routing, not about the moment's guards."""
    return GuardBoard([g for g in default_board().guards if g.name not in ("regime", "funding")])


@pytest.fixture
async def controller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[PipelineController]:
    for key in list(os.environ):
        if key.startswith("TRADETERM_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRADETERM_DATA_DIR", str(tmp_path))
    c = PipelineController(
        load_settings(use_default_file=False),
        PipelineOptions(
            symbols=(SYMBOL, "ETHUSDT"),
            timeframes=("1m", "15m"),
            speed=600,
            history_bars=200,
            guards=_calm_board,
            heartbeat_s=0.2,
            backoff=BackoffPolicy(base_s=0.01, cap_s=0.05),
        ),
    )
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


def _ready(c: PipelineController) -> bool:
    t = c.usdm_trading
    return (
        t is not None
        and t.account is not None
        and t.reconcile_report is not None
        and c.trading is not None
        and c.trading.account is not None
        and SYMBOL in c.funding
        and c.funding[SYMBOL].mark_price is not None
        and c.frame(SYMBOL, "1m", market="usdm") is not None
    )


def _stop_below_mark(c: PipelineController) -> Decimal:
    mark = c.funding[SYMBOL].mark_price
    assert mark is not None
    return (Decimal(mark) * Decimal("0.9")).quantize(Decimal("0.1"))  # far: stays open


async def test_the_market_argument_routes_a_ticket_to_the_usdm_broker(
    controller: PipelineController,
) -> None:
    c = controller
    await until(lambda: _ready(c), "both brokers and the USD-M data")
    # A ticket whose venue names the spot broker: the explicit market wins (what the panel sends).
    ticket = ManualTicket(
        venue="paper",
        symbol=SYMBOL,
        side=Side.BUY,
        entry=None,
        stop=_stop_below_mark(c),
        leverage=2,
        risk="50",
        ticket_id="ui-market-arg",
    )
    pv = c.preview(ticket, market="usdm")
    assert pv.ok and pv.leverage == 2 and pv.liquidation_price is not None
    did = await c.place_bracket(ticket, market="usdm")
    assert c.usdm_trading is not None and did in c.usdm_trading.broker.brackets
    assert c.trading is not None and did not in c.trading.broker.brackets
    await until(
        lambda: any(p.market == "usdm" and p.symbol == SYMBOL for p in c.snapshot().positions),
        "the USD-M position in the read model",
    )
    await c.close_position(SYMBOL, "usdm")
    fut = c.venue_server.venue.futures.engine  # type: ignore[union-attr]
    await until(lambda: fut.position(SYMBOL).amt == 0, "flat on the venue")


async def test_the_panel_places_a_usdm_bracket_on_the_usdm_broker(
    controller: PipelineController,
) -> None:
    from textual.widgets import Input

    from tradeterm.ui.app import TradetermApp
    from tradeterm.ui.screens.bracket import BracketPanel
    from tradeterm.ui.screens.confirm import ConfirmScreen
    from tradeterm.ui.widgets.blotter import PositionTable
    from tradeterm.ui.widgets.choice import Choice

    c = controller
    await until(lambda: _ready(c), "both brokers and the USD-M data")
    app = TradetermApp(c)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("M")  # select USD-M: new tickets default to it
        await pilot.pause()
        assert c.market == "usdm"
        await pilot.press("n")
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, BracketPanel)
        assert panel.query_one("#in-market", Choice).value == "usdm" and panel.futures
        panel.query_one("#in-type", Choice).value = "market"
        for name, value in (
            ("stop", str(_stop_below_mark(c))),
            ("risk", "50"),
            ("tp", "5R:100"),
            ("leverage", "3"),
        ):
            panel.query_one(f"#in-{name}", Input).value = value
        await until(lambda: panel.valid, "a valid USD-M preview")
        assert panel.preview is not None and panel.preview.leverage == 3
        assert panel.preview.liquidation_price is not None
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(lambda: not isinstance(app.screen, (BracketPanel, ConfirmScreen)), "sent")
        assert c.usdm_trading is not None
        (did,) = [d for d in c.usdm_trading.broker.brackets]
        assert c.trading is not None and did not in c.trading.broker.brackets
        await until(
            lambda: any(k == f"usdm:{SYMBOL}" for k, _ in app.query_one(PositionTable)._rows),
            "the USD-M row in the blotter",
        )
    await c.close_position(SYMBOL, "usdm")
