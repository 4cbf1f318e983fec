"""Paging REST klines into closed candles without ever taking a forming bar for a closed one.

Binance's ``/klines`` ends with the bar that is still forming and does not say so. Its close
time cannot decide it either: the venue replays history on its own clock, so comparing close
times with our wall clock (or the server's ``/time``) would call a forming bar closed. The rule
here needs no clock: **a bar is closed once a later bar exists.** Pages are walked forward with
the last row held back until the next page (or, with an end bound, the bar at the bound) proves
it; the final row of a walk to "now" is reported as :attr:`KlinePager.provisional`, never as
closed. Everything before :attr:`KlinePager.complete_until` is then known: bars missing there
are holes in the exchange's own data, not in ours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import numpy as np

from tradeterm.contracts import Timeframe
from tradeterm.market.frame import CandleFrame
from tradeterm.market.kline_parse import RejectLog, rest_rows_to_frame
from tradeterm.market.rest import RestClient

__all__ = ["KlinePager", "concat", "empty_frame", "fetch_latest", "fetch_range", "start_for_bars"]


def empty_frame(symbol: str, tf: Timeframe) -> CandleFrame:
    return CandleFrame.from_columns(symbol, tf, *(np.empty(0) for _ in range(6)))


_FIELDS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base",
           "taker_buy_quote")


def concat(frames: list[CandleFrame], symbol: str, tf: Timeframe) -> CandleFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame(symbol, tf)
    if len(frames) == 1:
        return frames[0]
    return CandleFrame.from_columns(symbol, tf, **{n: np.concatenate([getattr(f, n) for f in frames]) for n in _FIELDS})


def _mask(frame: CandleFrame, keep: np.ndarray) -> CandleFrame:
    if keep.all():
        return frame
    return CandleFrame.from_columns(frame.symbol, frame.tf, **{n: getattr(frame, n)[keep] for n in _FIELDS})


def start_for_bars(tf: Timeframe, newest_open: int, bars: int) -> int:
    """Open time ``bars`` bars before ``newest_open`` (calendar-aware for months)."""
    if tf is not Timeframe.MO1:
        return newest_open - bars * tf.ms
    t = newest_open
    for _ in range(bars):
        t = tf.bucket_start(t - 1)
    return t


class KlinePager:
    """Async iterator over pages of *closed* candles with ``start_ms <= open_time < end_ms``.

    ``end_ms=None`` walks to the newest bar. ``on_page(rows_so_far, newest_open_time)`` is called
    after each page (progress bars).
    """

    def __init__(
        self,
        rest: RestClient,
        symbol: str,
        tf: Timeframe,
        start_ms: int,
        end_ms: int | None = None,
        *,
        rejects: RejectLog | None = None,
        on_page: Callable[[int, int], None] | None = None,
        page_size: int | None = None,
    ) -> None:
        self.rest = rest
        self.symbol = symbol.upper()
        self.tf = tf
        b = tf.bucket_start(int(start_ms))
        self.start_ms = b if b == start_ms else tf.bucket_end(b)  # the first whole bar at or after start
        self.end_ms = end_ms
        self.rejects = rejects
        self.on_page = on_page
        self.page_size = min(page_size or rest.spec.max_klines, rest.spec.max_klines)
        self.provisional: CandleFrame = empty_frame(self.symbol, tf)  # 0 or 1 row
        self.complete_until: int | None = None
        self.rows = 0
        self.requests = 0

    def __aiter__(self) -> AsyncIterator[CandleFrame]:
        return self._walk()

    async def collect(self) -> CandleFrame:
        """Walk the whole range and return every closed row in one frame."""
        return concat([f async for f in self], self.symbol, self.tf)

    async def _walk(self) -> AsyncIterator[CandleFrame]:
        cursor = self.start_ms
        held: CandleFrame | None = None  # the newest row seen, not yet proven closed
        while True:
            raw = await self.rest.klines(self.symbol, self.tf, start_ms=cursor, end_ms=self.end_ms,
                                         limit=self.page_size)
            self.requests += 1
            page = rest_rows_to_frame(raw, self.symbol, self.tf, self.rejects)
            page = _mask(page, page.open_time >= cursor) if len(page) else page
            full = len(raw) >= self.page_size
            if len(page) == 0:
                break
            rows = concat([held, page] if held is not None else [page], self.symbol, self.tf)
            held = rows.slice(len(rows) - 1, len(rows))
            confirmed = rows.slice(0, len(rows) - 1)
            if self.end_ms is not None:
                confirmed = _mask(confirmed, confirmed.open_time < self.end_ms)
            cursor = int(held.open_time[0]) + 1
            if len(confirmed):
                self.rows += len(confirmed)
                yield confirmed
            if self.on_page is not None:
                self.on_page(self.rows, int(held.open_time[0]))
            if not full:
                break
        if held is not None:
            t = int(held.open_time[0])
            self.complete_until = t
            if self.end_ms is None or t < self.end_ms:
                self.provisional = held


async def fetch_range(
    rest: RestClient,
    symbol: str,
    tf: Timeframe,
    start_ms: int,
    end_ms: int | None = None,
    *,
    rejects: RejectLog | None = None,
) -> tuple[CandleFrame, KlinePager]:
    """Walk a whole range: (closed rows, the finished pager with ``provisional``/``complete_until``)."""
    pager = KlinePager(rest, symbol, tf, start_ms, end_ms, rejects=rejects)
    return await pager.collect(), pager


async def fetch_latest(
    rest: RestClient, symbol: str, tf: Timeframe, bars: int, *, rejects: RejectLog | None = None
) -> tuple[CandleFrame, CandleFrame]:
    """The newest ``bars`` closed bars and the provisional (forming) bar after them."""
    sym = symbol.upper()
    if bars + 1 <= rest.spec.max_klines:
        raw = await rest.klines(sym, tf, limit=bars + 1)
        frame = rest_rows_to_frame(raw, sym, tf, rejects)
        if len(frame) == 0:
            return frame, frame
        return frame.slice(0, len(frame) - 1), frame.slice(len(frame) - 1, len(frame))
    raw = await rest.klines(sym, tf, limit=1)
    newest = rest_rows_to_frame(raw, sym, tf, rejects)
    if len(newest) == 0:
        return newest, newest
    closed, pager = await fetch_range(rest, sym, tf, start_for_bars(tf, int(newest.open_time[0]), bars),
                                      rejects=rejects)
    return closed, pager.provisional
