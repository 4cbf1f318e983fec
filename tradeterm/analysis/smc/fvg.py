"""Fair value gaps: the three-candle imbalance.

Bullish at bar i: ``low[i] > high[i-2]`` (the zone is high[i-2] .. low[i]); bearish:
``high[i] < low[i-2]`` (high[i] .. low[i-2]). Both cannot hold at once. The gap is kept if its
height is at least ``min_size[i]`` (a per-bar array, so an ATR-scaled threshold stays causal:
the caller's ATR at bar i uses bars <= i). It is known at the close of the third candle i; its
``time`` is the middle candle's, where charts draw it.
"""

from __future__ import annotations

import numpy as np

from . import codes


def find_fvgs(
    high: np.ndarray, low: np.ndarray, min_size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(third-candle bar, direction, top, bottom), ordered by bar."""
    if high.shape[0] < 3:
        e = np.empty(0, dtype=np.int64)
        return e, np.empty(0, dtype=np.int8), np.empty(0), np.empty(0)
    hi2, lo2 = high[:-2], low[:-2]
    hi0, lo0 = high[2:], low[2:]
    ms = min_size[2:]
    up_gap = lo0 - hi2
    dn_gap = lo2 - hi0
    bull = (up_gap > 0.0) & (up_gap >= ms)
    bear = (dn_gap > 0.0) & (dn_gap >= ms)
    idx = np.flatnonzero(bull | bear)
    is_bull = bull[idx]
    direction = np.where(is_bull, codes.BULL, codes.BEAR).astype(np.int8)
    top = np.where(is_bull, lo0[idx], lo2[idx])
    bottom = np.where(is_bull, hi2[idx], hi0[idx])
    return idx + 2, direction, top, bottom
