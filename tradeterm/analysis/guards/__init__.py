"""Guards: pure rules that say SAFE or BLOCK for new entries, with a reason and an end time.

Each guard is a small class with ``evaluate(inputs, now_ms) -> GuardState``; :class:`GuardBoard`
runs them all. Inputs come in one :class:`GuardInputs` value so the live pipeline, a backtest and
a test can all hand over the same thing. Nothing here reads files or clocks: the calendar parser
takes text, and ``now_ms`` is always an argument.
"""

from __future__ import annotations

from tradeterm.analysis.guards.base import (
    EquitySnapshot,
    ExposureSnapshot,
    Guard,
    GuardInputs,
    GuardState,
    GuardStatus,
)
from tradeterm.analysis.guards.board import BoardState, GuardBoard
from tradeterm.analysis.guards.calendar import (
    CalendarError,
    CalendarEvent,
    calendar_format,
    parse_calendar,
)
from tradeterm.analysis.guards.drawdown import DrawdownGuard, DrawdownGuardConfig, EquityTracker
from tradeterm.analysis.guards.exposure import ExposureGuard, ExposureGuardConfig
from tradeterm.analysis.guards.feed import (
    FeedFreshness,
    FeedGuard,
    FeedGuardConfig,
    SeriesFreshness,
)
from tradeterm.analysis.guards.funding import FundingGuard, FundingGuardConfig
from tradeterm.analysis.guards.news import NewsGuard, NewsGuardConfig, NewsSchedule
from tradeterm.analysis.guards.regime import RegimeGuard, RegimeGuardConfig
from tradeterm.analysis.guards.session import SessionGuard, SessionGuardConfig


def default_board() -> GuardBoard:
    """Every guard with its default settings, in the order the UI shows them."""
    return GuardBoard(
        [
            NewsGuard(),
            FundingGuard(),
            SessionGuard(),
            RegimeGuard(),
            DrawdownGuard(),
            ExposureGuard(),
            FeedGuard(),
        ]
    )


__all__ = [
    "BoardState",
    "CalendarError",
    "CalendarEvent",
    "DrawdownGuard",
    "DrawdownGuardConfig",
    "EquitySnapshot",
    "EquityTracker",
    "ExposureGuard",
    "ExposureGuardConfig",
    "ExposureSnapshot",
    "FeedFreshness",
    "FeedGuard",
    "FeedGuardConfig",
    "FundingGuard",
    "FundingGuardConfig",
    "Guard",
    "GuardBoard",
    "GuardInputs",
    "GuardState",
    "GuardStatus",
    "NewsGuard",
    "NewsGuardConfig",
    "NewsSchedule",
    "RegimeGuard",
    "RegimeGuardConfig",
    "SeriesFreshness",
    "SessionGuard",
    "SessionGuardConfig",
    "calendar_format",
    "default_board",
    "parse_calendar",
]
