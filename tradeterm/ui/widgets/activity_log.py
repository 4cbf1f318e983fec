"""Activity log: order updates, guard flips, signals, reconnects and errors, filterable by kind.

The log tuple of a snapshot is short and changes rarely, so on a change the visible lines are
rewritten whole; that keeps the filter a pure function of (lines, kind) with no bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog

from tradeterm.pipeline.readmodel import LogLine
from tradeterm.ui.keys import LOG_KEYS, bindings
from tradeterm.ui.widgets.choice import Choice
from tradeterm.ui.widgets.format import hhmm

KINDS: tuple[str, ...] = ("all", "order", "guard", "signal", "feed", "system", "error")
_LEVEL_STYLE = {"DEBUG": "dim", "INFO": "", "WARNING": "yellow", "ERROR": "bold red"}


def filtered(lines: Sequence[LogLine], kind: str) -> list[LogLine]:
    """Lines of one kind; ``error`` also takes every ERROR-level line, whatever its kind."""
    if kind == "all":
        return list(lines)
    if kind == "error":
        return [x for x in lines if x.kind == "error" or x.level == "ERROR"]
    return [x for x in lines if x.kind == kind]


def log_text(line: LogLine) -> Text:
    t = Text(no_wrap=True)
    t.append(hhmm(line.at_ms), style="dim")
    t.append(f" {line.kind:<6} ", style="bold")
    t.append(line.text, style=_LEVEL_STYLE.get(line.level, ""))
    return t


class ActivityLog(Vertical):
    """A kind filter (``f`` cycles it) above the log lines."""

    BINDINGS = bindings(LOG_KEYS)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: tuple[LogLine, ...] = ()
        self.border_title = "Log"

    def compose(self) -> ComposeResult:
        yield Choice(KINDS, "all", labels=KINDS, id="log-filter")
        yield RichLog(id="log-lines", max_lines=1000, wrap=False, auto_scroll=True)

    @property
    def kind(self) -> str:
        return self.query_one("#log-filter", Choice).value

    def show(self, lines: Sequence[LogLine]) -> None:
        lines = tuple(lines)
        if lines != self._lines:
            self._lines = lines
            self._rewrite()

    def visible_lines(self) -> list[LogLine]:
        """The lines the current filter shows."""
        return filtered(self._lines, self.kind)

    def _rewrite(self) -> None:
        log = self.query_one("#log-lines", RichLog)
        log.clear()
        for line in self.visible_lines():
            log.write(log_text(line))

    def on_choice_changed(self, event: Choice.Changed) -> None:
        event.stop()
        self._rewrite()

    def action_cycle_filter(self, step: int) -> None:
        self.query_one("#log-filter", Choice).action_cycle(step)
