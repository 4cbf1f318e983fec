"""The top line: what is charted, feed state, account, auto-trade, pending signals, kill switch.

It is the one place that is always visible, so on a small terminal (side column hidden) it
still says how many signals wait and whether the kill switch is tripped.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

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
