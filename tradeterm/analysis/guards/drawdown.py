"""Drawdown guard: stop opening trades after a bad day or a deep drawdown.

Two limits, both fractions of equity: the **daily loss** from the equity at the start of the
trading day (blocks until the next day starts, in the configured zone and hour), and the
**maximum drawdown** from the equity peak (blocks with no end time: resuming after a 10% hole
is a decision for a person, not a clock). :class:`EquityTracker` keeps the peak and the day's
starting equity from a stream of equity samples, so callers only report equity.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tradeterm.analysis.guards.base import (
    EquitySnapshot,
    GuardInputs,
    GuardState,
    Memo,
    block,
    fmt_ms,
    missing,
    safe,
)


class DrawdownGuardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_loss_limit: Decimal = Field(
        default=Decimal("0.03"), gt=0, lt=1, description="0.03 = 3% of day-start equity"
    )
    max_drawdown: Decimal = Field(
        default=Decimal("0.10"), gt=0, lt=1, description="0.10 = 10% below the peak"
    )
    day_tz: str = "UTC"
    day_start_hour: int = Field(default=0, ge=0, le=23)
    fail_closed: bool = True

    @field_validator("day_tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name like Europe/London)"
            ) from None
        return v


def day_start(now_ms: int, tz: ZoneInfo, hour: int) -> int:
    """Start (epoch ms) of the trading day containing ``now_ms``."""
    local = datetime.fromtimestamp(now_ms // 1000, tz=tz)
    start = datetime.combine(local.date(), time(hour), tzinfo=tz)
    if start.timestamp() * 1000 > now_ms:
        start = datetime.combine(local.date() - timedelta(days=1), time(hour), tzinfo=tz)
    return int(start.timestamp()) * 1000


def next_day_start(now_ms: int, tz: ZoneInfo, hour: int) -> int:
    local = datetime.fromtimestamp(day_start(now_ms, tz, hour) // 1000, tz=tz)
    nxt = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=tz)
    return int(nxt.timestamp()) * 1000


class DrawdownGuard:
    def __init__(self, config: DrawdownGuardConfig | None = None, name: str = "drawdown") -> None:
        self.config = config or DrawdownGuardConfig()
        self.name = name
        self._tz = ZoneInfo(self.config.day_tz)
        self._memo = Memo()

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState:
        e = inputs.equity
        hit = self._memo.get(e, now_ms)
        if hit is not None:
            return hit
        cfg = self.config
        if e is None:
            return self._memo.put(
                None, now_ms, None, missing(self.name, "equity data", cfg.fail_closed)
            )
        day_loss = (
            (e.day_start_equity - e.equity) / e.day_start_equity
            if e.day_start_equity > 0
            else Decimal(0)
        )
        dd = (e.peak_equity - e.equity) / e.peak_equity if e.peak_equity > 0 else Decimal(0)
        daily_hit, dd_hit = day_loss >= cfg.daily_loss_limit, dd >= cfg.max_drawdown
        if not (daily_hit or dd_hit):
            # only a new snapshot can change this (the tracker starts a new day with a new one)
            return self._memo.put(
                e,
                now_ms,
                None,
                safe(self.name, f"day {_pct(-day_loss)}, drawdown {_pct(dd)} from peak"),
            )
        reasons: list[str] = []
        if daily_hit:
            lo = day_start(now_ms, self._tz, cfg.day_start_hour)
            hi = next_day_start(now_ms, self._tz, cfg.day_start_hour)
            reasons.append(
                f"daily loss {_pct(day_loss)} reached the {_pct(cfg.daily_loss_limit)} limit; next day starts {fmt_ms(hi)}"
            )
        if dd_hit:
            reasons.append(
                f"drawdown {_pct(dd)} from peak {e.peak_equity:f} reached the {_pct(cfg.max_drawdown)} limit; needs a manual reset"
            )
            # a max-drawdown stop has no end time, whatever the day
            return self._memo.put(e, now_ms, None, block(self.name, "; ".join(reasons)))
        return self._memo.put(e, lo, hi, block(self.name, reasons[0], hi))


class EquityTracker:
    """Peak equity and the equity at the start of each trading day, from equity samples."""

    def __init__(self, config: DrawdownGuardConfig | None = None) -> None:
        self.config = config or DrawdownGuardConfig()
        self._tz = ZoneInfo(self.config.day_tz)
        self._peak: Decimal | None = None
        self._day: int | None = None
        self._day_start: Decimal | None = None
        self._last_ms: int | None = None

    def update(self, now_ms: int, equity: Decimal) -> EquitySnapshot:
        """Record equity at ``now_ms`` (non-decreasing times); returns the guard's input."""
        if self._last_ms is not None and now_ms < self._last_ms:
            raise ValueError(
                f"equity sample at {now_ms} is older than the previous one at {self._last_ms}"
            )
        self._last_ms = now_ms
        day = day_start(now_ms, self._tz, self.config.day_start_hour)
        if day != self._day:
            self._day, self._day_start = day, equity
        self._peak = equity if self._peak is None else max(self._peak, equity)
        assert self._day_start is not None
        return EquitySnapshot(
            equity=equity, peak_equity=self._peak, day_start_equity=self._day_start
        )

    def reset_peak(self, equity: Decimal) -> None:
        """After a person has reviewed a max-drawdown stop: the current equity is the new peak."""
        self._peak = equity


def _pct(x: Decimal) -> str:
    return f"{float(x) * 100:.2f}%"
