"""Blotter: brackets with their state, raw orders, and positions with unrealised PnL in quote
and in R. ``c`` cancels the selected bracket, ``x`` closes the selected position; both ask for a
confirmation on the screen that handles the request.

Markets: when the pipeline trades more than one market (the demo's spot and USD-M), every table
gains a "Mkt" column (``SPOT``/``USD-M``) and rows are keyed by market too — a BTCUSDT spot
position and a BTCUSDT USD-M position are two rows, and ``x`` closes the one under the cursor in
its own market. USD-M positions also show their leverage (``USD-M 5x``) and liquidation price. With one market
the tables look exactly as before. The border's subtitle names the selected market.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import TabbedContent, TabPane

from tradeterm.contracts import OrderUpdateV1
from tradeterm.pipeline.readmodel import BracketRow, PositionRow, market_label
from tradeterm.ui.keys import BLOTTER_KEYS, bindings
from tradeterm.ui.messages import BracketCancelRequested, PositionCloseRequested
from tradeterm.ui.widgets.format import dec, hhmm, signed
from tradeterm.ui.widgets.table import Row, SnapshotTable

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
            o.status.value,
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


class MarketTable(SnapshotTable):
    """A snapshot table that gains market columns (``MARKET_COLUMNS``) while several markets
    are traded. Switching rebuilds the columns once; rows are refilled by the next show."""

    MARKET_COLUMNS: tuple[str, ...] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.tagged = False

    def set_tagged(self, tagged: bool) -> None:
        if tagged == self.tagged:
            return
        self.tagged = tagged
        self._rows = []  # the next show_rows refills every row under the new columns
        self.clear(columns=True)
        self.add_columns(*(self.MARKET_COLUMNS if tagged else self.COLUMNS))


class BracketTable(MarketTable):
    COLUMNS = ("Symbol", "Side", "State", "Entry", "Stop", "Filled", "Targets", "Id")
    MARKET_COLUMNS = ("Symbol", "Mkt", *COLUMNS[1:])


class OrderTable(MarketTable):
    COLUMNS = ("Time", "Symbol", "Leg", "Side", "Type", "Status", "Price", "Filled")
    MARKET_COLUMNS = (*COLUMNS[:2], "Mkt", *COLUMNS[2:])


class PositionTable(MarketTable):
    COLUMNS = ("Symbol", "Side", "Qty", "Entry", "Mark", "uPnL", "R")
    MARKET_COLUMNS = ("Symbol", "Mkt", *COLUMNS[1:], "Liq")


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
        tagged = len(traded | {b.market for b in brackets} | {p.market for p in positions}) > 1
        self._brackets = {row_key(b.market, b.bracket_id, tagged): b for b in brackets}
        self._positions = {row_key(p.market, p.symbol, tagged): p for p in positions}
        tables = (
            self.query_one(BracketTable),
            self.query_one(OrderTable),
            self.query_one(PositionTable),
        )
        for table in tables:
            table.set_tagged(tagged)
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
        self.post_message(BracketCancelRequested(b.bracket_id, b.symbol))

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
