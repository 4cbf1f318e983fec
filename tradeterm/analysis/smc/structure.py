"""Breaks of structure (BOS) and changes of character (CHOCH), vectorised kernel.

Rules (the incremental engine implements the same ones bar by bar):

* The reference levels are the *last confirmed* swing high and swing low. A newly confirmed
  swing replaces the previous one of its side, broken or not.
* A bullish break is a close (``break_on="close"``) or a high (``"wick"``) *strictly* above the
  reference swing high; bearish mirrored. A close exactly at the level is not a break.
* Each level can be broken once; after that its side waits for the next confirmed swing.
* The break is a CHOCH if it goes against the current trend and a BOS otherwise (including the
  very first break, when there is no trend yet to change). The trend then takes its direction.
* On each bar breaks are tested against levels known *before* the bar, bullish first, then
  swings confirmed by the bar become the new levels. A swing cannot be broken by the bars that
  confirm it (they do not exceed it), so this order never hides a break.
"""

from __future__ import annotations

import numpy as np

from . import codes
from ._jit import kernel


@kernel
def find_breaks(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    sh_idx: np.ndarray,
    sl_idx: np.ndarray,
    right: int,
    wick: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Breaks in time order: (bar, broken swing bar, level, direction, BOS|CHOCH)."""
    n = close.shape[0]
    cap = sh_idx.shape[0] + sl_idx.shape[0]
    out_bar = np.empty(cap, dtype=np.int64)
    out_ref = np.empty(cap, dtype=np.int64)
    out_lvl = np.empty(cap, dtype=np.float64)
    out_dir = np.empty(cap, dtype=np.int8)
    out_kind = np.empty(cap, dtype=np.int8)
    m = 0
    ph = 0
    pl = 0
    sh_bar = -1
    sh_lvl = 0.0
    sh_live = False
    sl_bar = -1
    sl_lvl = 0.0
    sl_live = False
    trend = 0
    for t in range(n):
        if sh_live:
            up = high[t] if wick else close[t]
            if up > sh_lvl:
                out_bar[m] = t
                out_ref[m] = sh_bar
                out_lvl[m] = sh_lvl
                out_dir[m] = codes.BULL
                out_kind[m] = codes.CHOCH if trend == codes.BEAR else codes.BOS
                m += 1
                trend = codes.BULL
                sh_live = False
        if sl_live:
            dn = low[t] if wick else close[t]
            if dn < sl_lvl:
                out_bar[m] = t
                out_ref[m] = sl_bar
                out_lvl[m] = sl_lvl
                out_dir[m] = codes.BEAR
                out_kind[m] = codes.CHOCH if trend == codes.BULL else codes.BOS
                m += 1
                trend = codes.BEAR
                sl_live = False
        if ph < sh_idx.shape[0] and sh_idx[ph] + right == t:
            sh_bar = sh_idx[ph]
            sh_lvl = high[sh_bar]
            sh_live = True
            ph += 1
        if pl < sl_idx.shape[0] and sl_idx[pl] + right == t:
            sl_bar = sl_idx[pl]
            sl_lvl = low[sl_bar]
            sl_live = True
            pl += 1
    return out_bar[:m], out_ref[:m], out_lvl[:m], out_dir[:m], out_kind[:m]
