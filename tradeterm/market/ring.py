"""A fixed-capacity ring of candle columns with O(1) append and contiguous, zero-copy views.

**Layout.** Each column is allocated twice as long as the capacity and every row is written
twice, at ``p`` and ``p + capacity``. The newest ``n`` rows then always sit contiguously at
``[start, start + n)``, so a view is a plain slice — no copy, no ``np.roll`` — while an append
stays O(1) (two scalar stores per column instead of one). Views are read-only and *live*: they
show the ring's current contents at those positions, so a consumer that keeps one across an
``await`` copies it first.

**Update rules** (deterministic whatever order messages arrive in):

* a closed row is final: nothing overwrites it, a repeated close is ignored;
* an open row is overwritten by a closed one, or by an open one whose event time is not older;
* an update for a bar older than the newest is applied in place when the bar is present, and
  inserted in time order when it is missing (a backfill); inserting costs O(n), and happens only
  when REST fills a hole.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from tradeterm.market.frame import CandleFrame

__all__ = ["DEFAULT_CAPACITY", "Applied", "BookView", "CandleRing"]

DEFAULT_CAPACITY = 5000


class Applied(IntEnum):
    """What an update did; the first two mean the newest row changed."""

    APPENDED = 0
    UPDATED = 1
    CHANGED_OLDER = 2  # a present older row was updated in place
    INSERTED = 3  # a missing older row was inserted (backfill)
    IGNORED_FINAL = 4  # the row is already closed
    IGNORED_STALE = 5  # an open update older than the one applied
    OUT_OF_WINDOW = 6  # older than everything a full ring holds


@dataclass(frozen=True, slots=True)
class BookView:
    """Read-only, zero-copy column views of one series, oldest first."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    closed: np.ndarray
    event_time: np.ndarray

    def __len__(self) -> int:
        return len(self.open_time)

    def copy(self) -> BookView:
        """Owned arrays, for keeping across awaits."""
        return BookView(*(np.array(getattr(self, n)) for n in _COLS))

    def closed_prefix(self) -> int:
        """How many leading rows are closed (analysis reads ``view.close[:k]``)."""
        open_rows = np.flatnonzero(~self.closed)
        return int(open_rows[0]) if len(open_rows) else len(self)


_COLS = ("open_time", "open", "high", "low", "close", "volume", "closed", "event_time")


class CandleRing:
    """Fixed-capacity candle columns of one series with O(1) append and contiguous views."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise ValueError("a candle ring needs a capacity of at least 2")
        self.capacity = capacity
        m = 2 * capacity
        self._t = np.zeros(m, dtype=np.int64)
        self._o = np.zeros(m, dtype=np.float64)
        self._h = np.zeros(m, dtype=np.float64)
        self._l = np.zeros(m, dtype=np.float64)
        self._c = np.zeros(m, dtype=np.float64)
        self._v = np.zeros(m, dtype=np.float64)
        self._x = np.zeros(m, dtype=np.bool_)
        self._e = np.zeros(m, dtype=np.int64)
        self._mem: tuple[Any, ...] = tuple(a.data for a in (self._t, self._o, self._h, self._l, self._c, self._v,
                                                             self._x, self._e))
        self._start = 0
        self._n = 0
        # Python-side copies of the newest row's key facts: the hot path never reads numpy.
        self._last_t = -1
        self._last_x = False
        self._last_e = 0
        self._prev_t = -1
        self.version = 0  # bumped whenever a row other than the newest changes
        self.touched: tuple[int, int] | None = None  # open-time range of the last older-row change

    def __len__(self) -> int:
        return self._n

    @property
    def last_open_time(self) -> int | None:
        return self._last_t if self._n else None

    @property
    def prev_open_time(self) -> int:
        """Open time of the row before the newest (-1 if there is none): lets a derived series
        tell "a new bar was appended after the one I saw" from "rows changed behind my back"."""
        return self._prev_t

    @property
    def first_open_time(self) -> int | None:
        return int(self._t[self._start]) if self._n else None

    # ------------------------------------------------------------------ reading
    def view(self) -> BookView:
        s, e = self._start, self._start + self._n
        cols = []
        for arr in (self._t, self._o, self._h, self._l, self._c, self._v, self._x, self._e):
            v = arr[s:e]
            v.flags.writeable = False
            cols.append(v)
        return BookView(*cols)

    def row(self, open_time: int) -> tuple[float, float, float, float, float, bool] | None:
        """(open, high, low, close, volume, closed) of one bar, or None."""
        p = self._find(open_time)
        if p is None:
            return None
        return (float(self._o[p]), float(self._h[p]), float(self._l[p]), float(self._c[p]), float(self._v[p]),
                bool(self._x[p]))

    def _find(self, t: int) -> int | None:
        s = self._start
        times = self._t[s : s + self._n]
        i = int(np.searchsorted(times, t))
        if i < self._n and int(times[i]) == t:
            return (s + i) % self.capacity
        return None

    # ------------------------------------------------------------------ writing
    def _put(self, p: int, t: int, o: float, h: float, lo: float, c: float, v: float, x: bool, e: int) -> None:
        # Through memoryviews of the same buffers: a third cheaper per store than numpy indexing,
        # and this runs for every kline message.
        q = p + self.capacity
        mt, mo, mh, ml, mc, mv, mx, me = self._mem
        mt[p] = mt[q] = t
        mo[p] = mo[q] = o
        mh[p] = mh[q] = h
        ml[p] = ml[q] = lo
        mc[p] = mc[q] = c
        mv[p] = mv[q] = v
        mx[p] = mx[q] = bool(x)
        me[p] = me[q] = e

    def update(self, t: int, o: float, h: float, lo: float, c: float, v: float, closed: bool, e: int) -> Applied:
        """Apply one kline update under the rules in the module docstring."""
        last = self._last_t
        if t > last:
            cap = self.capacity
            if self._n < cap:
                p = (self._start + self._n) % cap
                self._n += 1
            else:
                p = self._start
                self._start = (p + 1) % cap
            self._put(p, t, o, h, lo, c, v, closed, e)
            self._prev_t = last if self._n > 1 else -1
            self._last_t, self._last_x, self._last_e = t, closed, e
            return Applied.APPENDED
        if t == last:
            if self._last_x:
                return Applied.IGNORED_FINAL
            if not closed and e < self._last_e:
                return Applied.IGNORED_STALE
            self._put((self._start + self._n - 1) % self.capacity, t, o, h, lo, c, v, closed, e)
            self._last_x, self._last_e = closed, e
            return Applied.UPDATED
        return self._update_older(t, o, h, lo, c, v, closed, e)

    def _update_older(self, t: int, o: float, h: float, lo: float, c: float, v: float, closed: bool,
                      e: int) -> Applied:
        p = self._find(t)
        if p is not None:
            if self._x[p]:
                return Applied.IGNORED_FINAL
            if not closed and e < int(self._e[p]):
                return Applied.IGNORED_STALE
            self._put(p, t, o, h, lo, c, v, closed, e)
            self.version += 1
            self.touched = (t, t)
            return Applied.CHANGED_OLDER
        if self._n == self.capacity and t < int(self._t[self._start]):
            return Applied.OUT_OF_WINDOW
        one = np.array
        self.merge(one([t]), one([o]), one([h]), one([lo]), one([c]), one([v]), one([closed]), one([e]))
        return Applied.INSERTED

    def merge(self, t: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
              v: np.ndarray, closed: np.ndarray, e: np.ndarray) -> int:
        """Merge many rows (a backfill page, a history load) under the same rules as
        :meth:`update`; returns how many of them were taken. O(n + m)."""
        t = np.asarray(t, dtype=np.int64)
        m = len(t)
        if m == 0:
            return 0
        s, n = self._start, self._n
        cur = [a[s : s + n] for a in (self._t, self._o, self._h, self._l, self._c, self._v, self._x, self._e)]
        new = [t, np.asarray(o, np.float64), np.asarray(h, np.float64), np.asarray(lo, np.float64),
               np.asarray(c, np.float64), np.asarray(v, np.float64), np.asarray(closed, np.bool_),
               np.asarray(e, np.int64)]
        allc = [np.concatenate([a, b]) for a, b in zip(cur, new)]
        origin = np.r_[np.zeros(n, np.int64), np.ones(m, np.int64)]
        x, ev = allc[6], allc[7]
        # Winner per open time: closed before open; among closed the one already held; among
        # open the newest event time, the incoming row on a tie.
        k_closed = np.where(x, origin, 0)
        k_open = np.where(x, 0, -(ev * 2 + origin))
        order = np.lexsort((k_open, k_closed, ~x, allc[0]))
        ts = allc[0][order]
        winners = order[np.r_[True, ts[1:] != ts[:-1]]]
        taken_mask = origin[winners] == 1
        if taken_mask.any():
            taken_idx = winners[taken_mask]
            taken = int(taken_mask.sum())
            lo_t, hi_t = int(allc[0][taken_idx].min()), int(allc[0][taken_idx].max())
        else:
            taken = 0
            lo_t = hi_t = 0
        winners = winners[-self.capacity :]
        k = len(winners)
        cap = self.capacity
        for dst, src in zip((self._t, self._o, self._h, self._l, self._c, self._v, self._x, self._e), allc):
            col = src[winners]
            dst[:k] = col
            dst[cap : cap + k] = col
        self._start, self._n = 0, k
        self._last_t = int(self._t[k - 1])
        self._last_x = bool(self._x[k - 1])
        self._last_e = int(self._e[k - 1])
        self._prev_t = int(self._t[k - 2]) if k > 1 else -1
        if taken:
            self.version += 1
            self.touched = (lo_t, hi_t)
        return taken

    def load_frame(self, frame: CandleFrame, *, closed: bool = True, event_time: int = 0) -> int:
        """Merge a :class:`CandleFrame` (history, a backfill page)."""
        n = len(frame)
        return self.merge(frame.open_time, frame.open, frame.high, frame.low, frame.close, frame.volume,
                          np.full(n, closed), np.full(n, event_time, dtype=np.int64))
