"""A one-line option switch (``BUY │ SELL``), driven by left/right/space.

Used where a dropdown would cost two extra keystrokes per change (side, order type, log
filter): the options are few and always visible, and the selection shows as reverse video, which
reads in 16 colours as well as in truecolour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tradeterm.ui.keys import CHOICE_KEYS, bindings


class Choice(Widget, can_focus=True):
    """Pick one of ``options``; posts :class:`Choice.Changed`."""

    BINDINGS = bindings(CHOICE_KEYS)

    @dataclass
    class Changed(Message):
        choice: Choice
        value: str

        @property
        def control(self) -> Choice:
            return self.choice

    index: reactive[int] = reactive(0)

    def __init__(
        self,
        options: Sequence[str],
        value: str | None = None,
        *,
        labels: Sequence[str] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        if not options:
            raise ValueError("Choice needs at least one option")
        self.options = tuple(options)
        self.labels = tuple(labels) if labels is not None else tuple(o.upper() for o in options)
        self.set_reactive(Choice.index, self.options.index(value) if value is not None else 0)

    @property
    def value(self) -> str:
        return self.options[self.index]

    @value.setter
    def value(self, value: str) -> None:
        self.index = self.options.index(value)

    def render(self) -> Text:
        text = Text()
        for i, label in enumerate(self.labels):
            if i:
                text.append(" │ ", style="dim")
            text.append(f" {label} ", style="reverse bold" if i == self.index else "")
        return text

    def watch_index(self, old: int, new: int) -> None:
        if old != new:
            self.post_message(self.Changed(self, self.value))

    def action_cycle(self, step: int) -> None:
        self.index = (self.index + step) % len(self.options)

    def on_click(self) -> None:
        self.focus()
        self.action_cycle(1)
