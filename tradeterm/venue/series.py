"""One symbol's replayed candles: the base-timeframe columns, the forming bar, and every Binance
interval served from them.

The forming bar is synthesised from the bar the data already holds, along a fixed intrabar path
open → first extreme → second extreme → close (low first for an up bar, high first for a down
bar), each leg taking a third of the bar. The same path drives the trade price, the kline stream
and the matching engine, so what a client sees on the chart is what its orders filled against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeterm.contracts import Timeframe
from tradeterm.contracts.timeframe import DAY_MS
from tradeterm.market.frame import CandleFrame
from tradeterm.venue.datasource import DataSource
from tradeterm.venue.symbols import SymbolRules

_WEEK_OFFSET_MS = 4 * DAY_MS
_COLS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base",
         "taker_buy_quote")


def bucket_starts(tf: Timeframe, t: np.ndarray) -> np.ndarray:
    """Vectorised :meth:`Timeframe.bucket_start`."""
    if tf is Timeframe.MO1:
        return t.astype("datetime64[ms]").astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    if tf is Timeframe.W1:
        return t - (t - _WEEK_OFFSET_MS) % tf.ms
    return t - t % tf.ms


@dataclass(frozen=True, slots=True)
class Bar:
    """A (possibly forming) bar in float64, as klines and streams report it."""

    open_time: int
    close_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int
    taker_buy_base: float
    taker_buy_quote: float
    closed: bool


def path_points(o: float, h: float, l: float, c: float) -> tuple[float, float, float, float]:
    """The intrabar path; see the module docstring for why this order."""
    return (o, l, h, c) if c >= o else (o, h, l, c)


class SymbolSeries:
    """Base candles of one symbol, growable for open-ended sources."""

    def __init__(self, source: DataSource, rules: SymbolRules, *, retain: int | None = None) -> None:
        self.source = source
        self.retain = retain
        self.rules = rules
        self.symbol = source.symbol
        self.tf = source.tf
        self.tick = float(rules.tick_size)
        frame = source.initial()
        self._cols: dict[str, np.ndarray] = {"open_time": frame.open_time.astype(np.int64)}
        for name in _COLS:
            self._cols[name] = np.asarray(getattr(frame, name))
        self._finite = False
        self._row_cache: tuple[int, tuple[float, ...]] | None = None  # the last bar read (replay hot path)

    # -- data -----------------------------------------------------------------------------
    @property
    def open_time(self) -> np.ndarray:
        return self._cols["open_time"]

    def __len__(self) -> int:
        return len(self._cols["open_time"])

    @property
    def first_open(self) -> int:
        return int(self.open_time[0])

    @property
    def last_close(self) -> int:
        return self.tf.close_time(int(self.open_time[-1]))

    def ensure_until(self, t_ms: int) -> None:
        """Pull more bars from an open-ended source so that ``t_ms`` is covered."""
        while not self._finite and self.last_close < t_ms + self.tf.ms:
            more = self.source.extend(max(500, int((t_ms - self.last_close) // self.tf.ms) + 10))
            if more is None or len(more) == 0:
                self._finite = True
                return
            keep = more.open_time > self.open_time[-1]
            self._cols["open_time"] = np.concatenate([self.open_time, more.open_time[keep]])
            for name in _COLS:
                self._cols[name] = np.concatenate([self._cols[name], np.asarray(getattr(more, name))[keep]])
            self._trim(t_ms)
            self._row_cache = None

    def _trim(self, t_ms: int) -> None:
        """Past ``retain`` bars before ``t_ms`` the oldest go (10 % at a time, so it is rare): a
        demo left running all day would otherwise grow by ~80 B per bar per symbol, forever.
        Bar indexes shift when the front goes; callers look them up by time (``index_at``) and
        never keep one across a call."""
        past = self.index_at(t_ms) + 1
        if self.retain is None or past <= self.retain * 1.1:
            return
        drop = past - self.retain
        for name in ("open_time", *_COLS):
            self._cols[name] = self._cols[name][drop:].copy()  # a copy, so the old block is freed

    def index_at(self, t_ms: int) -> int:
        """Index of the last bar opened at or before ``t_ms`` (-1 before the data)."""
        return int(self._cols["open_time"].searchsorted(t_ms, side="right")) - 1

    def frame(self, start: int = 0, stop: int | None = None) -> CandleFrame:
        """Closed base bars as a frame (for the store, the paper broker, tests)."""
        sl = slice(start, stop)
        return CandleFrame.from_columns(self.symbol, self.tf, self.open_time[sl],
                                        *(self._cols[n][sl] for n in _COLS))

    def _row(self, i: int) -> tuple[float, ...]:
        cached = self._row_cache
        if cached is not None and cached[0] == i:
            return cached[1]
        row = tuple(float(self._cols[n][i]) for n in _COLS)
        if i >= 0:  # a negative index moves when the series grows
            self._row_cache = (i, row)
        return row

    # -- the forming bar ------------------------------------------------------------------
    def fraction(self, i: int, t_ms: int) -> float:
        """How far through bar ``i`` market time ``t_ms`` is, in [0, 1]."""
        ot = int(self.open_time[i])
        return min(1.0, max(0.0, (t_ms - ot) / (self.tf.bucket_end(ot) - ot)))

    def _round(self, p: float) -> float:
        return round(round(p / self.tick) * self.tick, 10) if self.tick > 0 else p

    def price_on_path(self, i: int, f: float) -> float:
        o, h, l, c = self._row(i)[:4]
        pts = path_points(o, h, l, c)
        if f >= 1.0:
            return c
        seg = min(int(f * 3), 2)
        local = f * 3 - seg
        return self._round(pts[seg] + (pts[seg + 1] - pts[seg]) * local)

    def vertices_between(self, i: int, f0: float, f1: float) -> list[float]:
        """Path vertices of bar ``i`` strictly after fraction f0 and at or before f1."""
        o, h, l, c = self._row(i)[:4]
        pts = path_points(o, h, l, c)
        return [pts[k] for k in (1, 2, 3) if f0 < k / 3 <= f1]

    def remaining_range(self, i: int, f: float) -> tuple[float, float]:
        """Low and high of bar ``i``'s path from fraction ``f`` to its close (engine look-ahead for
        the stop-first rule)."""
        pts = [self.price_on_path(i, f), *self.vertices_between(i, f, 1.0)]
        return min(pts), max(pts)

    def bar(self, i: int, t_ms: int | None = None) -> Bar:
        """Bar ``i`` as it stands at market time ``t_ms`` (None or past its end: closed)."""
        ot = int(self.open_time[i])
        ct = self.tf.close_time(ot)
        o, h, l, c, v, q, n, vb, qb = self._row(i)
        if t_ms is None or t_ms > ct:
            return Bar(ot, ct, o, h, l, c, v, q, int(n), vb, qb, True)
        f = self.fraction(i, t_ms)
        pts = path_points(o, h, l, c)
        seg = min(int(f * 3), 2)
        cur = self.price_on_path(i, f)
        seen = [*pts[: seg + 1], cur]
        return Bar(ot, ct, o, max(seen), min(seen), cur, v * f, q * f, int(n * f), vb * f, qb * f, False)

    def volume_per_ms(self, i: int) -> float:
        return float(self._cols["volume"][max(i, 0)]) / self.tf.ms

    def avg_price(self, t_ms: int, mins: int) -> float:
        """Volume-weighted price of the last ``mins`` minutes of closed bars (Binance avgPrice)."""
        i = self.index_at(t_ms)
        ot = self.open_time
        lo = int(np.searchsorted(ot, t_ms - mins * 60_000, side="left"))
        hi = i  # bar i is forming
        if hi <= lo:
            return self.price_on_path(max(i, 0), self.fraction(max(i, 0), t_ms))
        v = self._cols["volume"][lo:hi]
        qv = self._cols["quote_volume"][lo:hi]
        if float(v.sum()) > 0 and float(qv.sum()) > 0:
            return float(qv.sum() / v.sum())
        typical = (self._cols["high"][lo:hi] + self._cols["low"][lo:hi] + self._cols["close"][lo:hi]) / 3
        return float(typical.mean())

    # -- klines ---------------------------------------------------------------------------
    def klines(self, interval: Timeframe, now_ms: int, start: int | None, end: int | None,
               limit: int) -> list[Bar]:
        """Bars of ``interval`` built from base bars, with Binance's start/end/limit semantics and
        the forming bar last. ``interval`` must be a whole multiple of the base timeframe."""
        cur = self.index_at(now_ms)
        if cur < 0:
            return []
        end_t = now_ms if end is None else min(end, now_ms)
        if start is not None and start > end_t:
            return []
        ratio = max(1, (interval.ms if interval is not Timeframe.MO1 else 31 * DAY_MS) // self.tf.ms)
        ot = self.open_time
        hi_t = interval.bucket_end(interval.bucket_start(end_t))
        hi = min(int(np.searchsorted(ot, hi_t, side="left")), cur + 1)
        if start is not None:
            first = interval.bucket_start(start)
            if first < start:
                first = interval.bucket_end(first)
            lo = int(np.searchsorted(ot, first, side="left"))
            hi = min(hi, lo + (limit + 1) * ratio)
        else:
            lo = max(0, hi - (limit + 1) * ratio)
        if hi <= lo:
            return []
        t = ot[lo:hi]
        keys = bucket_starts(interval, t)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        cols = {n: self._cols[n][lo:hi].astype(np.float64) for n in _COLS}
        forming = hi - 1 == cur and now_ms <= self.tf.close_time(int(ot[cur]))
        if forming:
            b = self.bar(cur, now_ms)
            for n, val in zip(_COLS, (b.open, b.high, b.low, b.close, b.volume, b.quote_volume, b.trades,
                                      b.taker_buy_base, b.taker_buy_quote)):
                cols[n][-1] = val
        opens = cols["open"][starts]
        highs = np.maximum.reduceat(cols["high"], starts)
        lows = np.minimum.reduceat(cols["low"], starts)
        ends = np.r_[starts[1:], len(t)] - 1
        closes = cols["close"][ends]
        sums = {n: np.add.reduceat(cols[n], starts) for n in ("volume", "quote_volume", "trades",
                                                               "taker_buy_base", "taker_buy_quote")}
        out: list[Bar] = []
        for k, s in enumerate(starts):
            bot = int(keys[s])
            bct = interval.close_time(bot)
            last_base_close = self.tf.close_time(int(t[ends[k]]))
            closed = not (forming and k == len(starts) - 1) and last_base_close >= bct
            if not closed and k != len(starts) - 1:
                closed = True  # a gap in the data inside an older bucket: it will not grow
            out.append(Bar(bot, bct, float(opens[k]), float(highs[k]), float(lows[k]), float(closes[k]),
                           float(sums["volume"][k]), float(sums["quote_volume"][k]), int(sums["trades"][k]),
                           float(sums["taker_buy_base"][k]), float(sums["taker_buy_quote"][k]), closed))
        if start is not None:
            out = [b for b in out if b.open_time >= start and b.open_time <= end_t][:limit]
        else:
            out = [b for b in out if b.open_time <= end_t][-limit:]
        return out
