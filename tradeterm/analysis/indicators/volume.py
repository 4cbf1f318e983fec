"""Anchored volume-weighted average price: ``Σ(tp·volume) / Σ volume`` since the anchor, with
the typical price ``tp = (high + low + close) / 3``. Not in TA-Lib.

Anchors:

* ``"day"`` — resets at every 00:00 UTC (the crypto "daily VWAP");
* ``"session"`` — resets every day at ``session_start_hour`` UTC (e.g. 13 for a 13:00 UTC
  session open); ``"day"`` is the same with hour 0;
* an ``int`` epoch-ms time — one anchor: NaN before it, cumulative from the first bar whose
  open time is at or after it (anchored VWAP from a swing, a listing, a news event).

A bar belongs to the session containing its *open* time. Until some volume has traded in the
session the VWAP is undefined (NaN / ``None``): a zero-volume bar does not move it. A NaN in
any input poisons the sums until the next reset. Volumes are assumed non-negative.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from tradeterm.analysis.indicators._jit import kernel
from tradeterm.analysis.indicators._validate import (
    as_series,
    as_times,
    check_period,
    check_same_length,
)

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
Anchor = str | int


def parse_anchor(anchor: object, session_start_hour: object) -> tuple[bool, int]:
    """Return ``(fixed, ms)``: a fixed anchor time, or the daily session offset in ms."""
    hour = check_period("session_start_hour", session_start_hour, 0, 23)
    if isinstance(anchor, str):
        if anchor == "day":
            if hour != 0:
                raise ValueError(
                    "anchor='day' resets at 00:00 UTC; use anchor='session' with session_start_hour"
                )
            return False, 0
        if anchor == "session":
            return False, hour * HOUR_MS
        raise ValueError(f"anchor must be 'day', 'session' or an epoch-ms int, got {anchor!r}")
    if isinstance(anchor, bool) or not isinstance(anchor, (int, np.integer)):
        raise ValueError(f"anchor must be 'day', 'session' or an epoch-ms int, got {anchor!r}")  # noqa: TRY004
    if hour != 0:
        raise ValueError("session_start_hour applies to anchor='session' only")
    if anchor < 0:
        raise ValueError(f"anchor time must be epoch milliseconds >= 0, got {anchor}")
    return True, int(anchor)


@kernel(
    sample=lambda: (np.zeros(2, np.int64), np.ones(2), np.ones(2), np.ones(2), np.ones(2), False, 0)
)
def _vwap_loop(
    t: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    fixed: bool,
    at: int,
) -> np.ndarray:
    n = t.shape[0]
    out = np.empty(n)
    for i in range(1, n):
        if t[i] < t[i - 1]:
            raise ValueError("open_time must be non-decreasing")
    session = -(2**62)
    pv = 0.0
    vol = 0.0
    for i in range(n):
        if fixed:
            if t[i] < at:
                out[i] = np.nan
                continue
            key = 0
        else:
            key = (t[i] - at) // 86_400_000
        if key != session:
            session = key
            pv = 0.0
            vol = 0.0
        tp = (high[i] + low[i] + close[i]) / 3.0
        pv += tp * volume[i]
        vol += volume[i]
        out[i] = pv / vol if vol > 0.0 else np.nan
    return out


def vwap(
    open_time_ms: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    volume: ArrayLike,
    anchor: Anchor = "day",
    session_start_hour: int = 0,
) -> np.ndarray:
    """Anchored VWAP per bar (see the module notes for anchors and undefined values)."""
    fixed, at = parse_anchor(anchor, session_start_hour)
    t = as_times("open_time_ms", open_time_ms)
    h, lo, c, v = (
        as_series("high", high),
        as_series("low", low),
        as_series("close", close),
        as_series("volume", volume),
    )
    check_same_length(open_time_ms=t, high=h, low=lo, close=c, volume=v)
    return _vwap_loop(t, h, lo, c, v, fixed, at)


class VwapState:
    """Anchored VWAP one closed candle at a time: O(1) per update, same bits as :func:`vwap`."""

    __slots__ = (
        "_at",
        "_fixed",
        "_last_time",
        "_pv",
        "_session",
        "_value",
        "_vol",
        "anchor",
        "session_start_hour",
    )

    def __init__(self, anchor: Anchor = "day", session_start_hour: int = 0) -> None:
        self._fixed, self._at = parse_anchor(anchor, session_start_hour)
        self.anchor = anchor
        self.session_start_hour = session_start_hour
        self._last_time: int | None = None
        self._session: int | None = None
        self._pv = 0.0
        self._vol = 0.0
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Latest VWAP, or ``None`` before the anchor or before any volume traded."""
        return self._value

    def update(
        self, open_time_ms: int, high: float, low: float, close: float, volume: float
    ) -> float | None:
        """Feed one candle; returns the VWAP of its session so far, or ``None`` if undefined."""
        t = int(open_time_ms)
        if self._last_time is not None and t < self._last_time:
            raise ValueError(f"open_time must be non-decreasing: {t} after {self._last_time}")
        self._last_time = t
        if self._fixed:
            if t < self._at:
                self._value = None
                return None
            key = 0
        else:
            key = (t - self._at) // DAY_MS
        if key != self._session:
            self._session = key
            self._pv = 0.0
            self._vol = 0.0
        volume = float(volume)
        tp = (float(high) + float(low) + float(close)) / 3.0
        self._pv += tp * volume
        self._vol += volume
        value = self._pv / self._vol if self._vol > 0.0 else float("nan")
        self._value = None if math.isnan(value) else value
        return self._value
