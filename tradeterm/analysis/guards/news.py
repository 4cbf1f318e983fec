"""News guard: no new entries in the minutes around high-impact releases.

Spreads widen and price gaps on CPI, NFP or a rate decision; a limit entry placed by a setup
that was valid a minute earlier fills at the worst price. The guard blocks the half-open window
``[event - minutes_before, event + minutes_after)``; windows that overlap or touch merge into one
block, so ``until_ms`` is when trading really resumes, not the end of the first of two releases.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.analysis.guards.base import GuardInputs, GuardState, Memo, block, fmt_ms, safe
from tradeterm.analysis.guards.calendar import CalendarEvent
from tradeterm.contracts import Impact, NewsWindowV1

_MINUTE = 60_000
_IMPACT_RANK = {Impact.LOW: 0, Impact.MEDIUM: 1, Impact.HIGH: 2}


class NewsGuardConfig(BaseModel):
    """``currencies``: only events of these currencies block (empty: all; events without a
    currency always block, since nobody can say they are harmless)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    minutes_before: int = Field(default=30, ge=0, le=24 * 60)
    minutes_after: int = Field(default=30, ge=0, le=24 * 60)
    min_impact: Impact = Impact.HIGH
    currencies: tuple[str, ...] = ()
    fail_closed: bool = False


@dataclass(frozen=True, slots=True)
class _Block:
    start: int
    end: int
    windows: tuple[NewsWindowV1, ...]


class NewsSchedule:
    """News windows merged into disjoint blocks, searchable in O(log n) per evaluation."""

    def __init__(self, windows: Iterable[NewsWindowV1]) -> None:
        ordered = sorted(windows, key=lambda w: (w.block_from, w.block_until))
        blocks: list[_Block] = []
        for w in ordered:
            if blocks and w.block_from <= blocks[-1].end:
                last = blocks[-1]
                blocks[-1] = _Block(last.start, max(last.end, w.block_until), (*last.windows, w))
            else:
                blocks.append(_Block(w.block_from, w.block_until, (w,)))
        self._blocks = blocks
        self._starts = [b.start for b in blocks]
        self.windows: tuple[NewsWindowV1, ...] = tuple(ordered)

    def __len__(self) -> int:
        return len(self.windows)

    def at(self, now_ms: int) -> tuple[_Block | None, _Block | None]:
        """(the block containing now, the next block after now)."""
        i = bisect.bisect_right(self._starts, now_ms) - 1
        current = self._blocks[i] if i >= 0 and now_ms < self._blocks[i].end else None
        nxt = self._blocks[i + 1] if i + 1 < len(self._blocks) else None
        return current, nxt


class NewsGuard:
    """Blocks around calendar events; also turns calendar rows into ``news_window.v1``."""

    def __init__(self, config: NewsGuardConfig | None = None, name: str = "news") -> None:
        self.config = config or NewsGuardConfig()
        self.name = name
        self._currencies = frozenset(c.upper() for c in self.config.currencies)
        self._memo = Memo()
        self._seq: object = None  # the last plain sequence given, and its schedule
        self._seq_schedule: NewsSchedule | None = None

    def windows(
        self, events: Iterable[CalendarEvent], source: str | None = None
    ) -> list[NewsWindowV1]:
        """The block windows of the events that matter (impact and currency filters applied)."""
        cfg = self.config
        out = []
        for e in events:
            if _IMPACT_RANK[e.impact] < _IMPACT_RANK[cfg.min_impact]:
                continue
            if self._currencies and e.currency and e.currency.upper() not in self._currencies:
                continue
            title = e.title if len(e.title) <= 256 else e.title[:255] + "…"
            out.append(
                NewsWindowV1(
                    event_id=(e.uid or f"{e.time_ms}:{title}")[:128],
                    title=title,
                    currency=e.currency[:16] if e.currency else None,
                    impact=e.impact,
                    event_time=e.time_ms,
                    block_from=e.time_ms - cfg.minutes_before * _MINUTE,
                    block_until=e.time_ms + cfg.minutes_after * _MINUTE,
                    source=source,
                )
            )
        out.sort(key=lambda w: (w.block_from, w.event_time))
        return out

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState:
        """Pass a :class:`NewsSchedule` (built once) for speed; a plain tuple of windows works
        too and is turned into a schedule once per distinct tuple object."""
        schedule = self._schedule(inputs.news)
        hit = self._memo.get(schedule, now_ms)
        if hit is not None:
            return hit
        if not len(schedule):
            if self.config.fail_closed:
                state = block(self.name, "no news calendar (configured to block without it)")
            else:
                state = safe(self.name, "no news calendar loaded")
            return self._memo.put(schedule, now_ms, None, state)
        current, nxt = schedule.at(now_ms)
        if current is not None:
            live = [w for w in current.windows if w.block_from <= now_ms < w.block_until]
            what = ", ".join(f"{w.title} at {fmt_ms(w.event_time)}" for w in live)
            # the wording holds until a window of this block starts or ends
            edges = [
                t for w in current.windows for t in (w.block_from, w.block_until) if t > now_ms
            ]
            state = block(self.name, f"{_impact_word(live)} news: {what}", current.end)
            return self._memo.put(schedule, now_ms, min(edges), state)
        if nxt is None:
            return self._memo.put(
                schedule, now_ms, None, safe(self.name, "no news ahead in the calendar")
            )
        first = nxt.windows[0]
        state = safe(
            self.name, f"no news now; next: {first.title} at {fmt_ms(first.event_time)}", nxt.start
        )
        return self._memo.put(schedule, now_ms, nxt.start, state)

    def _schedule(self, news: NewsSchedule | Sequence[NewsWindowV1]) -> NewsSchedule:
        if isinstance(news, NewsSchedule):
            return news
        if news is not self._seq or self._seq_schedule is None:
            self._seq, self._seq_schedule = news, NewsSchedule(news)
        return self._seq_schedule


def _impact_word(windows: Sequence[NewsWindowV1]) -> str:
    top = max(windows, key=lambda w: _IMPACT_RANK[w.impact]).impact
    return f"{top.value.lower()}-impact"
