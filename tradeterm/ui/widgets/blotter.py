"""Blotter: brackets with their state, raw orders, and positions with unrealised PnL in quote
and in R. ``c`` cancels the selected bracket, ``x`` closes the selected position; both ask for a
confirmation on the screen that handles the request."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import TabbedContent, TabPane

from tradeterm.contracts import OrderUpdateV1
from tradeterm.pipeline.readmodel import BracketRow, PositionRow
from tradeterm.ui.keys import BLOTTER_KEYS, bindings
from tradeterm.ui.messages import BracketCancelRequested, PositionCloseRequested
from tradeterm.ui.widgets.format import dec, hhmm, signed
from tradeterm.ui.widgets.table import Row, SnapshotTable

_ENDED = {"CANCELED", "CLOSED", "EXPIRED"}


def _side(side: str) -> Text:
    return Text(side, style="green" if side == "BUY" else "red")


def bracket_rows(rows: Sequence[BracketRow]) -> list[Row]:
    """Working brackets first, then ended ones (newest first within each group)."""
    ordered = [b for b in reversed(rows) if b.state not in _ENDED] + [
        b for b in reversed(rows) if b.state in _ENDED
    ]
    return [
        (
            b.bracket_id,
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
        )
        for b in ordered
    ]


def order_rows(rows: Sequence[OrderUpdateV1]) -> list[Row]:
    return [
        (
            o.client_order_id,
            (
                hhmm(o.event_time),
                o.symbol,
                f"{o.leg.value}{o.leg_index or ''}",
                _side(o.side.value),
                o.order_type.value,
                o.status.value,
                dec(o.price if o.price is not None else o.stop_price),
                f"{dec(o.filled_qty)}/{dec(o.orig_qty)}",
            ),
        )
        for o in reversed(rows)
    ]


def position_rows(rows: Sequence[PositionRow]) -> list[Row]:
    out: list[Row] = []
    for p in rows:
        pnl = Text(signed(p.unrealised), justify="right")
        r = Text(signed(p.unrealised_r, 2, "R"), justify="right")
        if p.unrealised is not None:
            style = "green" if p.unrealised >= 0 else "red"
            pnl.stylize(style)
            r.stylize(style)
        out.append(
            (
                p.symbol,
                (p.symbol, _side(p.side), dec(p.quantity), dec(p.entry), dec(p.mark), pnl, r),
            )
        )
    return out


class BracketTable(SnapshotTable):
    COLUMNS = ("Symbol", "Side", "State", "Entry", "Stop", "Filled", "Targets", "Id")


class OrderTable(SnapshotTable):
    COLUMNS = ("Time", "Symbol", "Leg", "Side", "Type", "Status", "Price", "Filled")


class PositionTable(SnapshotTable):
    COLUMNS = ("Symbol", "Side", "Qty", "Entry", "Mark", "uPnL", "R")


class Blotter(Vertical):
    """Three tabs over the snapshot's brackets, orders and positions."""

    BINDINGS = bindings(BLOTTER_KEYS)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._brackets: dict[str, BracketRow] = {}
        self._labels: dict[str, str] = {}
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
    ) -> None:
        self._brackets = {b.bracket_id: b for b in brackets}
        self.query_one(BracketTable).show_rows(bracket_rows(brackets))
        self.query_one(OrderTable).show_rows(order_rows(orders))
        self.query_one(PositionTable).show_rows(position_rows(positions))
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
        if key is None:
            self.notify("No open position", severity="warning", timeout=3)
            return
        self.post_message(PositionCloseRequested(key))
