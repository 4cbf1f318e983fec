"""LineTable (watchlist, signal queue): the look of a row-cursor DataTable, segment for segment,
with per-row repaints. Speed itself is measured in bench/ui_bench.py."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from tradeterm.ui.widgets.table import LineTable, Row, SnapshotTable

COLUMNS = ("Key", "Last", "Chg", "Guard")


class _Lines(LineTable):
    COLUMNS = COLUMNS


class _Data(SnapshotTable):
    COLUMNS = COLUMNS


class _App(App[None]):
    def compose(self) -> ComposeResult:
        yield _Lines()
        yield _Data()


def _rows(n: int, shift: float = 0.0) -> list[Row]:
    out: list[Row] = []
    for i in range(n):
        chg = Text(f"{i - 2 + shift:+.2f}%")
        chg.stylize("green" if i >= 2 else "red")
        guard = Text("BLOCK", style="bold red") if i % 3 == 0 else Text("SAFE", style="green")
        last = Text(f"{1000 + i * 37.5 + shift:,.2f}", justify="right")
        out.append((f"k{i}", (f"[b]k{i}[/b]" if i == 1 else f"k{i}", last, chg, guard)))
    return out


def _lines(widget: Any) -> list[list[tuple[str, object]]]:
    return [[(s.text, s.style) for s in widget.render_line(y)] for y in range(widget.size.height)]


async def test_renders_what_datatable_renders() -> None:
    app = _App()
    async with app.run_test(size=(60, 20)) as pilot:
        lines, data = app.query_one(_Lines), app.query_one(_Data)
        for table in (lines, data):
            table.show_rows(_rows(6))
        await pilot.pause()

        app.set_focus(None)
        await pilot.pause()
        assert _lines(lines) == _lines(data)
        lines.move_cursor(row=3)
        data.move_cursor(row=3)
        await pilot.pause()
        assert _lines(lines) == _lines(data)
        lines.focus()
        await pilot.pause()
        focused = _lines(lines)
        data.focus()
        await pilot.pause()
        assert focused == _lines(data)


async def test_only_changed_rows_are_repainted_and_the_cursor_keeps_its_key() -> None:
    app = _App()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(_Lines)
        table.show_rows(_rows(6))
        await pilot.pause()
        table.move_cursor(row=4)
        await pilot.pause()
        regions: list[Region] = []
        original = table.refresh

        def spy(*args: Any, **kwargs: Any) -> Any:
            regions.extend(args)
            if not args:
                regions.append(Region(0, 0, 0, 0))  # a whole-widget repaint
            return original(*args, **kwargs)

        table.refresh = spy  # type: ignore[method-assign]
        rows = _rows(6)
        rows[2] = (rows[2][0], ("k2", Text("1,075.01", justify="right"), rows[2][1][2], "x"))
        table.show_rows(rows)
        assert [r.y for r in regions] == [1 + 2]  # header line + row 2 only
        assert table.get_row_at(2)[3] == "x"
        regions.clear()
        table.show_rows(rows)
        assert not regions  # unchanged: nothing repainted
        # Reordered keys: the cursor follows its key.
        table.show_rows(list(reversed(rows)))
        assert table.selected_key == "k4" and table.cursor_row == 1


async def test_enter_and_click_select() -> None:
    chosen: list[str] = []

    class _Pick(_Lines):
        def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
            chosen.append(event.row_key)

    class _PickApp(App[None]):
        def compose(self) -> ComposeResult:
            yield _Pick()

    app = _PickApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(_Pick)
        table.show_rows(_rows(4))
        table.focus()
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert chosen == ["k1"]
        await pilot.click(_Pick, offset=(2, 3))  # row 2: moves the cursor
        await pilot.pause()
        assert table.cursor_row == 2 and chosen == ["k1"]
        await pilot.click(_Pick, offset=(2, 3))  # on the cursor row: selects
        await pilot.pause()
        assert chosen == ["k1", "k2"]
