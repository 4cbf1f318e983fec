"""Tables refilled from snapshots several times a second without losing the user's place.

Snapshots replace whole tuples, so the simplest correct update is "clear and add the rows" —
but that throws the cursor back to the top at every tick and, in a DataTable, drops every cache
(its caches are keyed by a table-wide update counter), so a frame re-renders every cell.
:class:`LineTable` is a Line-API widget with the same look, keys and messages as a row-cursor
DataTable: :meth:`LineTable.show_rows` keeps the cursor on the same row key, compares each row
with the one it replaces (by :func:`cell_signature`, which sees style-only changes) and
repaints only the lines that changed, from one cached Strip per row. Every table of the
workstation uses it: the watchlist, the signal queue and the blotter's tabs.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets._data_table import default_cell_formatter

Row = tuple[str, Sequence[str | Text]]


def cell_signature(cell: object) -> Hashable | None:
    """A hashable value equal for two cells exactly when they render the same (unlike
    ``Text.__eq__``, which ignores the base style); ``None`` for cells of other types, whose
    rows are never taken as unchanged and are always redrawn."""
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


_NO_STYLE = Style()
Piece = tuple[str, Style | None]


def _cell_text(cell: str | Text) -> Text:
    """The Text DataTable shows for a one-line cell (``default_cell_formatter``): a str is
    markup, a Text is used as is."""
    if isinstance(cell, Text):
        return cell
    if "[" in cell:
        return Text.from_markup(cell, end="")
    return Text(cell, end="")


def _cell_width(cell: str | Text) -> int:
    """Cells a one-line cell needs (what ``measure`` reports for it, and what sizes a column)."""
    return cell_len(_cell_text(cell).plain)


def column_widths(labels: Sequence[str | Text], rows: Sequence[Row]) -> list[int]:
    """The content width of each column (padding aside) under ``labels`` for ``rows``: its
    widest cell or its label, as DataTable sizes a column. Cells beyond the labels are
    ignored."""
    widths = [_cell_width(label) for label in labels]
    n = len(widths)
    for _, cells in rows:
        for j, cell in enumerate(cells[:n]):
            w = _cell_width(cell)
            widths[j] = max(widths[j], w)
    return widths


def cell_pieces(cell: str | Text, width: int, console: Console) -> list[Piece] | None:
    """The segments (text, style before the row's styles) of ``cell`` in a column ``width``
    cells wide, without the cell padding: what Rich's ``Padding``/``Text`` rendering inside
    DataTable produces, for one-line cells. Pad spaces that Rich adds outside the Text get
    ``None`` (they take only the row's styles), those that ``justify`` adds inside it take the
    Text's base style, as in Rich. ``None`` when the cell needs Rich's general path (several
    lines, wider than its column, full justification)."""
    text = _cell_text(cell)
    plain = text.plain
    if "\n" in plain or "\t" in plain:
        return None
    justify = text.justify or "default"
    if justify in ("right", "center") and plain != plain.rstrip():
        text = text.copy()
        text.rstrip()
    used = cell_len(text.plain)
    if used > width or justify not in ("default", "left", "right", "center"):
        return None
    free = width - used
    base = console.get_style(text.style) if text.style else None
    pieces: list[Piece] = []
    if free and justify == "right":
        pieces.append((" " * free, base))
    elif free and justify == "center":
        pieces.append((" " * (free // 2), base))
    if not text.spans:
        # Text.render leaves a span-less Text unstyled: Rich's Text.__rich_console__ joins
        # the lines first, which turns each line's base style into a span.
        pieces.append((text.plain, base))
    else:
        pieces.extend((seg.text, seg.style) for seg in text.render(console, end="") if seg.text)
    if free and justify == "left":
        pieces.append((" " * free, base))
    elif free and justify == "center":
        pieces.append((" " * (free - free // 2), base))
    elif free and justify == "default":
        pieces.append((" " * free, None))
    return pieces


class LineTable(ScrollView, can_focus=True):
    """A row-cursor table drawn with the Line API: the look and keys of a ``DataTable`` with
    ``cursor_type="row"``, for tables that are rewritten from snapshots several times a second.

    DataTable invalidates every cache on any cell update (its caches are keyed by a table-wide
    update counter) and renders each cell through Rich's ``Padding``/``Styled`` pipeline (about
    50 µs a cell), so a 20-row watchlist whose prices all move cost ~6 ms a frame. Here
    :meth:`show_rows` compares each row with the one it replaces and refreshes only the lines
    that changed; a row is drawn once into a :class:`Strip` (cells rendered directly from their
    Text, about 5 times cheaper) and that Strip is reused until the row, the cursor or hover on
    it, the column widths, the widget's width or its styles change. The output is
    segment-for-segment what DataTable draws (same component styles, same ``row``/``column``
    meta), so the screen looks the same and a click finds its row through the meta as before.

    Subclasses declare ``COLUMNS`` and call :meth:`show_rows`; Enter and a click on the cursor
    row post :class:`LineTable.RowSelected`.
    """

    COLUMNS: tuple[str, ...] = ()

    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .linetable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .linetable--header {
                background-tint: $foreground 5%;
            }
        }
        & > .linetable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .linetable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .linetable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .linetable--header-hover {
            background: $accent 30%;
        }
        & > .linetable--hover {
            background: $block-hover-background;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "linetable--header",
        "linetable--cursor",
        "linetable--hover",
        "linetable--header-hover",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_top", "Top", show=False),
        Binding("ctrl+end", "scroll_bottom", "Bottom", show=False),
        Binding("home", "scroll_home", "Home", show=False),
        Binding("end", "scroll_end", "End", show=False),
    ]

    CELL_PADDING = 1
    HEADER_HEIGHT = 1

    class RowSelected(Message):
        """Enter, or a click on the cursor row."""

        def __init__(self, table: LineTable, cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[Row] = []
        self._signatures: list[tuple[Hashable | None, ...]] = []
        self._columns: tuple[str, ...] = tuple(self.COLUMNS)
        self._labels = [Text.from_markup(label) for label in self._columns]
        self._widths = [cell_len(label.plain) for label in self._labels]
        self._cursor = 0
        # The key under the cursor when set_columns dropped the rows: the refill puts the cursor
        # back on it (it is no longer in _rows, so selected_key cannot say it).
        self._anchor: str | None = None
        self._hover = 0
        self._show_hover = False
        # Per row index (-1: the header): the cell pieces of its content, keyed by the row's
        # signature and the column widths; and the finished Strip, keyed by everything else.
        self._pieces: dict[int, tuple[Hashable, list[list[Piece] | None]]] = {}
        self._strips: dict[int, tuple[Hashable, Strip]] = {}
        self._meta: dict[tuple[int, int], Style] = {}
        self._styles_now: dict[str, Style] | None = None
        self._style_key: Hashable = None

    # ------------------------------------------------------------------ data

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def columns(self) -> tuple[str, ...]:
        """The column labels shown now (``COLUMNS`` unless :meth:`set_columns` changed them)."""
        return self._columns

    def set_columns(self, columns: Sequence[str]) -> None:
        """Show other column labels (the blotter's tables gain market columns while several
        markets are traded). The rows are dropped, as DataTable's ``clear(columns=True)`` does:
        cells laid out for the old columns would land under the wrong headers, so the caller
        refills them with :meth:`show_rows` under the new ones. That refill puts the cursor
        back on the row it was on (by key, as any refill does), else leaves it where it is,
        clamped: a column shown or hidden must not move the user's place when a row was added
        above it in the same poll."""
        columns = tuple(columns)
        if columns == self._columns:
            return
        if self._rows:  # not when the rows were dropped already and not refilled yet
            self._anchor = self.selected_key
        self._columns = columns
        self._labels = [Text.from_markup(label) for label in columns]
        self._widths = [cell_len(label.plain) for label in self._labels]
        self._rows = []
        self._signatures = []
        self._pieces.clear()
        self._strips.clear()
        self._update_virtual_size()
        self.refresh()

    @property
    def cursor_row(self) -> int:
        """Index of the row under the cursor (0 when the table is empty)."""
        return self._cursor

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        if not self._rows or not 0 <= self._cursor < len(self._rows):
            return None
        return self._rows[self._cursor][0]

    def get_row_at(self, row_index: int) -> list[str | Text]:
        """The cells of the row at ``row_index``, as given to :meth:`show_rows`."""
        return list(self._rows[row_index][1])

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Replace the rows; the cursor stays on the same key (or the same index). Only the
        lines whose content changed are refreshed (all of them when a column width changes)."""
        rows = list(rows)
        signatures = [tuple(cell_signature(c) for c in cells) for _, cells in rows]
        old_rows, old_signatures = self._rows, self._signatures
        keep = self.selected_key if old_rows else self._anchor
        self._anchor = None
        widths = column_widths(self._labels, rows)
        self._rows = rows
        self._signatures = signatures
        relayout = widths != self._widths or len(rows) != len(old_rows)
        self._widths = widths
        self._update_virtual_size()
        if relayout:
            self.refresh()
        else:
            for i, ((key, _), (old_key, _)) in enumerate(zip(rows, old_rows)):
                sig, old = signatures[i], old_signatures[i]
                if key != old_key or sig != old or None in sig:
                    self._refresh_row(i)
        if not rows:
            self._cursor = 0
            return
        keys = [k for k, _ in rows]
        target = keys.index(keep) if keep in keys else min(max(self._cursor, 0), len(rows) - 1)
        if target != self._cursor:
            self.move_cursor(row=target, scroll=False)

    def _update_virtual_size(self) -> None:
        size = Size(self._table_width(), len(self._rows) + self.HEADER_HEIGHT)
        if size != self.virtual_size:
            self.virtual_size = size

    def _table_width(self) -> int:
        return sum(self._widths) + 2 * self.CELL_PADDING * len(self._widths)

    # ------------------------------------------------------------------ cursor

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped to the rows), and scroll it into view."""
        row = max(0, min(row, len(self._rows) - 1))
        old = self._cursor
        self._cursor = row
        if row != old:
            self._refresh_row(old)
            self._refresh_row(row)
            self.cursor_moved()
        if scroll:
            self._scroll_cursor_into_view(animate=animate)

    def cursor_moved(self) -> None:
        """Called after the cursor moved to another row (subclasses update tooltips)."""

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        if not self._rows:
            return
        width = max(self.size.width, self._table_width())
        region = Region(int(self.scroll_x), self.HEADER_HEIGHT + self._cursor, width, 1)
        spacing = Spacing(self.HEADER_HEIGHT, 0, 0, 0)
        self.scroll_to_region(region, animate=animate, spacing=spacing, force=True)

    def _set_hover(self, show: bool, row: int | None = None) -> None:
        old_row, old_show = self._hover, self._show_hover
        self._show_hover = show
        if row is not None:
            self._hover = row
        if (old_row, old_show) != (self._hover, self._show_hover):
            self._refresh_row(old_row)
            self._refresh_row(self._hover)

    def _refresh_row(self, row: int) -> None:
        """Repaint the line of ``row`` (-1: the header) if it is in view."""
        if row == -1:
            self.refresh(Region(0, 0, self.size.width, self.HEADER_HEIGHT))
            return
        if not 0 <= row < len(self._rows):
            return
        y = self.HEADER_HEIGHT + row - int(self.scroll_y)
        if self.HEADER_HEIGHT <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # ------------------------------------------------------------------ actions

    def action_cursor_up(self) -> None:
        self._set_hover(False)
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_hover(False)
        self.move_cursor(row=self._cursor + 1)

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - self.HEADER_HEIGHT)

    def action_page_down(self) -> None:
        self._set_hover(False)
        height = self._page_height()
        self.scroll_relative(y=height, animate=False, force=True)
        self.move_cursor(row=self._cursor + height, scroll=False)

    def action_page_up(self) -> None:
        self._set_hover(False)
        height = self._page_height()
        self.scroll_relative(y=-height, animate=False, force=True)
        self.move_cursor(row=self._cursor - height, scroll=False)

    def action_scroll_top(self) -> None:
        self._set_hover(False)
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self._set_hover(False)
        self.move_cursor(row=len(self._rows) - 1)

    def action_scroll_home(self) -> None:
        self._set_hover(False)
        self.scroll_x = 0

    def action_scroll_end(self) -> None:
        self._set_hover(False)
        self.scroll_x = self.max_scroll_x

    def action_select_cursor(self) -> None:
        self._set_hover(False)
        key = self.selected_key
        if key is not None:
            self.post_message(LineTable.RowSelected(self, self._cursor, key))

    # ------------------------------------------------------------------ mouse

    async def _on_click(self, event: events.Click) -> None:
        self._set_hover(True)
        meta = event.style.meta
        if "row" not in meta or meta["row"] < 0 or meta["row"] >= len(self._rows):
            return
        row = meta["row"]
        if row == self._cursor:
            # As DataTable: a click selects without hiding the hover cursor.
            self.post_message(LineTable.RowSelected(self, row, self._rows[row][0]))
        else:
            self.move_cursor(row=row, animate=True)
        event.stop()

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        meta = event.style.meta
        if "row" in meta:
            self._set_hover(True, meta["row"])
        else:
            self._set_hover(False)

    def _on_leave(self, _: events.Leave) -> None:
        self._set_hover(False)

    # ------------------------------------------------------------------ rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles_now = None
        self._strips.clear()
        self.refresh()

    def _on_resize(self, _: events.Resize) -> None:
        self._strips.clear()
        self._scroll_cursor_into_view()

    def _table_styles(self) -> dict[str, Style]:
        if self._styles_now is None:
            get = self.get_component_rich_style
            self._styles_now = {
                "header": self.get_component_styles("linetable--header").rich_style,
                "cursor": get("linetable--cursor"),
                "hover": get("linetable--hover"),
                "header-hover": get("linetable--header-hover"),
            }
        return self._styles_now

    def render_lines(self, crop: Region) -> list[Strip]:
        # Component styles follow pseudo classes (:focus); key the Strips on them, as
        # DataTable keys its caches on the pseudo-class state.
        self._style_key = (self.rich_style, self.get_pseudo_class_state())
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y >= self.HEADER_HEIGHT:
            y += scroll_y
        row = y - self.HEADER_HEIGHT
        if row >= len(self._rows) or not self._columns:
            return Strip.blank(width, base)
        strip = self._row_strip(row, width, base)
        if scroll_x or strip.cell_length > width:
            strip = strip.crop(scroll_x, scroll_x + width)
        return strip.adjust_cell_length(width, base)

    def _meta_style(self, row: int, column: int) -> Style:
        key = (row, column)
        style = self._meta.get(key)
        if style is None:
            meta: dict[str, object] = {"row": row, "column": column}
            if column < 0:
                meta = {"row": row, "column": 0, "out_of_bounds": True}
            style = self._meta[key] = Style.from_meta(meta)
        return style

    def _row_pieces(self, row: int) -> list[list[Piece] | None]:
        """The cells of ``row`` cut into pieces at the current column widths (cached)."""
        if row < 0:
            signature: Hashable = ("header", self._columns)
            cells: Sequence[str | Text] = self._labels
        else:
            signature = self._signatures[row]
            cells = self._rows[row][1]
            if None in signature:
                signature = None
        key = (signature, tuple(self._widths))
        cached = self._pieces.get(row)
        if signature is not None and cached is not None and cached[0] == key:
            return cached[1]
        console = self.app.console
        pieces: list[list[Piece] | None] = []
        for j, w in enumerate(self._widths):
            missing: list[Piece] = [(" " * w, None)]  # a short row: blank cells, as DataTable
            pieces.append(cell_pieces(cells[j], w, console) if j < len(cells) else missing)
        self._pieces[row] = (key, pieces)
        return pieces

    def _row_strip(self, row: int, width: int, base: Style) -> Strip:
        """The whole line of ``row`` (-1: the header), as DataTable draws it (cached)."""
        cursor = row == self._cursor and row >= 0
        hover = self._show_hover and row == self._hover
        signature = self._signatures[row] if row >= 0 else ("header", self._columns)
        key = (signature, tuple(self._widths), width, cursor, hover, self._style_key)
        cached = self._strips.get(row)
        if cached is not None and cached[0] == key and None not in signature:
            return cached[1]
        styles = self._table_styles()
        header = row < 0
        row_style = styles["header"] if header else base
        component = _NO_STYLE
        if hover:
            component += styles["hover"]
            if header:
                component += styles["header-hover"]
        if cursor:
            component += styles["cursor"]
        # DataTable's default cursor_foreground_priority="css": the cursor's colour wins.
        post = Style.from_color(color=component.color) if component.color else None
        pad = " " * self.CELL_PADDING
        segments: list[Segment] = []
        append = segments.append
        pieces = self._row_pieces(row)
        for j, cell in enumerate(pieces):
            pre = row_style + self._meta_style(row, j) + component
            if cell is None:
                segments.extend(self._rich_cell(row, j, pre, post))
                continue
            plain = pre + post if post else pre
            append(Segment(pad, plain))
            for text, style in cell:
                if style is None:
                    append(Segment(text, plain))
                else:
                    full = pre + style
                    append(Segment(text, full + post if post else full))
            append(Segment(pad, plain))
        remaining = max(0, width - self._table_width())
        append(Segment(" " * remaining, row_style + component + self._meta_style(row, -1)))
        strip = Strip(segments).simplify()
        self._strips[row] = (key, strip)
        return strip

    def _rich_cell(self, row: int, column: int, pre: Style, post: Style | None) -> list[Segment]:
        """A cell the fast path does not cover, rendered by Rich as DataTable renders it."""
        cell = self._labels[column] if row < 0 else self._rows[row][1][column]
        width = self._widths[column] + 2 * self.CELL_PADDING
        options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
        renderable = default_cell_formatter(cell, wrap=False, height=1)
        lines = self.app.console.render_lines(
            Styled(
                Padding(renderable, (0, self.CELL_PADDING)),
                pre_style=pre,
                post_style=post or _NO_STYLE,
            ),
            options,
        )
        return lines[0] if lines else [Segment(" " * width, pre)]
