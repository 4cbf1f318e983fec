"""The candle book: the last few thousand candles of every (venue, symbol, timeframe) in numpy
arrays, updated in O(1) per kline message and read without copying by analysis and the chart.

The columns live in a :class:`~tradeterm.market.ring.CandleRing` (its docstring has the layout
and the update rules: a closed candle is final, an older update never overwrites a newer one).
Higher timeframes are derived from the streamed base series by
:class:`~tradeterm.market.derived.DerivedSeries`, so they equal Binance's own bars.

Reading: ``book.view(venue, symbol, tf)`` returns read-only numpy views (open_time, open, high,
low, close, volume, closed, event_time), oldest first.
"""

from __future__ import annotations

from collections.abc import Iterator

from tradeterm.contracts import Timeframe
from tradeterm.market.derived import DerivedSeries
from tradeterm.market.frame import CandleFrame
from tradeterm.market.ring import DEFAULT_CAPACITY, Applied, BookView, CandleRing

__all__ = ["Applied", "BookSeries", "BookView", "CandleBook", "CandleRing", "DerivedSeries"]

SeriesKey = tuple[str, str, Timeframe]


class BookSeries:
    """One streamed series and the timeframes derived from it: the ingest's hot-path handle.

    Derived rows follow the newest base row lazily: :meth:`apply` only notes it, and :meth:`sync`
    (called by :meth:`CandleBook.view` and once per event-loop turn by the ingest) recombines the
    forming buckets. Twenty updates of one bar in a turn then cost one recombination, not twenty.
    """

    def __init__(self, ring: CandleRing) -> None:
        self.ring = ring
        self.derived: list[DerivedSeries] = []
        self._tail: tuple[int, float, float, float, float, float] | None = None

    def apply(self, t: int, o: float, h: float, lo: float, c: float, v: float, closed: bool, e: int) -> Applied:
        r = self.ring.update(t, o, h, lo, c, v, closed, e)
        if r <= Applied.UPDATED:
            if self.derived:
                self._tail = (t, o, h, lo, c, v)
        elif r <= Applied.INSERTED:
            self._older_changed()
        return r

    def sync(self) -> None:
        """Bring the derived forming rows up to the newest base row."""
        tail, self._tail = self._tail, None
        if tail is not None:
            for d in self.derived:
                d.on_tail(*tail)

    def materialize(self) -> None:
        """:meth:`sync`, and write the forming derived rows into their rings (before a read)."""
        self.sync()
        for d in self.derived:
            d.materialize()

    def load(self, frame: CandleFrame, *, closed: bool = True, event_time: int = 0) -> int:
        taken = self.ring.load_frame(frame, closed=closed, event_time=event_time)
        if taken:
            self._older_changed()
        return taken

    def _older_changed(self) -> None:
        touched = self.ring.touched
        if touched is None or not self.derived:
            return
        for d in self.derived:
            d.recompute(*touched)
        self._tail = None
        last = self.ring.last_open_time
        if last is not None:
            row = self.ring.row(last)
            assert row is not None
            for d in self.derived:
                d.on_tail(last, *row[:5])


class CandleBook:
    """Every series the pipeline watches, keyed by (venue, symbol, timeframe)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._series: dict[SeriesKey, BookSeries] = {}
        self._rings: dict[SeriesKey, CandleRing] = {}
        self._derived: dict[SeriesKey, DerivedSeries] = {}
        self._base_of: dict[SeriesKey, BookSeries] = {}  # derived key -> the series it comes from

    @staticmethod
    def key(venue: str, symbol: str, tf: Timeframe | str) -> SeriesKey:
        return (venue, symbol.upper(), Timeframe(tf))

    def series(self, venue: str, symbol: str, tf: Timeframe | str) -> BookSeries:
        """The streamed series (created on first use)."""
        k = self.key(venue, symbol, tf)
        s = self._series.get(k)
        if s is None:
            if k in self._derived:
                raise ValueError(f"{symbol} {k[2].value} is derived here; it cannot also be streamed")
            ring = CandleRing(self.capacity)
            s = self._series[k] = BookSeries(ring)
            self._rings[k] = ring
        return s

    def derive(self, venue: str, symbol: str, base_tf: Timeframe | str, tf: Timeframe | str) -> DerivedSeries:
        """Keep ``tf`` aggregated from the streamed ``base_tf`` series (idempotent)."""
        k = self.key(venue, symbol, tf)
        d = self._derived.get(k)
        if d is not None:
            return d
        if k in self._series:
            raise ValueError(f"{symbol} {k[2].value} is streamed here; it cannot also be derived")
        base = self.series(venue, symbol, base_tf)
        base.sync()
        d = DerivedSeries(k[1], base.ring, Timeframe(base_tf), k[2], self.capacity)
        base.derived.append(d)
        self._base_of[k] = base
        last = base.ring.last_open_time
        if last is not None:
            first = base.ring.first_open_time
            assert first is not None
            d.recompute(first, last)
            row = base.ring.row(last)
            assert row is not None
            d.on_tail(last, *row[:5])
        self._derived[k] = d
        self._rings[k] = d.ring
        return d

    def derived(self, venue: str, symbol: str, tf: Timeframe | str) -> DerivedSeries | None:
        return self._derived.get(self.key(venue, symbol, tf))

    def ring(self, venue: str, symbol: str, tf: Timeframe | str) -> CandleRing | None:
        return self._rings.get(self.key(venue, symbol, tf))

    def view(self, venue: str, symbol: str, tf: Timeframe | str) -> BookView:
        """Zero-copy read-only columns; an empty view for a series the book does not hold."""
        k = self.key(venue, symbol, tf)
        ring = self._rings.get(k)
        if ring is None:
            return CandleRing(2).view()
        base = self._base_of.get(k)
        if base is not None:
            base.materialize()
        return ring.view()

    def drop(self, venue: str, symbol: str, tf: Timeframe | str) -> None:
        """Forget a series (and the timeframes derived from it)."""
        k = self.key(venue, symbol, tf)
        d = self._derived.pop(k, None)
        if d is not None:
            self._rings.pop(k, None)
            base = self._base_of.pop(k, None)
            if base is not None and d in base.derived:
                base.derived.remove(d)
            return
        series = self._series.pop(k, None)
        if series is not None:
            self._rings.pop(k, None)
            for dd in series.derived:
                dk = (k[0], k[1], dd.tf)
                self._derived.pop(dk, None)
                self._rings.pop(dk, None)
                self._base_of.pop(dk, None)

    def keys(self) -> Iterator[SeriesKey]:
        return iter(list(self._rings))
