"""A DataTable that is refilled from snapshots without losing the user's place.

Snapshots replace whole tuples, so the simplest correct update is "clear and add the rows" —
but a plain ``clear()`` throws the cursor back to the top at every tick. :class:`SnapshotTable`
keeps the cursor on the same row key and skips the refill entirely when the rows are equal.

It is also the hot path of the workstation while prices stream (the watchlist changes on every
poll), so it avoids the two costs a refill had: when the row keys are unchanged only the cells
that changed are written (no ``clear()``, which dropped every cache, reset the scroll position
and re-measured every cell on the next idle), and rendered cells are cached by their content,
not by DataTable's table-wide update counter, so a frame re-renders only the cells that changed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.render import measure
from textual.widgets import DataTable
from textual.widgets._data_table import default_cell_formatter

Row = tuple[str, Sequence[str | Text]]

# Rendered body cells kept (a 20-row, 5-column table needs 100 per cursor/focus state).
_CELL_CACHE_SIZE = 2048


def cell_signature(cell: object) -> Hashable | None:
    """A hashable value equal for two cells exactly when they render the same (unlike
    ``Text.__eq__``, which ignores the base style); ``None`` for cells of other types, which
    are rendered without the content cache and always rewritten."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, Text):
        return (
            cell.plain,
            cell.style,
            cell.justify,
            cell.overflow,
            cell.no_wrap,
            cell.end,
            tuple(cell.spans),
        )
    return None


class SnapshotTable(DataTable[Any]):
    """Row-cursor table with ``show_rows``; subclasses declare ``COLUMNS``."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._rows: list[Row] = []
        self._signatures: list[list[Hashable | None]] = []
        self._cells: LRUCache[tuple[Any, ...], list[list[Segment]]] = LRUCache(_CELL_CACHE_SIZE)

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
        signatures = [[cell_signature(c) for c in cells] for _, cells in rows]
        if self._unchanged(rows, signatures) or self._update_in_place(rows, signatures):
            return
        keep = self.selected_key
        index = self.cursor_row
        self._rows = rows
        self._signatures = signatures
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if not rows:
            return
        keys = [k for k, _ in rows]
        target = keys.index(keep) if keep in keys else min(max(index, 0), len(rows) - 1)
        self.move_cursor(row=target, animate=False, scroll=False)

    def _unchanged(self, rows: list[Row], signatures: list[list[Hashable | None]]) -> bool:
        if len(rows) != len(self._rows) or signatures != self._signatures:
            return False
        if any(sig is None for cells in signatures for sig in cells):
            return rows == self._rows
        return all(key == old for (key, _), (old, _) in zip(rows, self._rows))

    def _update_in_place(self, rows: list[Row], signatures: list[list[Hashable | None]]) -> bool:
        """Write only the changed cells when the rows are the same keys in the same order and no
        changed cell is wider than its column (a refill is needed to widen a column, as before).
        Returns False, having changed nothing, when a refill is needed."""
        if len(rows) != len(self._rows) or len(self.columns) != len(self.COLUMNS):
            return False
        columns = list(self.columns.values())
        n = len(columns)
        changes: list[tuple[int, int]] = []
        for i, ((key, cells), (old_key, _)) in enumerate(zip(rows, self._rows)):
            old_sigs = self._signatures[i]
            if key != old_key or len(cells) != n or len(old_sigs) != n:
                return False
            for j, (sig, old) in enumerate(zip(signatures[i], old_sigs)):
                if sig is not None and sig == old:
                    continue
                if self._cell_width(cells[j]) > columns[j].content_width:
                    return False
                changes.append((i, j))
        self._rows = rows
        self._signatures = signatures
        for i, j in changes:
            self.update_cell(rows[i][0], columns[j].key, rows[i][1][j])
        return True

    def _cell_width(self, cell: str | Text) -> int:
        """The width DataTable measures for a one-line cell (what sizes its column)."""
        return measure(self.app.console, default_cell_formatter(cell, wrap=False, height=1), 1)

    # ------------------------------------------------------------------ rendering

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's cell rendering, cached by the cell's content (see the module docstring).
        On a miss the cell is rendered by DataTable itself, so the output is the same."""
        signature = None
        if row_index >= 0 and column_index >= 0 and row_index < len(self._signatures):
            cells = self._signatures[row_index]
            if column_index < len(cells):
                signature = cells[column_index]
        if signature is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            row_index,
            column_index,
            signature,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
            self.show_cursor,
            self.cursor_type,
            self.cell_padding,
        )
        lines = self._cells.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cells[key] = lines
        return lines

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cells.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cells.clear()
