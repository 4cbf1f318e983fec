"""Theme picker: moving through the list restyles the app at once; Enter keeps the theme,
Escape puts the old one back. Themes are the registered tradeterm themes (shipped + user)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tradeterm.ui.keys import PICKER_KEYS, bindings


class ThemePicker(ModalScreen[str | None]):
    """Dismisses with the chosen theme name, or None (the old theme is restored)."""

    BINDINGS = bindings(PICKER_KEYS)

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self._names = list(names)
        self._original = ""

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(n, id=n) for n in self._names), id="theme-list")
        options.border_title = "Theme"
        yield options

    def on_mount(self) -> None:
        self._original = self.app.theme
        options = self.query_one(OptionList)
        if self._original in self._names:
            options.highlighted = self._names.index(self._original)
        options.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.app.theme = event.option.id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        self.dismiss(self.app.theme)

    def action_revert(self) -> None:
        self.app.theme = self._original
        self.dismiss(None)
