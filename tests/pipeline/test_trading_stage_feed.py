"""No look-ahead in paper auto-trading: an order decided on a bar never fills against that bar.

The analysis stage and the paper feed consume the same closed candle concurrently. Before
``TradingStage.wait_fed``, an auto-trade decided on bar T could reach the paper engine before the
feed walked T, and then fill on T's own low or high: prices that were already history when the
decision was made.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from tradeterm.bus import EventBus
from tradeterm.contracts import CandleV1, OrderStatus
from tradeterm.pipeline.activity import ActivityLog
from tradeterm.pipeline.trading_stage import TradingStage
from tradeterm.trading.ticket import ManualTicket

MIN = 60_000
T0 = int(time.time() * 1000) // MIN * MIN + MIN  # the bars follow the stage's start (now)


def _bar(i: int, o: float, h: float, lo: float, c: float) -> CandleV1:
    t = T0 + i * MIN
    return CandleV1(venue="binance-spot", symbol="BTCUSDT", tf="1m", open_time=t, close_time=t + MIN - 1,
                    open=o, high=h, low=lo, close=c, volume=10.0)


async def _stage() -> tuple[TradingStage, EventBus]:
    bus = EventBus()
    stage = TradingStage(symbols=("BTCUSDT",), bus=bus, activity=ActivityLog())
    await stage.start({"BTCUSDT": Decimal(50_000)})
    await bus.publish(_bar(0, 50_000, 50_010, 49_990, 50_000))
    assert await stage.wait_fed("BTCUSDT", T0 + MIN - 1, timeout=5)
    return stage, bus


async def test_wait_fed_waits_for_the_bar_and_times_out_without_it() -> None:
    stage, bus = await _stage()
    try:
        close_1 = T0 + 2 * MIN - 1
        assert not await stage.wait_fed("BTCUSDT", close_1, timeout=0.05)
        waiter = asyncio.ensure_future(stage.wait_fed("BTCUSDT", close_1, timeout=5))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        await bus.publish(_bar(1, 50_000, 50_010, 49_990, 50_005))
        assert await waiter
        assert await stage.wait_fed("ETHUSDT", close_1, timeout=0.01)  # not traded here: nothing to wait for
    finally:
        await stage.stop()


async def test_an_order_decided_on_a_bar_does_not_fill_on_that_bar() -> None:
    stage, bus = await _stage()
    try:
        # Bar 1 dips to 49,500 and closes at 50,000; a signal confirmed at its close buys at 49,600.
        close_1 = T0 + 2 * MIN - 1
        ticket = ManualTicket(venue="paper", symbol="BTCUSDT", side="BUY", entry=Decimal(49_600),
                              stop=Decimal(49_000))
        filters = stage.filters["BTCUSDT"]

        async def auto_place() -> str:
            assert await stage.wait_fed("BTCUSDT", close_1, timeout=5)  # what the controller does
            return await stage.place(ticket, filters, [], None)

        placing = asyncio.ensure_future(auto_place())
        await asyncio.sleep(0.01)  # the decision is ready before the feed has walked bar 1
        await bus.publish(_bar(1, 50_000, 50_050, 49_500, 50_000))
        decision_id = await placing
        assert await stage.wait_fed("BTCUSDT", close_1, timeout=5)  # bar 1 has been walked
        entry = next(u for u in stage.broker.known.values() if u.decision_id == decision_id and u.leg == "ENTRY")
        assert entry.status is OrderStatus.NEW  # bar 1's dip was history: no fill on it
        # A later bar that trades through the entry fills it.
        await bus.publish(_bar(2, 50_000, 50_010, 49_550, 49_700))
        assert await stage.wait_fed("BTCUSDT", T0 + 3 * MIN - 1, timeout=5)
        deadline = time.monotonic() + 10.0  # generous: the suite runs on shared, loaded machines
        while time.monotonic() < deadline:
            entry = stage.broker.known[entry.client_order_id]
            if entry.status is OrderStatus.FILLED:
                break
            await asyncio.sleep(0.01)
        assert entry.status is OrderStatus.FILLED
    finally:
        await stage.stop()
