"""The analysis stage: closed candles from the bus in, analysis events out (bus and store).

One :class:`~tradeterm.analysis.pipeline.AnalysisState` per followed (symbol, timeframe), primed
from the candle book's closed history when the series first appears, then advanced by each live
closed candle — the same object the ``analyze`` command and backtests drive, so what the screen
shows is what a replay of the same candles would show. Candles at or before the last one analysed
(a duplicate, or history that arrived late) are skipped: analysis is strictly causal and forward.

Events are published on the bus at once; storing them is off the hot path: a writer worker takes
everything analysed since its last write and stores it in one transaction. All symbols close a bar
at the same instant, so writing per candle put 20–40 store round trips (each waiting for the shared
connection) between a burst's first candle and its last — measured, that was 30 ms at the median
for 20 symbols (bench/e2e_bench.py). :meth:`stop` writes what is still pending before returning.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tradeterm.analysis.pipeline import AnalysisState, PipelineConfig, run_frame
from tradeterm.analysis.strategies.registry import create_strategy
from tradeterm.bus import EventBus, Policy
from tradeterm.contracts import CandleV1, Contract, RegimeV1, SignalRawV1, Timeframe
from tradeterm.market.book import CandleBook
from tradeterm.market.frame import CandleFrame

if TYPE_CHECKING:
    from tradeterm.pipeline.metrics import PipelineMetrics
    from tradeterm.pipeline.supervisor import Supervisor

log = logging.getLogger("tradeterm.pipeline.analysis")


class _Timed:
    """Wraps one step object of an :class:`AnalysisState` (its indicator set or SMC engine) and
    notes when the step's method returned, so the stage can report per-step latency without the
    pure analysis code knowing about clocks. Everything else is delegated unchanged."""

    __slots__ = ("_inner", "at")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.at = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _TimedIndicators(_Timed):
    __slots__ = ()

    def update(self, *args: Any, **kw: Any) -> Any:
        out = self._inner.update(*args, **kw)
        self.at = time.perf_counter()
        return out


class _TimedSmc(_Timed):
    __slots__ = ()

    def push(self, *args: Any, **kw: Any) -> Any:
        out = self._inner.push(*args, **kw)
        self.at = time.perf_counter()
        return out


@dataclass
class StreamAnalysis:
    state: AnalysisState
    last_open: int = -1
    regime: RegimeV1 | None = None
    bars: int = 0
    timers: tuple[_Timed, _Timed] | None = None  # (indicators, smc) once instrumented


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
    candles_in: int = 0  # live closed candles analysed
    seen: int = 0  # candles taken off the bus and done with (analysed, skipped or failed)
    metrics: PipelineMetrics | None = None
    t0: float | None = None  # bus stamp of the candle being processed (read by on_signal callbacks)
    _task: asyncio.Task[None] | None = None
    _writer: bool = False  # a store-writer worker is running: process() only queues
    _out: list[Contract] = field(default_factory=list)
    _out_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _writing: asyncio.Future[Any] | None = None
    _writer_task: asyncio.Task[None] | None = None

    def follow(self, symbol: str, tf: Timeframe | str) -> None:
        self.followed.add((symbol.upper(), Timeframe(tf)))

    def start(self, supervisor: Supervisor | None = None) -> None:
        """Subscribe and run the worker (under ``supervisor`` when given: a failure escaping the
        per-candle handling restarts the loop on the same durable subscription, so no candle
        queued meanwhile is lost)."""
        sub = self.bus.subscribe(CandleV1, policy=Policy.DURABLE, maxsize=10_000, name="analysis")
        self._writer = self.store is not None
        if supervisor is not None:
            supervisor.spawn("analysis", lambda: self._run(sub))
            if self._writer:
                supervisor.spawn("analysis-store", self._write_loop)
        else:
            self._task = asyncio.create_task(self._run(sub), name="analysis-stage")
            if self._writer:
                self._writer_task = asyncio.create_task(self._write_loop(), name="analysis-store")

    async def stop(self) -> None:
        """Stop analysing; then store whatever was analysed and not yet written."""
        for t in (self._task, self._writer_task):
            if t is not None:
                t.cancel()
                await asyncio.gather(t, return_exceptions=True)
        self._task = None
        await self.flush()
        self._writer = False

    async def _write_loop(self) -> None:
        while True:
            await self._out_ready.wait()
            await self._write_pending()

    async def _write_pending(self) -> None:
        self._out_ready.clear()
        if not self._out or self.store is None:
            return
        batch, self._out = self._out, []
        # Shielded: a cancelled worker (shutdown, restart) must not abandon a transaction half
        # way on the shared connection; stop()/flush() wait for it instead.
        self._writing = asyncio.ensure_future(self.store.write(batch, bulk=True))  # type: ignore[attr-defined]
        try:
            await asyncio.shield(self._writing)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._out[:0] = batch  # kept for the next attempt (the supervisor restarts this worker)
            self._out_ready.set()
            raise

    async def flush(self) -> None:
        """Wait for the write in flight, then write what is pending (idempotent upserts)."""
        if self._writing is not None and not self._writing.done():
            await asyncio.wait([self._writing])
        if self._out and self.store is not None:
            batch, self._out = self._out, []
            await self.store.write(batch, bulk=True)  # type: ignore[attr-defined]

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
        if self.metrics is not None:
            self._instrument(stream)
        return stream

    @staticmethod
    def _instrument(stream: StreamAnalysis) -> None:
        st: Any = stream.state
        ind, smc = getattr(st, "_indicators", None), getattr(st, "_smc", None)
        if ind is None or smc is None:
            return  # another AnalysisState layout: latency is then reported for the whole bar
        stream.timers = (_TimedIndicators(ind), _TimedSmc(smc))
        st._indicators, st._smc = stream.timers

    def _note(self, stream: StreamAnalysis, events: Sequence[Contract], *, publish: bool) -> None:
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
            finally:
                self.seen += 1

    async def process(self, candle: CandleV1) -> list[Contract]:
        """Analyse one closed candle of a followed series; returns the events it confirmed."""
        key = (candle.symbol, candle.tf)
        if not candle.closed or key not in self.followed or candle.venue != self.venue:
            return []
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = self._new_state(candle.symbol, candle.tf, candle.open_time)
        if candle.open_time <= stream.last_open:
            return []
        m = self.metrics
        if m is not None:
            stamp = getattr(self.bus, "published_at", None)
            self.t0 = (stamp(candle.symbol, candle.tf.value, candle.open_time) if stamp else None) or time.perf_counter()
        events: list[Contract] = list(stream.state.update_candle(candle))
        stream.last_open = candle.open_time
        stream.bars += 1
        if m is not None:
            if stream.timers is not None:
                m.observe("features", self.t0, stream.timers[0].at)
                m.observe("smc", self.t0, stream.timers[1].at)
            else:
                now = time.perf_counter()
                m.observe("features", self.t0, now)
                m.observe("smc", self.t0, now)
        self._note(stream, events, publish=True)
        for e in events:
            await self.bus.publish(e)
        if self.store is not None and events:
            if self._writer:
                self._out.extend(events)
                self._out_ready.set()
            else:
                await self.store.write(events, bulk=True)  # type: ignore[attr-defined]
        self.events_out += len(events)
        self.candles_in += 1
        return events
