"""Moving averages: TA-Lib's ``SMA`` and ``EMA`` (classic seeding), as arrays and per value.

NaN handling (TA-Lib's): leading NaNs are skipped and the warm-up starts at the first valid
value; a NaN after that propagates to every later value — except for ``ema`` with period 1,
which is a plain copy of the input (NaNs included), as in TA-Lib.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import ArrayLike

from tradeterm.analysis.indicators._fma import fma
from tradeterm.analysis.indicators._jit import kernel
from tradeterm.analysis.indicators._validate import as_series, check_period


def ema_alpha(period: int) -> float:
    """TA-Lib's smoothing factor ``2 / (period + 1)``, computed exactly as TA-Lib does."""
    return 2.0 / float(period + 1)


@kernel(sample=lambda: (np.ones(3), 2))
def _sma_loop(x: np.ndarray, period: int) -> np.ndarray:
    n = x.shape[0]
    out = np.empty(n)
    begin = 0
    while begin < n and x[begin] != x[begin]:
        begin += 1
    first = begin + period - 1
    if first >= n:
        out[:] = np.nan
        return out
    out[:first] = np.nan
    total = 0.0
    for i in range(begin, first):
        total += x[i]
    size = float(period)
    lag = period - 1
    for i in range(first, n):
        total += x[i]
        out[i] = total / size
        total -= x[i - lag]
    return out


@kernel(sample=lambda: (np.ones(3), 2, 0.5))
def _ema_loop(x: np.ndarray, period: int, k: float) -> np.ndarray:
    n = x.shape[0]
    out = np.empty(n)
    begin = 0
    while begin < n and x[begin] != x[begin]:
        begin += 1
    first = begin + period - 1
    if first >= n:
        out[:] = np.nan
        return out
    out[:first] = np.nan
    if period == 1:
        out[first:] = x[first:]
        return out
    total = 0.0
    for i in range(begin, first + 1):
        total += x[i]
    prev = total / period
    out[first] = prev
    for i in range(first + 1, n):
        prev = fma(x[i] - prev, k, prev)
        out[i] = prev
    return out


def sma(close: ArrayLike, timeperiod: int = 30) -> np.ndarray:
    """Simple moving average (period 1..100000); the first ``timeperiod-1`` values are NaN.

    A running sum updated in TA-Lib's order (add the new value, divide, drop the oldest), which
    reproduces TA-Lib bit for bit — a cumsum difference would not, and it drifts at 1M bars.
    Period 1 goes through the same sum (so a NaN still poisons it), again as TA-Lib does.
    """
    period = check_period("timeperiod", timeperiod, 1)
    return _sma_loop(as_series("close", close), period)


def ema(close: ArrayLike, timeperiod: int = 30) -> np.ndarray:
    """Exponential moving average (period 1..100000); the first ``timeperiod-1`` are NaN.

    Seeded like TA-Lib: the value at index ``period-1`` is the mean of the first ``period``
    inputs (pandas' ``ewm`` seeds with ``x[0]`` instead and differs for ~10×period bars). Then
    ``fma(x - ema, k, ema)`` with ``k = 2/(period+1)``: TA-Lib 0.8 fuses this step, and
    doing the same matches its bits. TA-Lib's EMA unstable period (default 0) is not modelled.
    """
    period = check_period("timeperiod", timeperiod, 1)
    return _ema_loop(as_series("close", close), period, ema_alpha(period))


class SmaState:
    """SMA one closed value at a time: O(1) per update, same bits as :func:`sma`."""

    __slots__ = ("_total", "_value", "_window", "period")

    def __init__(self, period: int = 30) -> None:
        self.period = check_period("period", period, 1)
        self._window: deque[float] = deque(maxlen=self.period)
        self._total = 0.0
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Latest SMA, or ``None`` while warming up."""
        return self._value

    def update(self, x: float) -> float | None:
        """Feed one value; returns the new SMA or ``None`` during warm-up."""
        x = float(x)
        window = self._window
        if not window and math.isnan(x):
            return None  # leading NaN: skipped, as TA-Lib's wrapper does
        window.append(x)
        self._total += x
        if len(window) < self.period:
            return None
        value = self._total / self.period
        self._total -= window[0]
        self._value = value
        return value


class EmaState:
    """EMA one closed value at a time: O(1) per update, same bits as :func:`ema`."""

    __slots__ = ("_count", "_k", "_total", "_value", "period")

    def __init__(self, period: int = 30) -> None:
        self.period = check_period("period", period, 1)
        self._k = ema_alpha(self.period)
        self._count = 0
        self._total = 0.0
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Latest EMA, or ``None`` while warming up."""
        return self._value

    def update(self, x: float) -> float | None:
        """Feed one value; returns the new EMA or ``None`` during warm-up."""
        x = float(x)
        if self._count == 0 and math.isnan(x):
            return None  # leading NaN: skipped, as TA-Lib's wrapper does
        self._count += 1
        if self.period == 1:
            self._value = x
        elif self._value is not None:
            self._value = fma(x - self._value, self._k, self._value)
        else:
            self._total += x
            if self._count == self.period:
                self._value = self._total / self.period
        return self._value
