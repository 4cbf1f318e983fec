"""Price scale, price ticks and time ticks.

Vertical resolution is two price levels per terminal row (half blocks). A price maps to a
continuous position ``u`` in half-row units, 0 at the top of the pane and ``2 * rows`` at the
bottom; the half-row ("sub-row") it lands in is ``floor(u)``, so a price exactly on the boundary
between two halves belongs to the *lower* half. The scale leaves one free row above the highest
high and below the lowest low, for swing labels.

Ticks are "nice" numbers (1, 2 or 5 × 10^k, never finer than the symbol's tick) about every four
rows; time labels sit at UTC boundaries of a step chosen so labels never collide, formatted for
the step (``HH:MM`` intraday with the date at midnight, ``DD Mon`` for days, the year on 1 Jan).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from tradeterm.contracts.timeframe import DAY_MS, HOUR_MS, MINUTE_MS

# Free half-rows kept above the highest high and below the lowest low.
_TOP_MARGIN = 2.0
_BOTTOM_MARGIN = 2.5
_ROWS_PER_TICK = 4
_MIN_TICK_ROWS = 2
# Rounding slack: a price computed to sit exactly on a half-row boundary stays on it.
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class PriceScale:
    """Linear map between price and vertical position in a pane of ``rows`` rows."""

    top: float
    bottom: float
    rows: int

    def u(self, prices: np.ndarray | float) -> np.ndarray:
        """Position in half-rows from the top (float; NaN stays NaN)."""
        p = np.asarray(prices, dtype=np.float64)
        return (self.top - p) * (2 * self.rows / (self.top - self.bottom))

    def sub(self, prices: np.ndarray | float) -> np.ndarray:
        """Half-row index of each price (unclipped; callers mask what falls outside). NaN and
        infinities land far outside the pane, so they are masked like any off-screen price."""
        u = np.nan_to_num(self.u(prices) + _EPS, nan=-1e9, posinf=1e9, neginf=-1e9)
        return np.floor(np.clip(u, -1e9, 1e9)).astype(np.int64)

    def row(self, price: float) -> int:
        """The row holding ``price``: the row of its half-row, so labels and candles agree.
        Scalar arithmetic (called per label and zone; numpy's per-call overhead would dominate)."""
        u = (self.top - price) * (2 * self.rows / (self.top - self.bottom)) + _EPS
        if not math.isfinite(u):
            return -(10**9) if math.isnan(u) or u < 0 else 10**9
        return math.floor(min(max(u, -1e9), 1e9)) // 2

    def price_at_row(self, row: int) -> float:
        """The price at the middle of ``row``: what a crosshair on that row reads."""
        return self.top - (row + 0.5) / self.rows * (self.top - self.bottom)


def fit_scale(low: np.ndarray, high: np.ndarray, rows: int) -> PriceScale:
    """The scale that fits every finite value of ``low``/``high`` into ``rows`` rows."""
    lo = float(np.nanmin(low)) if low.size and np.isfinite(low).any() else math.nan
    hi = float(np.nanmax(high)) if high.size and np.isfinite(high).any() else math.nan
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi - lo <= max(abs(hi), abs(lo)) * 1e-12:
        half = max(abs(hi) * 1e-3, 1e-9)
        lo, hi = lo - half, hi + half
    usable = 2 * rows - _TOP_MARGIN - _BOTTOM_MARGIN
    if usable < 1:
        return PriceScale(hi, lo, max(rows, 1))
    per_half_row = (hi - lo) / usable
    return PriceScale(hi + _TOP_MARGIN * per_half_row, lo - _BOTTOM_MARGIN * per_half_row, rows)


def nice_step(raw: float, min_step: float = 0.0) -> float:
    """The smallest 1/2/5 × 10^k that is >= ``raw`` (and >= ``min_step``)."""
    raw = max(raw, min_step, 1e-12)
    exp = math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 5.0, 10.0):
        step = mult * 10.0**exp
        if step >= raw * (1 - 1e-9):
            return step
    return 10.0 ** (exp + 1)


def tick_step(scale: PriceScale, decimals: int) -> float:
    """The 1/2/5 × 10^k step giving a tick about every four rows (never closer than two rows,
    never finer than the symbol's tick)."""
    span = scale.top - scale.bottom
    target = span / max(1.0, scale.rows / _ROWS_PER_TICK)
    floor_step = max(10.0**-decimals, span * _MIN_TICK_ROWS / scale.rows)
    step = nice_step(floor_step)
    best, best_err = step, abs(math.log(step / target))
    for _ in range(12):
        step = nice_step(step * 1.0001)
        err = abs(math.log(step / target))
        if err >= best_err:
            break
        best, best_err = step, err
    return best


def price_ticks(scale: PriceScale, decimals: int) -> list[tuple[int, float]]:
    """(row, price) of each axis tick, at most one per row, top to bottom."""
    step = tick_step(scale, decimals)
    first = math.ceil(scale.bottom / step)
    last = math.floor(scale.top / step)
    out: list[tuple[int, float]] = []
    seen: set[int] = set()
    for i in range(last, first - 1, -1):
        price = i * step
        row = scale.row(price)
        if 0 <= row < scale.rows and row not in seen:
            seen.add(row)
            out.append((row, price))
    return out


def format_price(price: float, decimals: int) -> str:
    return f"{price:.{decimals}f}"


def format_volume(v: float) -> str:
    """Compact volume: 950, 12.5K, 3.40M — fits the axis gutter at any magnitude."""
    a = abs(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= div:
            return f"{v / div:.2f}".rstrip("0").rstrip(".") + suffix
    return f"{v:.2f}".rstrip("0").rstrip(".") if a < 100 else f"{v:.0f}"


def gutter_width(high_max: float, low_min: float, decimals: int) -> int:
    """Axis line + a marker cell + the longest price label the axis can show.

    Ticks can lie in the scale's margins, beyond the data; a margin never exceeds the visible
    range, so one range beyond the extremes bounds every label (60000.00 → 62000.00 needs no
    extra cell, 9.5 → 18.0 does).
    """
    if not (math.isfinite(high_max) and math.isfinite(low_min)):
        return 6
    span = max(high_max - low_min, 0.0)
    bounds = (high_max + span, max(low_min - span, 0.0) if low_min >= 0 else low_min - span)
    longest = max(len(format_price(p, decimals)) for p in (high_max, low_min, *bounds))
    return 2 + max(longest, 3)  # at least "UTC" under the axis


# ----------------------------------------------------------------------------- time axis

_FIXED_STEPS_MS: tuple[int, ...] = (
    1_000,
    5_000,
    10_000,
    15_000,
    30_000,
    MINUTE_MS,
    2 * MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    3 * HOUR_MS,
    4 * HOUR_MS,
    6 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
    2 * DAY_MS,
)
# Calendar steps: (name, nominal ms for spacing).
_CALENDAR_STEPS: tuple[tuple[str, int], ...] = (
    ("week", 7 * DAY_MS),
    ("month", 31 * DAY_MS),
    ("quarter", 92 * DAY_MS),
    ("year", 366 * DAY_MS),
)
_WEEK_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; weeks start on Monday.
_LABEL_GAP = 2


def _bucket_ids(times: np.ndarray, step: int | str) -> np.ndarray:
    if isinstance(step, int):
        return times // step
    if step == "week":
        return (times - _WEEK_OFFSET_MS) // (7 * DAY_MS)
    months = times.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    if step == "month":
        return months
    if step == "quarter":
        return months // 3
    return months // 12


def _label_width(tf_ms: int) -> int:
    return 8 if tf_ms < MINUTE_MS else 6


def choose_time_step(tf_ms: int, cols_per_bar: float) -> int | str:
    """The finest step whose labels are at least a label width plus a gap apart."""
    need = _label_width(tf_ms) + _LABEL_GAP
    for step in _FIXED_STEPS_MS:
        if step >= tf_ms and step / tf_ms * cols_per_bar >= need:
            return step
    for name, nominal in _CALENDAR_STEPS:
        if nominal >= tf_ms and nominal / tf_ms * cols_per_bar >= need:
            return name
    return "year"


def format_time_label(t_ms: int, step: int | str, tf_ms: int) -> str:
    dt = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
    if isinstance(step, int) and step < DAY_MS:
        if dt.hour == 0 and dt.minute == 0 and dt.second == 0:
            return dt.strftime("%d %b")
        return dt.strftime("%H:%M:%S" if tf_ms < MINUTE_MS else "%H:%M")
    if dt.month == 1 and dt.day == 1:
        return dt.strftime("%Y")
    if step in ("month", "quarter"):
        return dt.strftime("%b")
    if step == "year":
        return dt.strftime("%Y")
    return dt.strftime("%d %b")


def format_time_full(t_ms: int, tf_ms: int) -> str:
    """The readout's timestamp: as precise as the timeframe needs."""
    dt = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
    if tf_ms >= DAY_MS:
        return dt.strftime("%Y-%m-%d")
    return dt.strftime("%Y-%m-%d %H:%M:%S" if tf_ms < MINUTE_MS else "%Y-%m-%d %H:%M")


def time_ticks(
    open_time: np.ndarray,
    start: int,
    stop: int,
    cols: np.ndarray,
    tf_ms: int,
    cols_per_bar: float,
    plot_width: int,
) -> list[tuple[int, str]]:
    """(column, label) of the time axis for bars ``[start, stop)`` drawn at ``cols``.

    A label goes on the first bar of each new step bucket (comparing with the bar before the
    view, so the left edge is labelled only when it really starts a bucket); labels that would
    overlap a previous one or run past the plot are dropped.
    """
    if stop <= start:
        return []
    step = choose_time_step(tf_ms, cols_per_bar)
    lo = max(start - 1, 0)
    ids = _bucket_ids(open_time[lo:stop], step)
    if start == 0:
        ids = np.concatenate([[ids[0] - 1], ids])
    new = np.flatnonzero(ids[1:] != ids[:-1])
    out: list[tuple[int, str]] = []
    free_from = 0
    for i in new.tolist():
        col = int(cols[i])
        if col < free_from:
            continue
        label = format_time_label(int(open_time[start + i]), step, tf_ms)
        if col + len(label) > plot_width:
            break
        out.append((col, label))
        free_from = col + len(label) + _LABEL_GAP
    return out
