"""The market-data stage of the pipeline: Binance streams + REST in, candle book, bus and store out.

Per streamed series (symbol × timeframe) the flow is::

    kline message ─► parse/validate ─► candle book (chart, analysis: every update)
                                      └► latest topic ``candles.live`` (open updates)
                   closed ─► Sequencer ─► candles.v1 (durable) ─► store writer
                              ▲    └► Aggregator per derived timeframe ─► candles.v1, book
    REST backfill ────────────┘  (start-up history, and the gap after every (re)connect)

Why it is built this way:

* The stream is subscribed *before* any REST request for the series, so every bar that closes
  after the REST answer is seen live; the :class:`~tradeterm.market.sequencer.Sequencer` then
  merges the two sources into one ordered, gapless, duplicate-free sequence of closed candles.
* Higher timeframes (``15m``, ``1h`` … up to ``max_derive_ratio`` base bars) are not streamed:
  they are aggregated from the base series with :class:`~tradeterm.market.aggregate.Aggregator`,
  which is exact on Binance's UTC buckets, so one stream per symbol serves every chart. Their
  history comes from REST (Binance's own bars), and the aggregator is primed with the base bars
  of the bucket that is forming, so the first live bucket is complete, not partial.
* The socket reader never awaits the bus: closed candles go into an outbox that a publisher task
  drains in order, so a slow store back-pressures the publisher, not the WebSocket.
* Start-up history is written to the store directly (bulk) and not published: consumers of
  ``candles.v1`` see live closes and the gaps after reconnects, never a replay of old history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Self

from pydantic import ValidationError

from tradeterm.bus import BusClosed, EventBus
from tradeterm.config import BinanceEndpoints
from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.contracts.timeframe import DAY_MS
from tradeterm.errors import UserError
from tradeterm.market.aggregate import Aggregator
from tradeterm.market.backoff import Backoff
from tradeterm.market.book import Applied, BookSeries, CandleBook, DerivedSeries
from tradeterm.market.frame import CandleFrame
from tradeterm.market.funding import FundingTracker, funding_intervals
from tradeterm.market.history import HistoryLoader
from tradeterm.market.kline_parse import BadInput, Kline, RejectLog, parse_kline, to_candle
from tradeterm.market.outbox import Outbox
from tradeterm.market.rest import RestClient, RestError
from tradeterm.market.sequencer import Sequencer
from tradeterm.market.spec import USDM, MarketSpec, spec_for
from tradeterm.market.stream import StreamClient, StreamConfig

__all__ = ["IngestConfig", "LiveCandle", "MarketIngest", "kline_stream"]

log = logging.getLogger("tradeterm.market.ingest")

LIVE_TOPIC = "candles.live"


class LiveCandle(NamedTuple):
    """The newest state of a bar, for the chart (``latest`` policy). Deliberately not a contract:
    it is never stored, and validating a pydantic model per update would cost the ingest half its
    throughput. A NamedTuple: immutable, and five times cheaper to build than a frozen dataclass."""

    venue: str
    symbol: str
    tf: Timeframe
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool
    event_time: int


@dataclass
class IngestConfig:
    history_bars: int = 1000  # closed bars loaded per series at subscribe time
    base_tf: Timeframe | None = Timeframe.M1  # higher timeframes are derived from it (None: stream all)
    max_derive_ratio: int = 1440  # derive only when a bucket holds at most this many base bars
    max_catchup_bars: int = 100_000  # fill the hole since the last stored bar if it is this small
    book_capacity: int = 5000
    publish_live: bool = True
    # Open-candle updates reach ``candles.live`` at most this often per series (seconds): the chart
    # draws at 30 fps at most, and the latest-value topic would drop the rest anyway. The candle
    # book itself is updated on every message. 0 = once per event-loop turn.
    live_interval: float = 0.02
    retry_base: float = 1.0  # REST retry backoff after failures
    retry_cap: float = 60.0
    stream: StreamConfig = field(default_factory=StreamConfig)
    stop_timeout: float = 10.0  # how long stop() waits for the store to take the last candles
    funding_persist_every_ms: int = 60_000


def kline_stream(symbol: str, tf: Timeframe) -> str:
    return f"{symbol.lower()}@kline_{tf.value}"


class _Derived:
    def __init__(self, tf: Timeframe, series: DerivedSeries) -> None:
        self.tf = tf
        self.series = series
        self.agg: Aggregator | None = None  # set once primed; until then closes go to backlog
        self.backlog: list[CandleV1] | None = None
        self.setup: asyncio.Task[Any] | None = None


class _Route:
    """One streamed series."""

    def __init__(self, symbol: str, tf: Timeframe, book: BookSeries) -> None:
        self.symbol = symbol
        self.tf = tf
        self.name = kline_stream(symbol, tf)
        self.book = book
        self.seq = Sequencer(tf)
        self.requested: set[Timeframe] = set()
        self.derived: dict[Timeframe, _Derived] = {}
        self.ready = asyncio.Event()  # history loaded, sequencer started
        self.backfilling = False
        self.backfill_again = False
        self.backfills = 0
        self.tasks: set[asyncio.Task[Any]] = set()


class MarketIngest:
    """Market data of one Binance market (spot or USD-M) for the whole process."""

    def __init__(
        self,
        spec: MarketSpec,
        *,
        rest_url: str,
        ws_url: str,
        bus: EventBus,
        book: CandleBook | None = None,
        store: Any | None = None,
        config: IngestConfig | None = None,
        rest: RestClient | None = None,
    ) -> None:
        self.spec = spec
        self.venue = spec.venue
        self.bus = bus
        self.config = config or IngestConfig()
        self.book = book or CandleBook(self.config.book_capacity)
        self.store = store
        self.rejects = RejectLog(f"{spec.venue} market data")
        self._own_rest = rest is None
        self.rest = rest or RestClient(rest_url, spec)
        self.stream = StreamClient(ws_url, spec, self._on_message, on_connect=self._on_connect,
                                   rejects=self.rejects, config=self.config.stream)
        self._routes: dict[tuple[str, Timeframe], _Route] = {}
        self._by_name: dict[str, _Route] = {}
        self._funding = FundingTracker(spec.venue, persist_every_ms=self.config.funding_persist_every_ms)
        self._funding_loaded = False
        self.history = HistoryLoader(self.rest, spec.venue, store, self.rejects,
                                     history_bars=self.config.history_bars,
                                     max_catchup_bars=self.config.max_catchup_bars,
                                     retry_base=self.config.retry_base, retry_cap=self.config.retry_cap)
        self.outbox = Outbox(bus, spec.venue, store, retry_base=self.config.retry_base,
                             retry_cap=self.config.retry_cap, stop_timeout=self.config.stop_timeout)
        self._started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._live_dirty: dict[_Route, Kline] = {}
        self._live_scheduled = False
        self._live_handle: asyncio.Handle | None = None

    # ================================================================== lifecycle
    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        await self.outbox.start()

    async def stop(self) -> None:
        """Close the streams, finish publishing and storing what was received, release REST."""
        await self.stream.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._live_handle is not None:
            self._live_handle.cancel()
            self._live_handle, self._live_scheduled = None, False
        if self._live_dirty:
            self._flush_live()
        await self.outbox.stop()
        self._started = False
        if self._own_rest:
            await self.rest.aclose()

    @classmethod
    def for_venue(cls, venue: str, endpoints: BinanceEndpoints, **kw: Any) -> MarketIngest:
        """An ingest for ``binance-spot`` or ``binance-usdm`` at the URLs of the settings
        (``settings.endpoints``, which already applies profile defaults and overrides)."""
        spec = spec_for(venue)
        if spec is USDM:
            rest_url, ws_url = endpoints.usdm_rest_url, endpoints.usdm_ws_url
        else:
            rest_url, ws_url = endpoints.spot_rest_url, endpoints.spot_ws_url
        if not rest_url or not ws_url:
            raise UserError(f"no REST/stream URL configured for {venue}")
        return cls(spec, rest_url=rest_url, ws_url=ws_url, **kw)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def flush(self) -> None:
        """Wait until everything received so far is published and (with a store) stored."""
        if self._live_dirty:
            self._flush_live()
        await self.outbox.flush()

    @property
    def published(self) -> int:
        return self.outbox.published

    @property
    def stored(self) -> int:
        """Live closed candles written by the store writer (history goes in bulk, uncounted)."""
        return self.outbox.stored

    # ================================================================== subscriptions
    def stream_tf(self, tf: Timeframe) -> Timeframe:
        """The timeframe actually streamed to serve ``tf`` (itself, or the base it is derived from)."""
        base = self.config.base_tf
        if base is None or tf is base or tf is Timeframe.MO1 or tf.ms <= base.ms or base not in self.spec.intervals:
            return tf
        if tf.ms % base.ms or tf.ms // base.ms > self.config.max_derive_ratio:
            return tf
        if tf is Timeframe.W1 and DAY_MS % base.ms:
            return tf
        return base

    async def subscribe(self, symbol: str, tf: Timeframe | str) -> None:
        """Start following ``symbol``/``tf``: stream it (or its base), load its history."""
        await self.subscribe_many([(symbol, tf)])

    async def subscribe_many(self, pairs: list[tuple[str, Timeframe | str]]) -> None:
        """Several series at once: one SUBSCRIBE for all their streams (Binance limits how many
        control messages a connection may send per second), then every history load in parallel."""
        wanted = []
        for symbol, tf in pairs:
            t = Timeframe(tf)
            self.spec.check_interval(t)
            wanted.append((_symbol(symbol), t))
        new: list[_Route] = []
        async with self._lock:
            for sym, tf in wanted:
                stf = self.stream_tf(tf)
                route = self._routes.get((sym, stf))
                if route is None:
                    route = _Route(sym, stf, self.book.series(self.venue, sym, stf))
                    self._routes[(sym, stf)] = route
                    self._by_name[route.name] = route
                    new.append(route)
                route.requested.add(tf)
                if tf is not stf and tf not in route.derived:
                    d = _Derived(tf, self.book.derive(self.venue, sym, stf, tf))
                    route.derived[tf] = d
                    d.setup = self._spawn(route, self._setup_derived(route, d))
        if new:
            await self.stream.subscribe([r.name for r in new])  # before any REST request: nothing closes unseen
            for route in new:
                self._spawn(route, self._load_history(route))

    async def unsubscribe(self, symbol: str, tf: Timeframe | str) -> None:
        tf = Timeframe(tf)
        sym = _symbol(symbol)
        stf = self.stream_tf(tf)
        async with self._lock:
            route = self._routes.get((sym, stf))
            if route is None or tf not in route.requested:
                return
            route.requested.discard(tf)
            d = route.derived.pop(tf, None)
            if d is not None:
                if d.setup is not None:
                    d.setup.cancel()
                self.book.drop(self.venue, sym, tf)
            if route.requested:
                return
            del self._routes[(sym, stf)]
            del self._by_name[route.name]
        await self.stream.unsubscribe([route.name])
        for t in list(route.tasks):
            t.cancel()
        await asyncio.gather(*route.tasks, return_exceptions=True)
        self.book.drop(self.venue, sym, stf)

    async def wait_ready(self, symbol: str, tf: Timeframe | str, timeout: float | None = None) -> None:
        """Until the series' history is loaded and its live sequence has started."""
        tf = Timeframe(tf)
        route = self._routes.get((_symbol(symbol), self.stream_tf(tf)))
        if route is None:
            raise UserError(f"{symbol} {tf.value} is not subscribed")
        await asyncio.wait_for(route.ready.wait(), timeout)
        d = route.derived.get(tf)
        while d is not None and d.agg is None:
            await asyncio.sleep(0.01)

    async def subscribe_funding(self, symbol: str) -> None:
        """Mark price and funding (USD-M only) → ``funding_window.v1``."""
        if self.spec is not USDM:
            raise UserError(f"funding exists on {USDM.venue} only, not on {self.venue}")
        sym = _symbol(symbol)
        if not self._funding_loaded:
            self._funding.intervals = await funding_intervals(self.rest)
            self._funding_loaded = True
        self._funding.symbols.add(sym)
        await self.stream.subscribe([f"{sym.lower()}@markPrice@1s"])

    @property
    def series(self) -> list[tuple[str, Timeframe]]:
        return list(self._routes)

    def stats(self) -> dict[str, Any]:
        return {
            "rejected": dict(self.rejects.counts),
            "connects": self.stream.connects,
            "drops": self.stream.drops,
            "planned_reconnects": self.stream.planned,
            "rest_requests": self.rest.requests,
            "rest_429": self.rest.rate_limited,
            "rest_418": self.rest.banned,
            "published": self.published,
            "stored": self.stored,
            "series": {
                f"{r.symbol} {r.tf.value}": {
                    "next_open": r.seq.next_open, "released": r.seq.released, "duplicates": r.seq.duplicates,
                    "waiting": r.seq.waiting, "holes": len(r.seq.holes), "backfills": r.backfills,
                }
                for r in self._routes.values()
            },
        }

    # ================================================================== the hot path
    def feed(self, msg: Any) -> None:
        """Apply one decoded stream message as if it had arrived on a socket: for replaying
        captured frames and for benchmarks. Bad input is counted, never raised."""
        self._on_message(msg)

    def _on_message(self, msg: Any) -> None:
        if type(msg) is not dict:
            self.rejects.add("not_an_object", repr(msg)[:80])
            return
        data = msg.get("data", msg)
        if type(data) is not dict:
            self.rejects.add("bad_type", f"data is a {type(data).__name__}")
            return
        e = data.get("e")
        if e == "kline":
            try:
                k = parse_kline(data)
            except BadInput as err:
                self.rejects.reject(err)
                return
            route = self._routes.get((k.symbol, k.tf))
            if route is None:
                self.rejects.add("unsubscribed", f"kline for {k.symbol} {k.tf.value}, which is not subscribed")
                return
            self._apply(route, k)
        elif e == "markPriceUpdate":
            self._on_mark_price(data)
        else:
            self.rejects.add("unknown_event", f"event {str(e)[:40]!r}")

    def _apply(self, route: _Route, k: Kline) -> None:
        r = route.book.apply(k.open_time, k.open, k.high, k.low, k.close, k.volume, k.closed, k.event_time)
        if r <= Applied.UPDATED and self.config.publish_live:
            # Latest-value semantics: of the updates within ``live_interval`` only the newest per
            # series can matter to the chart, so only that one is published.
            self._live_dirty[route] = k
            if not self._live_scheduled:
                if self._loop is None:
                    self._flush_live()
                else:
                    self._live_scheduled = True
                    interval = self.config.live_interval
                    if interval > 0:
                        self._live_handle = self._loop.call_later(interval, self._flush_live)
                    else:
                        self._live_handle = self._loop.call_soon(self._flush_live)
        if not k.closed:
            return
        seq = route.seq
        if seq.is_duplicate(k.open_time):
            seq.duplicates += 1
            return
        try:
            candle = to_candle(k, self.venue)
        except ValidationError as e:
            self.rejects.add("bad_value", f"{k.symbol} {k.tf.value} {k.open_time}: {e.errors()[0]['msg']}")
            return
        released = seq.offer(candle)
        if released:
            self._release(route, released)
        if seq.gap:
            self._want_backfill(route)

    def _flush_live(self) -> None:
        self._live_scheduled = False
        if self._live_handle is not None:
            self._live_handle.cancel()  # when called early (flush, stop)
            self._live_handle = None
        dirty, self._live_dirty = self._live_dirty, {}
        pub = self.bus.publish_nowait
        venue = self.venue
        try:
            for route, k in dirty.items():
                route.book.sync()
                pub(LiveCandle(venue, k.symbol, k.tf, k.open_time, k.open, k.high, k.low, k.close, k.volume,
                               k.closed, k.event_time), LIVE_TOPIC)
                for d in route.derived.values():
                    f = d.series.forming
                    if f is not None:
                        pub(LiveCandle(venue, k.symbol, d.tf, f[0], f[1], f[2], f[3], f[4], f[5], False,
                                       k.event_time), LIVE_TOPIC)
        except BusClosed:
            return  # the pipeline is shutting down: nobody is left to draw

    def _release(self, route: _Route, candles: list[CandleV1]) -> None:
        """Closed base candles in final order: publish them and roll them up."""
        put = self.outbox.put
        for c in candles:
            put(c)
            for d in route.derived.values():
                if d.agg is None:
                    if d.backlog is not None:
                        d.backlog.append(c)
                    continue
                for bar in d.agg.push(c):
                    self._close_derived(d, bar)

    def _close_derived(self, d: _Derived, bar: CandleV1) -> None:
        d.series.close_bar(bar.open_time, bar.open, bar.high, bar.low, bar.close, bar.volume)
        self.outbox.put(bar)
        if self.config.publish_live:
            self.bus.publish_nowait(LiveCandle(self.venue, bar.symbol, bar.tf, bar.open_time, bar.open, bar.high,
                                               bar.low, bar.close, bar.volume, True, bar.close_time), LIVE_TOPIC)

    def _on_mark_price(self, data: dict[str, Any]) -> None:
        try:
            window, keep = self._funding.on_event(data)
        except BadInput as err:
            self.rejects.reject(err)
            return
        self.outbox.put(window)
        if keep and self.store is not None:
            self._spawn(None, self.outbox.store_write([window]))

    # ================================================================== REST: history and gaps
    def _on_connect(self, names: frozenset[str]) -> None:
        for name in names:
            route = self._by_name.get(name)
            if route is not None and route.ready.is_set():
                self._want_backfill(route)

    def _want_backfill(self, route: _Route) -> None:
        if route.backfilling:
            route.backfill_again = True
            return
        route.backfilling = True
        self._spawn(route, self._backfill(route))

    async def _backfill(self, route: _Route) -> None:
        """Fetch from the next expected bar to now; repeat while closes wait behind a hole."""
        backoff = Backoff(self.config.retry_base, self.config.retry_cap)
        try:
            while True:
                route.backfill_again = False
                start = route.seq.next_open
                if start is None:
                    return
                try:
                    closed, pager = await self.history.since(route.symbol, route.tf, start)
                except RestError as e:
                    delay = backoff.next_delay()
                    log.warning("%s %s %s: backfill failed (%s); retrying in %.1f s", self.venue, route.symbol,
                                route.tf.value, e, delay)
                    await asyncio.sleep(delay)
                    continue
                route.backfills += 1
                self._load_book(route.book, closed, pager.provisional)
                released = route.seq.fill(self.history.candles(closed), pager.complete_until)
                if released:
                    self._release(route, released)
                if route.backfill_again:
                    continue
                if not route.seq.gap:
                    return
                await asyncio.sleep(backoff.next_delay())  # REST has not caught up with the stream yet
        finally:
            route.backfilling = False

    async def _load_history(self, route: _Route) -> None:
        connects = self.stream.connects + self.stream.drops
        closed, prov = await self.history.retrying(
            f"history of {route.symbol} {route.tf.value}", lambda: self.history.history(route.symbol, route.tf))
        self._load_book(route.book, closed, prov)
        if len(prov):
            next_open = int(prov.open_time[0])
        elif len(closed):
            next_open = route.tf.bucket_end(int(closed.open_time[-1]))
        else:
            log.warning("%s %s %s: the venue has no candles; waiting for the first close", self.venue,
                        route.symbol, route.tf.value)
            return
        released = route.seq.start(next_open)
        if released:
            self._release(route, released)
        route.ready.set()
        # A reconnect while the history loaded found the series not ready and fetched nothing:
        # bars that closed while the socket was down are after the history, so fetch them now.
        if route.seq.gap or self.stream.connects + self.stream.drops != connects:
            self._want_backfill(route)

    async def _setup_derived(self, route: _Route, d: _Derived) -> None:
        """History of a derived timeframe, and an aggregator primed with the base bars of the
        bucket forming now, so the first bucket it completes is whole."""
        await route.ready.wait()
        x = route.seq.next_open
        assert x is not None
        d.backlog = []  # from here on, released base closes are kept for the priming below
        closed_d, bucket, base_rows = await self.history.retrying(
            f"history of {route.symbol} {d.tf.value}", lambda: self.history.derived(route.symbol, route.tf, d.tf, x))
        d.series.ring.load_frame(closed_d, closed=True)
        # The aggregator starts at the bucket forming now: older buckets are REST's own closed
        # bars (closed_d), and a bucket it saw only part of would be an invented candle.
        agg = Aggregator(d.tf, drop_partial=False, venue=self.venue)
        done = agg.push_frame(base_rows) if len(base_rows) else None
        if done is not None and len(done):
            for bar in done.to_candles(self.venue):
                self._close_derived(d, bar)
        for c in d.backlog:
            if c.open_time >= bucket:
                for bar in agg.push(c):
                    self._close_derived(d, bar)
        d.agg, d.backlog = agg, None

    def _load_book(self, series: BookSeries, closed: CandleFrame, prov: CandleFrame) -> None:
        if len(closed):
            series.load(closed, closed=True)
        if len(prov):
            series.apply(int(prov.open_time[0]), float(prov.open[0]), float(prov.high[0]), float(prov.low[0]),
                         float(prov.close[0]), float(prov.volume[0]), False, 0)

    # ================================================================== tasks
    def _spawn(self, route: _Route | None, coro: Coroutine[Any, Any, Any] | Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if route is not None:
            route.tasks.add(task)
            task.add_done_callback(route.tasks.discard)
        task.add_done_callback(_log_failure)
        return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("market ingest task failed", exc_info=task.exception())


def _symbol(symbol: str) -> str:
    s = symbol.strip().upper()
    if not (2 <= len(s) <= 20 and s.isalnum()):
        raise UserError(f"{symbol!r} is not a symbol like BTCUSDT")
    return s
