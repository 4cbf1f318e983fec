from __future__ import annotations

import asyncio

import pytest

from tradeterm.bus import BusClosed, EventBus, Policy
from tradeterm.contracts import CandleV1

BASE = 1_709_294_400_000


def candle(i: int, symbol: str = "BTCUSDT", closed: bool = True) -> CandleV1:
    return CandleV1(
        venue="binance-spot", symbol=symbol, tf="1m", open_time=BASE + i * 60_000, close_time=BASE + i * 60_000 + 59_999,
        open=100.0, high=101.0, low=99.0, close=100.5, volume=1.0, closed=closed,
    )


async def test_durable_subscriber_gets_100k_events_complete_and_in_order() -> None:
    bus = EventBus()
    sub = bus.subscribe("numbers", policy="durable", maxsize=256)
    received: list[int] = []

    async def consume() -> None:
        async for n in sub:
            received.append(n)

    task = asyncio.create_task(consume())
    for i in range(100_000):
        await bus.publish(i, topic="numbers")
    bus.close()
    await task
    assert received == list(range(100_000))
    stats = bus.stats("numbers")
    assert (stats.published, stats.delivered, stats.dropped) == (100_000, 100_000, 0)


async def test_latest_subscriber_coalesces_per_key() -> None:
    bus = EventBus()
    sub = bus.subscribe(CandleV1, policy=Policy.LATEST)
    for i in range(50):
        await bus.publish(candle(i, "BTCUSDT", closed=False))
        await bus.publish(candle(i, "ETHUSDT", closed=False))
    assert sub.pending() == 2
    got = [sub.get_nowait(), sub.get_nowait()]
    assert {(c.symbol, c.open_time) for c in got} == {("BTCUSDT", BASE + 49 * 60_000), ("ETHUSDT", BASE + 49 * 60_000)}
    stats = bus.stats("candles.v1")
    assert (stats.published, stats.delivered, stats.dropped) == (100, 2, 98)


async def test_slow_durable_subscriber_does_not_starve_latest_one() -> None:
    bus = EventBus()
    slow = bus.subscribe("t", policy="durable", maxsize=2)
    ui = bus.subscribe("t", policy="latest", key=lambda e: "k")
    await bus.publish(1, "t")
    await bus.publish(2, "t")
    blocked = asyncio.create_task(bus.publish(3, "t"))  # durable queue full: back-pressure
    await asyncio.sleep(0.01)
    assert not blocked.done()
    assert ui.get_nowait() == 3  # the UI already saw the newest value
    assert await slow.get() == 1  # consuming frees room and releases the publisher
    await asyncio.wait_for(blocked, 1)
    assert [await slow.get(), await slow.get()] == [2, 3]


async def test_two_durable_subscribers_each_receive_everything() -> None:
    bus = EventBus()
    a = bus.subscribe("t", maxsize=10)
    b = bus.subscribe("t", maxsize=10)
    for i in range(5):
        await bus.publish(i, "t")
    assert [a.get_nowait() for _ in range(5)] == [b.get_nowait() for _ in range(5)] == list(range(5))


async def test_publish_nowait_refuses_instead_of_dropping() -> None:
    bus = EventBus()
    sub = bus.subscribe("t", maxsize=1)
    assert bus.publish_nowait("a", "t") is True
    assert bus.publish_nowait("b", "t") is False
    assert sub.get_nowait() == "a" and sub.pending() == 0
    assert bus.stats("t").published == 1


async def test_closed_bus_refuses_and_ends_iteration() -> None:
    bus = EventBus()
    sub = bus.subscribe("t")
    await bus.publish("last", "t")
    bus.close()
    assert [e async for e in sub] == ["last"]
    with pytest.raises(BusClosed):
        await bus.publish("x", "t")


async def test_object_without_topic_needs_explicit_topic() -> None:
    with pytest.raises(TypeError, match="TOPIC"):
        await EventBus().publish(object())
    with pytest.raises(ValueError):
        EventBus().subscribe("t", maxsize=0)


async def test_unsubscribed_topic_counts_published_only() -> None:
    bus = EventBus()
    await bus.publish(candle(0))
    assert bus.stats("candles.v1").published == 1 and bus.stats("candles.v1").delivered == 0
