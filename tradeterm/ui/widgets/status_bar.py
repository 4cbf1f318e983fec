"""The screen's two status lines.

:class:`StatusBar`, the top line: what is charted, feed state, account, auto-trade, pending
signals, kill switch. It is the one place that is always visible, so on a small terminal (side
column hidden) it still says how many signals wait and whether the kill switch is tripped.

:class:`KeyFooter`, the bottom line: Textual's footer of the keys that work now, rebuilt only
when those keys actually change.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Footer, Static

from tradeterm.pipeline.readmodel import Snapshot
from tradeterm.ui.widgets.format import num, signed


def status_text(snap: Snapshot) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f" {snap.symbol} ", style="bold reverse")
    t.append(f" {snap.tf} ", style="bold")
    t.append(f"│ {snap.feed_status} ")
    a = snap.account
    if a is not None:
        t.append(f"│ eq {num(a.equity)} {a.quote_asset} ")
        t.append(f"avail {num(a.available)} ")
        t.append("day ")
        t.append(signed(a.day_pnl), style="green" if a.day_pnl >= 0 else "red")
        t.append(f" DD {num(a.drawdown_pct, 1)}% ")
    t.append("│ auto ")
    t.append("ON " if snap.auto_trade else "off ", style="bold" if snap.auto_trade else "dim")
    pending = len(snap.signals)
    t.append(f"│ {pending} signal{'s' if pending != 1 else ''} ", style="bold" if pending else "")
    if a is not None and a.kill_switch:
        t.append(" KILL SWITCH TRIPPED ", style="bold reverse red")
        if a.kill_reason:
            t.append(f" {a.kill_reason}")
    return t


class StatusBar(Static):
    """One line; gets the ``-tripped`` class while the kill switch is tripped."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(" starting…", id=id, markup=False)
        self._version = -1

    def show(self, snap: Snapshot) -> None:
        if snap.version == self._version:
            return
        self._version = snap.version
        # One row across the screen (see app.tcss): new text never needs a layout pass, which
        # would cost a reflow of every widget at the frame rate.
        self.update(status_text(snap), layout=False)
        self.set_class(bool(snap.account and snap.account.kill_switch), "-tripped")


def _bindings_signature(screen: Screen[Any]) -> tuple[object, ...]:
    """What the footer draws from ``screen.active_bindings``: every binding with its enabled
    state and tooltip (Bindings are frozen dataclasses, so tuples of them compare by value)."""
    return tuple(
        (binding, enabled, tooltip) for _, binding, enabled, tooltip in screen.active_bindings.values()
    )


class KeyFooter(Footer):
    """Textual's :class:`~textual.widgets.Footer` that recomposes only when its keys change.

    Why: Textual's footer removes and re-mounts every key widget each time the screen publishes
    ``bindings_updated_signal`` — twice per focus change (the ``focused`` watcher and a
    call-after-refresh), and again whenever any widget refreshes its bindings. Each rebuild mounts
    ~20 widgets, styles them and lays out the whole screen: 20-60 ms on the event loop, which made
    focus keys the slowest keys of the workstation (``bench/ui_bench.py --section latency``).
    Here a change is queued once, and on the next refresh the footer compares the bindings it
    would draw with the ones it drew; if they are equal nothing happens. The output is the same
    widgets, so the footer looks exactly as before.
    """

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._drawn: tuple[object, ...] | None = None
        self._check_queued = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._check_queued:
            self._check_queued = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._check_queued = False
        if not self.is_attached:
            return
        signature = (_bindings_signature(self.screen), self.show_command_palette, self.compact)
        if signature != self._drawn:
            self._drawn = signature
            await self.recompose()
