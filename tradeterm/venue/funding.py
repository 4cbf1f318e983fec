"""When funding settles and at what rate: a Binance funding CSV (``fundingTime, fundingIntervalHours,
fundingRate`` as data.binance.vision publishes it) or one configured rate every 8 hours.

Settlement happens on the interval boundary: the few milliseconds of jitter in Binance's recorded
``fundingTime`` are an artefact of its settlement job, so a time is floored to the whole second
for scheduling (the mark price used is the one at that instant)."""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

EIGHT_HOURS_MS = 8 * 3_600_000


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    """Sorted settlement times (ms) and rates; beyond the data, ``default_rate`` every interval."""

    times: tuple[int, ...] = ()
    rates: tuple[Decimal, ...] = ()
    default_rate: Decimal = Decimal("0.0001")
    interval_ms: int = EIGHT_HOURS_MS

    @classmethod
    def constant(cls, rate: Decimal, interval_ms: int = EIGHT_HOURS_MS) -> FundingSchedule:
        return cls((), (), rate, interval_ms)

    @classmethod
    def from_csv(cls, path: str | Path, default_rate: Decimal = Decimal("0.0001")) -> FundingSchedule:
        rows: list[tuple[int, Decimal]] = []
        interval = EIGHT_HOURS_MS
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                t = int(row["fundingTime"]) // 1000 * 1000
                rows.append((t, Decimal(row["fundingRate"])))
                if row.get("fundingIntervalHours"):
                    interval = int(row["fundingIntervalHours"]) * 3_600_000
        rows.sort()
        return cls(tuple(t for t, _ in rows), tuple(r for _, r in rows), default_rate, interval)

    def _generated_after(self, t: int) -> int:
        return (t // self.interval_ms + 1) * self.interval_ms

    def next_time(self, t: int) -> int:
        """First settlement strictly after ``t``."""
        i = bisect.bisect_right(self.times, t)
        if i < len(self.times):
            return self.times[i]
        start = max(t, self.times[-1]) if self.times else t
        return self._generated_after(start)

    def rate_at(self, t: int) -> Decimal:
        i = bisect.bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            return self.rates[i]
        return self.default_rate

    def between(self, t0: int, t1: int) -> list[int]:
        """Settlement times in ``(t0, t1]``."""
        out: list[int] = []
        t = self.next_time(t0)
        while t <= t1:
            out.append(t)
            t = self.next_time(t)
        return out

    def history(self, t_now: int, start: int | None, end: int | None, limit: int) -> list[tuple[int, Decimal]]:
        """Past settlements (``GET /fapi/v1/fundingRate``): ascending, newest ``limit`` without a start."""
        hi = t_now if end is None else min(end, t_now)
        if self.times:
            lo_i = bisect.bisect_left(self.times, start) if start is not None else 0
            hi_i = bisect.bisect_right(self.times, hi)
            rows = list(zip(self.times[lo_i:hi_i], self.rates[lo_i:hi_i]))
        else:
            rows = []
        if not rows or rows[-1][0] < hi:  # generated settlements after the data (or with no data)
            t = max(rows[-1][0] if rows else (start or hi - 1000 * self.interval_ms) - 1, (start or 0) - 1)
            gen: list[tuple[int, Decimal]] = []
            t = self.next_time(t)
            while t <= hi and len(gen) < 100_000:
                gen.append((t, self.default_rate))
                t = self.next_time(t)
            rows += gen
        return rows[:limit] if start is not None else rows[-limit:]
