"""Watchlist: symbol, last price, change %, a sparkline and the guard state; Enter charts it.

The watchlist is the busiest panel while prices stream (every row can change at every poll), so
it is a :class:`~tradeterm.ui.widgets.table.LineTable` (Line API, one cached Strip per row) and
rebuilds the cells of a row only when its :class:`WatchRow` or its chart mark changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tradeterm.pipeline.readmodel import WatchRow
from tradeterm.ui.keys import WATCHLIST_KEYS, bindings
from tradeterm.ui.messages import SymbolChosen
from tradeterm.ui.widgets.format import num, signed, sparkline
from tradeterm.ui.widgets.table import LineTable, Row


def _places(last: float | None) -> int:
    if last is None or last >= 1000:
        return 2
    return 2 if last >= 10 else 4


def watch_row(r: WatchRow, selected: str) -> Row:
    """The table row of one symbol; the charted symbol is marked so it is visible without
    colour."""
    change = Text(signed(r.change_pct, 2, "%"))
    if r.change_pct is not None:
        change.stylize("green" if r.change_pct >= 0 else "red")
    guard = Text("BLOCK", style="bold red") if r.guard_blocked else Text("SAFE", style="green")
    mark = "▶" if r.symbol == selected else " "
    return (
        r.symbol,
        (
            f"{mark}{r.symbol}",
            Text(num(r.last, _places(r.last)), justify="right"),
            change,
            sparkline(r.spark, 12),
            guard,
        ),
    )


def watch_rows(rows: Sequence[WatchRow], selected: str) -> list[Row]:
    """Table rows for ``rows`` (see :func:`watch_row`)."""
    return [watch_row(r, selected) for r in rows]


class Watchlist(LineTable):
    """The symbols the pipeline follows. Enter (or a click on the cursor row) posts
    :class:`SymbolChosen`."""

    BINDINGS = bindings(WATCHLIST_KEYS)
    COLUMNS = ("Symbol", "Last", "Chg%", "Trend", "Guard")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._reasons: dict[str, str] = {}
        # symbol -> (the WatchRow and mark it was built from, its table row): a poll rebuilds
        # the cells (Text objects, sparkline) of the rows that changed only.
        self._built: dict[str, tuple[tuple[WatchRow, bool], Row]] = {}
        self.border_title = "Watchlist"

    def show(self, rows: Sequence[WatchRow], selected: str) -> None:
        self._reasons = {r.symbol: r.guard_reason for r in rows}
        built: dict[str, tuple[tuple[WatchRow, bool], Row]] = {}
        table: list[Row] = []
        for r in rows:
            source = (r, r.symbol == selected)
            cached = self._built.get(r.symbol)
            row = cached[1] if cached is not None and cached[0] == source else None
            if row is None:
                row = watch_row(r, selected)
            built[r.symbol] = (source, row)
            table.append(row)
        self._built = built
        self.show_rows(table)
        self._update_tooltip()

    def cursor_moved(self) -> None:
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        key = self.selected_key
        reason = self._reasons.get(key or "", "")
        self.tooltip = f"{key}: {reason}" if reason else None

    def action_choose(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(SymbolChosen(key))

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        # Enter is bound to ``choose``; a click on the cursor row selects too.
        event.stop()
        self.action_choose()
