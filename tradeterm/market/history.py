"""What the ingest fetches over REST, and why exactly that much.

* **Start-up history** of a series: the newest ``history_bars`` closed bars and the forming one.
  When the store already holds the series and its newest stored bar is at most
  ``max_catchup_bars`` back, the fetch reaches back to it, so a restart leaves no hole in the
  store. History goes to the store in bulk, straight away.
* **A derived timeframe**: its own history (Binance's bars, which the aggregator could not
  rebuild from a few hours of base bars), plus the base bars of the bucket forming now, to prime
  the aggregator so the first bucket it completes is whole.
* **A gap**: everything from the next expected bar to now.

Every fetch is retried with backoff until it succeeds: a series that cannot load its history
simply waits (its live closes are held by the sequencer), it never starts with a hole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.market.backfill import KlinePager, concat, fetch_latest, fetch_range
from tradeterm.market.backoff import Backoff
from tradeterm.market.frame import CandleFrame
from tradeterm.market.kline_parse import RejectLog
from tradeterm.market.rest import RestClient

__all__ = ["HistoryLoader"]

log = logging.getLogger("tradeterm.market.history")

T = TypeVar("T")


class HistoryLoader:
    def __init__(
        self,
        rest: RestClient,
        venue: str,
        store: Any | None,
        rejects: RejectLog,
        *,
        history_bars: int,
        max_catchup_bars: int,
        retry_base: float,
        retry_cap: float,
    ) -> None:
        self.rest = rest
        self.venue = venue
        self.store = store
        self.rejects = rejects
        self.history_bars = history_bars
        self.max_catchup_bars = max_catchup_bars
        self.retry_base = retry_base
        self.retry_cap = retry_cap

    async def retrying(self, what: str, make: Callable[[], Awaitable[T]]) -> T:
        backoff = Backoff(self.retry_base, self.retry_cap)
        while True:
            try:
                return await make()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - REST, network or store trouble: all worth retrying
                delay = backoff.next_delay()
                log.warning("%s %s failed (%s); retrying in %.1f s", self.venue, what, e, delay)
                await asyncio.sleep(delay)

    async def history(self, symbol: str, tf: Timeframe) -> tuple[CandleFrame, CandleFrame]:
        """(closed bars, the provisional forming bar) for start-up; closed bars are stored."""
        closed, prov = await fetch_latest(self.rest, symbol, tf, self.history_bars, rejects=self.rejects)
        if self.store is None:
            return closed, prov
        first = closed.open_time[0] if len(closed) else (prov.open_time[0] if len(prov) else None)
        last = await self.store.fetch_candles(self.venue, symbol, tf, limit=1, closed_only=True)
        if first is not None and last is not None and len(last):
            stored_end = tf.bucket_end(int(last.open_time[-1]))
            if stored_end < first and (first - stored_end) // tf.ms <= self.max_catchup_bars:
                older, _ = await fetch_range(self.rest, symbol, tf, stored_end, int(first), rejects=self.rejects)
                closed = concat([older, closed], symbol, tf)
        if len(closed):
            await self.store.upsert_candles(closed, self.venue)
        return closed, prov

    async def derived(
        self, symbol: str, base_tf: Timeframe, tf: Timeframe, released_until: int
    ) -> tuple[CandleFrame, int, CandleFrame]:
        """(closed history of ``tf``, open time of its forming bucket, the base bars of that
        bucket released so far). ``released_until`` is the base sequencer's next open time."""
        closed, prov = await self.history(symbol, tf)
        bucket = int(prov.open_time[0]) if len(prov) else tf.bucket_start(released_until - 1)
        base = closed.slice(0, 0)
        if bucket < released_until:
            rows, pager = await fetch_range(self.rest, symbol, base_tf, bucket, released_until, rejects=self.rejects)
            # Everything before released_until was released by the sequencer, so it is closed
            # even when REST cannot prove it yet (no later bar at the exchange at this instant).
            base = concat([rows, pager.provisional], symbol, base_tf)
            base = base.slice(int((base.open_time < bucket).sum()), len(base))
        return closed, bucket, base

    async def since(self, symbol: str, tf: Timeframe, start: int) -> tuple[CandleFrame, KlinePager]:
        """A gap: closed bars from ``start`` to now, and the pager (provisional bar, completeness)."""
        return await fetch_range(self.rest, symbol, tf, start, rejects=self.rejects)

    def candles(self, frame: CandleFrame) -> list[CandleV1]:
        """Contract events for fetched rows. The REST parser applies the same rules, so a refusal
        here is rare; it costs that row (counted), never the rest of the backfill."""
        try:
            return frame.to_candles(self.venue)
        except ValidationError:
            out: list[CandleV1] = []
            for i in range(len(frame)):
                try:
                    out += frame.slice(i, i + 1).to_candles(self.venue)
                except ValidationError as e:
                    self.rejects.add("bad_value", f"REST {frame.symbol} {frame.tf.value} row {i}: "
                                                  f"{e.errors()[0]['msg']}")
            return out
