"""Every key of the workstation as data, grouped by where it works (Harlequin style).

One table drives three things: the widgets' ``BINDINGS`` (via :func:`bindings`), the help
screen (which lists :data:`KEYMAP` section by section) and the command palette (which offers
every action that has a key). Nothing here imports a widget, so a keymap file or a test can read
the keys without building the UI. Key names are Textual's (``left_square_bracket``, ``f1``).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from tradeterm.ui.widgets.chart.keys import CHART_KEYS


@dataclass(frozen=True, slots=True)
class Key:
    """One key: ``action`` runs on the widget (or screen/app) that owns the section."""

    key: str
    action: str
    description: str
    show: bool = True
    priority: bool = False
    id: str = ""


APP_KEYS: tuple[Key, ...] = (
    Key("ctrl+k", "kill_switch", "KILL SWITCH", priority=True, id="kill_switch"),
    Key("f1,question_mark", "help", "Help", id="help"),
    Key("ctrl+p", "command_palette", "Commands", show=False, id="command_palette"),
    Key("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit"),
)
"""Work on every screen (the kill switch even over the bracket panel): bound on the App."""

SCREEN_KEYS: tuple[Key, ...] = (
    Key("n", "new_bracket", "New bracket", id="new_bracket"),
    Key("M", "switch_market", "Switch market (spot / USD-M)", show=False, id="switch_market"),
    Key("left_square_bracket", "timeframe(-1)", "Timeframe down", show=False, id="tf_down"),
    Key("right_square_bracket", "timeframe(1)", "Timeframe up", show=False, id="tf_up"),
    Key("ctrl+t", "pick_theme", "Theme", show=False, id="pick_theme"),
    Key("ctrl+b", "toggle_side", "Side panels", show=False, id="toggle_side"),
    Key("ctrl+o", "toggle_auto_trade", "Auto-trade on/off", show=False, id="auto_trade"),
    Key("ctrl+r", "reset_kill_switch", "Reset kill switch", show=False, id="reset_kill"),
    Key("f2", "focus_panel('chart')", "Focus chart", show=False, id="focus_chart"),
    Key("f3", "focus_panel('watchlist')", "Focus watchlist", show=False, id="focus_watchlist"),
    Key("f4", "focus_panel('signals')", "Focus signals", show=False, id="focus_signals"),
    Key("f5", "focus_panel('blotter')", "Focus blotter", show=False, id="focus_blotter"),
    Key("f6", "focus_panel('log')", "Focus log", show=False, id="focus_log"),
    Key("f7", "focus_panel('guards')", "Focus guards", show=False, id="focus_guards"),
)
"""Work on the workstation screen: bound on it."""

GLOBAL_KEYS: tuple[Key, ...] = APP_KEYS + SCREEN_KEYS

WATCHLIST_KEYS: tuple[Key, ...] = (
    Key("enter", "choose", "Chart this symbol", id="watchlist.choose"),
    Key("j", "cursor_down", "Down", show=False, id="watchlist.down"),
    Key("k", "cursor_up", "Up", show=False, id="watchlist.up"),
)

SIGNAL_KEYS: tuple[Key, ...] = (
    Key("a,enter", "approve", "Approve", id="signals.approve"),
    Key("r", "reject", "Reject", id="signals.reject"),
    Key("j", "cursor_down", "Down", show=False, id="signals.down"),
    Key("k", "cursor_up", "Up", show=False, id="signals.up"),
)

GUARD_KEYS: tuple[Key, ...] = (
    Key("left,h", "move(-1)", "Previous guard", show=False, id="guards.prev"),
    Key("right,l", "move(1)", "Next guard", show=False, id="guards.next"),
)

BLOTTER_KEYS: tuple[Key, ...] = (
    Key("c,delete", "cancel_bracket", "Cancel bracket", id="blotter.cancel"),
    Key("x", "close_position", "Close position", id="blotter.close"),
    Key("b", "show_tab('brackets')", "Brackets tab", show=False, id="blotter.brackets"),
    Key("o", "show_tab('orders')", "Orders tab", show=False, id="blotter.orders"),
    Key("p", "show_tab('positions')", "Positions tab", show=False, id="blotter.positions"),
)

LOG_KEYS: tuple[Key, ...] = (
    Key("f", "cycle_filter(1)", "Next kind filter", id="log.filter_next"),
    Key("F", "cycle_filter(-1)", "Previous kind filter", show=False, id="log.filter_prev"),
)

PANEL_KEYS: tuple[Key, ...] = (
    Key("ctrl+s", "review", "Review & send", priority=True, id="panel.review"),
    Key("escape", "close", "Close", id="panel.close"),
)

CHOICE_KEYS: tuple[Key, ...] = (
    Key("left,h", "cycle(-1)", "Previous option", show=False, id="choice.prev"),
    Key("right,l,space", "cycle(1)", "Next option", show=False, id="choice.next"),
)

CONFIRM_KEYS: tuple[Key, ...] = (
    Key("y,enter", "confirm", "Yes", id="confirm.yes"),
    Key("n,escape", "cancel", "No", id="confirm.no"),
)

PICKER_KEYS: tuple[Key, ...] = (
    Key("enter", "apply", "Use theme", id="picker.apply"),
    Key("escape", "revert", "Back (keep the old theme)", id="picker.revert"),
)

HELP_KEYS: tuple[Key, ...] = (
    Key("escape,f1,question_mark,q", "close", "Close help", id="help.close"),
)


def chart_keys() -> tuple[Key, ...]:
    """The chart's own key table (owned by the chart package) in this module's shape."""
    return tuple(
        Key(key, action, description, show, id="chart." + action)
        for key, action, description, show in CHART_KEYS
    )


KEYMAP: tuple[tuple[str, tuple[Key, ...]], ...] = (
    ("Global", GLOBAL_KEYS),
    ("Chart (F2)", chart_keys()),
    ("Watchlist (F3)", WATCHLIST_KEYS),
    ("Signal queue (F4)", SIGNAL_KEYS),
    ("Blotter (F5)", BLOTTER_KEYS),
    ("Activity log (F6)", LOG_KEYS),
    ("Guard badges (F7)", GUARD_KEYS),
    ("Bracket panel", PANEL_KEYS + CHOICE_KEYS),
    ("Confirmations", CONFIRM_KEYS),
    ("Theme picker", PICKER_KEYS),
    ("Help", HELP_KEYS),
)


BindingList = list[Binding | tuple[str, str] | tuple[str, str, str]]


def bindings(keys: tuple[Key, ...]) -> BindingList:
    """``keys`` as Textual bindings; the ``id`` lets ``App.set_keymap`` remap any of them."""
    return [
        Binding(k.key, k.action, k.description, show=k.show, priority=k.priority, id=k.id or None)
        for k in keys
    ]
