"""Technical indicators with TA-Lib's names, defaults, warm-up and values.

Two forms that agree to the last bit:

* functions over whole float64 arrays — ``sma``, ``ema``, ``rsi``, ``macd``, ``atr``,
  ``bbands`` (same signatures and NaN warm-up as ``talib.SMA`` …) and ``vwap``;
* small classes updated once per closed candle in O(1) — ``SmaState``, ``EmaState``, … —
  and :class:`IndicatorSet`, the configured bundle that feeds ``features.v1``.

Values match TA-Lib 0.8 (which fuses multiply-adds; see :mod:`._fma`) bit for bit on
ordinary data and always within its 1e-9 relative contract. The array loops are compiled by
numba when an input is long enough to be worth it (see :mod:`._jit`: importing this package,
short inputs and the per-candle classes never import numba); :func:`warm_up` compiles them
ahead of time in a background thread. Without numba (or with ``TRADETERM_NO_NUMBA=1``) the
same loops run as plain Python.

Input rules: arrays are 1-D and coerced to float64; multi-input functions need equal lengths;
periods are integers within TA-Lib's ranges (up to 100000); anything else is a ``ValueError``.
An input shorter than the warm-up gives all NaN, as in TA-Lib. NaN inputs follow TA-Lib:
leading NaNs are skipped (warm-up starts at the first valid value); a NaN later on propagates
(RSI is the exception — it then reads 0.0 — see :mod:`.momentum`).
"""

from __future__ import annotations

from tradeterm.analysis.indicators._jit import warm_up
from tradeterm.analysis.indicators.averages import EmaState, SmaState, ema, sma
from tradeterm.analysis.indicators.indicator_set import IndicatorConfig, IndicatorSet
from tradeterm.analysis.indicators.momentum import MacdState, RsiState, macd, rsi
from tradeterm.analysis.indicators.volatility import AtrState, BbandsState, atr, bbands
from tradeterm.analysis.indicators.volume import VwapState, vwap

__all__ = [
    "AtrState",
    "BbandsState",
    "EmaState",
    "IndicatorConfig",
    "IndicatorSet",
    "MacdState",
    "RsiState",
    "SmaState",
    "VwapState",
    "atr",
    "bbands",
    "ema",
    "macd",
    "rsi",
    "sma",
    "vwap",
    "warm_up",
]
