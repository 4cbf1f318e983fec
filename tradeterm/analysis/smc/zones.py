"""Forward tracking of order blocks and gaps: fill, mitigation, invalidation (vectorised).

The rule, shared with the incremental engine:

* Tracking starts on the bar *after* the zone is born.
* ``fill_pct`` is how deep wicks have reached into the zone from its near edge, as a fraction of
  its height, never decreasing: for a bullish (demand) zone ``(top - lowest low) / (top - bottom)``,
  for a bearish (supply) zone ``(highest high - bottom) / (top - bottom)``, capped at 1. Touching
  the edge exactly is not a fill.
* State: PARTIAL while ``0 < fill < mitigated_at``, MITIGATED once ``fill >= mitigated_at``;
  INVALIDATED (final) when a bar *closes* beyond the far edge (below ``bottom`` for demand,
  above ``top`` for supply).
* Every change of (state, fill_pct) is a new event on the bar that caused it.

Implementation: each zone is independent, so instead of scanning every bar against every open
zone we jump from event to event with "first bar at or after j whose value is below x" queries
on min segment trees (highs and closes are negated so one query serves both sides). A zone costs
O(events * log n), an untouched zone one query.
"""

from __future__ import annotations

import numpy as np

from . import codes
from ._jit import kernel


@kernel
def build_min_tree(values: np.ndarray) -> np.ndarray:
    """Implicit binary tree: leaves at [size, size+n), padding +inf, node = min of children."""
    n = values.shape[0]
    size = 1
    while size < n:
        size *= 2
    tree = np.full(2 * size, np.inf)
    tree[size : size + n] = values
    for i in range(size - 1, 0, -1):
        a = tree[2 * i]
        b = tree[2 * i + 1]
        tree[i] = min(b, a)
    return tree


@kernel
def first_below(tree: np.ndarray, start: int, x: float) -> int:
    """Smallest leaf index >= start with value < x, or -1. Cost grows with log(distance)."""
    size = tree.shape[0] // 2
    if start >= size:
        return -1
    i = start + size
    while True:
        if tree[i] < x:
            while i < size:
                i = 2 * i
                if not tree[i] < x:
                    i += 1
            return i - size
        while i & 1:  # a right child: climb until we are a left child
            i >>= 1
        if i == 0:
            return -1
        i += 1  # the subtree right after the one just ruled out


@kernel
def _grow(a: np.ndarray, cap: int) -> np.ndarray:
    b = np.empty(cap, dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@kernel
def track_zones(
    direction: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    born: np.ndarray,
    mitigated_at: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    close: np.ndarray,
    low_tree: np.ndarray,
    neg_high_tree: np.ndarray,
    close_tree: np.ndarray,
    neg_close_tree: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """State-change events of every zone: (zone index, bar, state, fill), grouped by zone."""
    nz = direction.shape[0]
    cap = 4 * nz + 16
    ev_zone = np.empty(cap, dtype=np.int64)
    ev_bar = np.empty(cap, dtype=np.int64)
    ev_state = np.empty(cap, dtype=np.int8)
    ev_fill = np.empty(cap, dtype=np.float64)
    m = 0
    for z in range(nz):
        tp = top[z]
        bt = bottom[z]
        span = tp - bt
        thr = mitigated_at[z]
        bull = direction[z] == codes.BULL
        cur = born[z]
        edge = tp if bull else bt  # deepest wick so far; the next event needs a deeper one
        last_state = codes.ACTIVE
        last_fill = 0.0
        while True:
            if bull:
                k = first_below(low_tree, cur + 1, edge)
            else:
                k = first_below(neg_high_tree, cur + 1, -edge)
            if k < 0:
                break
            if bull:
                edge = low[k]
                fill = (tp - edge) / span
                dead = close[k] < bt
            else:
                edge = high[k]
                fill = (edge - bt) / span
                dead = close[k] > tp
            fill = min(fill, 1.0)
            if dead:
                state = codes.INVALIDATED
            elif fill >= thr:
                state = codes.MITIGATED
            else:
                state = codes.PARTIAL
            if state != last_state or fill != last_fill:
                if m + 2 > ev_zone.shape[0]:
                    cap = 2 * ev_zone.shape[0]
                    ev_zone = _grow(ev_zone, cap)
                    ev_bar = _grow(ev_bar, cap)
                    ev_state = _grow(ev_state, cap)
                    ev_fill = _grow(ev_fill, cap)
                ev_zone[m] = z
                ev_bar[m] = k
                ev_state[m] = state
                ev_fill[m] = fill
                m += 1
                last_state = state
                last_fill = fill
            if dead:
                break
            cur = k
            if fill >= 1.0:
                # Fully filled: only a close beyond the far edge can still change anything.
                if bull:
                    k = first_below(close_tree, cur + 1, bt)
                else:
                    k = first_below(neg_close_tree, cur + 1, -tp)
                if k >= 0:
                    ev_zone[m] = z
                    ev_bar[m] = k
                    ev_state[m] = codes.INVALIDATED
                    ev_fill[m] = 1.0
                    m += 1
                break
    return ev_zone[:m], ev_bar[:m], ev_state[:m], ev_fill[:m]
