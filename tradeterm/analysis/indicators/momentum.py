"""Momentum oscillators: TA-Lib's ``RSI`` (Wilder) and ``MACD``, as arrays and per value.

NaN handling (TA-Lib's): leading NaNs are skipped; a NaN after that propagates to every later
MACD value — but pins every later RSI at **0.0**, not NaN, because TA-Lib's "gain + loss is
zero" test fails on NaN. :class:`~tradeterm.analysis.indicators.indicator_set.IndicatorSet`
refuses non-finite candles so a live feed can never produce that false "oversold" reading.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import ArrayLike

from tradeterm.analysis.indicators._fma import fma
from tradeterm.analysis.indicators._jit import kernel
from tradeterm.analysis.indicators._validate import as_series, check_period
from tradeterm.analysis.indicators.averages import ema_alpha


@kernel(sample=lambda: (np.ones(4), 2))
def _rsi_loop(x: np.ndarray, period: int) -> np.ndarray:
    n = x.shape[0]
    out = np.empty(n)
    begin = 0
    while begin < n and x[begin] != x[begin]:
        begin += 1
    first = begin + period
    if first >= n:
        out[:] = np.nan
        return out
    out[:first] = np.nan
    gain = 0.0
    loss = 0.0
    prev = x[begin]
    for i in range(begin + 1, first + 1):
        move = x[i] - prev
        prev = x[i]
        if move < 0.0:
            loss -= move
        else:
            gain += move
    keep = float(period - 1)
    inv = 1.0 / period
    gain *= inv
    loss *= inv
    total = gain + loss
    out[first] = 100.0 * (gain / total) if total > 0.0 else 0.0
    for i in range(first + 1, n):
        move = x[i] - prev
        prev = x[i]
        up = move
        down = 0.0
        if move < 0.0:
            up = 0.0
            down = -move
        gain = (gain * keep + up) * inv
        loss = (loss * keep + down) * inv
        total = gain + loss
        out[i] = 100.0 * (gain / total) if total > 0.0 else 0.0
    return out


@kernel(sample=lambda: (np.ones(4), 2, 2, 1, 0.5, 0.5, 1.0))
def _macd_loop(
    x: np.ndarray, fast: int, slow: int, signal: int, k_fast: float, k_slow: float, k_signal: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = x.shape[0]
    line = np.empty(n)
    sig = np.empty(n)
    hist = np.empty(n)
    begin = 0
    while begin < n and x[begin] != x[begin]:
        begin += 1
    start = begin + slow - 1  # both EMAs exist from here
    first = start + signal - 1  # first output
    if first >= n:
        line[:] = np.nan
        sig[:] = np.nan
        hist[:] = np.nan
        return line, sig, hist
    line[:first] = np.nan
    sig[:first] = np.nan
    hist[:first] = np.nan
    total = 0.0
    for i in range(begin, start + 1):
        total += x[i]
    ema_slow = total / slow
    total = 0.0
    for i in range(start + 1 - fast, start + 1):
        total += x[i]
    ema_fast = total / fast
    macd = ema_fast - ema_slow
    total = 0.0 + macd
    for i in range(start + 1, first + 1):
        ema_slow = fma(x[i] - ema_slow, k_slow, ema_slow)
        ema_fast = fma(x[i] - ema_fast, k_fast, ema_fast)
        macd = ema_fast - ema_slow
        total += macd
    ema_signal = total / signal
    line[first] = macd
    sig[first] = ema_signal
    hist[first] = macd - ema_signal
    for i in range(first + 1, n):
        ema_slow = fma(x[i] - ema_slow, k_slow, ema_slow)
        ema_fast = fma(x[i] - ema_fast, k_fast, ema_fast)
        macd = ema_fast - ema_slow
        ema_signal = fma(macd - ema_signal, k_signal, ema_signal)
        line[i] = macd
        sig[i] = ema_signal
        hist[i] = macd - ema_signal
    return line, sig, hist


def rsi(close: ArrayLike, timeperiod: int = 14) -> np.ndarray:
    """Relative strength index (period 2..100000); the first ``timeperiod`` values are NaN.

    Seeded like TA-Lib with the plain means of the first ``period`` gains and losses; then
    each average becomes ``(avg*(period-1) + move) * (1/period)``. Multiplying by the
    reciprocal (seed included) keeps the division out of the loop-carried chain, and is
    TA-Lib 0.8's exact form. RSI is ``100*G/(G+L)``, and 0 when ``G+L`` is 0 (flat input).
    """
    period = check_period("timeperiod", timeperiod, 2)
    return _rsi_loop(as_series("close", close), period)


def _check_macd_periods(
    fastperiod: object, slowperiod: object, signalperiod: object
) -> tuple[int, int, int]:
    fast = check_period("fastperiod", fastperiod, 2)
    slow = check_period("slowperiod", slowperiod, 2)
    signal = check_period("signalperiod", signalperiod, 1)
    if fast > slow:
        raise ValueError(f"fastperiod ({fast}) must not exceed slowperiod ({slow})")
    return fast, slow, signal


def macd(
    close: ArrayLike, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(macd, signal, hist)``; the first ``slowperiod + signalperiod - 2`` values are NaN.

    TA-Lib's delayed start, reproduced: both EMAs begin at bar ``slow-1``, the slow one seeded
    with the mean of bars ``0..slow-1`` and the fast one with the mean of only the last
    ``fast`` of them — so the MACD line is *not* ``ema(fast) - ema(slow)`` for the first few
    hundred bars. The signal is seeded with the mean of the first ``signal`` MACD values and
    all three outputs start together at bar ``slow + signal - 2`` (33 for 12/26/9).

    ``fastperiod > slowperiod`` is a ``ValueError``; TA-Lib silently swaps them.
    """
    fast, slow, signal = _check_macd_periods(fastperiod, slowperiod, signalperiod)
    x = as_series("close", close)
    return _macd_loop(x, fast, slow, signal, ema_alpha(fast), ema_alpha(slow), ema_alpha(signal))


class RsiState:
    """RSI one closed value at a time: O(1) per update, same bits as :func:`rsi`."""

    __slots__ = ("_count", "_gain", "_inv", "_keep", "_loss", "_prev", "_value", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period, 2)
        self._keep = float(self.period - 1)
        self._inv = 1.0 / self.period
        self._count = 0
        self._prev = 0.0
        self._gain = 0.0
        self._loss = 0.0
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Latest RSI, or ``None`` while warming up."""
        return self._value

    def update(self, x: float) -> float | None:
        """Feed one value; returns the new RSI or ``None`` during warm-up."""
        x = float(x)
        if self._count == 0:
            if math.isnan(x):
                return None  # leading NaN: skipped, as TA-Lib's wrapper does
            self._count = 1
            self._prev = x
            return None
        move = x - self._prev
        self._prev = x
        self._count += 1
        if self._value is None:
            if move < 0.0:
                self._loss -= move
            else:
                self._gain += move
            if self._count <= self.period:
                return None
            self._gain *= self._inv
            self._loss *= self._inv
        else:
            up, down = (0.0, -move) if move < 0.0 else (move, 0.0)
            self._gain = (self._gain * self._keep + up) * self._inv
            self._loss = (self._loss * self._keep + down) * self._inv
        total = self._gain + self._loss
        self._value = 100.0 * (self._gain / total) if total > 0.0 else 0.0
        return self._value


class MacdState:
    """MACD one closed value at a time: O(1) per update, same bits as :func:`macd`.

    During warm-up it keeps the last ``fast`` inputs: the fast EMA is seeded from them only
    once the slow EMA's seed is complete.
    """

    __slots__ = (
        "_count",
        "_ema_fast",
        "_ema_signal",
        "_ema_slow",
        "_k_fast",
        "_k_signal",
        "_k_slow",
        "_recent",
        "_total_signal",
        "_total_slow",
        "_value",
        "fast",
        "signal",
        "slow",
    )  # fmt: skip

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast, self.slow, self.signal = _check_macd_periods(fast, slow, signal)
        self._k_fast = ema_alpha(self.fast)
        self._k_slow = ema_alpha(self.slow)
        self._k_signal = ema_alpha(self.signal)
        self._count = 0
        self._recent: deque[float] = deque(maxlen=self.fast)
        self._total_slow = 0.0
        self._total_signal = 0.0
        self._ema_fast = 0.0
        self._ema_slow = 0.0
        self._ema_signal = 0.0
        self._value: tuple[float, float, float] | None = None

    @property
    def value(self) -> tuple[float, float, float] | None:
        """Latest ``(macd, signal, hist)``, or ``None`` while warming up."""
        return self._value

    def update(self, x: float) -> tuple[float, float, float] | None:
        """Feed one value; returns ``(macd, signal, hist)`` or ``None`` during warm-up."""
        x = float(x)
        if self._count == 0 and math.isnan(x):
            return None  # leading NaN: skipped, as TA-Lib's wrapper does
        self._count += 1
        count = self._count
        if count <= self.slow:
            self._total_slow += x
            self._recent.append(x)
            if count < self.slow:
                return None
            self._ema_slow = self._total_slow / self.slow
            total = 0.0
            for v in self._recent:
                total += v
            self._ema_fast = total / self.fast
            self._recent.clear()
        else:
            self._ema_slow = fma(x - self._ema_slow, self._k_slow, self._ema_slow)
            self._ema_fast = fma(x - self._ema_fast, self._k_fast, self._ema_fast)
        line = self._ema_fast - self._ema_slow
        self._total_signal += line
        ready = self.slow + self.signal - 1
        if count < ready:
            return None
        if count == ready:
            self._ema_signal = self._total_signal / self.signal
        else:
            self._ema_signal = fma(line - self._ema_signal, self._k_signal, self._ema_signal)
        self._value = (line, self._ema_signal, line - self._ema_signal)
        return self._value
