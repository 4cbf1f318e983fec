"""Messages the workstation's widgets post upward; the main screen turns them into intents.

Widgets never hold the pipeline: they say what the user chose and let the screen decide which
intent that is. That keeps each widget testable alone and the intent calls in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class SymbolChosen(Message):
    """Enter on a watchlist row: chart this symbol."""

    symbol: str


@dataclass
class SignalApproved(Message):
    """``a`` on a pending signal: open the bracket panel prefilled from it."""

    signal_id: str


@dataclass
class SignalRejected(Message):
    """``r`` on a pending signal: drop it."""

    signal_id: str


@dataclass
class BracketCancelRequested(Message):
    """Cancel a working bracket (after a confirmation).

    ``market`` says which account the bracket trades in, so that with spot and USD-M both
    traded the confirmation can name it (the same symbol can have a bracket in each)."""

    bracket_id: str
    symbol: str
    market: str = "spot"


@dataclass
class PositionCloseRequested(Message):
    """Close a position at market (after a confirmation).

    ``market`` says which account's position: with spot and USD-M both traded, the same symbol
    can be held in each, and closing one must never touch the other."""

    symbol: str
    market: str = "spot"
