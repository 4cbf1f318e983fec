"""Help: every key of the workstation, generated from :data:`tradeterm.ui.keys.KEYMAP`, so it
can never fall behind the bindings."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tradeterm.ui.keys import HELP_KEYS, KEYMAP, Key, bindings


def key_label(display: list[str]) -> str:
    return " / ".join(display)


class HelpScreen(ModalScreen[None]):
    """A scrollable list of keys by section."""

    BINDINGS = bindings(HELP_KEYS)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys  (Esc closes; Ctrl+P finds any command)"
            yield Static(self.help_text(), id="help-text")

    def display_keys(self, k: Key) -> list[str]:
        return [
            self.app.get_key_display(Binding(part.strip(), k.action)) for part in k.key.split(",")
        ]

    def help_text(self) -> Text:
        t = Text()
        for title, keys in KEYMAP:
            t.append(f"{title}\n", style="bold underline")
            for k in keys:
                t.append(f"  {key_label(self.display_keys(k)):<18}", style="bold")
                t.append(f"{k.description}\n")
            t.append("\n")
        return t

    def action_close(self) -> None:
        self.dismiss(None)
