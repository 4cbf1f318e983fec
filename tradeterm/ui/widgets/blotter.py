"""Blotter: brackets with their state, raw orders, and positions with unrealised PnL in quote
and in R. ``c`` cancels the selected bracket, ``x`` closes the selected position; both ask for a
confirmation on the screen that handles the request.

Markets: when the pipeline trades more than one market (the demo's spot and USD-M), every table
gains a "Mkt" column (``SPOT``/``USD-M``) and rows are keyed by market too — a BTCUSDT spot
position and a BTCUSDT USD-M position are two rows, and ``x`` closes the one under the cursor in
its own market. USD-M positions also show their leverage (``USD-M 5x``) and liquidation price. With one market
the tables look exactly as before. The border's subtitle names the selected market. When a market
is added or dropped every row key changes (``ident`` <-> ``market:ident``); the cursor follows its
bracket, order or position to the new key rather than staying at its place in the list.

Every table is a :class:`~tradeterm.ui.widgets.table.LineTable`: a poll repaints only the rows
that changed. A table too narrow for all its columns drops its least useful ones while it is
(brackets: Id, Targets, Entry; orders: Time, Type; positions: Mark, Entry, R), so what a trader
acts on — state, stop, fill progress, liquidation price — stays on screen at 120 columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import TabbedContent, TabPane

from tradeterm.contracts import OrderStatus, OrderUpdateV1
from tradeterm.pipeline.readmodel import BracketRow, PositionRow, market_label
from tradeterm.ui.keys import BLOTTER_KEYS, bindings
from tradeterm.ui.messages import BracketCancelRequested, PositionCloseRequested
from tradeterm.ui.widgets.format import dec, hhmm, signed
from tradeterm.ui.widgets.table import LineTable, Row, column_widths

_ENDED = {"CANCELED", "CLOSED", "EXPIRED"}


def _side(side: str) -> Text:
    return Text(side, style="green" if side == "BUY" else "red")


def market_tag(market: str) -> Text:
    """The "Mkt" cell: ``USD-M`` stands out (leverage, liquidation), ``SPOT`` is plain."""
    return Text(market_label(market), style="bold magenta" if market == "usdm" else "")


def venue_market(venue: str) -> str:
    """The market of an order update, from its venue name (a USD-M venue says so)."""
    v = venue.lower()
    return "usdm" if "usdm" in v or "futures" in v else "spot"


def row_key(market: str, ident: str, tagged: bool) -> str:
    """A row's key: ``ident`` alone with one market; ``market:ident`` with several, so the same
    symbol (or the same decision id) in two markets makes two rows, never a collision."""
    return f"{market}:{ident}" if tagged else ident


def rekey(key: str, market: str, tagged: bool, now: str) -> str | None:
    """The key of row ``key`` once the market columns are shown (``tagged``) or hidden: an
    untagged row is of ``market``, the one market traded then, and keeps it; a tagged row keeps
    its ident if it is of ``now``, the one market traded from then on (None otherwise: a row
    of a market no longer traded is gone — and a position's ident, its symbol, may well name a
    row of the other market, which must not take its place)."""
    if tagged:
        return row_key(market, key, True)
    tag, _, ident = key.partition(":")
    return ident if tag == now else None


def _tagged(cells: tuple[str | Text, ...], market: str, tagged: bool) -> tuple[str | Text, ...]:
    """``cells`` with the market tag after the symbol (the first cell) when ``tagged``."""
    return (cells[0], market_tag(market), *cells[1:]) if tagged else cells


def bracket_rows(rows: Sequence[BracketRow], *, tagged: bool = False) -> list[Row]:
    """Working brackets first, then ended ones (newest first within each group)."""
    ordered = [b for b in reversed(rows) if b.state not in _ENDED] + [
        b for b in reversed(rows) if b.state in _ENDED
    ]
    return [
        (
            row_key(b.market, b.bracket_id, tagged),
            _tagged(
                (
                    b.symbol,
                    _side(b.side),
                    Text(b.state, style="dim" if b.state in _ENDED else "bold"),
                    dec(b.entry) if b.entry is not None else "MKT",
                    dec(b.stop),
                    f"{dec(b.filled)}/{dec(b.quantity)}",
                    " ".join(dec(t) for t in b.targets),
                    b.bracket_id[:12],
                ),
                b.market,
                tagged,
            ),
        )
        for b in ordered
    ]


# Statuses shown shorter than Binance spells them: the Status column is sized to its longest
# value, and "PARTIALLY_FILLED" alone made the two-market orders table scroll at 120 columns.
# The Filled column next to it says how much.
STATUS_LABELS: dict[OrderStatus, str] = {
    OrderStatus.PARTIALLY_FILLED: "PARTIAL",
    OrderStatus.PENDING_CANCEL: "CANCELING",
    OrderStatus.EXPIRED_IN_MATCH: "EXPIRED STP",  # expired by self-trade prevention
}


def order_rows(rows: Sequence[OrderUpdateV1], *, tagged: bool = False) -> list[Row]:
    out: list[Row] = []
    for o in reversed(rows):
        market = venue_market(o.venue)
        cells: tuple[str | Text, ...] = (
            hhmm(o.event_time),
            o.symbol,
            f"{o.leg.value}{o.leg_index or ''}",
            _side(o.side.value),
            o.order_type.value,
            STATUS_LABELS.get(o.status, o.status.value),
            dec(o.price if o.price is not None else o.stop_price),
            f"{dec(o.filled_qty)}/{dec(o.orig_qty)}",
        )
        if tagged:  # after the time and the symbol
            cells = (*cells[:2], market_tag(market), *cells[2:])
        out.append((row_key(market, o.client_order_id, tagged), cells))
    return out


def _position_market(p: PositionRow) -> Text:
    """The Mkt cell of a position: a USD-M one carries its leverage (``USD-M 5x``)."""
    tag = market_tag(p.market)
    if p.market == "usdm" and p.leverage:
        tag.append(f" {p.leverage}x")
    return tag


def position_rows(rows: Sequence[PositionRow], *, tagged: bool = False) -> list[Row]:
    """One row per (market, symbol); with several markets a Mkt column and, for USD-M, the
    leverage and liquidation price."""
    out: list[Row] = []
    for p in rows:
        pnl = Text(signed(p.unrealised), justify="right")
        r = Text(signed(p.unrealised_r, 2, "R"), justify="right")
        if p.unrealised is not None:
            style = "green" if p.unrealised >= 0 else "red"
            pnl.stylize(style)
            r.stylize(style)
        cells: tuple[str | Text, ...] = (
            p.symbol,
            _side(p.side),
            dec(p.quantity),
            dec(p.entry),
            dec(p.mark),
            pnl,
            r,
        )
        if tagged:  # Mkt (with USD-M leverage) after the symbol; liquidation price last
            liq = dec(p.liquidation) if p.market == "usdm" and p.liquidation is not None else ""
            cells = (cells[0], _position_market(p), *cells[1:], liq)
        out.append((row_key(p.market, p.symbol, tagged), cells))
    return out


class MarketTable(LineTable):
    """A blotter table that gains market columns (``MARKET_COLUMNS``) while several markets
    are traded, and drops its ``NARROW_DROP`` columns (in that order, only as many as needed)
    while it is too narrow to show all of them, so the columns after them stay on screen.

    A :class:`LineTable` (one cached Strip per row, only changed lines repainted), as the
    watchlist and the signal queue: the positions' marks and PnL move at every poll while prices
    stream, and a DataTable's update invalidates its caches table-wide."""

    MARKET_COLUMNS: tuple[str, ...] = ()
    NARROW_DROP: tuple[str, ...] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.tagged = False
        self.market = "spot"  # the one market traded while not tagged: every row is of it
        self._full_rows: list[Row] = []  # every column's cells, before any is dropped

    @property
    def full_columns(self) -> tuple[str, ...]:
        """Every column of the current mode (with or without the market columns)."""
        return self.MARKET_COLUMNS if self.tagged else self.COLUMNS

    def set_tagged(self, tagged: bool, market: str = "spot") -> None:
        """Show the market columns (several markets traded) or not (only ``market``). Every row
        key changes with them (see :func:`row_key`), so the refill could not find the cursor's
        row by its old key and would leave the cursor at its index — on another row whenever
        rows of the other market sort above it. The row's new key is handed to that refill
        instead (see :func:`rekey`)."""
        was = self.market
        self.market = market
        if tagged == self.tagged:
            return
        key = self.selected_key if self.row_count else self._anchor
        self.tagged = tagged
        self._full_rows = []
        self.set_columns(self.full_columns)
        self._anchor = rekey(key, was, tagged, market) if key is not None else None

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows`` (cells for every one of :attr:`full_columns`), less the columns that
        do not fit (see :meth:`_fit`)."""
        self._full_rows = list(rows)
        self._fit()

    def on_resize(self) -> None:
        # The room changed: a dropped column may fit again, or another one have to go.
        if self.NARROW_DROP:
            self._fit()

    def _fit(self) -> None:
        full = self.full_columns
        rows = self._full_rows
        keep = self._kept(full, rows)
        if len(keep) < len(full):
            rows = [(key, tuple(cells[j] for j in keep if j < len(cells))) for key, cells in rows]
        self.set_columns(tuple(full[j] for j in keep))
        super().show_rows(rows)

    def _kept(self, full: tuple[str, ...], rows: Sequence[Row]) -> list[int]:
        """Indices of the columns to show: all of them when they fit in the room there is (or
        the table has not been laid out yet, or is on a hidden tab: it is fitted again when it
        gets a size), else all but the first ``NARROW_DROP`` columns whose removal makes the
        rest fit (all of ``NARROW_DROP`` at most: then the table scrolls, as before)."""
        keep = list(range(len(full)))
        room = self.scrollable_content_region.width
        if not self.NARROW_DROP or room <= 0:
            return keep
        pad = 2 * self.CELL_PADDING
        widths = [w + pad for w in column_widths(full, rows)]
        total = sum(widths)
        for label in self.NARROW_DROP:
            if total <= room:
                break
            if label in full:
                j = full.index(label)
                keep.remove(j)
                total -= widths[j]
        return keep


class BracketTable(MarketTable):
    """Brackets; with several markets a Mkt column after the symbol.

    With both markets the table is about 116 cells wide (109 with one), the blotter 70 at 120
    columns, so the stop and the fill progress of a bracket fell off the right edge. While it does not fit it
    drops Id first (a hash no one reads: the cancel confirmation names the bracket, and the
    Orders tab ties its legs together), then Targets (the widest cell, three prices, and each
    target is a TP order on the Orders tab and a line on the chart), then Entry (the Positions
    tab has the filled entry, the Orders tab and the chart a working one's limit). What stays
    is what a trader decides on: which symbol and market, which side, what state the bracket is
    in, where its stop is and how much of it is filled."""

    COLUMNS = ("Symbol", "Side", "State", "Entry", "Stop", "Filled", "Targets", "Id")
    MARKET_COLUMNS = ("Symbol", "Mkt", *COLUMNS[1:])
    NARROW_DROP = ("Id", "Targets", "Entry")


class OrderTable(MarketTable):
    """Raw orders, newest first; with several markets a Mkt column after the symbol.

    With both markets the table is about 87 cells wide, the blotter 70 at 120 columns, so the
    price and the fill of each order fell off the right edge. While it does not fit it drops
    Time first (the rows are newest first already, and in a fast session most share the same
    minute), then Type (largely implied by the leg: a working entry or TP rests as a limit, a
    stop as the venue's stop order, and once an order is filled its type no longer matters).
    Symbol, Mkt, Leg, Side, Status, Price and Filled stay: which order of which bracket, is it
    live or done, at what price, how much of it filled."""

    COLUMNS = ("Time", "Symbol", "Leg", "Side", "Type", "Status", "Price", "Filled")
    MARKET_COLUMNS = (*COLUMNS[:2], "Mkt", *COLUMNS[2:])
    NARROW_DROP = ("Time", "Type")


class PositionTable(MarketTable):
    """Positions; with several markets a Mkt column and the liquidation price (Liq) last.

    At 120 columns the blotter is 70 cells wide and the two-market table about 80, so Liq —
    the one number here that warns of a forced close — fell off the right edge. While the
    table does not fit it drops Mark first (the mark is the watchlist's last price and the
    chart's, and uPnL already says where it stands against the entry), then Entry (drawn on
    the chart as the entry line), then R, and keeps Symbol, Mkt, Side, Qty, uPnL and Liq."""

    COLUMNS = ("Symbol", "Side", "Qty", "Entry", "Mark", "uPnL", "R")
    MARKET_COLUMNS = ("Symbol", "Mkt", *COLUMNS[1:], "Liq")
    NARROW_DROP = ("Mark", "Entry", "R")


class Blotter(Vertical):
    """Three tabs over the snapshot's brackets, orders and positions."""

    BINDINGS = bindings(BLOTTER_KEYS)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._brackets: dict[str, BracketRow] = {}
        self._positions: dict[str, PositionRow] = {}
        self._labels: dict[str, str] = {}
        self._subtitle = ""
        self.border_title = "Blotter"

    def compose(self) -> ComposeResult:
        with TabbedContent(id="blotter-tabs"):
            with TabPane("Brackets", id="brackets"):
                yield BracketTable(id="bracket-table")
            with TabPane("Orders", id="orders"):
                yield OrderTable(id="order-table")
            with TabPane("Positions", id="positions"):
                yield PositionTable(id="position-table")

    def show(
        self,
        brackets: Sequence[BracketRow],
        orders: Sequence[OrderUpdateV1],
        positions: Sequence[PositionRow],
        markets: Iterable[str] = (),
        market: str | None = None,
    ) -> None:
        """``markets``: what the pipeline trades (a Mkt column when several, or when a row is
        of another market than the one listed); ``market``: the selected one, named in the
        border while several are traded."""
        traded = set(markets) or {"spot"}
        every = traded | {b.market for b in brackets} | {p.market for p in positions}
        tagged = len(every) > 1
        one = min(every)  # the one market when not tagged (then every row is of it)
        self._brackets = {row_key(b.market, b.bracket_id, tagged): b for b in brackets}
        self._positions = {row_key(p.market, p.symbol, tagged): p for p in positions}
        tables = (
            self.query_one(BracketTable),
            self.query_one(OrderTable),
            self.query_one(PositionTable),
        )
        for table in tables:
            table.set_tagged(tagged, one)
        tables[0].show_rows(bracket_rows(brackets, tagged=tagged))
        tables[1].show_rows(order_rows(orders, tagged=tagged))
        tables[2].show_rows(position_rows(positions, tagged=tagged))
        subtitle = f"{market_label(market)} selected" if tagged and market else ""
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = subtitle
        working = sum(1 for b in brackets if b.state not in _ENDED)
        self._label("brackets", f"Brackets {working}")
        self._label("orders", f"Orders {len(orders)}")
        self._label("positions", f"Positions {len(positions)}")

    def _label(self, tab: str, text: str) -> None:
        """Set a tab's label only when it changed: setting one asks for a layout pass of the
        whole screen, which at the frame rate costs more than everything else in a poll."""
        if self._labels.get(tab) != text:
            self._labels[tab] = text
            self.query_one(TabbedContent).get_tab(tab).label = text  # type: ignore[assignment]

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        table = {"brackets": BracketTable, "orders": OrderTable, "positions": PositionTable}[tab]
        self.query_one(table).focus()

    def action_cancel_bracket(self) -> None:
        if self.active_tab != "brackets":
            self.action_show_tab("brackets")
            self.notify("Pick the bracket to cancel, then press c again", timeout=3)
            return
        key = self.query_one(BracketTable).selected_key
        b = self._brackets.get(key or "")
        if b is None:
            self.notify("No bracket selected", severity="warning", timeout=3)
            return
        self.post_message(BracketCancelRequested(b.bracket_id, b.symbol, b.market))

    def action_close_position(self) -> None:
        if self.active_tab != "positions":
            self.action_show_tab("positions")
            self.notify("Pick the position to close, then press x again", timeout=3)
            return
        key = self.query_one(PositionTable).selected_key
        p = self._positions.get(key or "")
        if p is None:
            self.notify("No open position", severity="warning", timeout=3)
            return
        self.post_message(PositionCloseRequested(p.symbol, p.market))
