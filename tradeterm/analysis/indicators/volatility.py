"""Volatility: TA-Lib's ``ATR`` (Wilder) and ``BBANDS`` (SMA middle band), as arrays and per value.

NaN handling (TA-Lib's): leading bars with a NaN input are skipped; a NaN later on propagates
to every later value.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import ArrayLike

from tradeterm.analysis.indicators._fma import fma
from tradeterm.analysis.indicators._jit import kernel
from tradeterm.analysis.indicators._validate import (
    as_series,
    check_factor,
    check_period,
    check_same_length,
)

# Bollinger variance re-centring triggers (TA-Lib 0.8's; see bbands()):
_CANCELLATION = 1e-6  # variance below this × the mean square of the shifted window
_OUTLIER = 1e6  # the square leaving the window above this × the remaining sum of squares
_RESEED_PERIODS = 32  # at the latest every 32 windows, to bound drift
_FLOOR = 1e-12  # after re-centring, a variance below this × the mean square is exactly 0


def true_range(high: float, low: float, prev_close: float) -> float:
    """One bar's true range: ``high - low``, replaced by ``|prev_close - high|`` then by
    ``|prev_close - low|`` when larger. Spelled as comparisons in TA-Lib's order rather than
    ``max()`` because that is what fixes the NaN behaviour: a NaN distance never wins."""
    greatest = high - low
    dist = abs(prev_close - high)
    if dist > greatest:  # noqa: PLR1730 -- not max(): see the docstring
        greatest = dist
    dist = abs(prev_close - low)
    if dist > greatest:  # noqa: PLR1730 -- not max(): see the docstring
        greatest = dist
    return greatest


def wilder_weights(period: int) -> tuple[float, float]:
    """``(alpha, beta)`` of the Wilder step; beta first so that alpha + beta == 1 exactly."""
    beta = float(period - 1) / float(period)
    return 1.0 - beta, beta


@kernel(sample=lambda: (np.ones(3), np.ones(3), np.ones(3), 1, 1.0, 0.0))
def _atr_loop(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, alpha: float, beta: float
) -> np.ndarray:
    n = close.shape[0]
    out = np.empty(n)
    begin = 0
    while begin < n and (
        high[begin] != high[begin] or low[begin] != low[begin] or close[begin] != close[begin]
    ):
        begin += 1
    first = begin + period
    if first >= n:
        out[:] = np.nan
        return out
    out[:first] = np.nan
    total = 0.0
    for i in range(begin + 1, first + 1):
        tr = high[i] - low[i]
        dist = abs(close[i - 1] - high[i])
        if dist > tr:  # noqa: PLR1730 -- TA-Lib's comparison order (NaN never wins)
            tr = dist
        dist = abs(close[i - 1] - low[i])
        if dist > tr:  # noqa: PLR1730 -- TA-Lib's comparison order (NaN never wins)
            tr = dist
        total += tr
    atr = total / period
    out[first] = atr
    for i in range(first + 1, n):
        tr = high[i] - low[i]
        dist = abs(close[i - 1] - high[i])
        if dist > tr:  # noqa: PLR1730 -- TA-Lib's comparison order (NaN never wins)
            tr = dist
        dist = abs(close[i - 1] - low[i])
        if dist > tr:  # noqa: PLR1730 -- TA-Lib's comparison order (NaN never wins)
            tr = dist
        atr = fma(beta, atr, alpha * tr)
        out[i] = atr
    return out


@kernel(sample=lambda: (np.ones(3), 2, 2.0, 2.0))
def _bbands_loop(
    x: np.ndarray, period: int, nbdevup: float, nbdevdn: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = x.shape[0]
    upper = np.empty(n)
    middle = np.empty(n)
    lower = np.empty(n)
    begin = 0
    while begin < n and x[begin] != x[begin]:
        begin += 1
    first = begin + period - 1
    if first >= n:
        upper[:] = np.nan
        middle[:] = np.nan
        lower[:] = np.nan
        return upper, middle, lower
    upper[:first] = np.nan
    middle[:first] = np.nan
    lower[:first] = np.nan
    inv = 1.0 / period
    shift = x[begin]
    total = 0.0
    sum1 = 0.0
    sum2 = 0.0
    for j in range(begin, first):
        total += x[j]
        d = x[j] - shift
        sum1 += d
        sum2 += d * d
    size = float(period)
    lag = period - 1
    countdown = _RESEED_PERIODS * period
    same_dev = nbdevup == nbdevdn
    for i in range(first, n):
        total += x[i]
        d = x[i] - shift
        sum1 += d
        sum2 += d * d
        mean_d = sum1 * inv
        var = sum2 * inv - mean_d * mean_d
        mid = total / size
        oldest = x[i - lag]
        total -= oldest
        d = oldest - shift
        sum1 -= d
        d = d * d
        sum2 -= d
        countdown -= 1
        if var < _CANCELLATION * (sum2 * inv) or d > _OUTLIER * sum2 or countdown <= 0:
            countdown = _RESEED_PERIODS * period
            start = i - period + 1
            acc = 0.0
            for j in range(start, i + 1):
                acc += x[j]
            shift = acc * inv
            sum1 = 0.0
            sum2 = 0.0
            for j in range(start, i + 1):
                d = x[j] - shift
                sum1 += d
                sum2 += d * d
            mean_d = sum1 * inv
            var = sum2 * inv - mean_d * mean_d
            if var < _FLOOR * (sum2 * inv):
                var = 0.0
            d = x[start] - shift
            sum1 -= d
            sum2 -= d * d
        if var > 0.0:
            sd = math.sqrt(var)
        elif var == 0.0:
            sd = 0.0
        else:
            sd = np.nan  # negative or NaN variance: C's sqrt gives NaN where Python's raises
        middle[i] = mid
        if same_dev:
            width = sd * nbdevup
            upper[i] = mid + width
            lower[i] = mid - width
        else:
            upper[i] = fma(sd, nbdevup, mid)
            lower[i] = mid - sd * nbdevdn
    return upper, middle, lower


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> np.ndarray:
    """Average true range (period 1..100000); the first ``timeperiod`` values are NaN.

    Bar 0 has no previous close, so the first ATR (index ``period``) is the plain mean of the
    true ranges of bars 1..period — not ``high-low`` of bar 0 as some libraries use. Then
    ``fma(beta, atr, alpha*tr)`` with ``beta = (period-1)/period``, ``alpha = 1-beta``:
    TA-Lib 0.8's form (same bits), with no division in the loop-carried chain. TA-Lib's ATR
    unstable period (default 0) is not modelled.
    """
    period = check_period("timeperiod", timeperiod, 1)
    h, lo, c = as_series("high", high), as_series("low", low), as_series("close", close)
    check_same_length(high=h, low=lo, close=c)
    alpha, beta = wilder_weights(period)
    return _atr_loop(h, lo, c, period, alpha, beta)


def bbands(
    close: ArrayLike, timeperiod: int = 5, nbdevup: float = 2.0, nbdevdn: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(upper, middle, lower)`` (period 2..100000); the first ``timeperiod-1`` are NaN.

    Middle is the SMA; the bands add/subtract nbdev × the *population* standard deviation
    (divide by ``period``) of the same window. The variance is not ``E[x²] - mean²`` of raw
    prices — at BTC prices the squares are ~1e10 and the subtraction cancels the digits a tight
    band needs (older TA-Lib then clamped it to 0 and collapsed the bands). The sums run over
    ``x - shift`` instead, re-centred on the window mean when cancellation shows, when an
    outlier leaves the window, or every ``32*period`` bars: TA-Lib 0.8's scheme, with its
    triggers and order of operations, so the bands match it bit for bit.
    """
    period = check_period("timeperiod", timeperiod, 2)
    up = check_factor("nbdevup", nbdevup)
    dn = check_factor("nbdevdn", nbdevdn)
    return _bbands_loop(as_series("close", close), period, up, dn)


class AtrState:
    """ATR one closed candle at a time: O(1) per update, same bits as :func:`atr`."""

    __slots__ = ("_alpha", "_beta", "_count", "_prev_close", "_total", "_value", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period, 1)
        self._alpha, self._beta = wilder_weights(self.period)
        self._count = 0
        self._prev_close = 0.0
        self._total = 0.0
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Latest ATR, or ``None`` while warming up."""
        return self._value

    def update(self, high: float, low: float, close: float) -> float | None:
        """Feed one candle; returns the new ATR or ``None`` during warm-up."""
        high, low, close = float(high), float(low), float(close)
        if self._count == 0:
            if math.isnan(high) or math.isnan(low) or math.isnan(close):
                return None  # leading NaN bar: skipped, as TA-Lib's wrapper does
            self._count = 1
            self._prev_close = close
            return None
        tr = true_range(high, low, self._prev_close)
        self._prev_close = close
        self._count += 1
        if self._value is not None:
            self._value = fma(self._beta, self._value, self._alpha * tr)
        else:
            self._total += tr
            if self._count > self.period:
                self._value = self._total / self.period
        return self._value


class BbandsState:
    """Bollinger bands one closed value at a time: O(1) amortised, same bits as :func:`bbands`.

    Holds the last ``period`` values, needed both to drop the oldest and to re-centre.
    """

    __slots__ = (
        "_countdown",
        "_inv",
        "_shift",
        "_sum1",
        "_sum2",
        "_total",
        "_value",
        "_window",
        "nbdevdn",
        "nbdevup",
        "period",
    )  # fmt: skip

    def __init__(self, period: int = 5, nbdevup: float = 2.0, nbdevdn: float = 2.0) -> None:
        self.period = check_period("period", period, 2)
        self.nbdevup = check_factor("nbdevup", nbdevup)
        self.nbdevdn = check_factor("nbdevdn", nbdevdn)
        self._inv = 1.0 / self.period
        self._window: deque[float] = deque(maxlen=self.period)
        self._shift = 0.0
        self._total = 0.0
        self._sum1 = 0.0
        self._sum2 = 0.0
        self._countdown = _RESEED_PERIODS * self.period
        self._value: tuple[float, float, float] | None = None

    @property
    def value(self) -> tuple[float, float, float] | None:
        """Latest ``(upper, middle, lower)``, or ``None`` while warming up."""
        return self._value

    def update(self, x: float) -> tuple[float, float, float] | None:
        """Feed one value; returns ``(upper, middle, lower)`` or ``None`` during warm-up."""
        x = float(x)
        window = self._window
        if not window:
            if math.isnan(x):
                return None  # leading NaN: skipped, as TA-Lib's wrapper does
            self._shift = x
        self._total += x
        d = x - self._shift
        self._sum1 += d
        self._sum2 += d * d
        window.append(x)
        if len(window) < self.period:
            return None
        inv = self._inv
        mean_d = self._sum1 * inv
        var = self._sum2 * inv - mean_d * mean_d
        mid = self._total / self.period
        oldest = window[0]
        self._total -= oldest
        d = oldest - self._shift
        self._sum1 -= d
        d = d * d
        self._sum2 -= d
        self._countdown -= 1
        if (
            var < _CANCELLATION * (self._sum2 * inv)
            or d > _OUTLIER * self._sum2
            or self._countdown <= 0
        ):
            var = self._recentre()
        if var > 0.0:
            sd = math.sqrt(var)
        elif var == 0.0:
            sd = 0.0
        else:
            sd = math.nan
        if self.nbdevup == self.nbdevdn:
            width = sd * self.nbdevup
            self._value = (mid + width, mid, mid - width)
        else:
            self._value = (fma(sd, self.nbdevup, mid), mid, mid - sd * self.nbdevdn)
        return self._value

    def _recentre(self) -> float:
        """Recompute the shifted sums around the window mean; returns the fresh variance."""
        self._countdown = _RESEED_PERIODS * self.period
        inv = self._inv
        acc = 0.0
        for v in self._window:
            acc += v
        shift = acc * inv
        sum1 = 0.0
        sum2 = 0.0
        for v in self._window:
            d = v - shift
            sum1 += d
            sum2 += d * d
        mean_d = sum1 * inv
        var = sum2 * inv - mean_d * mean_d
        if var < _FLOOR * (sum2 * inv):
            var = 0.0
        d = self._window[0] - shift
        self._shift = shift
        self._sum1 = sum1 - d
        self._sum2 = sum2 - d * d
        return var
