"""In-process asyncio publish/subscribe, keyed by versioned topic (``candles.v1`` …).

Two delivery policies, chosen by each subscriber, because consumers differ in what they can
afford to lose:

* ``durable`` — a bounded queue; when it is full the publisher waits (back-pressure). Nothing is
  ever dropped. For the store and the broker, where a lost event is lost money or a hole.
* ``latest`` — keeps only the newest event per key (e.g. per symbol+timeframe); older unread
  ones are overwritten and counted as dropped. For the UI, which only ever paints the present.

A slow ``latest`` subscriber never slows anyone; a slow ``durable`` one slows the publisher only
once its own queue is full, which is exactly the back-pressure it asked for. Delivery to
``latest`` subscribers happens before waiting on any full durable queue, so the screen stays
current even while the store catches up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Policy(StrEnum):
    DURABLE = "durable"
    LATEST = "latest"


@dataclass
class TopicStats:
    published: int = 0
    delivered: int = 0
    dropped: int = 0


class BusClosed(Exception):
    """Raised by ``publish`` after :meth:`EventBus.close`."""


def topic_of(event: Any) -> str:
    topic = getattr(event, "TOPIC", None)
    if not isinstance(topic, str):
        raise TypeError(f"{type(event).__name__} has no TOPIC; pass topic= explicitly")
    return topic


def _default_key(event: Any) -> Hashable:
    """Per-series key for ``latest``: venue/symbol/timeframe when the event has them."""
    return (getattr(event, "venue", None), getattr(event, "symbol", None), getattr(event, "tf", None))


class Subscription:
    """One subscriber's inbox. Iterate it (``async for event in sub``) or call :meth:`get`."""

    def __init__(
        self,
        bus: EventBus,
        topic: str,
        policy: Policy,
        maxsize: int,
        key: Callable[[Any], Hashable],
        name: str,
    ) -> None:
        self.bus = bus
        self.topic = topic
        self.policy = policy
        self.name = name
        self._maxsize = maxsize
        self._key = key
        self._queue: deque[Any] = deque()
        self._latest: dict[Hashable, Any] = {}
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._closed = False

    # -- publisher side ----------------------------------------------------------------------

    def _offer_latest(self, event: Any, stats: TopicStats) -> None:
        k = self._key(event)
        if k in self._latest:
            stats.dropped += 1
            del self._latest[k]  # re-insert so iteration order follows recency
        self._latest[k] = event
        self._readable.set()

    async def _put_durable(self, event: Any) -> None:
        while len(self._queue) >= self._maxsize and not self._closed:
            self._writable.clear()
            await self._writable.wait()
        if self._closed:
            return
        self._queue.append(event)
        self._readable.set()

    # -- subscriber side ---------------------------------------------------------------------

    def pending(self) -> int:
        return len(self._queue) if self.policy is Policy.DURABLE else len(self._latest)

    def get_nowait(self) -> Any:
        """Next event, or raise ``asyncio.QueueEmpty``."""
        if self.policy is Policy.DURABLE:
            if not self._queue:
                raise asyncio.QueueEmpty
            event = self._queue.popleft()
            if len(self._queue) < self._maxsize:
                self._writable.set()
        else:
            if not self._latest:
                raise asyncio.QueueEmpty
            k = next(iter(self._latest))
            event = self._latest.pop(k)
        self.bus.stats(self.topic).delivered += 1
        return event

    async def get(self) -> Any:
        """Wait for the next event; raise :class:`StopAsyncIteration` once closed and drained."""
        while True:
            try:
                return self.get_nowait()
            except asyncio.QueueEmpty:
                if self._closed:
                    raise StopAsyncIteration from None
                self._readable.clear()
                await self._readable.wait()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        return await self.get()

    def close(self) -> None:
        """Stop receiving; events already queued can still be read."""
        self._closed = True
        self._readable.set()
        self._writable.set()
        self.bus._detach(self)


class EventBus:
    """Topic-keyed publish/subscribe for one process. Not thread-safe: use from one event loop."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Subscription]] = {}
        self._stats: dict[str, TopicStats] = {}
        self._closed = False

    def subscribe(
        self,
        topic: str | type,
        *,
        policy: Policy | str = Policy.DURABLE,
        maxsize: int = 4096,
        key: Callable[[Any], Hashable] = _default_key,
        name: str = "",
    ) -> Subscription:
        """Subscribe to a topic name or a contract class (its ``TOPIC``)."""
        topic_name = topic if isinstance(topic, str) else topic_of(topic)
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        sub = Subscription(self, topic_name, Policy(policy), maxsize, key, name or f"sub-{id(self)}")
        self._subs.setdefault(topic_name, []).append(sub)
        self._stats.setdefault(topic_name, TopicStats())
        return sub

    def stats(self, topic: str) -> TopicStats:
        return self._stats.setdefault(topic, TopicStats())

    def all_stats(self) -> dict[str, TopicStats]:
        return dict(self._stats)

    async def publish(self, event: Any, topic: str | None = None) -> None:
        """Deliver to every subscriber of the topic; waits only on full durable queues."""
        if self._closed:
            raise BusClosed("the event bus is closed")
        name = topic or topic_of(event)
        stats = self.stats(name)
        stats.published += 1
        subs = self._subs.get(name)
        if not subs:
            return
        blocked = []
        for sub in subs:
            if sub.policy is Policy.LATEST:
                sub._offer_latest(event, stats)
            elif len(sub._queue) < sub._maxsize:
                sub._queue.append(event)
                sub._readable.set()
            else:
                blocked.append(sub)
        for sub in blocked:
            await sub._put_durable(event)

    def publish_nowait(self, event: Any, topic: str | None = None) -> bool:
        """Publish without waiting; returns False (publishing nothing) if a durable queue is full,
        so a caller that cannot wait (a sync callback) can tell and retry instead of losing it."""
        if self._closed:
            raise BusClosed("the event bus is closed")
        name = topic or topic_of(event)
        subs = self._subs.get(name, [])
        if any(s.policy is Policy.DURABLE and len(s._queue) >= s._maxsize for s in subs):
            return False
        stats = self.stats(name)
        stats.published += 1
        for sub in subs:
            if sub.policy is Policy.LATEST:
                sub._offer_latest(event, stats)
            else:
                sub._queue.append(event)
                sub._readable.set()
        return True

    def _detach(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic)
        if subs and sub in subs:
            subs.remove(sub)

    def close(self) -> None:
        """Refuse further publishing and end every subscription once it is drained."""
        self._closed = True
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.close()
