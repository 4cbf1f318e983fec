"""Signal queue: pending trade ideas with their numbers, age and guard state; approve or reject.

Approving does not send anything: it opens the bracket panel prefilled from the signal, where
the trader sees the preview and confirms. Rejecting asks the pipeline to drop the signal.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tradeterm.pipeline.readmodel import SignalRow
from tradeterm.ui.keys import SIGNAL_KEYS, bindings
from tradeterm.ui.messages import SignalApproved, SignalRejected
from tradeterm.ui.widgets.format import dec
from tradeterm.ui.widgets.table import Row, SnapshotTable


def signal_rows(rows: Sequence[SignalRow]) -> list[Row]:
    out: list[Row] = []
    for r in rows:
        s = r.signal
        side = Text(s.side.value, style="bold green" if s.side.value == "BUY" else "bold red")
        rr = "/".join(dec(x) for x in r.risk_reward) or "-"
        guard = Text("BLOCK", style="bold red") if r.guard_blocked else Text("SAFE", style="green")
        out.append(
            (
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
        )
    return out


class SignalQueue(SnapshotTable):
    """Pending signals, newest last. ``a`` approves (opens the panel), ``r`` rejects."""

    BINDINGS = bindings(SIGNAL_KEYS)
    COLUMNS = ("Symbol", "Side", "Entry", "Stop", "Score", "Guard", "Age/TTL", "Targets R:R")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._by_id: dict[str, SignalRow] = {}
        self.border_title = "Signals"

    def show(self, rows: Sequence[SignalRow]) -> None:
        self._by_id = {r.signal.signal_id: r for r in rows}
        self.border_title = f"Signals ({len(rows)})"
        self.show_rows(signal_rows(rows))
        self._update_tooltip()

    def watch_cursor_coordinate(self, old: object, new: object) -> None:
        super().watch_cursor_coordinate(old, new)  # type: ignore[arg-type]
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
