"""Spot and USD-M side by side in the workstation (the demo profile's two markets), over the fake
with ``markets=("spot", "usdm")``: the bracket panel's market switch (venue, leverage field,
preview with liquidation), placing into USD-M, blotter rows keyed and tagged by market, closing
one market's position only, the market key and palette commands, and refusals shown where the
trader typed. The single-market fake must look and behave as before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Button, Input, Static

from tradeterm.contracts import OrderStatus
from tradeterm.contracts.base import Side
from tradeterm.trading import ManualTicket
from tradeterm.ui.app import TradetermApp
from tradeterm.ui.commands import commands
from tradeterm.ui.fake import FakePipeline
from tradeterm.ui.screens.bracket import BracketPanel
from tradeterm.ui.screens.confirm import ConfirmScreen
from tradeterm.ui.screens.main import MainScreen
from tradeterm.ui.widgets.blotter import (
    Blotter,
    BracketTable,
    MarketTable,
    OrderTable,
    PositionTable,
    order_rows,
    rekey,
    venue_market,
)
from tradeterm.ui.widgets.choice import Choice
from tradeterm.ui.widgets.format import dec
from tradeterm.ui.widgets.order_entry.preview_view import PreviewView

SIZE = (120, 40)


def two_market_app() -> tuple[TradetermApp, FakePipeline]:
    fake = FakePipeline(markets=("spot", "usdm"))
    return TradetermApp(fake), fake


async def _approve_first_signal(app: TradetermApp, pilot: object) -> BracketPanel:
    await pilot.press("f4")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press("a")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, BracketPanel)
    return app.screen


def _text(widget: object) -> str:
    return str(widget.render())  # type: ignore[attr-defined]


def _leverage_shown(panel: BracketPanel) -> bool:
    return bool(panel.query_one("#field-leverage").display)


def _usdm_ticket(fake: FakePipeline, symbol: str = "BTCUSDT") -> ManualTicket:
    last = fake.last_price(symbol)
    return ManualTicket(
        venue="paper-usdm",
        symbol=symbol,
        side=Side.BUY,
        entry=None,
        stop=(last * Decimal("0.99")).quantize(Decimal("0.01")),
        leverage=3,
        ticket_id="t-usdm-1",
    )


async def test_choose_usdm_in_the_panel_preview_place_and_see_it_tagged() -> None:
    app, fake = two_market_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _approve_first_signal(app, pilot)
        market = panel.query_one("#in-market", Choice)
        assert market.value == "spot" and app.focused is market  # the selected market, first
        assert not _leverage_shown(panel)
        assert "Liquidation" not in _text(panel.query_one(PreviewView))
        await pilot.press("right")  # SPOT -> USD-M
        await pilot.pause()
        assert panel.market == "usdm" and panel.venue == "paper-usdm" and panel.futures
        assert _leverage_shown(panel) and "USD-M" in str(panel.query_one("#panel").border_title)
        pv = panel.preview
        assert pv is not None and pv.ok and pv.leverage == 5 and pv.liquidation_price is not None
        text = _text(panel.query_one(PreviewView))
        assert "at 5x" in text and "Liquidation" in text and str(pv.liquidation_price) in text
        lev = panel.query_one("#in-leverage", Input)
        lev.focus()
        await pilot.press("3")
        await pilot.pause()
        assert panel.preview is not None and panel.preview.leverage == 3
        assert "at 3x" in _text(panel.query_one(PreviewView))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "on USD-M" in _text(app.screen.query_one("#confirm-body"))
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert fake.placed_markets == ["usdm"] and fake.placed[0].leverage == 3
        assert fake.calls[-1][0] == "place_bracket" and fake.calls[-1][1][-1] == "usdm"
        (row,) = [b for b in fake.snapshot().brackets if b.market == "usdm"]
        assert row.leverage == 3 and row.state == "ENTRY_WORKING"
        table = app.query_one(BracketTable)
        cells = dict(table._rows)[f"usdm:{row.bracket_id}"]
        assert str(cells[0]) == "BTCUSDT" and str(cells[1]) == "USD-M"
        assert table.columns[:2] == ("Symbol", "Mkt")
        assert any(str(r[1][2]) == "USD-M" for r in app.query_one(OrderTable)._rows)


async def test_spot_and_usdm_positions_are_two_rows_and_close_separately() -> None:
    app, fake = two_market_app()
    await fake.place_bracket(_usdm_ticket(fake), market="usdm")  # a USD-M long beside the spot one
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(PositionTable)
        keys = [k for k, _ in table._rows]
        assert keys == ["spot:BTCUSDT", "usdm:BTCUSDT"]
        spot_cells, usdm_cells = (dict(table._rows)[k] for k in keys)
        assert str(spot_cells[1]) == "SPOT" and str(usdm_cells[1]) == "USD-M 3x"
        (usdm,) = [p for p in fake.snapshot().positions if p.market == "usdm"]
        assert usdm.liquidation is not None and str(usdm_cells[-1]) == str(usdm.liquidation)
        assert str(spot_cells[-1]) == ""
        await pilot.press("f5", "p")
        await pilot.pause()
        assert isinstance(app.focused, PositionTable)
        await pilot.press("down")  # the USD-M row
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        body = _text(app.screen.query_one("#confirm-body"))
        assert "USD-M BTCUSDT" in body
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("close_position", ("BTCUSDT", "usdm")) in fake.calls
        positions = fake.snapshot().positions
        assert [(p.market, p.symbol) for p in positions] == [("spot", "BTCUSDT")]
        assert [k for k, _ in table._rows] == ["spot:BTCUSDT"]
        states = {(b.market, b.bracket_id): b.state for b in fake.snapshot().brackets}
        assert states[("spot", "seed-long-1")] == "EXITS_WORKING"  # the spot exits still work
        assert [s for (m, _), s in states.items() if m == "usdm"] == ["CLOSED"]


async def test_the_market_key_switches_the_selected_market() -> None:
    app, fake = two_market_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        blotter = app.query_one(Blotter)
        assert str(blotter.border_subtitle) == "SPOT selected"
        await pilot.press("M")
        await pilot.pause()
        assert fake.market == "usdm" and fake.snapshot().venue == "paper-usdm"
        assert ("select_market", ("usdm",)) in fake.calls
        assert str(blotter.border_subtitle) == "USD-M selected"
        assert any(n.message == "Market: USD-M" for n in app._notifications)
        await pilot.press("n")  # a new ticket starts in the selected market
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, BracketPanel)
        assert panel.query_one("#in-market", Choice).value == "usdm" and _leverage_shown(panel)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("M")
        await pilot.pause()
        assert fake.market == "spot"
        titles = {c.title: c for c in commands(app)}
        assert titles["Switch market (spot / USD-M)"].help == "key M"
        titles["Market: USD-M"].run()
        await pilot.pause()
        assert fake.market == "usdm"


async def test_one_market_has_no_market_field_column_or_switch() -> None:
    fake = FakePipeline()
    app = TradetermApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.query_one(PositionTable)._rows[0][0] == "BTCUSDT"
        assert "Mkt" not in app.query_one(PositionTable).columns
        assert not app.query_one(Blotter).border_subtitle
        await pilot.press("M")
        await pilot.pause()
        assert not any(name == "select_market" for name, _ in fake.calls)
        assert any("trades SPOT only" in n.message for n in app._notifications)
        assert not [c for c in commands(app) if c.title.startswith("Market: ")]
        panel = await _approve_first_signal(app, pilot)
        assert not panel.query("#in-market") and not panel.query("#in-leverage")


async def test_bad_leverage_is_shown_at_the_field_and_spot_has_none() -> None:
    app, _ = two_market_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _approve_first_signal(app, pilot)
        await pilot.press("right")  # USD-M
        await pilot.pause()
        lev = panel.query_one("#in-leverage", Input)
        lev.focus()
        await pilot.press("2", "0", "0")
        await pilot.pause()
        error = _text(panel.query_one("#error-leverage", Static))
        assert "must be a whole number 1-125" in error
        assert panel.query_one("#panel-send", Button).disabled
        panel.query_one("#in-market", Choice).focus()
        await pilot.press("left")  # back to spot: no leverage to get wrong
        await pilot.pause()
        assert panel.market == "spot" and not _leverage_shown(panel) and lev.disabled
        assert panel.valid and panel.preview is not None and panel.preview.leverage == 1
        assert panel.result.ticket is not None and panel.result.ticket.leverage is None
        assert not panel.query_one("#panel-send", Button).disabled


async def test_a_market_the_pipeline_does_not_trade_is_refused_in_the_panel() -> None:
    """A panel offering USD-M over a spot-only pipeline: the pipeline's UserError appears under
    the market switch, the preview waits and nothing can be sent (no traceback)."""
    fake = FakePipeline()
    app = TradetermApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        last = fake.last_price("BTCUSDT")
        panel = BracketPanel(
            fake,
            venue="paper",
            symbol="BTCUSDT",
            ticket=ManualTicket(
                venue="paper", symbol="BTCUSDT", side=Side.BUY, entry=last, stop=last - 500
            ),
            market="spot",
            markets=("spot", "usdm"),
        )
        await app.push_screen(panel)
        await pilot.pause()
        assert panel.valid
        await pilot.press("right")  # USD-M
        await pilot.pause()
        error = _text(panel.query_one("#error-market", Static))
        assert "usdm is not traded in this profile" in error
        assert panel.preview is None and panel.query_one("#panel-send", Button).disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is panel and not fake.placed
        # Opened for a market not listed at all (one market: no switch): refused in the panel.
        panel.dismiss(None)
        await pilot.pause()
        lone = BracketPanel(
            fake, venue="paper-usdm", symbol="BTCUSDT", market="usdm", markets=("spot",)
        )
        lone_values = {"stop": str(last - 500), "entry": str(last)}
        await app.push_screen(lone)
        await pilot.pause()
        for name, value in lone_values.items():
            lone.query_one(f"#in-{name}", Input).value = value
        await pilot.pause()
        assert "usdm is not traded" in _text(lone.query_one("#panel-general", Static))
        assert not lone.query("#in-market")


def _screen_lines(app: TradetermApp) -> list[str]:
    """What the terminal shows now, line by line: the composed screen, so a column scrolled
    or clipped out of its panel is not in it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_cancel_confirmation_names_the_market() -> None:
    """With spot and USD-M traded, the bracket-cancel confirmation says which market's bracket
    it is, as the position-close one does ("USD-M BTCUSDT")."""
    app, fake = two_market_app()
    last = fake.last_price("BTCUSDT")
    # A limit entry below the market: the bracket stays ENTRY_WORKING, so it can be cancelled.
    entry = (last * Decimal("0.995")).quantize(Decimal("0.01"))
    resting = _usdm_ticket(fake).model_copy(update={"entry": entry})
    await fake.place_bracket(resting, market="usdm")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        table = app.query_one(BracketTable)
        assert app.focused is table
        keys = [k for k, _ in table._rows]
        (usdm_key,) = [k for k in keys if k.startswith("usdm:")]
        bracket_id = usdm_key.removeprefix("usdm:")
        for _ in range(keys.index(usdm_key)):
            await pilot.press("down")
        assert table.selected_key == usdm_key
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert _text(app.screen.query_one("#confirm-title")) == "Cancel USD-M bracket?"
        body = _text(app.screen.query_one("#confirm-body"))
        assert f"Cancel USD-M BTCUSDT bracket {bracket_id} and its resting orders?" == body
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("cancel_bracket", (bracket_id,)) in fake.calls
        assert any(
            n.message == f"USD-M bracket {bracket_id} cancel sent" for n in app._notifications
        )
        # A spot bracket is named SPOT (the same symbol can have a bracket in each market).
        assert table.selected_key == usdm_key  # the cursor stayed on its row
        spot_key = next(k for k, _ in table._rows if k.startswith("spot:"))
        table.move_cursor(row=[k for k, _ in table._rows].index(spot_key))
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert _text(app.screen.query_one("#confirm-body")).startswith("Cancel SPOT ")


async def test_liq_is_on_screen_at_120_columns() -> None:
    """At 120x40 the blotter is 70 cells wide, ten too few for every position column: Mark
    gives way so the liquidation price stays on screen; with room it comes back, and the
    cursor keeps its row through both."""
    app, fake = two_market_app()
    await fake.place_bracket(_usdm_ticket(fake), market="usdm")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "p", "down")
        await pilot.pause()
        table = app.query_one(PositionTable)
        assert table.selected_key == "usdm:BTCUSDT"
        (usdm,) = [p for p in fake.snapshot().positions if p.market == "usdm"]
        assert usdm.liquidation is not None
        liq = dec(usdm.liquidation)

        def shown() -> tuple[str, str]:
            lines = _screen_lines(app)
            header = next(line for line in lines if "Symbol" in line and "Mkt" in line)
            row = next(line for line in lines if "USD-M 3x" in line)
            return header, row

        header, row = shown()
        assert "Liq" in header and liq in row
        assert "Mark" not in header and "uPnL" in header and "Entry" in header
        assert table.max_scroll_x == 0  # nothing left to scroll to
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert table.columns == PositionTable.MARKET_COLUMNS
        header, row = shown()
        assert "Mark" in header and "Liq" in header and liq in row
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        header, _ = shown()
        assert "Mark" not in header and "Liq" in header
        assert table.selected_key == "usdm:BTCUSDT"


async def test_brackets_keep_state_stop_and_fill_on_screen_at_120_columns() -> None:
    """At 120x40 the two-market brackets table is about 116 cells wide in a 70-cell blotter:
    Id, Targets and Entry give way so the state, the stop and the fill stay on screen; with
    room they come back."""
    app, fake = two_market_app()
    await fake.place_bracket(_usdm_ticket(fake), market="usdm")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "b")
        await pilot.pause()
        table = app.query_one(BracketTable)
        (usdm,) = [b for b in fake.snapshot().brackets if b.market == "usdm"]

        def shown() -> tuple[str, str]:
            lines = _screen_lines(app)
            header = next(line for line in lines if "State" in line and "Mkt" in line)
            row = next(line for line in lines if "USD-M" in line and usdm.state in line)
            return header, row

        header, row = shown()
        assert table.columns == ("Symbol", "Mkt", "Side", "State", "Stop", "Filled")
        for label in table.columns:
            assert label in header
        assert dec(usdm.stop) in row and f"{dec(usdm.filled)}/{dec(usdm.quantity)}" in row
        assert "Targets" not in header and "Id" not in header and "Entry" not in header
        assert table.max_scroll_x == 0  # nothing left to scroll to
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert table.columns == BracketTable.MARKET_COLUMNS
        header, row = shown()
        assert "Targets" in header and "Id" in header and "Entry" in header
        assert usdm.bracket_id[:12] in row and dec(usdm.targets[0]) in row
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert "Id" not in table.columns and "Stop" in table.columns


async def test_orders_keep_price_and_fill_on_screen_at_120_columns() -> None:
    """At 120x40 the two-market orders table is about 87 cells wide in a 70-cell blotter: Time
    and Type give way so the status, the price and the fill stay on screen; with room they come
    back."""
    app, fake = two_market_app()
    await fake.place_bracket(_usdm_ticket(fake), market="usdm")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "o")
        await pilot.pause()
        table = app.query_one(OrderTable)
        stop = next(
            o
            for o in fake.snapshot().orders
            if venue_market(o.venue) == "usdm" and o.leg.value == "STOP"
        )
        price = dec(stop.stop_price if stop.price is None else stop.price)

        def shown() -> tuple[str, str]:
            lines = _screen_lines(app)
            header = next(line for line in lines if "Leg" in line and "Mkt" in line)
            row = next(line for line in lines if "USD-M" in line and price in line)
            return header, row

        header, row = shown()
        assert table.columns == ("Symbol", "Mkt", "Leg", "Side", "Status", "Price", "Filled")
        for label in table.columns:
            assert label in header
        assert f"{dec(stop.filled_qty)}/{dec(stop.orig_qty)}" in row
        assert stop.status.value in row and "STOP" in row
        assert "Time" not in header and "Type" not in header
        assert table.max_scroll_x == 0
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert table.columns == OrderTable.MARKET_COLUMNS
        header, row = shown()
        assert "Time" in header and "Type" in header and stop.order_type.value in row
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert "Time" not in table.columns and "Filled" in table.columns


async def test_a_partly_filled_order_fits_at_120_columns() -> None:
    """Binance's longest status, PARTIALLY_FILLED, is shown as PARTIAL (Filled says how much):
    spelled out it widened the two-market orders table past the blotter at 120 columns."""
    fake = FakePipeline(markets=("spot", "usdm"))
    await fake.place_bracket(_usdm_ticket(fake), market="usdm")
    orders = list(fake.snapshot().orders)
    first = orders[0]
    partial = first.model_copy(
        update={"status": OrderStatus.PARTIALLY_FILLED, "filled_qty": first.orig_qty / 2}
    )
    ((_, cells),) = order_rows([partial], tagged=True)
    assert "PARTIAL" in cells and "PARTIALLY_FILLED" not in cells
    app = _BlotterApp()
    async with app.run_test(size=(70, 30)) as pilot:  # the blotter's width at 120 columns
        blotter = app.query_one(Blotter)
        blotter.show([], [partial, *orders[1:]], [], markets=("spot", "usdm"))
        blotter.action_show_tab("orders")
        await pilot.pause()
        table = app.query_one(OrderTable)
        assert {"Status", "Price", "Filled"} <= set(table.columns)
        assert table.max_scroll_x == 0


class _BlotterApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Blotter()


@pytest.mark.parametrize("width", [70, 200])  # columns dropped while tagged, or none
async def test_the_cursor_keeps_its_row_when_a_market_comes_or_goes(width: int) -> None:
    """Going from one market to two (and back) changes every row key (``id`` <->
    ``spot:id``) and puts the USD-M rows above the spot ones: each table's cursor stays on its
    bracket, order or position, not on its index."""
    fake = FakePipeline(markets=("spot", "usdm"))
    await fake.place_bracket(_usdm_ticket(fake), market="usdm")
    snap = fake.snapshot()
    spot = (
        [b for b in snap.brackets if b.market == "spot"],
        [o for o in snap.orders if venue_market(o.venue) == "spot"],
        [p for p in snap.positions if p.market == "spot"],
    )
    # Every part with the USD-M rows: positions listed USD-M first, as a pipeline may.
    both = (snap.brackets, snap.orders, sorted(snap.positions, key=lambda p: p.market != "usdm"))
    app = _BlotterApp()
    async with app.run_test(size=(width, 30)) as pilot:
        blotter = app.query_one(Blotter)
        tables: list[MarketTable] = [
            app.query_one(BracketTable),
            app.query_one(OrderTable),
            app.query_one(PositionTable),
        ]
        blotter.show(*spot, markets=("spot",))
        await pilot.pause()
        chosen: list[tuple[str, int]] = []
        for table in tables:
            assert not table.tagged
            table.move_cursor(row=table.row_count - 1)  # the oldest row
            assert table.selected_key is not None
            chosen.append((table.selected_key, table.cursor_row))
        blotter.show(*both, markets=("spot", "usdm"))
        await pilot.pause()
        for table, (key, row) in zip(tables, chosen, strict=True):
            assert table.tagged and table.selected_key == f"spot:{key}", type(table).__name__
            assert table.cursor_row > row  # USD-M rows came above it: the index alone was wrong
        blotter.show(*spot, markets=("spot",))
        await pilot.pause()
        for table, (key, row) in zip(tables, chosen, strict=True):
            assert not table.tagged and table.selected_key == key, type(table).__name__
            assert table.cursor_row == row


def test_rekey_follows_a_row_only_within_its_market() -> None:
    """An untagged row is of the one market traded then; a tagged row keeps its ident only if
    its market is the one left: a USD-M position's symbol is the spot position's key once
    USD-M goes, but that is another position, which the cursor must not claim to follow."""
    assert rekey("BTCUSDT", "spot", True, "spot") == "spot:BTCUSDT"
    assert rekey("BTCUSDT", "usdm", True, "spot") == "usdm:BTCUSDT"
    assert rekey("spot:BTCUSDT", "spot", False, "spot") == "BTCUSDT"
    assert rekey("usdm:BTCUSDT", "spot", False, "spot") is None
    assert rekey("usdm:t-1:x", "usdm", False, "usdm") == "t-1:x"  # an ident may hold a colon
