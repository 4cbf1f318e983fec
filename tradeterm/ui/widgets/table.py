"""A DataTable that is refilled from snapshots without losing the user's place.

Snapshots replace whole tuples, so the simplest correct update is "clear and add the rows" —
but a plain ``clear()`` throws the cursor back to the top at every tick. :class:`SnapshotTable`
keeps the cursor on the same row key and skips the refill entirely when the rows are equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

Row = tuple[str, Sequence[str | Text]]


class SnapshotTable(DataTable[Any]):
    """Row-cursor table with ``show_rows``; subclasses declare ``COLUMNS``."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._rows: list[Row] = []

    def on_mount(self) -> None:
        self.add_columns(*self.COLUMNS)

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row][0]

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Replace the rows; the cursor stays on the same key (or the same index)."""
        rows = list(rows)
        if rows == self._rows:
            return
        keep = self.selected_key
        index = self.cursor_row
        self._rows = rows
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if not rows:
            return
        keys = [k for k, _ in rows]
        target = keys.index(keep) if keep in keys else min(max(index, 0), len(rows) - 1)
        self.move_cursor(row=target, animate=False, scroll=False)
