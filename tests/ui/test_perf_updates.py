"""Behaviour kept by the latency work (speed itself is measured in bench/ui_bench.py).

* Table cells are compared by :func:`~tradeterm.ui.widgets.table.cell_signature`, which tells
  a style-only change apart (the per-row repaints of ``LineTable`` are tested in
  ``test_line_table.py``), and the watchlist follows streamed prices.
* The blotter sets a tab label (a layout pass of the whole screen) only when its text changed.
* :class:`~tradeterm.ui.widgets.status_bar.KeyFooter` still follows the focus, but does not
  rebuild itself when the keys it shows did not change.
* A focus change no longer repaints the whole screen, yet the focused panel is restyled.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App
from textual.widgets import TabbedContent

from tests.ui import workstation_app
from tradeterm.ui.widgets.blotter import Blotter
from tradeterm.ui.widgets.status_bar import KeyFooter
from tradeterm.ui.widgets.table import LineTable, cell_signature
from tradeterm.ui.widgets.watchlist import Watchlist

SIZE = (160, 45)


def _cells(table: LineTable) -> list[str]:
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def test_cell_signature_tells_styles_apart() -> None:
    # Text.__eq__ ignores the base style; the signature must not.
    assert Text("1.0", style="red") == Text("1.0", style="green")
    assert cell_signature(Text("1.0", style="red")) != cell_signature(Text("1.0", style="green"))
    assert cell_signature("x") == cell_signature("x")
    assert cell_signature(1.5) is None


async def test_watchlist_follows_streamed_prices() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        watch = app.query_one(Watchlist)
        before = _cells(watch)
        fake.rewind(5)
        app.poll()
        await pilot.pause()
        after = _cells(watch)
        assert after != before
        snap = fake.snapshot()
        assert [str(watch.get_row_at(i)[0]).strip("▶ ") for i in range(watch.row_count)] == [
            r.symbol for r in snap.watchlist
        ]


def _footer_keys(app: App[Any]) -> set[str]:
    return {k.description for k in app.screen.query("FooterKey")}  # type: ignore[attr-defined]


async def test_footer_follows_focus_and_skips_unchanged_rebuilds() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = app.query_one(KeyFooter)
        chart_keys = _footer_keys(app)
        assert chart_keys
        await pilot.press("f3")
        await pilot.pause()
        await pilot.pause()
        assert "Chart this symbol" in _footer_keys(app)
        await pilot.press("f2")
        await pilot.pause()
        await pilot.pause()
        assert _footer_keys(app) == chart_keys

        rebuilds: list[bool] = []
        original = footer.recompose

        async def spy() -> None:
            rebuilds.append(True)
            await original()

        footer.recompose = spy  # type: ignore[method-assign]
        app.screen.refresh_bindings()
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert not rebuilds  # the same keys: nothing rebuilt
        await pilot.press("f3")
        await pilot.pause()
        await pilot.pause()
        assert rebuilds == [True]  # one rebuild per real change


async def test_focus_change_restyles_panels_without_a_full_repaint() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        watch = app.query_one(Watchlist)
        idle_border = watch.styles.border_top
        whole: list[bool] = []
        original = screen.refresh

        def spy(*regions: Any, **kwargs: Any) -> Any:
            if not regions:
                whole.append(True)
            return original(*regions, **kwargs)

        screen.refresh = spy  # type: ignore[method-assign]
        await pilot.press("f3")
        await pilot.pause()
        assert app.focused is watch
        assert not whole  # Textual's Screen.focused would have repainted everything
        assert watch.styles.border_top != idle_border  # .panel:focus-within still applies


async def test_blotter_sets_a_tab_label_only_when_its_text_changes() -> None:
    """Setting a tab's label asks for a layout pass of the whole screen: a poll whose counts
    did not change must set none."""
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tabs = app.query_one(Blotter).query_one(TabbedContent)
        relabelled: list[str] = []
        for pane in ("brackets", "orders", "positions"):
            tab = tabs.get_tab(pane)
            original = tab.update

            def spy(content: Any = "", _pane: str = pane, _original: Any = original) -> Any:
                relabelled.append(_pane)
                return _original(content)

            tab.update = spy  # type: ignore[method-assign]
        shown = app.main_screen.snapshot
        fake.set_auto_trade("BTCUSDT", True)  # a new snapshot, the same counts
        app.poll()
        await pilot.pause()
        assert app.main_screen.snapshot is not shown
        assert not relabelled
        await fake.cancel_bracket("seed-short-2")  # one working bracket fewer
        app.poll()
        await pilot.pause()
        assert "brackets" in relabelled and "positions" not in relabelled
        assert tabs.get_tab("brackets").label.plain == "Brackets 1"
