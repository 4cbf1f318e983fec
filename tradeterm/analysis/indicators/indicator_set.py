"""The configured bundle of indicators behind ``features.v1``: one update per closed candle.

:meth:`IndicatorSet.update` (live, O(1) per candle) and :meth:`IndicatorSet.compute` (arrays,
for backfill, charts and backtests) produce the same names and the same bits, so the features
a backtest saw are the features the live session sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from tradeterm.analysis.indicators._validate import check_factor, check_period
from tradeterm.analysis.indicators.averages import EmaState, ema
from tradeterm.analysis.indicators.momentum import MacdState, RsiState, macd, rsi
from tradeterm.analysis.indicators.volatility import AtrState, BbandsState, atr, bbands
from tradeterm.analysis.indicators.volume import Anchor, VwapState, parse_anchor, vwap


@dataclass(frozen=True, slots=True)
class IndicatorConfig:
    """Which indicators :class:`IndicatorSet` maintains. Defaults: EMA 20/50/200, RSI 14,
    MACD 12/26/9, ATR 14, Bollinger 20/2, VWAP anchored at the UTC day."""

    ema_periods: tuple[int, ...] = (20, 50, 200)
    rsi_period: int = 14
    macd_periods: tuple[int, int, int] = (12, 26, 9)
    atr_period: int = 14
    bb_period: int = 20
    bb_nbdev: float = 2.0
    vwap_anchor: Anchor = "day"
    vwap_session_start_hour: int = 0

    def __post_init__(self) -> None:
        if len(set(self.ema_periods)) != len(self.ema_periods):
            raise ValueError(f"ema_periods has duplicates: {self.ema_periods}")
        for p in self.ema_periods:
            check_period("ema period", p, 1)
        check_period("rsi_period", self.rsi_period, 2)
        MacdState(*self.macd_periods)  # validates the triple
        check_period("atr_period", self.atr_period, 1)
        check_period("bb_period", self.bb_period, 2)
        check_factor("bb_nbdev", self.bb_nbdev)
        parse_anchor(self.vwap_anchor, self.vwap_session_start_hour)

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names, in output order (valid ``features.v1`` keys)."""
        return (
            *(f"ema_{p}" for p in self.ema_periods),
            f"rsi_{self.rsi_period}",
            "macd",
            "macd_signal",
            "macd_hist",
            f"atr_{self.atr_period}",
            "bb_upper",
            "bb_middle",
            "bb_lower",
            "vwap",
        )


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class IndicatorSet:
    """Maintains every indicator of an :class:`IndicatorConfig` over a stream of closed candles."""

    def __init__(self, config: IndicatorConfig | None = None) -> None:
        self.config = config or IndicatorConfig()
        cfg = self.config
        self._emas = [(f"ema_{p}", EmaState(p)) for p in cfg.ema_periods]
        self._rsi = RsiState(cfg.rsi_period)
        self._macd = MacdState(*cfg.macd_periods)
        self._atr = AtrState(cfg.atr_period)
        self._bb = BbandsState(cfg.bb_period, cfg.bb_nbdev, cfg.bb_nbdev)
        self._vwap = VwapState(cfg.vwap_anchor, cfg.vwap_session_start_hour)
        self._last_time: int | None = None
        self._values: dict[str, float | None] = dict.fromkeys(cfg.names)

    @property
    def names(self) -> tuple[str, ...]:
        return self.config.names

    @property
    def values(self) -> dict[str, float | None]:
        """The latest values (a copy); ``None`` for indicators still warming up."""
        return dict(self._values)

    def update(
        self, open_time_ms: int, high: float, low: float, close: float, volume: float
    ) -> dict[str, float | None]:
        """Feed one *closed* candle; returns name → value (``None`` while warming up).

        Refuses (``ValueError``, state untouched) a candle that is not finite, has
        ``high < low`` or negative volume, or is not newer than the previous one: a live feed
        must not silently poison the averages (TA-Lib's NaN rules would, e.g., pin RSI at 0)
        or count a re-delivered candle twice.
        """
        t = int(open_time_ms)
        h, lo, c, v = float(high), float(low), float(close), float(volume)
        if not (math.isfinite(h) and math.isfinite(lo) and math.isfinite(c) and math.isfinite(v)):
            raise ValueError(f"candle at {t} has a non-finite value: h={h} l={lo} c={c} v={v}")
        if h < lo or v < 0.0:
            raise ValueError(f"candle at {t} is malformed: high={h} low={lo} volume={v}")
        if self._last_time is not None and t <= self._last_time:
            raise ValueError(
                f"candle at {t} is not newer than the previous one at {self._last_time}"
            )
        self._last_time = t
        out = self._values
        for name, state in self._emas:
            out[name] = _finite_or_none(state.update(c))
        cfg = self.config
        out[f"rsi_{cfg.rsi_period}"] = _finite_or_none(self._rsi.update(c))
        m = self._macd.update(c)
        out["macd"], out["macd_signal"], out["macd_hist"] = (
            (None, None, None) if m is None else map(_finite_or_none, m)
        )
        out[f"atr_{cfg.atr_period}"] = _finite_or_none(self._atr.update(h, lo, c))
        b = self._bb.update(c)
        out["bb_upper"], out["bb_middle"], out["bb_lower"] = (
            (None, None, None) if b is None else map(_finite_or_none, b)
        )
        out["vwap"] = _finite_or_none(self._vwap.update(t, h, lo, c, v))
        return dict(out)

    def compute(
        self,
        open_time_ms: ArrayLike,
        high: ArrayLike,
        low: ArrayLike,
        close: ArrayLike,
        volume: ArrayLike,
    ) -> dict[str, np.ndarray]:
        """The same indicators over whole arrays (NaN where :meth:`update` would give ``None``).

        Stateless: it does not touch the live state, so a chart can recompute history while the
        stream keeps updating.
        """
        cfg = self.config
        out: dict[str, np.ndarray] = {f"ema_{p}": ema(close, p) for p in cfg.ema_periods}
        out[f"rsi_{cfg.rsi_period}"] = rsi(close, cfg.rsi_period)
        out["macd"], out["macd_signal"], out["macd_hist"] = macd(close, *cfg.macd_periods)
        out[f"atr_{cfg.atr_period}"] = atr(high, low, close, cfg.atr_period)
        out["bb_upper"], out["bb_middle"], out["bb_lower"] = bbands(
            close, cfg.bb_period, cfg.bb_nbdev, cfg.bb_nbdev
        )
        out["vwap"] = vwap(
            open_time_ms, high, low, close, volume, cfg.vwap_anchor, cfg.vwap_session_start_hour
        )
        return out
