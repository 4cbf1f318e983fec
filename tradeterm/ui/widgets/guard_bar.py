"""Guard badges: one SAFE/BLOCK badge per guard, and a detail line with the reason and until-time.

The words SAFE and BLOCK are always printed (not only coloured), so the state reads on a
16-colour SSH session or a monochrome terminal. The detail line follows the guard picked with
left/right (or under the mouse); with none picked it shows the first BLOCK, since that is what
a trader needs to know. Each badge also carries the same text as a tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from tradeterm.analysis.guards.base import GuardState, fmt_ms
from tradeterm.ui.keys import GUARD_KEYS, bindings

SHORT = {
    "news": "NEWS",
    "funding": "FUND",
    "session": "SESS",
    "regime": "REGM",
    "drawdown": "DD",
    "exposure": "EXPO",
    "heartbeat": "HBT",
}


def guard_detail(g: GuardState) -> str:
    until = f" (until {fmt_ms(g.until_ms)})" if g.until_ms is not None else ""
    return f"{g.name} {g.status.value}: {g.reason}{until}"


class GuardBadge(Static):
    """One guard; hovering it shows its detail in the bar (handled by :class:`GuardBar`)."""

    def __init__(self, state: GuardState) -> None:
        super().__init__(classes="guard-badge")
        self.state = state
        self._label = ""

    def set_state(self, state: GuardState) -> None:
        """Show ``state``. The badge text is touched only when it changes: a text update asks
        for a layout pass of the whole screen, and the reasons (with their until-times) change
        on every tick while the SAFE/BLOCK word rarely does."""
        self.state = state
        label = f"{SHORT.get(state.name, state.name.upper()[:5])} {state.status.value}"
        if label != self._label:
            self._label = label
            self.update(label)
        self.set_class(state.blocked, "-block")
        self.set_class(not state.blocked, "-safe")
        detail = guard_detail(state)
        if self.tooltip != detail:
            self.tooltip = detail

    def on_mount(self) -> None:
        self.set_state(self.state)


class GuardBar(Widget, can_focus=True):
    """Badges for every guard of the charted symbol plus a detail line."""

    BINDINGS = bindings(GUARD_KEYS)

    picked: reactive[int] = reactive(-1)
    hovered: reactive[str | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._states: tuple[GuardState, ...] = ()

    def compose(self) -> ComposeResult:
        yield Widget(id="guard-badges")
        yield Static(id="guard-detail")

    @property
    def states(self) -> tuple[GuardState, ...]:
        return self._states

    def show(self, states: Sequence[GuardState]) -> None:
        states = tuple(states)
        if states == self._states:
            return
        names_changed = [g.name for g in states] != [g.name for g in self._states]
        self._states = states
        row = self.query_one("#guard-badges")
        if names_changed:
            row.remove_children()
            row.mount_all([GuardBadge(g) for g in states])
        else:
            for badge, g in zip(row.query(GuardBadge), states):
                badge.set_state(g)
        self._refresh_detail()

    def detail_text(self) -> str:
        """What the detail line says now (for tests and the status of a hovered badge)."""
        by_name = {g.name: g for g in self._states}
        if self.hovered in by_name:
            return guard_detail(by_name[self.hovered])  # type: ignore[index]
        if 0 <= self.picked < len(self._states):
            return guard_detail(self._states[self.picked])
        blocked = [g for g in self._states if g.blocked]
        if blocked:
            return guard_detail(blocked[0])
        return "all guards SAFE" if self._states else "no guard data yet"

    def _refresh_detail(self) -> None:
        text = Text(self.detail_text())
        if any(g.blocked for g in self._states):
            text.stylize("bold", 0, len(text.plain.split(":")[0]))
        # One row of fixed size (see app.tcss): new text never needs a layout pass.
        self.query_one("#guard-detail", Static).update(text, layout=False)
        for i, badge in enumerate(self.query(GuardBadge)):
            badge.set_class(i == self.picked, "-picked")

    def watch_picked(self) -> None:
        self._refresh_detail()

    def watch_hovered(self) -> None:
        self._refresh_detail()

    def on_enter(self, event: events.Enter) -> None:
        self.hovered = event.node.state.name if isinstance(event.node, GuardBadge) else None

    def on_leave(self, event: events.Leave) -> None:
        self.hovered = None

    def on_blur(self) -> None:
        self.picked = -1

    def on_focus(self) -> None:
        if self.picked < 0 and self._states:
            self.picked = 0

    def action_move(self, step: int) -> None:
        if self._states:
            self.picked = (max(self.picked, 0) + step) % len(self._states)
