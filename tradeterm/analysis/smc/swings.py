"""Swing pivots and their HH/HL/LH/LL labels (vectorised kernels).

Tie rule: a swing high at bar i has a high *strictly greater* than each of the ``left`` bars
before it and *greater than or equal to* each of the ``right`` bars after it (lows mirrored).
Strict on the left, loose on the right makes the *first* bar of a flat top the pivot, so a
plateau yields exactly one swing and equal highs further apart stay two swings (which is what
the liquidity-pool detector needs). A pivot needs a full left window, so bars < ``left`` are
never swings, and it is known only at the close of bar ``i + right``.

Labels compare a swing with the previous confirmed swing of the same side: HH only if strictly
higher, so an equal high is LH (a double top is not a higher high); LL only if strictly lower,
so an equal low is HL. The first swing of a side has no label.
"""

from __future__ import annotations

import numpy as np

from . import codes
from ._jit import kernel


@kernel
def find_pivots(
    high: np.ndarray, low: np.ndarray, left: int, right: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of swing highs and swing lows, ascending (= confirmation order)."""
    n = high.shape[0]
    is_high = np.zeros(n, dtype=np.bool_)
    is_low = np.zeros(n, dtype=np.bool_)
    for i in range(left, n - right):
        h = high[i]
        ok = True
        for j in range(i - 1, i - left - 1, -1):  # nearest first: most bars fail at once
            if high[j] >= h:
                ok = False
                break
        if ok:
            for j in range(i + 1, i + right + 1):
                if high[j] > h:
                    ok = False
                    break
        is_high[i] = ok
        lo = low[i]
        ok = True
        for j in range(i - 1, i - left - 1, -1):
            if low[j] <= lo:
                ok = False
                break
        if ok:
            for j in range(i + 1, i + right + 1):
                if low[j] < lo:
                    ok = False
                    break
        is_low[i] = ok
    return np.flatnonzero(is_high), np.flatnonzero(is_low)


def label_swings(prices: np.ndarray, is_high: bool) -> np.ndarray:
    """HH/LH (highs) or HL/LL (lows) against the previous swing of the same side."""
    labels = np.zeros(prices.shape[0], dtype=np.int8)
    if prices.shape[0] > 1:
        cur, prev = prices[1:], prices[:-1]
        if is_high:
            labels[1:] = np.where(cur > prev, codes.HH, codes.LH)
        else:
            labels[1:] = np.where(cur < prev, codes.LL, codes.HL)
    return labels
