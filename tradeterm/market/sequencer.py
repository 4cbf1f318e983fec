"""One series' closed candles, released exactly once, in time order, with no hole.

Closed candles reach us from two sources that race: the stream (live, but it loses whatever
closed while a connection was down) and REST backfill (complete, but late). Analysis and the
store must see neither a repeat nor a hole nor a step back in time, so every closed candle goes
through a :class:`Sequencer`:

* ``next_open`` is the open time of the next candle to release; anything older is a duplicate
  (a closed candle is final: the first one wins) and is dropped;
* a candle beyond ``next_open`` waits in ``pending`` and signals a gap, which the ingest answers
  with a REST backfill;
* the backfill's candles are offered the same way, and its ``complete_until`` (everything before
  it is known, see :mod:`tradeterm.market.backfill`) lets the sequencer step over a hole that is
  in the exchange's own data, so one missing minute at Binance cannot stall a series forever.

Until the start-up history has been loaded there is no ``next_open``: live closes are held, and
:meth:`Sequencer.start` releases the ones after the history.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradeterm.contracts import CandleV1, Timeframe

__all__ = ["Sequencer"]


class Sequencer:
    def __init__(self, tf: Timeframe) -> None:
        self.tf = tf
        self.next_open: int | None = None
        self._pending: dict[int, CandleV1] = {}
        self.duplicates = 0
        self.released = 0
        self.holes: list[tuple[int, int]] = []  # exchange-side holes stepped over: [from, to)

    @property
    def started(self) -> bool:
        return self.next_open is not None

    @property
    def waiting(self) -> int:
        """Candles held back behind a gap."""
        return len(self._pending)

    @property
    def gap(self) -> bool:
        """True when candles wait behind a hole that a backfill should fill."""
        return self.next_open is not None and bool(self._pending)

    def is_duplicate(self, open_time: int) -> bool:
        """Cheap pre-check so the caller need not build a CandleV1 for a repeat."""
        return (self.next_open is not None and open_time < self.next_open) or open_time in self._pending

    def start(self, next_open: int) -> list[CandleV1]:
        """History is loaded up to ``next_open``; release what the stream delivered after it."""
        self.next_open = next_open
        for t in [t for t in self._pending if t < next_open]:
            del self._pending[t]
            self.duplicates += 1
        return self._release()

    def offer(self, candle: CandleV1) -> list[CandleV1]:
        """A closed candle from the stream; returns the candles it releases (maybe none)."""
        t = candle.open_time
        if self.is_duplicate(t):
            self.duplicates += 1
            return []
        self._pending[t] = candle
        return self._release() if self.next_open is not None else []

    def fill(self, candles: Iterable[CandleV1], complete_until: int | None) -> list[CandleV1]:
        """Closed candles from a REST backfill (any order), and the time before which the
        backfill saw everything there is."""
        for c in candles:
            if self.is_duplicate(c.open_time):
                self.duplicates += 1
                continue
            self._pending[c.open_time] = c
        if self.next_open is None:
            return []
        out = self._release()
        if complete_until is not None and complete_until > self.next_open:
            # Whatever is still missing before complete_until does not exist at the exchange.
            for t in sorted(t for t in self._pending if t < complete_until):
                if t > self.next_open:
                    self.holes.append((self.next_open, t))
                out.append(self._pending.pop(t))
                self.released += 1
                self.next_open = self.tf.bucket_end(t)
            if complete_until > self.next_open:
                self.holes.append((self.next_open, complete_until))
                self.next_open = complete_until
            out += self._release()
        return out

    def _release(self) -> list[CandleV1]:
        out: list[CandleV1] = []
        t = self.next_open
        assert t is not None
        pending = self._pending
        while t in pending:
            out.append(pending.pop(t))
            t = self.tf.bucket_end(t)
        self.next_open = t
        self.released += len(out)
        return out
