"""Behaviour kept by the latency work (speed itself is measured in bench/ui_bench.py).

* :class:`~tradeterm.ui.widgets.table.SnapshotTable` writes only changed cells when the row
  keys are unchanged: the cursor and the scroll position stay, a style-only change is shown,
  a wider value still widens its column, and new keys still refill the table.
* :class:`~tradeterm.ui.widgets.status_bar.KeyFooter` still follows the focus, but does not
  rebuild itself when the keys it shows did not change.
* A focus change no longer repaints the whole screen, yet the focused panel is restyled.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult

from tests.ui import workstation_app
from tradeterm.ui.widgets.status_bar import KeyFooter
from tradeterm.ui.widgets.table import SnapshotTable, cell_signature
from tradeterm.ui.widgets.watchlist import Watchlist

SIZE = (160, 45)


class _Table(SnapshotTable):
    COLUMNS = ("Key", "Value")


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield _Table()


def _rows(values: list[str | Text], keys: str = "abcdefghij") -> list[tuple[str, list[Any]]]:
    return [(k, [k, v]) for k, v in zip(keys, values)]


def _cells(table: SnapshotTable) -> list[str]:
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def test_cell_signature_tells_styles_apart() -> None:
    # Text.__eq__ ignores the base style; the signature must not.
    assert Text("1.0", style="red") == Text("1.0", style="green")
    assert cell_signature(Text("1.0", style="red")) != cell_signature(Text("1.0", style="green"))
    assert cell_signature("x") == cell_signature("x")
    assert cell_signature(1.5) is None


async def test_snapshot_table_updates_cells_in_place() -> None:
    app = _TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(_Table)
        table.show_rows(_rows([str(i) for i in range(10)]))
        await pilot.pause()
        table.move_cursor(row=7, animate=False)
        table.scroll_to(y=4, animate=False)
        await pilot.pause()
        scroll_y = table.scroll_y
        assert scroll_y > 0
        cleared: list[bool] = []
        original = table.clear

        def spy(*args: Any, **kwargs: Any) -> Any:
            cleared.append(True)
            return original(*args, **kwargs)

        table.clear = spy  # type: ignore[method-assign]
        table.show_rows(_rows([str(i + 1) for i in range(10)]))
        await pilot.pause()
        assert not cleared  # same keys: cells written in place
        assert _cells(table) == [str(i + 1) for i in range(10)]
        assert table.cursor_row == 7 and table.selected_key == "h"
        assert table.scroll_y == scroll_y

        # A style-only change is written too.
        red = _rows([Text("1", style="red")] + [str(i + 1) for i in range(1, 10)])
        green = _rows([Text("1", style="green")] + [str(i + 1) for i in range(1, 10)])
        table.show_rows(red)
        table.show_rows(green)
        assert table.get_row_at(0)[1].style == "green"
        assert not cleared

        # Wider than its column: refilled, the column grows, the cursor keeps its key.
        width = table.columns[list(table.columns)[1]].content_width
        table.show_rows(_rows(["x" * (width + 5)] + [str(i) for i in range(1, 10)]))
        await pilot.pause()
        assert cleared
        assert table.columns[list(table.columns)[1]].content_width == width + 5
        assert table.selected_key == "h"

        # Other keys: refilled, cursor on the same key where it still exists.
        cleared.clear()
        table.show_rows(_rows([str(i) for i in range(5)], keys="hgfed"))
        await pilot.pause()
        assert cleared
        assert table.selected_key == "h" and table.cursor_row == 0


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
