"""Market regime per closed bar: how volatile (relative to its own recent past) and which way
the trend leans. Guards and sizing read it (``regime.v1``) to stand aside in extreme
volatility or to trade only with the trend.

**Volatility** is the percentile rank of today's normalised ATR (``ATR / close``) among the
valid values of the trailing ``lookback`` bars, the current one included — never a later bar,
and never a whole-history percentile (that would leak the future into every earlier bar).
Normalising by price keeps a long rally from reading as "high volatility" merely because
ATR in dollars grows with the price. The rank is the mid-rank among the *other* window
values, ``100 * (below + ties/2) / (m - 1)``: 0 for the quietest bar of the window, 100 for
the wildest. Levels (defaults): ``LOW`` < 20 <= ``NORMAL`` <= 80 < ``HIGH`` <= 95 <
``EXTREME``. Undefined until ``min_periods`` valid ATR values are in the window.

**Hysteresis.** A reading sitting on a boundary would flip the regime (and every guard and
log line that follows it) bar after bar. So a level, once held, is left only when the value
clears its own boundary by a margin: ``vol_hysteresis`` percentile points (at most halfway to
0 or 100), ``trend_hysteresis`` ATRs per bar. Only the held level's two edges move, outwards;
after an undefined bar there is no held level. Both margins at 0 give the plain thresholds.

**Trend** is the slope of an EMA over ``slope_bars`` bars, in ATRs per bar:
``(ema[t] - ema[t-N]) / (N * atr[t])``. Measuring it in ATRs makes one threshold serve every
market and timeframe: ``UP`` above ``flat_band``, ``DOWN`` below ``-flat_band``, else ``FLAT``.

Everything at bar *t* is computed from bars <= *t* (causal indicators and a trailing window),
so running on a prefix of a series gives exactly the prefix of the full run; events carry the
bar's open time (``time``) and close time (``confirmed_at``). :func:`regime` /
:func:`regime_events` work on arrays; :class:`RegimeState` does the same per closed candle
with identical values.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from tradeterm.analysis.indicators import AtrState, EmaState, atr, ema
from tradeterm.analysis.indicators._jit import kernel
from tradeterm.analysis.indicators._validate import (
    as_series,
    as_times,
    check_factor,
    check_period,
    check_same_length,
)
from tradeterm.contracts.analysis import RegimeV1, Trend, Volatility
from tradeterm.contracts.timeframe import Timeframe

VOLATILITY_LEVELS: tuple[Volatility, ...] = (
    Volatility.LOW,
    Volatility.NORMAL,
    Volatility.HIGH,
    Volatility.EXTREME,
)
"""Volatility code ``k`` (in :attr:`RegimeArrays.volatility`) means ``VOLATILITY_LEVELS[k]``; -1 = undefined."""
TREND_LEVELS: tuple[Trend, ...] = (Trend.DOWN, Trend.FLAT, Trend.UP)
"""Trend code ``k`` (in :attr:`RegimeArrays.trend`) means ``TREND_LEVELS[k]``; -1 = undefined."""
_NAN = float("nan")


@dataclass(frozen=True, slots=True)
class RegimeConfig:
    """Parameters of the regime classifier (see the module notes for their meaning)."""

    atr_period: int = 14
    lookback: int = 500
    min_periods: int = 100
    low_below: float = 20.0
    high_above: float = 80.0
    extreme_above: float = 95.0
    ema_period: int = 50
    slope_bars: int = 10
    flat_band: float = 0.05
    vol_hysteresis: float = 5.0
    trend_hysteresis: float = 0.01

    def __post_init__(self) -> None:
        check_period("atr_period", self.atr_period, 1)
        check_period("lookback", self.lookback, 2, 1_000_000)
        check_period("min_periods", self.min_periods, 2, self.lookback)
        check_period("ema_period", self.ema_period, 1)
        check_period("slope_bars", self.slope_bars, 1)
        low, high, extreme = (
            check_factor(n, getattr(self, n)) for n in ("low_below", "high_above", "extreme_above")
        )
        if not 0.0 <= low <= high <= extreme <= 100.0:
            raise ValueError(
                f"need 0 <= low_below <= high_above <= extreme_above <= 100, got {low}, {high}, {extreme}"
            )
        if check_factor("flat_band", self.flat_band) < 0.0:
            raise ValueError(f"flat_band must be >= 0, got {self.flat_band}")
        for name in ("vol_hysteresis", "trend_hysteresis"):
            if check_factor(name, getattr(self, name)) < 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def volatility_code(self, percentile: float, previous: int = -1) -> int:
        """Code into :data:`VOLATILITY_LEVELS`, -1 for NaN; ``previous`` is the last bar's
        code (-1 = none), which the hysteresis margin protects."""
        return int(_vol_code(percentile, previous, self.low_below, self.high_above,
                             self.extreme_above, self.vol_hysteresis))

    def trend_code(self, slope: float, previous: int = -1) -> int:
        """Code into :data:`TREND_LEVELS`, -1 for NaN; ``previous`` as for volatility."""
        return int(_trend_code(slope, previous, self.flat_band, self.trend_hysteresis))


def _edge(b: float, k: int, prev: int, h: float, lo: float, hi: float) -> float:
    # Boundary k separates code k-1 from code k. Only the held level's own two edges move,
    # outwards, and never more than halfway to the scale's end (a percentile stops at 100).
    if prev == k - 1:
        return b + min(h, (hi - b) / 2.0)
    if prev == k:
        return b - min(h, (b - lo) / 2.0)
    return b


def _vol_code(pct: float, prev: int, low: float, high: float, extreme: float, h: float) -> int:
    if math.isnan(pct):
        return -1
    return (int(pct >= _edge(low, 1, prev, h, 0.0, 100.0)) + int(pct > _edge(high, 2, prev, h, 0.0, 100.0))
            + int(pct > _edge(extreme, 3, prev, h, 0.0, 100.0)))


def _trend_code(slope: float, prev: int, band: float, h: float) -> int:
    if math.isnan(slope):
        return -1
    inf = math.inf
    return int(slope >= _edge(-band, 1, prev, h, -inf, inf)) + int(slope > _edge(band, 2, prev, h, -inf, inf))


@kernel(sample=lambda: (np.zeros(3), np.zeros(3), 20.0, 80.0, 95.0, 5.0, 0.05, 0.01))
def _codes_loop(
    pct: np.ndarray, slope: np.ndarray, low: float, high: float, extreme: float,
    vol_h: float, band: float, trend_h: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    # The rules of _vol_code / _trend_code, inlined: numba compiles only this loop.
    n = pct.shape[0]
    vol = np.empty(n, np.int8)
    trend = np.empty(n, np.int8)
    pv = -1
    pt = -1
    for i in range(n):
        x = pct[i]
        if math.isnan(x):
            pv = -1
        else:
            code = 0
            for b, k in ((low, 1), (high, 2), (extreme, 3)):
                edge = b
                if pv == k - 1:
                    edge = b + min(vol_h, (100.0 - b) / 2.0)
                elif pv == k:
                    edge = b - min(vol_h, b / 2.0)
                if (x >= edge) if k == 1 else (x > edge):
                    code += 1
            pv = code
        y = slope[i]
        if math.isnan(y):
            pt = -1
        else:
            code = 0
            for b, k in ((-band, 1), (band, 2)):
                edge = b
                if pt == k - 1:
                    edge = b + trend_h
                elif pt == k:
                    edge = b - trend_h
                if (y >= edge) if k == 1 else (y > edge):
                    code += 1
            pt = code
        vol[i] = pv
        trend[i] = pt
    return vol, trend


@dataclass(frozen=True, slots=True)
class RegimeArrays:
    """Per-bar regime over a whole series (NaN / -1 where undefined)."""

    atr_percentile: np.ndarray  # float64, 0..100
    ema_slope: np.ndarray  # float64, ATRs per bar
    volatility: np.ndarray  # int8 codes into VOLATILITY_LEVELS
    trend: np.ndarray  # int8 codes into TREND_LEVELS


@dataclass(frozen=True, slots=True)
class RegimeReading:
    """The regime at one bar."""

    volatility: Volatility
    trend: Trend
    atr_percentile: float
    ema_slope: float


@kernel(sample=lambda: (np.zeros(3, np.int64), 1, 2, 2))
def _trailing_rank_loop(
    ranks: np.ndarray, size: int, lookback: int, min_periods: int
) -> np.ndarray:
    # ranks[i]: position of value i among all distinct values (-1 = NaN). A Fenwick tree counts
    # the window's values per rank, so "how many are below / equal" costs O(log n). The global
    # ranking only orders values; every count comes from the trailing window alone.
    n = ranks.shape[0]
    out = np.empty(n)
    out[:] = np.nan
    tree = np.zeros(size + 1, np.int64)
    m = 0
    for i in range(n):
        if i >= lookback and ranks[i - lookback] >= 0:
            j = ranks[i - lookback] + 1
            while j <= size:
                tree[j] -= 1
                j += j & -j
            m -= 1
        r = ranks[i]
        if r < 0:
            continue
        below = 0
        j = r
        while j > 0:
            below += tree[j]
            j -= j & -j
        upto = 0
        j = r + 1
        while j > 0:
            upto += tree[j]
            j -= j & -j
        j = r + 1
        while j <= size:
            tree[j] += 1
            j += j & -j
        m += 1
        if m >= min_periods:
            out[i] = 100.0 * (below + 0.5 * (upto - below)) / (m - 1)
    return out


def trailing_percentile(values: ArrayLike, lookback: int, min_periods: int) -> np.ndarray:
    """Mid-rank percentile (0..100) of each value among the *other* non-NaN values of the
    trailing ``lookback`` bars (itself included in the window): ``100 * (below + ties/2) /
    (m - 1)``. NaN where the value is NaN or fewer than ``min_periods`` values are valid."""
    lookback = check_period("lookback", lookback, 2, 1_000_000)
    min_periods = check_period("min_periods", min_periods, 2, lookback)
    x = as_series("values", values)
    valid = ~np.isnan(x)
    distinct, rank = np.unique(x[valid], return_inverse=True)
    ranks = np.full(len(x), -1, dtype=np.int64)
    ranks[valid] = rank
    return _trailing_rank_loop(ranks, len(distinct), lookback, min_periods)


def regime(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, config: RegimeConfig | None = None
) -> RegimeArrays:
    """Volatility and trend regime for every bar (see the module notes)."""
    cfg = config or RegimeConfig()
    h, lo, c = as_series("high", high), as_series("low", low), as_series("close", close)
    n = check_same_length(high=h, low=lo, close=c)
    a = atr(h, lo, c, cfg.atr_period)
    with np.errstate(divide="ignore", invalid="ignore"):
        natr = np.where(c > 0.0, a / c, np.nan)  # ATR per unit of price
    pct = trailing_percentile(natr, cfg.lookback, cfg.min_periods)
    e = ema(c, cfg.ema_period)
    slope = np.full(n, np.nan)
    k = cfg.slope_bars
    if n > k:
        with np.errstate(divide="ignore", invalid="ignore"):
            slope[k:] = (e[k:] - e[:-k]) / (float(k) * a[k:])
    slope[~np.isfinite(slope)] = np.nan  # includes ATR == 0: no range, no measurable slope
    vol, trend = _codes_loop(pct, slope, float(cfg.low_below), float(cfg.high_above),
                             float(cfg.extreme_above), float(cfg.vol_hysteresis),
                             float(cfg.flat_band), float(cfg.trend_hysteresis))
    return RegimeArrays(atr_percentile=pct, ema_slope=slope, volatility=vol, trend=trend)


def regime_events(
    open_time_ms: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    venue: str,
    symbol: str,
    tf: Timeframe | str,
    config: RegimeConfig | None = None,
    every_bar: bool = False,
) -> list[RegimeV1]:
    """``regime.v1`` events: one whenever the (volatility, trend) pair changes — the first
    defined bar included — or one per defined bar with ``every_bar=True`` (costly at 1M bars:
    each event is a validated model)."""
    frame = Timeframe(tf)
    t = as_times("open_time_ms", open_time_ms)
    c = as_series("close", close)
    check_same_length(open_time_ms=t, close=c)
    arrays = regime(high, low, c, config)
    defined = (arrays.volatility >= 0) & (arrays.trend >= 0)
    idx = np.flatnonzero(defined)
    if not every_bar and len(idx):
        pair = arrays.volatility[idx].astype(np.int16) * 4 + arrays.trend[idx]
        keep = np.ones(len(idx), dtype=bool)
        keep[1:] = pair[1:] != pair[:-1]
        idx = idx[keep]
    return [
        RegimeV1(
            venue=venue,
            symbol=symbol,
            tf=frame,
            time=int(t[i]),
            confirmed_at=frame.close_time(int(t[i])),
            volatility=VOLATILITY_LEVELS[arrays.volatility[i]],
            trend=TREND_LEVELS[arrays.trend[i]],
            atr_percentile=float(arrays.atr_percentile[i]),
            ema_slope=float(arrays.ema_slope[i]),
        )
        for i in idx
    ]


class RegimeState:
    """The regime one closed candle at a time, identical to :func:`regime` / :func:`regime_events`.

    O(log lookback) search plus an O(lookback) list shift per candle (a memmove of a few KB).
    """

    def __init__(
        self,
        *,
        venue: str,
        symbol: str,
        tf: Timeframe | str,
        config: RegimeConfig | None = None,
        every_bar: bool = False,
    ) -> None:
        self.config = config or RegimeConfig()
        self.venue, self.symbol, self.tf = venue, symbol, Timeframe(tf)
        self.every_bar = every_bar
        self._atr = AtrState(self.config.atr_period)
        self._ema = EmaState(self.config.ema_period)
        self._recent_natr: deque[float] = deque(maxlen=self.config.lookback)
        self._sorted: list[float] = []
        self._recent_ema: deque[float | None] = deque(maxlen=self.config.slope_bars + 1)
        self._last_pair: tuple[int, int] | None = None
        self._codes = (-1, -1)  # last bar's (volatility, trend) codes, for the hysteresis
        self._last_time: int | None = None
        self._reading: RegimeReading | None = None

    @property
    def reading(self) -> RegimeReading | None:
        """The regime at the latest candle, or ``None`` while undefined."""
        return self._reading

    def update(self, open_time_ms: int, high: float, low: float, close: float) -> RegimeV1 | None:
        """Feed one closed candle; returns the event to publish, if any."""
        t = int(open_time_ms)
        if self._last_time is not None and t <= self._last_time:
            raise ValueError(
                f"candle at {t} is not newer than the previous one at {self._last_time}"
            )
        self._last_time = t
        cfg = self.config
        close = float(close)
        a = self._atr.update(high, low, close)
        pct = self._percentile(a / close if a is not None and close > 0.0 else _NAN)
        e = self._ema.update(close)
        self._recent_ema.append(e)
        slope = _NAN
        if len(self._recent_ema) == cfg.slope_bars + 1 and a is not None and a != 0.0:
            past = self._recent_ema[0]
            if e is not None and past is not None:
                slope = (e - past) / (float(cfg.slope_bars) * a)
                if not math.isfinite(slope):
                    slope = _NAN
        vol, trend = cfg.volatility_code(pct, self._codes[0]), cfg.trend_code(slope, self._codes[1])
        self._codes = (vol, trend)
        if vol < 0 or trend < 0:
            self._reading = None
            return None
        self._reading = RegimeReading(VOLATILITY_LEVELS[vol], TREND_LEVELS[trend], pct, slope)
        if not self.every_bar and self._last_pair == (vol, trend):
            return None
        self._last_pair = (vol, trend)
        return RegimeV1(
            venue=self.venue,
            symbol=self.symbol,
            tf=self.tf,
            time=t,
            confirmed_at=self.tf.close_time(t),
            volatility=VOLATILITY_LEVELS[vol],
            trend=TREND_LEVELS[trend],
            atr_percentile=pct,
            ema_slope=slope,
        )

    def _percentile(self, x: float) -> float:
        recent, ordered = self._recent_natr, self._sorted
        if len(recent) == recent.maxlen:
            old = recent[0]
            if not math.isnan(old):
                del ordered[bisect.bisect_left(ordered, old)]
        recent.append(x)
        if math.isnan(x):
            return _NAN
        below = bisect.bisect_left(ordered, x)
        above = bisect.bisect_right(ordered, x, lo=below)
        ordered.insert(above, x)
        m = len(ordered)
        if m < self.config.min_periods:
            return float("nan")
        return 100.0 * (below + 0.5 * (above - below)) / (m - 1)
