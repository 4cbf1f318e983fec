"""Order blocks: the last opposite-colour candle before a structure break.

A bullish break (of swing high S at bar t) makes the last *down* candle (close < open) among
bars S .. t-1 a bullish order block; a bearish break takes the last *up* candle. The break bar
itself is excluded (it is the move, not its origin), doji candles (close == open) are neither
colour, and if no such candle exists since the swing there is no order block. The zone spans the
candle's high..low (``ob_zone="wick"``) or its body, and is born at the close of the break bar.
A candle that already is the newest order block of that direction is not added again (two breaks
in a row can find the same candle); no other candle of that side can be older, so comparing with
the newest is enough.
"""

from __future__ import annotations

import numpy as np

from . import codes
from ._jit import kernel


@kernel
def find_order_blocks(
    open_: np.ndarray,
    close: np.ndarray,
    brk_bar: np.ndarray,
    brk_ref: np.ndarray,
    brk_dir: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candle bar, birth bar, direction) for each break that has an order block."""
    m = brk_bar.shape[0]
    ob_bar = np.empty(m, dtype=np.int64)
    ob_born = np.empty(m, dtype=np.int64)
    ob_dir = np.empty(m, dtype=np.int8)
    k = 0
    last_bull = -1
    last_bear = -1
    for e in range(m):
        t = brk_bar[e]
        s = brk_ref[e]
        bull = brk_dir[e] == codes.BULL
        j = t - 1
        while j >= s:
            if (close[j] < open_[j]) if bull else (close[j] > open_[j]):
                break
            j -= 1
        if j < s:
            continue
        if bull:
            if j == last_bull:
                continue
            last_bull = j
        else:
            if j == last_bear:
                continue
            last_bear = j
        ob_bar[k] = j
        ob_born[k] = t
        ob_dir[k] = brk_dir[e]
        k += 1
    return ob_bar[:k], ob_born[:k], ob_dir[:k]


def order_block_bounds(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    bars: np.ndarray,
    body: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) of each order-block candle."""
    if body:
        o, c = open_[bars], close[bars]
        return np.maximum(o, c), np.minimum(o, c)
    return high[bars].copy(), low[bars].copy()
