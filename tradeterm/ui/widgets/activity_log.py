"""Activity log: order updates, guard flips, signals, reconnects and errors, filterable by kind.

The snapshot's log is the pipeline's ring of the last lines (oldest dropped first). When a new
snapshot only appended to it — the usual case — just the new lines that pass the filter are
written: rewriting the whole log (up to 500 lines, each measured and drawn into new Strips) on
every line that arrived cost tens of milliseconds on the UI's loop and churned memory for as
long as the TUI ran. A filter change, or a log that did not simply grow (the ring was replaced),
rewrites it whole, which keeps what is shown a pure function of (lines, kind).
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
MAX_LINES = 500
"""Lines the widget keeps, as many as the pipeline's activity ring. With a filter on, lines that
have left the ring stay on screen (up to this many) until the next rewrite."""


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


def _appended(old: Sequence[LogLine], new: Sequence[LogLine]) -> Sequence[LogLine] | None:
    """The lines ``new`` adds after ``old``'s last one, when ``new`` is ``old`` with lines dropped
    from the front and appended at the end (a ring that moved on); None when it is not.

    Found by identity: the pipeline hands out the same line objects snapshot after snapshot,
    and two equal lines (same millisecond, same text) must not be taken for one another."""
    if not old:
        return None
    last = old[-1]
    for j in range(len(new) - 1, -1, -1):
        if new[j] is last:
            kept = len(old) - len(new[: j + 1])  # lines dropped from the front, if any
            if kept < 0 or any(a is not b for a, b in zip(old[kept:], new[: j + 1], strict=True)):
                return None
            return new[j + 1 :]
    return None


class ActivityLog(Vertical):
    """A kind filter (``f`` cycles it) above the log lines."""

    BINDINGS = bindings(LOG_KEYS)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: tuple[LogLine, ...] = ()
        self.border_title = "Log"

    def compose(self) -> ComposeResult:
        yield Choice(KINDS, "all", labels=KINDS, id="log-filter")
        yield RichLog(id="log-lines", max_lines=MAX_LINES, wrap=False, auto_scroll=True)

    @property
    def kind(self) -> str:
        return self.query_one("#log-filter", Choice).value

    def show(self, lines: Sequence[LogLine]) -> None:
        lines = tuple(lines)
        if lines == self._lines:
            return
        new = _appended(self._lines, lines)
        self._lines = lines
        if new is None:
            self._rewrite()
            return
        log = self.query_one("#log-lines", RichLog)
        for line in filtered(new, self.kind):
            log.write(log_text(line))

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
