"""The analysis stage: closed candles from the bus in, analysis events out (bus and store).

One :class:`~tradeterm.analysis.pipeline.AnalysisState` per followed (symbol, timeframe), primed
from the candle book's closed history when the series first appears, then advanced by each live
closed candle — the same object the ``analyze`` command and backtests drive, so what the screen
shows is what a replay of the same candles would show. Candles at or before the last one analysed
(a duplicate, or history that arrived late) are skipped: analysis is strictly causal and forward.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tradeterm.analysis.pipeline import AnalysisState, PipelineConfig, run_frame
from tradeterm.analysis.strategies.registry import create_strategy
from tradeterm.bus import EventBus, Policy
from tradeterm.contracts import CandleV1, Contract, RegimeV1, SignalRawV1, Timeframe
from tradeterm.market.book import CandleBook
from tradeterm.market.frame import CandleFrame

log = logging.getLogger("tradeterm.pipeline.analysis")


@dataclass
class StreamAnalysis:
    state: AnalysisState
    last_open: int = -1
    regime: RegimeV1 | None = None
    bars: int = 0


@dataclass
class AnalysisStage:
    venue: str
    bus: EventBus
    book: CandleBook
    store: object | None = None  # a Store; typed loosely to keep the stage testable without one
    strategies: tuple[str, ...] = ("smc_retest",)
    on_signal: Callable[[SignalRawV1], None] | None = None
    config: PipelineConfig = field(default_factory=PipelineConfig)
    streams: dict[tuple[str, Timeframe], StreamAnalysis] = field(default_factory=dict)
    followed: set[tuple[str, Timeframe]] = field(default_factory=set)
    events_out: int = 0
    _task: asyncio.Task[None] | None = None

    def follow(self, symbol: str, tf: Timeframe | str) -> None:
        self.followed.add((symbol.upper(), Timeframe(tf)))

    def start(self) -> None:
        sub = self.bus.subscribe(CandleV1, policy=Policy.DURABLE, maxsize=10_000, name="analysis")
        self._task = asyncio.create_task(self._run(sub), name="analysis-stage")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _new_state(self, symbol: str, tf: Timeframe, before: int) -> StreamAnalysis:
        """Prime from the book's closed bars opened before ``before`` (the live candle itself may
        already be in the book; it must go through ``process`` so its signals are published)."""
        strategies = [create_strategy(name) for name in self.strategies]
        state = AnalysisState(venue=self.venue, symbol=symbol, tf=tf, config=self.config, strategies=strategies)
        stream = StreamAnalysis(state)
        view = self.book.view(self.venue, symbol, tf)
        k = min(view.closed_prefix(), int(np.searchsorted(view.open_time, before)))
        if k:
            frame = CandleFrame.from_columns(symbol, tf, np.array(view.open_time[:k]), np.array(view.open[:k]),
                                             np.array(view.high[:k]), np.array(view.low[:k]),
                                             np.array(view.close[:k]), np.array(view.volume[:k]))
            for events in run_frame(frame, state):
                self._note(stream, events, publish=False)
            stream.last_open = int(frame.open_time[-1])
            stream.bars = k
        return stream

    def _note(self, stream: StreamAnalysis, events: list[Contract], *, publish: bool) -> None:
        for e in events:
            if isinstance(e, RegimeV1):
                stream.regime = e
            elif isinstance(e, SignalRawV1) and publish and self.on_signal is not None:
                self.on_signal(e)

    async def _run(self, sub) -> None:  # type: ignore[no-untyped-def]
        async for candle in sub:
            try:
                await self.process(candle)
            except Exception:
                log.exception("analysis failed on %s %s %s", candle.symbol, candle.tf, candle.open_time)

    async def process(self, candle: CandleV1) -> list[Contract]:
        """Analyse one closed candle of a followed series; returns the events it confirmed."""
        key = (candle.symbol, candle.tf)
        if not candle.closed or key not in self.followed:
            return []
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = self._new_state(candle.symbol, candle.tf, candle.open_time)
        if candle.open_time <= stream.last_open:
            return []
        events: list[Contract] = stream.state.update_candle(candle)
        stream.last_open = candle.open_time
        stream.bars += 1
        self._note(stream, events, publish=True)
        for e in events:
            await self.bus.publish(e)
        if self.store is not None and events:
            await self.store.write(events)  # type: ignore[attr-defined]
        self.events_out += len(events)
        return events
