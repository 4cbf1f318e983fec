"""Higher-timeframe candles built from base candles, equal to the bars Binance itself serves.

Binance builds every interval from trades on UTC boundaries (weeks from Monday 00:00, calendar
months, 3d counted from the epoch), so rolling 1m bars up on the same boundaries gives the same
OHLC exactly and the same volumes up to the last decimal Binance prints. We keep one data set
(usually 1m) and derive the rest, instead of storing and syncing every interval.

Completeness rules (the same for the vectorised and the incremental form):

* A bucket at the **edge** of the data that the data covers only partly — the first bucket when
  the data starts after its first base bar, the last when the data ends before its last base bar —
  is *partial*. Its OHLC would be wrong, so ``drop_partial=True`` (the default) drops it.
* A bucket **inside** the data with base bars missing (a gap) is still emitted: Binance aggregates
  whatever trades exist, and a missing base bar is usually a minute without trades or a feed
  outage. Such buckets are listed by :func:`gapped_buckets` (and the loader's ``check_frame``
  reports the gaps themselves); pass ``drop_gapped=True`` to leave them out instead.
"""

from __future__ import annotations

import numpy as np

from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.contracts.timeframe import DAY_MS
from tradeterm.market.frame import CandleFrame

__all__ = ["Aggregator", "aggregate", "bucket_starts", "gapped_buckets"]

_WEEK_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; weeks start on Monday
# Volumes are summed in binary floating point; Binance prints at most 8 decimals, so rounding a
# sum to 8 decimals gives back the exact float of the decimal total — as long as a double still
# resolves 1e-8 with room for the summation error, i.e. below 2**22 (ulp < 1e-9). Larger sums
# (quote volumes of big bars) are left as summed: they are exact to ~1e-15 relative anyway.
_ROUND_DECIMALS = 8
_ROUND_LIMIT = float(2**22)


def bucket_starts(open_time: np.ndarray, tf: Timeframe | str) -> np.ndarray:
    """Vectorised :meth:`Timeframe.bucket_start` for an int64 array of epoch ms."""
    tf = Timeframe(tf)
    t = np.asarray(open_time, dtype=np.int64)
    if tf is Timeframe.MO1:
        return t.astype("datetime64[ms]").astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    if tf is Timeframe.W1:
        return t - (t - _WEEK_OFFSET_MS) % tf.ms
    return t - t % tf.ms


def _bucket_ends(starts: np.ndarray, tf: Timeframe) -> np.ndarray:
    if tf is Timeframe.MO1:
        months = starts.astype("datetime64[ms]").astype("datetime64[M]") + np.timedelta64(1, "M")
        return months.astype("datetime64[ms]").astype(np.int64)
    return starts + tf.ms


def _check_compatible(base: Timeframe, tf: Timeframe) -> None:
    """Every target bucket must be a whole number of base bars, aligned on the same boundaries."""
    if base is tf:
        return
    if tf is Timeframe.MO1 or tf is Timeframe.W1:
        ok = base.ms <= DAY_MS and DAY_MS % base.ms == 0
    else:
        ok = base not in (Timeframe.W1, Timeframe.MO1) and tf.ms > base.ms and tf.ms % base.ms == 0
    if not ok:
        raise ValueError(f"cannot aggregate {base.value} bars into {tf.value}: buckets do not align")


def _round_sums(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < _ROUND_LIMIT, np.round(x, _ROUND_DECIMALS), x)


def _reduce(frame: CandleFrame, starts: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """OHLCV of the rows [starts[i], ends[i]) — shared by both forms so they agree bit for bit."""
    last = ends - 1
    return {
        "open": frame.open[starts],
        "high": np.maximum.reduceat(frame.high, starts),
        "low": np.minimum.reduceat(frame.low, starts),
        "close": frame.close[last],
        "volume": _round_sums(np.add.reduceat(frame.volume, starts)),
        "quote_volume": _round_sums(np.add.reduceat(frame.quote_volume, starts)),
        "trades": np.add.reduceat(frame.trades, starts),
        "taker_buy_base": _round_sums(np.add.reduceat(frame.taker_buy_base, starts)),
        "taker_buy_quote": _round_sums(np.add.reduceat(frame.taker_buy_quote, starts)),
    }


def _groups(frame: CandleFrame, tf: Timeframe) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bucket open times, first row, end row, base-bar count shortfall) of each bucket."""
    ot = frame.open_time
    if len(ot) > 1 and not bool(np.all(ot[1:] > ot[:-1])):
        raise ValueError("frame open times must be strictly increasing (load it with load_klines)")
    b = bucket_starts(ot, tf)
    first = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    end = np.r_[first[1:], len(ot)]
    opens = b[first]
    expected = (_bucket_ends(opens, tf) - opens) // frame.tf.ms
    missing = expected - (end - first)
    return opens, first, end, missing


def _edge_partial(frame: CandleFrame, tf: Timeframe, opens: np.ndarray, first: np.ndarray, end: np.ndarray) -> np.ndarray:
    """True for the first bucket if the data starts inside it, and the last if the data ends inside it."""
    partial = np.zeros(len(opens), dtype=np.bool_)
    if len(opens) == 0:
        return partial
    partial[0] |= frame.open_time[first[0]] != opens[0]
    last_end = _bucket_ends(opens[-1:], tf)[0]
    partial[-1] |= frame.tf.bucket_end(int(frame.open_time[end[-1] - 1])) != last_end
    return partial


def aggregate(
    frame: CandleFrame,
    tf: Timeframe | str,
    *,
    drop_partial: bool = True,
    drop_gapped: bool = False,
) -> CandleFrame:
    """Roll ``frame`` up to ``tf``: first open, max high, min low, last close, summed volumes.

    ``drop_partial`` drops the edge buckets the data covers only partly; ``drop_gapped`` also drops
    inner buckets with missing base bars (see the module docstring for why they are kept by default).
    """
    tf = Timeframe(tf)
    _check_compatible(frame.tf, tf)
    if frame.tf is tf:
        return frame
    if len(frame) == 0:
        return CandleFrame.from_columns(frame.symbol, tf, *(np.empty(0) for _ in range(6)))
    opens, first, end, missing = _groups(frame, tf)
    cols = _reduce(frame, first, end)
    keep = np.ones(len(opens), dtype=np.bool_)
    if drop_partial:
        keep &= ~_edge_partial(frame, tf, opens, first, end)
    if drop_gapped:
        keep &= missing == 0
    return CandleFrame.from_columns(frame.symbol, tf, opens[keep], **{k: v[keep] for k, v in cols.items()})


def gapped_buckets(frame: CandleFrame, tf: Timeframe | str) -> np.ndarray:
    """Open times of buckets that ``aggregate`` emits although base bars inside them are missing."""
    tf = Timeframe(tf)
    _check_compatible(frame.tf, tf)
    if len(frame) == 0 or frame.tf is tf:
        return np.empty(0, dtype=np.int64)
    opens, first, end, missing = _groups(frame, tf)
    inner = ~_edge_partial(frame, tf, opens, first, end)
    return opens[inner & (missing > 0)]


_ROW_FIELDS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")


class Aggregator:
    """The live form of :func:`aggregate`: feed closed base bars one at a time, get each
    higher-timeframe bar as soon as its bucket is complete, and a partial bar for the chart.

    A bucket is emitted when its last base bar arrives, or — if that bar never comes (a gap) —
    when the first bar of a later bucket arrives. The very first bucket is dropped if the stream
    started inside it and ``drop_partial`` is set. Fed the rows of a frame, it emits exactly
    ``aggregate(frame, tf, drop_partial=...)`` minus the trailing partial bucket, which it holds as
    :attr:`partial`.
    """

    def __init__(self, tf: Timeframe | str, *, drop_partial: bool = True, venue: str = "synthetic") -> None:
        self.tf = Timeframe(tf)
        self.drop_partial = drop_partial
        self._symbol: str | None = None
        self._venue = venue  # for the CandleV1 events; push() takes it from the candles
        self._base: Timeframe | None = None
        self._bucket: int | None = None  # open time of the pending bucket
        self._rows: list[tuple[float, ...]] = []
        self._first_bucket = True
        self._starts_clean = True
        self._last_open: int | None = None
        self._last_row: tuple[float, ...] | None = None

    # ------------------------------------------------------------------ feeding
    def push(self, candle: CandleV1) -> list[CandleV1]:
        """Add one closed base candle; returns the higher bars it completed (0, 1 or 2)."""
        if not candle.closed:
            raise ValueError("Aggregator takes closed candles only (use partial_with for the open one)")
        self._venue = candle.venue
        row = tuple(getattr(candle, name) for name in _ROW_FIELDS)
        done = self._push_row(candle.symbol, candle.tf, row)
        return done.to_candles(self._venue, closed=True) if done is not None else []

    def push_frame(self, frame: CandleFrame) -> CandleFrame:
        """Feed every row of ``frame`` in order; returns all bars completed on the way."""
        out: list[CandleFrame] = []
        cols = [getattr(frame, name) for name in _ROW_FIELDS]
        for i in range(len(frame)):
            done = self._push_row(frame.symbol, frame.tf, tuple(c[i].item() for c in cols))
            if done is not None:
                out.append(done)
        if not out:
            return CandleFrame.from_columns(frame.symbol, self.tf, *(np.empty(0) for _ in range(6)))
        return CandleFrame.from_columns(
            frame.symbol, self.tf, **{n: np.concatenate([getattr(f, n) for f in out]) for n in _ROW_FIELDS}
        )

    # ------------------------------------------------------------------ reading
    @property
    def partial(self) -> CandleV1 | None:
        """The pending bucket built from the closed base bars so far (``closed=False``)."""
        if self._base is None or self._symbol is None:
            return None
        built = self._build(self._rows, self._base, self._symbol)
        return built.to_candles(self._venue, closed=False)[0] if built is not None else None

    def partial_with(self, live: CandleV1) -> CandleV1 | None:
        """The pending bucket including the still-open base candle ``live`` (for a live chart)."""
        if self._base is not None and live.tf is not self._base:
            raise ValueError(f"expected a {self._base.value} candle, got {live.tf.value}")
        _check_compatible(live.tf, self.tf)
        row = tuple(getattr(live, name) for name in _ROW_FIELDS)
        bucket = self.tf.bucket_start(live.open_time)
        rows = [*self._rows, row] if bucket == self._bucket else [row]
        built = self._build(rows, live.tf, live.symbol)
        return built.to_candles(live.venue, closed=False)[0] if built is not None else None

    # ------------------------------------------------------------------ internals
    def _push_row(self, symbol: str, base: Timeframe, row: tuple[float, ...]) -> CandleFrame | None:
        if self._base is None:
            _check_compatible(base, self.tf)
            self._base, self._symbol = base, symbol
        elif base is not self._base or symbol != self._symbol:
            raise ValueError(f"Aggregator fed {symbol} {base.value} after {self._symbol} {self._base.value}")
        t = int(row[0])
        if self._last_open is not None and t <= self._last_open:
            if t == self._last_open and row == self._last_row:
                return None  # a repeated closed bar (e.g. after a reconnect) changes nothing
            raise ValueError(f"base bar {t} arrived after {self._last_open}; bars must be in order")
        self._last_open, self._last_row = t, row
        bucket = self.tf.bucket_start(t)
        emitted: list[CandleFrame] = []
        if self._bucket is not None and bucket != self._bucket:
            # The pending bucket lost its tail to a gap: it is complete by time.
            self._emit_into(emitted)
        if self._bucket is None:
            self._bucket = bucket
            self._starts_clean = t == bucket
        self._rows.append(row)
        if base.bucket_end(t) == self.tf.bucket_end(bucket):
            self._emit_into(emitted)
        if not emitted:
            return None
        if len(emitted) == 1:
            return emitted[0]
        return CandleFrame.from_columns(
            symbol, self.tf, **{n: np.concatenate([getattr(f, n) for f in emitted]) for n in _ROW_FIELDS}
        )

    def _emit_into(self, out: list[CandleFrame]) -> None:
        assert self._base is not None and self._symbol is not None
        built = self._build(self._rows, self._base, self._symbol)
        skip = self.drop_partial and self._first_bucket and not self._starts_clean
        self._first_bucket = False
        self._rows = []
        self._bucket = None
        if built is not None and not skip:
            out.append(built)

    def _build(self, rows: list[tuple[float, ...]], base_tf: Timeframe, symbol: str) -> CandleFrame | None:
        if not rows:
            return None
        cols = list(zip(*rows))
        base = CandleFrame.from_columns(symbol, base_tf, *(np.asarray(c) for c in cols))
        starts = np.zeros(1, dtype=np.int64)
        reduced = _reduce(base, starts, np.array([len(rows)]))
        opens = np.array([self.tf.bucket_start(int(rows[0][0]))], dtype=np.int64)
        return CandleFrame.from_columns(symbol, self.tf, opens, **reduced)
