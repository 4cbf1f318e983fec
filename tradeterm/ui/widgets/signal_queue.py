"""Signal queue: pending trade ideas with their numbers, age and guard state; approve or reject.

Approving does not send anything: it opens the bracket panel prefilled from the signal, where
the trader sees the preview and confirms. Rejecting asks the pipeline to drop the signal.

Each signal's age changes with every bar, so while prices stream the queue is rewritten at every
poll: it is a :class:`~tradeterm.ui.widgets.table.LineTable` (cached Strip per row, only changed
lines repainted) and rebuilds the cells of a row only when its :class:`SignalRow` changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tradeterm.pipeline.readmodel import SignalRow
from tradeterm.ui.keys import SIGNAL_KEYS, bindings
from tradeterm.ui.messages import SignalApproved, SignalRejected
from tradeterm.ui.widgets.format import dec
from tradeterm.ui.widgets.table import LineTable, Row


def signal_row(r: SignalRow) -> Row:
    """The table row of one pending signal."""
    s = r.signal
    side = Text(s.side.value, style="bold green" if s.side.value == "BUY" else "bold red")
    rr = "/".join(dec(x) for x in r.risk_reward) or "-"
    guard = Text("BLOCK", style="bold red") if r.guard_blocked else Text("SAFE", style="green")
    return (
        s.signal_id,
        (
            s.symbol,
            side,
            Text(dec(s.entry), justify="right"),
            Text(dec(s.stop), justify="right"),
            f"{s.score:.2f}",
            guard,
            f"{r.age_bars}/{s.ttl_bars}",
            rr + "R",
        ),
    )


def signal_rows(rows: Sequence[SignalRow]) -> list[Row]:
    """Table rows for ``rows`` (see :func:`signal_row`)."""
    return [signal_row(r) for r in rows]


class SignalQueue(LineTable):
    """Pending signals, newest last. ``a`` approves (opens the panel), ``r`` rejects."""

    BINDINGS = bindings(SIGNAL_KEYS)
    COLUMNS = ("Symbol", "Side", "Entry", "Stop", "Score", "Guard", "Age/TTL", "Targets R:R")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._by_id: dict[str, SignalRow] = {}
        # signal id -> (the SignalRow it was built from, its table row): cells are rebuilt
        # only for the signals that changed since the last poll.
        self._built: dict[str, tuple[SignalRow, Row]] = {}
        self.border_title = "Signals"

    def show(self, rows: Sequence[SignalRow]) -> None:
        self._by_id = {r.signal.signal_id: r for r in rows}
        title = f"Signals ({len(rows)})"
        if title != self.border_title:  # a border title change repaints the whole widget
            self.border_title = title
        built: dict[str, tuple[SignalRow, Row]] = {}
        table: list[Row] = []
        for r in rows:
            cached = self._built.get(r.signal.signal_id)
            row = cached[1] if cached is not None and cached[0] == r else signal_row(r)
            built[r.signal.signal_id] = (r, row)
            table.append(row)
        self._built = built
        self.show_rows(table)
        self._update_tooltip()

    def cursor_moved(self) -> None:
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        row = self._by_id.get(self.selected_key or "")
        if row is None:
            self.tooltip = None
            return
        lines = [f"{row.signal.strategy}: " + ", ".join(row.signal.reasons or ["-"])]
        lines += [f"BLOCK {reason}" for reason in row.guard_reasons]
        self.tooltip = "\n".join(lines)

    def action_approve(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(SignalApproved(key))

    def action_reject(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(SignalRejected(key))
