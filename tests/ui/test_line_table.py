"""LineTable (watchlist, signal queue, blotter): the look of a row-cursor DataTable, segment for segment,
with per-row repaints. Speed itself is measured in bench/ui_bench.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable

from tradeterm.ui.fake import FakePipeline
from tradeterm.ui.widgets.blotter import (
    BracketTable,
    MarketTable,
    OrderTable,
    PositionTable,
    bracket_rows,
    order_rows,
    position_rows,
)
from tradeterm.ui.widgets.table import LineTable, Row

COLUMNS = ("Key", "Last", "Chg", "Guard")


class _Lines(LineTable):
    COLUMNS = COLUMNS


class _Data(DataTable[Any]):
    """The reference LineTable must match: a row-cursor DataTable, refilled row by row."""

    def __init__(self, columns: Sequence[str] = COLUMNS) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False)
        self._labels = tuple(columns)

    def on_mount(self) -> None:
        self.add_columns(*self._labels)

    def show_rows(self, rows: Sequence[Row]) -> None:
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)


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


async def test_set_columns_swaps_the_header_and_drops_the_rows() -> None:
    app = _App()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(_Lines)
        table.show_rows(_rows(4))
        table.move_cursor(row=2)
        await pilot.pause()
        table.set_columns(("Key", "Mkt", *COLUMNS[1:]))
        assert table.columns == ("Key", "Mkt", "Last", "Chg", "Guard")
        assert table.row_count == 0 and table.selected_key is None  # refilled by show_rows
        table.show_rows([(k, (cells[0], "SPOT", *cells[1:])) for k, cells in _rows(4)])
        await pilot.pause()
        assert table.render_line(0).text.split() == ["Key", "Mkt", "Last", "Chg", "Guard"]
        assert table.render_line(1).text.split()[:2] == ["k0", "SPOT"]
        assert table.cursor_row == 2  # the same place


async def test_set_columns_keeps_the_cursor_on_its_key_through_the_refill() -> None:
    """A column dropped (or back) in the same poll as a row added above the cursor: the refill
    after set_columns puts the cursor back on its row, not on its old index."""
    app = _App()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(_Lines)
        table.show_rows(_rows(4))
        table.move_cursor(row=2)
        key = table.selected_key
        table.set_columns(COLUMNS[:-1])
        table.show_rows([("new", ("new", "1", "2")), *((k, c[:-1]) for k, c in _rows(4))])
        await pilot.pause()
        assert table.selected_key == key and table.cursor_row == 3


async def _blotter_rows() -> list[tuple[type[MarketTable], list[Row]]]:
    """Every blotter table's rows from the two-market fake, a USD-M position included."""
    from tests.ui.test_markets import _usdm_ticket

    fake = FakePipeline(markets=("spot", "usdm"))
    await fake.place_bracket(_usdm_ticket(fake), market="usdm")
    snap = fake.snapshot()
    return [
        (BracketTable, bracket_rows(snap.brackets, tagged=True)),
        (OrderTable, order_rows(snap.orders, tagged=True)),
        (PositionTable, position_rows(snap.positions, tagged=True)),
    ]


class _Pair(App[None]):
    """A blotter table above the DataTable it replaced, with the same (market) columns."""

    def __init__(self, table_class: type[MarketTable]) -> None:
        super().__init__()
        self.table_class = table_class

    def compose(self) -> ComposeResult:
        yield self.table_class()
        yield _Data(self.table_class.MARKET_COLUMNS)


async def test_blotter_tables_render_what_datatable_renders() -> None:
    """The blotter's tables (market columns, right-justified and styled cells, an empty Liq)
    draw what the DataTable they replaced drew, blurred and focused, cursor anywhere."""
    for table_class, rows in await _blotter_rows():
        app = _Pair(table_class)
        async with app.run_test(size=(130, 40)) as pilot:
            lines, data = app.query_one(table_class), app.query_one(_Data)
            lines.set_tagged(True)
            lines.show_rows(rows)
            data.show_rows(rows)
            await pilot.pause()
            assert lines.columns == table_class.MARKET_COLUMNS  # room for all: none dropped
            assert len(_lines(lines)) == len(rows) + 1  # the header and every row
            app.set_focus(None)
            await pilot.pause()
            assert _lines(lines) == _lines(data), table_class.__name__
            lines.move_cursor(row=len(rows) - 1)
            data.move_cursor(row=len(rows) - 1)
            lines.focus()
            await pilot.pause()
            focused = _lines(lines)
            data.focus()
            await pilot.pause()
            assert focused == _lines(data), table_class.__name__
