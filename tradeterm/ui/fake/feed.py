"""A streaming feed for the fake: reveal bars on a timer, as a live market would.

Why: the fake is frozen so tests see the same pixels every time, but benches (key latency and
memory while every symbol streams) and demos need a market that moves. The feed replays the
seeded history from ``rewind`` bars back, one step per tick, on the running event loop — the
same loop the UI uses, as the live pipeline's ingest does — and starts the replay over when it
reaches the end, so it can run for as long as a soak test needs.
"""

from __future__ import annotations

import asyncio
import contextlib

from .pipeline import FakePipeline


class FakeFeed:
    """Advance ``fake`` by ``bars_per_tick`` 1m bars (all symbols at once) every ``interval``
    seconds; ``interval == 0`` yields to the loop between ticks but never sleeps (speed max)."""

    def __init__(
        self,
        fake: FakePipeline,
        *,
        interval: float = 0.05,
        bars_per_tick: int = 1,
        rewind: int | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, not {interval}")
        if bars_per_tick < 1:
            raise ValueError(f"bars_per_tick must be >= 1, not {bars_per_tick}")
        self.fake = fake
        self.interval = interval
        self.bars_per_tick = bars_per_tick
        self.rewind = rewind if rewind is not None else fake.bars  # clamped by the fake
        self.ticks = 0
        self.replays = 0
        self._task: asyncio.Task[None] | None = None

    def step(self) -> None:
        """One tick: reveal the next bars, or start the replay over at the end of the data."""
        if self.fake.hidden == 0:
            self.fake.rewind(self.rewind)
            self.replays += 1
        self.fake.advance(self.bars_per_tick)
        self.ticks += 1

    async def run(self) -> None:
        while True:
            self.step()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Run :meth:`run` as a task of the current loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="fake-feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
