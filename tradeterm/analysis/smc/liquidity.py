"""Liquidity pools (equal highs / equal lows) and their sweeps.

A pool forms when a swing is confirmed whose price is within ``tol[j]`` (j = the confirming
bar) of the *previous* confirmed swing of the same side. The zone spans the two prices; its
``time`` is the older swing's bar and it is born at the close of bar j. Equal highs are a BEAR
pool (resting buy stops whose sweep is a bearish tell), equal lows a BULL pool. No bar between two
consecutive swing highs can trade above both (the highest such bar would itself be a swing high,
by the pivot rule), so "nothing ran the level in between" needs no separate check.

The pool lives until the first later bar that trades beyond it: for equal highs the first high
above ``top``. If that bar closes back at or below ``top`` it is a *sweep*: a LIQUIDITY_SWEEP event
plus the zone turning MITIGATED. If it closes beyond, the liquidity was simply taken: the zone is
INVALIDATED and no sweep is reported. Either way the pool is then finished (fill_pct 1).
Only the previous swing is compared (no lookback setting), which keeps the live engine O(1) per
bar; a third equal high makes a second pool with the middle one.
"""

from __future__ import annotations

import numpy as np

from . import codes
from ._jit import kernel
from .zones import first_below


def find_pools(
    high: np.ndarray,
    low: np.ndarray,
    sh_idx: np.ndarray,
    sl_idx: np.ndarray,
    right: int,
    tol: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(older swing bar, newer swing bar, birth bar, direction, top, bottom), unordered."""
    out: list[tuple[np.ndarray, ...]] = []
    for idx, src, d in ((sh_idx, high, codes.BEAR), (sl_idx, low, codes.BULL)):
        if idx.shape[0] < 2:
            continue
        born = idx[1:] + right
        p_old = src[idx[:-1]]
        p_new = src[idx[1:]]
        ok = np.flatnonzero(np.abs(p_new - p_old) <= tol[born])
        out.append(
            (
                idx[:-1][ok],
                idx[1:][ok],
                born[ok],
                np.full(ok.shape[0], d, dtype=np.int8),
                np.maximum(p_old, p_new)[ok],
                np.minimum(p_old, p_new)[ok],
            )
        )
    if not out:
        e = np.empty(0, dtype=np.int64)
        return e, e.copy(), e.copy(), np.empty(0, dtype=np.int8), np.empty(0), np.empty(0)
    return tuple(np.concatenate([o[c] for o in out]) for c in range(6))  # type: ignore[return-value]


@kernel
def resolve_pools(
    direction: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    born: np.ndarray,
    close: np.ndarray,
    low_tree: np.ndarray,
    neg_high_tree: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For each pool: the bar that ends it (-1 if none yet) and whether that was a sweep."""
    nz = direction.shape[0]
    end = np.full(nz, -1, dtype=np.int64)
    swept = np.zeros(nz, dtype=np.bool_)
    for z in range(nz):
        if direction[z] == codes.BEAR:
            k = first_below(neg_high_tree, born[z] + 1, -top[z])
            if k >= 0:
                end[z] = k
                swept[z] = close[k] <= top[z]
        else:
            k = first_below(low_tree, born[z] + 1, bottom[z])
            if k >= 0:
                end[z] = k
                swept[z] = close[k] >= bottom[z]
    return end, swept
