"""What every guard returns, and the inputs a board hands to its guards.

A guard answers one question for one instant: may a *new entry* be made now? The answer is SAFE
or BLOCK with a human reason and, when it can be known, the instant the answer next changes
(``until_ms``). Knowing "blocked until 14:00" lets the UI show a countdown and the daemon sleep
until then instead of polling; ``None`` means "not on a schedule" (a drawdown stop needs a
person, an EXTREME regime ends when the market calms down).

Guards are pure: the same inputs and ``now_ms`` give the same state, so a backtest can replay
them and tests can flip them on synthetic schedules without a clock.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.contracts import FundingWindowV1, NewsWindowV1, RegimeV1

if TYPE_CHECKING:
    from tradeterm.analysis.guards.feed import FeedFreshness
    from tradeterm.analysis.guards.news import NewsSchedule


class GuardStatus(StrEnum):
    SAFE = "SAFE"
    BLOCK = "BLOCK"


class GuardState(BaseModel):
    """One guard's verdict at one instant.

    ``until_ms``: the first millisecond at which this status is expected to change (a BLOCK
    lifts, or a SAFE turns into a scheduled BLOCK); ``None`` when no such time is known.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    status: GuardStatus
    reason: str = Field(min_length=1)
    until_ms: int | None = None

    @property
    def blocked(self) -> bool:
        return self.status is GuardStatus.BLOCK


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    """Account equity as the drawdown guard needs it (quote currency)."""

    equity: Decimal
    peak_equity: Decimal
    day_start_equity: Decimal


@dataclass(frozen=True, slots=True)
class ExposureSnapshot:
    """Open risk across positions and resting entries, in R (1R = the risk of one trade)."""

    open_risk_r: Decimal
    open_positions: int


@dataclass(frozen=True, slots=True)
class GuardInputs:
    """Everything the guards read. A field left empty means "no data": each guard then says
    SAFE with a reason that says so, or BLOCK if it was configured to fail closed."""

    news: NewsSchedule | Sequence[NewsWindowV1] = ()
    funding: FundingWindowV1 | None = None
    regime: RegimeV1 | None = None
    equity: EquitySnapshot | None = None
    exposure: ExposureSnapshot | None = None
    feed: FeedFreshness | None = None  # live profiles only: when each series of the symbol last updated


@runtime_checkable
class Guard(Protocol):
    """A named rule that turns (inputs, now) into a :class:`GuardState`."""

    name: str

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState: ...


class Memo:
    """A guard's last answer, the input it was for, and the instants ``[lo, hi)`` over which that
    answer provably holds for that input (``hi=None``: from ``lo`` on).

    Guards are evaluated once per candle per stream but their answers change only at scheduled
    instants, so remembering the answer over its span turns most evaluations into two integer
    comparisons and an identity check — without making the guard impure: the memoised answer is
    by construction the one a fresh guard would give (tested).
    """

    __slots__ = ("_hi", "_key", "_lo", "_state")

    def __init__(self) -> None:
        self._state: GuardState | None = None
        self._key: object = None
        self._lo = 0
        self._hi: int | None = None

    def get(self, key: object, now_ms: int) -> GuardState | None:
        s = self._state
        if s is None or now_ms < self._lo or (self._hi is not None and now_ms >= self._hi):
            return None
        k = self._key
        return s if key is k or (type(key) is type(k) and key == k) else None

    def put(self, key: object, lo: int, hi: int | None, state: GuardState) -> GuardState:
        self._key, self._lo, self._hi, self._state = key, lo, hi, state
        return state


def safe(name: str, reason: str, until_ms: int | None = None) -> GuardState:
    return GuardState(name=name, status=GuardStatus.SAFE, reason=reason, until_ms=until_ms)


def block(name: str, reason: str, until_ms: int | None = None) -> GuardState:
    return GuardState(name=name, status=GuardStatus.BLOCK, reason=reason, until_ms=until_ms)


def missing(name: str, what: str, fail_closed: bool) -> GuardState:
    """The state of a guard whose input is absent: fail open or closed, and say which."""
    if fail_closed:
        return block(name, f"no {what} (configured to block without it)")
    return safe(name, f"no {what}")


@functools.lru_cache(maxsize=4096)
def fmt_ms(ms: int) -> str:
    """Compact UTC time for reasons: ``2026-01-13 13:30Z`` (seconds only when not zero)."""
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    text = dt.strftime("%Y-%m-%d %H:%M")
    if dt.second or ms % 1000:
        text += f":{dt.second:02d}"
    return text + "Z"


def fmt_pct(x: float) -> str:
    return f"{100.0 * x:.4g}%"
