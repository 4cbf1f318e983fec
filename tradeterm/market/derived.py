"""A higher timeframe kept live from a base series in the book (``15m`` from ``1m`` …).

The forming bucket is recombined in O(1) from a cached prefix of the bucket's earlier base rows,
lazily (on the next read, or once per event-loop turn in the ingest): twenty updates of one bar
cost one recombination. Buckets touched by a backfill are recomputed with
:func:`~tradeterm.market.aggregate.aggregate`. A derived row only ever becomes *closed* through
:meth:`DerivedSeries.close_bar`, with the bar :class:`~tradeterm.market.aggregate.Aggregator`
built from the gapless, ordered base sequence — the book alone cannot know that a bucket is
complete (a base bar may still be on its way).
"""

from __future__ import annotations

import numpy as np

from tradeterm.contracts import Timeframe
from tradeterm.market.aggregate import aggregate
from tradeterm.market.frame import CandleFrame
from tradeterm.market.ring import DEFAULT_CAPACITY, Applied, CandleRing

__all__ = ["DerivedSeries"]


class DerivedSeries:
    """A higher timeframe of one base series, kept in its own ring for the chart and analysis.

    Forming rows are recomputed from the base ring; closed rows come only from :meth:`close_bar`
    (the ingest's :class:`~tradeterm.market.aggregate.Aggregator` output) or a history load.
    """

    def __init__(self, symbol: str, base: CandleRing, base_tf: Timeframe, tf: Timeframe,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        if tf is Timeframe.MO1:
            raise ValueError("calendar months are streamed, not derived, in the book")
        empty = CandleFrame.from_columns(symbol, base_tf, *(np.empty(0) for _ in range(6)))
        aggregate(empty, tf)  # raises ValueError when tf's buckets are not whole base bars
        if tf is base_tf:
            raise ValueError("a derived timeframe must be larger than its base")
        self.symbol = symbol
        self.base = base
        self.base_tf = base_tf
        self.tf = tf
        self.ring = CandleRing(capacity)
        self._ms = tf.ms
        self._offset = 4 * 86_400_000 if tf is Timeframe.W1 else 0  # weeks start on Monday
        self._seq = 0  # event time of derived open rows: later recomputations always win
        # Cached aggregate of the current bucket's base rows *before* the newest one.
        self._bucket = -1
        self._pre: tuple[float, float, float, float] | None = None  # open, high, low, volume
        self._tail_t = -1
        self._tail: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
        self._seen_version = base.version
        # The forming bucket as last computed: (open_time, open, high, low, close, volume).
        self.forming: tuple[int, float, float, float, float, float] | None = None
        self._forming_dirty = False

    def _bucket_of(self, t: int) -> int:
        return t - (t - self._offset) % self._ms

    def on_tail(self, t: int, o: float, h: float, lo: float, c: float, v: float) -> None:
        """The base series' newest row (open time ``t``) changed to these values."""
        bucket = t - (t - self._offset) % self._ms
        base = self.base
        if bucket != self._bucket:
            self._forming_dirty = False  # the recompute below writes the bucket it belonged to
            # Base rows that arrived since the last sync may have finished earlier buckets: write them.
            since = self._tail_t if self._tail_t >= 0 else base.first_open_time
            if since is not None and since < bucket:
                self.recompute(since, t - 1)
        if base.version != self._seen_version or bucket != self._bucket:
            self._rebuild(bucket)
        elif t != self._tail_t:
            if base.prev_open_time == self._tail_t and self._tail_t >= bucket:
                # The previous newest row is now history: fold it into the prefix in O(1).
                to, th, tl, _tc, tv = self._tail
                pre = self._pre
                self._pre = (to, th, tl, tv) if pre is None else (pre[0], max(pre[1], th), min(pre[2], tl),
                                                                  pre[3] + tv)
            else:
                self._rebuild(bucket)
        self._tail_t = t
        self._tail = (o, h, lo, c, v)
        pre = self._pre
        if pre is not None:
            o, h, lo, v = pre[0], max(pre[1], h), min(pre[2], lo), pre[3] + v
        self.forming = (bucket, o, h, lo, c, v)
        self._forming_dirty = True

    def materialize(self) -> None:
        """Write the forming bucket into the ring (done on read: the hot path only computes it)."""
        if self._forming_dirty and self.forming is not None:
            self._forming_dirty = False
            self._seq += 1
            self.ring.update(*self.forming, False, self._seq)

    def _rebuild(self, bucket: int) -> None:
        """Prefix of ``bucket`` from the base ring: every row in it except the newest. O(k)."""
        base = self.base
        self._seen_version = base.version
        self._bucket = bucket
        vw = base.view()
        n = len(vw)
        i0 = int(np.searchsorted(vw.open_time, bucket))
        i1 = n - 1
        if n == 0 or i1 <= i0:
            self._pre = None
        else:
            self._pre = (float(vw.open[i0]), float(vw.high[i0:i1].max()), float(vw.low[i0:i1].min()),
                         float(vw.volume[i0:i1].sum()))
        self._tail_t = int(vw.open_time[i1]) if n else -1

    def recompute(self, t0: int, t1: int) -> None:
        """Rebuild the open rows of the buckets covering base open times ``[t0, t1]`` (after a
        backfill changed older base rows). Closed derived rows are final and stay as they are."""
        vw = self.base.view()
        if len(vw) == 0:
            return
        lo_b = self._bucket_of(t0)
        hi_end = self._bucket_of(t1) + self._ms
        i0 = int(np.searchsorted(vw.open_time, lo_b))
        i1 = int(np.searchsorted(vw.open_time, hi_end))
        if i1 <= i0:
            return
        sl = slice(i0, i1)
        frame = CandleFrame.from_columns(self.symbol, self.base_tf, vw.open_time[sl], vw.open[sl], vw.high[sl],
                                         vw.low[sl], vw.close[sl], vw.volume[sl])
        agg = aggregate(frame, self.tf, drop_partial=False)
        # A bucket that began before the oldest base row the ring still holds would be partial.
        first = int(vw.open_time[0])
        fb = self._bucket_of(first)
        keep = agg.open_time >= (fb if fb == first else fb + self._ms)
        if not keep.all():
            agg = CandleFrame.from_columns(self.symbol, self.tf, agg.open_time[keep], agg.open[keep],
                                           agg.high[keep], agg.low[keep], agg.close[keep], agg.volume[keep])
        self._seq += 1
        ring = self.ring
        last = ring.last_open_time
        if len(agg) <= 4 and (last is None or int(agg.open_time[0]) >= last):
            # The common case (a bucket just finished): append or update at the end, O(1) each.
            for i in range(len(agg)):
                ring.update(int(agg.open_time[i]), float(agg.open[i]), float(agg.high[i]), float(agg.low[i]),
                            float(agg.close[i]), float(agg.volume[i]), False, self._seq)
        else:
            ring.load_frame(agg, closed=False, event_time=self._seq)
        self._seen_version = -1  # force a prefix rebuild at the next tail update

    def close_bar(self, t: int, o: float, h: float, lo: float, c: float, v: float) -> Applied:
        """The authoritative closed bar of a bucket (from the ordered, gapless base sequence)."""
        return self.ring.update(t, o, h, lo, c, v, True, 0)
