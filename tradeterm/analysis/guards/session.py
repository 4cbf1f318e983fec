"""Session guard: entries only in chosen local hours, optionally only inside ICT kill zones,
optionally never at weekends.

Liquidity has a daily rhythm (London and New York opens); setups outside the trader's hours are
noise they will not manage. Hours are wall-clock times in an IANA zone, so "08:00-17:00
America/New_York" stays 08:00 local across daylight-saving changes — which is exactly why the
guard works on local wall time and never on fixed UTC offsets.

Ranges are ``HH:MM-HH:MM``, half-open ``[start, end)``, ``24:00`` allowed as an end, and a range
whose end is before its start wraps past midnight (``22:00-02:00``). A DST gap or overlap is
taken literally: in the spring gap the wall clock jumps, so a range starting at 02:30 begins
when the clock jumps past it; in the autumn overlap the repeated hour is inside a range twice.

``until_ms`` is exact: the guard evaluates its verdict at every instant where it can change
(range edges in both folds, local midnights, DST transitions) over the coming weeks, merges equal
neighbours into a timeline of segments, and gives each segment the start of the next one with
the other verdict. Evaluating is then a binary search; the timeline is rebuilt about once a
month of market time.
"""

from __future__ import annotations

import bisect
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tradeterm.analysis.guards.base import GuardInputs, GuardState, block, safe

_DAY_MS = 86_400_000
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_HORIZON_DAYS = 9  # a weekly pattern repeats within 7 days; 9 covers the week plus DST days
_TIMELINE_DAYS = 42  # rebuilt about once a month of market time (a few ms each time)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_range(text: str) -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` → (start, end) in ms since local midnight; end may be 24:00."""
    m = _RANGE.match(text)
    if not m:
        raise ValueError(f"time range {text!r} must look like 08:00-17:00")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(
            f"time range {text!r} has an impossible time (hours 00-23, or 24:00 as an end)"
        )
    start, end = (h1 * 60 + m1) * 60_000, (h2 * 60 + m2) * 60_000
    if start == end:
        raise ValueError(f"time range {text!r} is empty (use 00:00-24:00 for the whole day)")
    return start, end


def _contains(r: tuple[int, int], tod: int) -> bool:
    start, end = r
    return start <= tod < end if start < end else tod >= start or tod < end


class SessionGuardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tz: str = "UTC"
    hours: tuple[str, ...] = Field(default=("00:00-24:00",), min_length=1)
    kill_zones: dict[str, str] = Field(default_factory=dict)
    allow_weekends: bool = True

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name like Europe/London)"
            ) from None
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for r in v:
            parse_range(r)
        return v

    @field_validator("kill_zones")
    @classmethod
    def _zones(cls, v: dict[str, str]) -> dict[str, str]:
        for name, r in v.items():
            if not name.strip():
                raise ValueError("kill zone names must not be empty")
            parse_range(r)
        return v


class SessionGuard:
    def __init__(self, config: SessionGuardConfig | None = None, name: str = "session") -> None:
        self.config = cfg = config or SessionGuardConfig()
        self.name = name
        self._tz = ZoneInfo(cfg.tz)
        self._hours = [parse_range(r) for r in cfg.hours]
        self._zones = [(n, parse_range(r)) for n, r in cfg.kill_zones.items()]
        edges = {0}
        for start, end in (*self._hours, *(r for _, r in self._zones)):
            edges.update((start, end % _DAY_MS))
        self._edges = sorted(edges)
        self._text = self._wording(cfg)
        # the timeline: segment i holds from _starts[i] to _starts[i + 1]; valid in [_lo, _hi)
        self._starts: list[int] = []
        self._states: list[GuardState] = []
        self._lo = 0
        self._hi = -1

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState:
        if not self._lo <= now_ms < self._hi:
            self._build(now_ms)
        return self._states[bisect.bisect_right(self._starts, now_ms) - 1]

    def _verdict(self, ms: int) -> tuple[bool, str]:
        local = datetime.fromtimestamp(ms // 1000, tz=self._tz)
        tod = (local.hour * 3600 + local.minute * 60 + local.second) * 1000 + ms % 1000
        if not self.config.allow_weekends and local.weekday() >= 5:
            return False, self._text["weekend"][local.weekday() - 5]
        if not any(_contains(r, tod) for r in self._hours):
            return False, self._text["outside"]
        if self._zones:
            for i, (_, r) in enumerate(self._zones):
                if _contains(r, tod):
                    return True, self._text["zone"][i]
            return False, self._text["no_zone"]
        return True, self._text["inside"]

    @staticmethod
    def _wording(cfg: SessionGuardConfig) -> dict[str, Any]:
        """Every reason the guard can give, formatted once (the timeline asks hundreds of times)."""
        hours = f"{', '.join(cfg.hours)} {cfg.tz}"
        listed = ", ".join(f"{n} {r}" for n, r in cfg.kill_zones.items())
        return {
            "weekend": [f"weekend ({day} in {cfg.tz})" for day in _WEEKDAYS[5:]],
            "outside": f"outside trading hours {hours}",
            "zone": [f"in the {n} kill zone ({r} {cfg.tz})" for n, r in cfg.kill_zones.items()],
            "no_zone": f"outside kill zones {listed} ({cfg.tz})",
            "inside": f"inside trading hours {hours}",
        }

    def _build(self, now_ms: int) -> None:
        """Verdicts over ``_TIMELINE_DAYS`` days from yesterday, merged into segments, each with
        its ``until``; served while ``now`` is at least ``_HORIZON_DAYS`` before the end, so every
        segment's next flip (a weekly pattern flips within a week) lies inside the timeline."""
        points = self._candidates(now_ms)
        segments: list[tuple[int, bool, str]] = []
        for p in points:
            ok, why = self._verdict(p)
            if not segments or (ok, why) != segments[-1][1:]:
                segments.append((p, ok, why))
        states: list[GuardState] = [None] * len(segments)  # type: ignore[list-item]
        flip: int | None = None
        for i in range(len(segments) - 1, -1, -1):
            _, ok, why = segments[i]
            if i + 1 < len(segments) and segments[i + 1][1] != ok:
                flip = segments[i + 1][0]
            states[i] = safe(self.name, why, flip) if ok else block(self.name, why, flip)
        self._starts = [seg[0] for seg in segments]
        self._states = states
        self._lo = points[0]
        self._hi = points[-1] - _HORIZON_DAYS * _DAY_MS

    def _candidates(self, now_ms: int) -> list[int]:
        """Every instant the verdict can change at: range edges in both folds, local midnights,
        DST transitions — from yesterday's local midnight on."""
        tz = self._tz
        first = datetime.fromtimestamp(now_ms // 1000, tz=tz).date() - timedelta(days=1)
        points: set[int] = set()
        for k in range(_TIMELINE_DAYS):
            day = first + timedelta(days=k)
            for edge in self._edges:
                hh, rest = divmod(edge // 1000, 3600)
                wall = datetime.combine(day, time(hh, rest // 60, rest % 60), tzinfo=tz)
                points.add(int(wall.timestamp()) * 1000)
                points.add(int(wall.replace(fold=1).timestamp()) * 1000)
            points.update(self._transitions(day))
        midnight = int(datetime.combine(first, time(0), tzinfo=tz).timestamp()) * 1000
        return sorted(p for p in points if p >= midnight)

    def _transitions(self, day: date) -> list[int]:
        """UTC offset changes during ``day`` (local), as the first ms with the new offset."""
        tz = self._tz
        lo = int(datetime.combine(day, time(0), tzinfo=tz).timestamp())
        hi = lo + 26 * 3600
        off_lo = datetime.fromtimestamp(lo, tz=tz).utcoffset()
        if datetime.fromtimestamp(hi, tz=tz).utcoffset() == off_lo:
            return []
        while hi - lo > 1:  # first second whose offset differs from the day's start
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, tz=tz).utcoffset() == off_lo:
                lo = mid
            else:
                hi = mid
        return [hi * 1000]


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Epoch ms of a UTC wall time (handy for schedules in tests and configs)."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 1000
