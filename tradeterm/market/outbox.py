"""From the socket reader to the bus and the store, in order, without making the reader wait.

The WebSocket reader is synchronous on purpose (a kline must reach the candle book without an
``await``), so it cannot block on a full durable queue. It appends events here instead; one
publisher task hands them to the bus in exactly that order and takes the back-pressure of slow
durable subscribers. With a store, a writer task subscribes to ``candles.v1`` (durable: nothing
is dropped) and writes this venue's candles in batches, retrying a database that is locked or
down rather than losing rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from tradeterm.bus import EventBus, Policy, Subscription
from tradeterm.contracts import CandleV1
from tradeterm.market.backoff import Backoff

__all__ = ["Outbox"]

log = logging.getLogger("tradeterm.market.outbox")

WRITE_BATCH = 2000


class Outbox:
    def __init__(
        self,
        bus: EventBus,
        venue: str,
        store: Any | None = None,
        *,
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.bus = bus
        self.venue = venue
        self.store = store
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.stop_timeout = stop_timeout
        self._queue: deque[Any] = deque()
        self._ready = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None
        self._writing = False
        self.published = 0
        self.stored = 0  # candles written by the writer task

    def put(self, event: Any) -> None:
        self._queue.append(event)
        self._ready.set()

    def __len__(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        if self._publisher is not None:
            return
        self._publisher = asyncio.create_task(self._publish_loop(), name=f"{self.venue}-publisher")
        if self.store is not None:
            self._sub = self.bus.subscribe(CandleV1, policy=Policy.DURABLE, maxsize=10_000, name=f"{self.venue}-store")
            self._writer = asyncio.create_task(self._write_loop(self._sub), name=f"{self.venue}-writer")

    async def flush(self) -> None:
        """Until everything put so far is published and (with a store) stored."""
        while self._queue or self._writing or (self._sub is not None and self._sub.pending()):
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._publisher is not None:
            await self.flush()
            self._publisher.cancel()
            await asyncio.gather(self._publisher, return_exceptions=True)
            self._publisher = None
        if self._sub is not None and self._writer is not None:
            self._sub.close()
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), self.stop_timeout)
            except TimeoutError:
                log.error("%s: the store did not take the last %d candle(s) within %.0f s; they are lost",
                          self.venue, self._sub.pending(), self.stop_timeout)
                self._writer.cancel()
                await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = self._sub = None

    async def store_write(self, items: list[Any]) -> None:
        """Write to the store, retrying until it takes them (a locked or unreachable database)."""
        assert self.store is not None
        backoff = Backoff(self.retry_base, self.retry_cap)
        while True:
            try:
                await self.store.write(items)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - whatever the database says, keep the rows and retry
                delay = backoff.next_delay()
                log.warning("%s: storing %d item(s) failed (%s); retrying in %.1f s", self.venue, len(items), e,
                            delay)
                await asyncio.sleep(delay)

    async def _publish_loop(self) -> None:
        queue = self._queue
        while True:
            while queue:
                await self.bus.publish(queue[0])
                queue.popleft()  # only after publishing: flush() must not see an empty queue early
                self.published += 1
            self._ready.clear()
            await self._ready.wait()

    async def _write_loop(self, sub: Subscription) -> None:
        while True:
            try:
                first = await sub.get()
            except StopAsyncIteration:
                return
            self._writing = True
            try:
                batch = [first]
                while len(batch) < WRITE_BATCH:
                    try:
                        batch.append(sub.get_nowait())
                    except asyncio.QueueEmpty:
                        break
                mine = [c for c in batch if c.venue == self.venue]
                if mine:
                    await self.store_write(mine)
                    self.stored += len(mine)
            finally:
                self._writing = False
