"""Watchlist: symbol, last price, change %, a sparkline and the guard state; Enter charts it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tradeterm.pipeline.readmodel import WatchRow
from tradeterm.ui.keys import WATCHLIST_KEYS, bindings
from tradeterm.ui.messages import SymbolChosen
from tradeterm.ui.widgets.format import num, signed, sparkline
from tradeterm.ui.widgets.table import Row, SnapshotTable


def _places(last: float | None) -> int:
    if last is None or last >= 1000:
        return 2
    return 2 if last >= 10 else 4


def watch_rows(rows: Sequence[WatchRow], selected: str) -> list[Row]:
    """Table rows for ``rows``; the charted symbol is marked so it is visible without colour."""
    out: list[Row] = []
    for r in rows:
        change = Text(signed(r.change_pct, 2, "%"))
        if r.change_pct is not None:
            change.stylize("green" if r.change_pct >= 0 else "red")
        guard = Text("BLOCK", style="bold red") if r.guard_blocked else Text("SAFE", style="green")
        mark = "▶" if r.symbol == selected else " "
        out.append(
            (
                r.symbol,
                (
                    f"{mark}{r.symbol}",
                    Text(num(r.last, _places(r.last)), justify="right"),
                    change,
                    sparkline(r.spark, 12),
                    guard,
                ),
            )
        )
    return out


class Watchlist(SnapshotTable):
    """The symbols the pipeline follows. Enter posts :class:`SymbolChosen`."""

    BINDINGS = bindings(WATCHLIST_KEYS)
    COLUMNS = ("Symbol", "Last", "Chg%", "Trend", "Guard")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._reasons: dict[str, str] = {}
        self.border_title = "Watchlist"

    def show(self, rows: Sequence[WatchRow], selected: str) -> None:
        self._reasons = {r.symbol: r.guard_reason for r in rows}
        self.show_rows(watch_rows(rows, selected))
        self._update_tooltip()

    def watch_cursor_coordinate(self, old: object, new: object) -> None:
        super().watch_cursor_coordinate(old, new)  # type: ignore[arg-type]
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        key = self.selected_key
        reason = self._reasons.get(key or "", "")
        self.tooltip = f"{key}: {reason}" if reason else None

    def action_choose(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(SymbolChosen(key))

    def on_data_table_row_selected(self, event: SnapshotTable.RowSelected) -> None:
        # Enter is bound to ``choose``; a mouse click selects too.
        event.stop()
        self.action_choose()
