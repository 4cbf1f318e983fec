"""A yes/no confirmation for anything that cannot be undone (kill switch, cancel, close, send).

``y``/Enter confirm, ``n``/Escape cancel; dangerous actions get the error colour so the
difference reads at a glance, and the words say what will happen (colour is not needed).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tradeterm.ui.keys import CONFIRM_KEYS, bindings


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True (confirmed) or False."""

    BINDINGS = bindings(CONFIRM_KEYS)

    def __init__(
        self, title: str, body: str, *, confirm: str = "Yes", danger: bool = False
    ) -> None:
        super().__init__(classes="-danger" if danger else "")
        self._title = title
        self._body = body
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(self._title, id="confirm-title", markup=False)
            yield Static(self._body, id="confirm-body", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(
                    f"{self._confirm} [y]",
                    id="confirm-yes",
                    variant="error" if self.has_class("-danger") else "primary",
                )
                yield Button("No [n]", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
