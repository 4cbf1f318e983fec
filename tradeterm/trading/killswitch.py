"""Kill switch state and the automatic guards that trip it.

Pure state: tripping records who/why/when and makes :func:`decide` refuse new brackets until a
person resets it; cancelling orders and flattening are the broker's reaction to the trip, not
this module's. Time is always passed in (epoch ms) so a replay trips at the same bar.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.contracts.base import ms_to_iso
from tradeterm.trading.decimals import fmt


class TripSource(StrEnum):
    KEY = "KEY"  # the one key in the UI
    COMMAND = "COMMAND"  # daemon endpoint / CLI
    DRAWDOWN = "DRAWDOWN"
    ERROR_RATE = "ERROR_RATE"


class TripRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: TripSource
    reason: str
    at_ms: int


class KillSwitch(BaseModel):
    """Tripped or not, with the first trip's cause kept (later trips are appended to history)."""

    model_config = ConfigDict(extra="forbid")

    tripped: bool = False
    trip: TripRecord | None = None
    history: list[TripRecord] = Field(default_factory=list)
    reset_by: str | None = None
    reset_at_ms: int | None = None

    def trip_now(self, source: TripSource, reason: str, now_ms: int) -> bool:
        """Trip (idempotent). Returns True only for the trip that changed the state, so the
        caller cancels and flattens once, not on every repeated guard alarm."""
        record = TripRecord(source=source, reason=reason, at_ms=now_ms)
        self.history.append(record)
        if self.tripped:
            return False
        self.tripped = True
        self.trip = record
        return True

    def reset(self, by: str, now_ms: int) -> bool:
        """A person re-arms trading; returns False if it was not tripped."""
        if not self.tripped:
            return False
        self.tripped = False
        self.trip = None
        self.reset_by = by
        self.reset_at_ms = now_ms
        return True

    def refusal(self) -> str | None:
        """Why new decisions are refused, or None when trading is allowed."""
        if not self.tripped or self.trip is None:
            return None
        t = self.trip
        return f"kill switch tripped ({t.source.value}: {t.reason}) at {ms_to_iso(t.at_ms)}"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KillSwitch:
        return cls.model_validate(data)


class ErrorRateWindow:
    """Errors among recent outcomes in a sliding time window.

    ``exceeded`` is true when at least ``max_errors`` errors fall inside ``window_ms`` *and*
    their share of the outcomes reaches ``max_ratio`` (with at least ``min_samples`` outcomes),
    so one failure in a quiet hour does not trip, and a burst of rejects does.
    """

    def __init__(
        self, window_ms: int, max_errors: int, max_ratio: float = 0.5, min_samples: int = 1
    ) -> None:
        if window_ms <= 0 or max_errors <= 0:
            raise ValueError("window_ms and max_errors must be positive")
        self.window_ms = window_ms
        self.max_errors = max_errors
        self.max_ratio = max_ratio
        self.min_samples = min_samples
        self._events: deque[tuple[int, bool]] = deque()

    def record(self, now_ms: int, *, error: bool) -> None:
        if self._events and now_ms < self._events[-1][0]:
            now_ms = self._events[-1][0]  # clocks step back; keep the window ordered
        self._events.append((now_ms, error))
        self._prune(now_ms)

    def _prune(self, now_ms: int) -> None:
        while self._events and self._events[0][0] <= now_ms - self.window_ms:
            self._events.popleft()

    def counts(self, now_ms: int) -> tuple[int, int]:
        """(errors, outcomes) inside the window ending at ``now_ms``."""
        self._prune(now_ms)
        errors = sum(1 for _, e in self._events if e)
        return errors, len(self._events)

    def exceeded(self, now_ms: int) -> bool:
        errors, total = self.counts(now_ms)
        return (
            total >= self.min_samples
            and errors >= self.max_errors
            and errors / total >= self.max_ratio
        )

    def describe(self, now_ms: int) -> str:
        errors, total = self.counts(now_ms)
        return f"{errors} errors in {total} orders within {self.window_ms // 1000}s"


class DrawdownGuard(BaseModel):
    """Tracks peak equity; trips when equity falls ``max_drawdown_pct`` below the peak."""

    model_config = ConfigDict(extra="forbid")

    max_drawdown_pct: Decimal = Field(gt=0, lt=100)
    peak: Decimal | None = None

    def update(self, equity: Decimal) -> str | None:
        """Feed the latest equity; returns a trip reason when the drawdown limit is reached."""
        if self.peak is None or equity > self.peak:
            self.peak = equity
        if self.peak <= 0:
            return None
        drawdown = (self.peak - equity) / self.peak * 100
        if drawdown >= self.max_drawdown_pct:
            return (
                f"drawdown {fmt(drawdown.quantize(Decimal('0.01')))}% from peak {fmt(self.peak)} "
                f"reached the {fmt(self.max_drawdown_pct)}% limit"
            )
        return None


def check_guards(
    switch: KillSwitch,
    now_ms: int,
    *,
    errors: ErrorRateWindow | None = None,
    drawdown: DrawdownGuard | None = None,
    equity: Decimal | None = None,
) -> bool:
    """Run the automatic guards and trip the switch if one fires; True if it newly tripped."""
    tripped = False
    if drawdown is not None and equity is not None:
        reason = drawdown.update(equity)
        if reason:
            tripped |= switch.trip_now(TripSource.DRAWDOWN, reason, now_ms)
    if errors is not None and errors.exceeded(now_ms):
        tripped |= switch.trip_now(TripSource.ERROR_RATE, errors.describe(now_ms), now_ms)
    return tripped
