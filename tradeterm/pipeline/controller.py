"""The pipeline controller: builds the stages from the settings, runs them, and serves the UI.

Stages (each a background worker that the controller's :class:`Supervisor` restarts with
backoff when it fails)::

    venue (demo: in-process, loopback) ─► MarketIngest ─► candles.v1 ─► AnalysisStage ─► signals
                                            │   └► store                 └► store, bus      │
                                            └► candle book ─► chart (read model)   auto: decide ─► broker
                                  FeedWatch + Heartbeat (self-check; feed guard input) ◄─┘

    demo, USD-M: venue futures side ─► MarketIngest(USDM) ─► candle book, store, own bus:
                 klines + mark price/funding ─► FeedWatch, funding windows ─► USD-M guard boards
                 intents with market="usdm" ─► decide ─► UsdmTradingStage (USD-M broker, the
                 venue's simulated futures account over loopback REST + user-data stream)

Markets: one :class:`TradingStage` per market (``spot``; ``usdm`` in the demo profile). Tickets
are routed by their venue (the USD-M broker's venue name, or any name saying ``usdm``/``futures``)
or by an explicit ``market=`` argument; signals come from the spot analysis (one analysis per
symbol keeps the demo light) and can be approved into either market. The USD-M market data runs
on its own bus so no spot consumer (analysis, paper fills, feed watch) ever sees a futures price.

Shutdown order matters for money: stop taking decisions first (auto-trade off, intents refused),
then optionally withdraw working entries, then stop the workers, flush candles and order
updates to the store, and close the store last.

The controller is the one place that knows about all of them. The Textual app and the daemon
only see :class:`~tradeterm.pipeline.readmodel.ReadModel` and
:class:`~tradeterm.pipeline.readmodel.Intents`, so the same wiring runs with or without a screen.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

import numpy as np

from tradeterm.analysis.guards import (
    FeedGuard,
    FeedGuardConfig,
    GuardBoard,
    GuardInputs,
    default_board,
)
from tradeterm.bus import EventBus, Policy
from tradeterm.config import Profile, Settings
from tradeterm.contracts import FundingWindowV1, SignalRawV1, Timeframe
from tradeterm.errors import UserError
from tradeterm.market.frame import CandleFrame
from tradeterm.market.ingest import IngestConfig, MarketIngest
from tradeterm.market.spec import SPOT, USDM
from tradeterm.pipeline.activity import ActivityHandler, ActivityLog
from tradeterm.pipeline.analysis_stage import AnalysisStage
from tradeterm.pipeline.heartbeat import FeedWatch, Heartbeat
from tradeterm.pipeline.metrics import PipelineMetrics, StampingBus
from tradeterm.pipeline.readmodel import (
    AccountView,
    Market,
    SignalRow,
    Snapshot,
    WatchRow,
    WorkerRow,
)
from tradeterm.pipeline.supervisor import BackoffPolicy, Supervisor
from tradeterm.pipeline.trading_stage import TradingStage, UsdmTradingStage
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.preview import Preview, preview
from tradeterm.trading.risk import RiskConfig
from tradeterm.trading.ticket import ManualTicket

log = logging.getLogger("tradeterm.pipeline")
VENUE = "binance-spot"
USDM_VENUE = USDM.venue  # "binance-usdm": the USD-M market data and broker
MARKETS: tuple[Market, ...] = ("spot", "usdm")
CHART_BARS = 400
SPARK_POINTS = 24


@dataclass(frozen=True)
class PipelineOptions:
    """What to follow and how fast the demo market runs."""

    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    timeframes: tuple[str, ...] = ("1m", "15m")
    speed: float | None = 60.0  # demo venue: market seconds per wall second (None = max)
    seed: int = 1
    history_bars: int = 500
    strategies: tuple[str, ...] = ("smc_retest",)
    ephemeral: bool = False  # demo: a throwaway SQLite file instead of the user's database
    guards: Callable[[], GuardBoard] = field(default=default_board)  # one board per symbol
    heartbeat_s: float = 5.0  # self-check period
    stale_feed_s: float = 30.0  # feed guard: no candle update for this long blocks entries
    stale_feed_bars: int = 3  # feed guard: no closed candle for this many bars blocks entries
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)  # worker restarts
    keep_latency_samples: bool = False  # benchmarks: keep every stage latency, not only histograms
    venue_paused: bool = False  # demo venue: start with its replay clock stopped (benchmarks step it)
    paper_balance: Decimal = Decimal(10_000)  # USDT in the paper account at start
    # Demo profile: the venue serves USD-M too, a USD-M broker trades its (simulated) futures
    # account beside the spot paper account, and the USD-M klines and mark price are followed.
    usdm: bool = True
    usdm_leverage: int = 5  # set on every followed symbol at start; a ticket may ask for another
    usdm_history_bars: int = 300  # USD-M history per series (at most ``history_bars``): it charts and guards only


class PipelineController:
    """Owns every stage; implements the read model and the intents for UIs."""

    def __init__(self, settings: Settings, options: PipelineOptions | None = None) -> None:
        self.settings = settings
        self.options = options or PipelineOptions(
            symbols=tuple(settings.symbols), timeframes=tuple(settings.timeframes))
        for tf in self.options.timeframes:
            Timeframe(tf)
        self.bus = StampingBus()
        self.activity = ActivityLog()
        self.metrics = PipelineMetrics(keep_samples=self.options.keep_latency_samples)
        self.supervisor = Supervisor(self.activity, self.options.backoff)
        self.accepting = True  # False once shutdown began: no new decisions, whatever asks
        self._stopped = False
        self.venue_server: Any = None
        self.store: Any = None
        self.ingest: MarketIngest | None = None
        self.analysis: AnalysisStage | None = None
        self.trading: TradingStage | None = None  # spot
        self.usdm_bus = EventBus()  # USD-M market data: kept off the spot consumers' bus
        self.usdm_ingest: MarketIngest | None = None
        self.usdm_trading: UsdmTradingStage | None = None
        self.usdm_feed: FeedWatch | None = None
        self.funding: dict[str, FundingWindowV1] = {}  # newest funding window per USD-M symbol
        self._market: Market = "spot"  # the selected market (what the read model's account/venue show)
        self._credentials: tuple[str, str] | None = None  # demo venue API key and secret
        self._auto: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._handler = ActivityHandler(self.activity)
        self._selected = (self.options.symbols[0], self.options.timeframes[0])
        self._signals: dict[str, SignalRawV1] = {}
        feed_cfg = FeedGuardConfig(stale_after_ms=int(self.options.stale_feed_s * 1000),
                                   stale_bars=self.options.stale_feed_bars)
        self._boards = {s: self.options.guards() for s in self.options.symbols}
        self._usdm_boards = {s: self.options.guards() for s in self.options.symbols}
        for board in (*self._boards.values(), *self._usdm_boards.values()):
            for g in board.guards:
                if isinstance(g, FeedGuard):
                    g.config = feed_cfg
        self.heartbeat = Heartbeat(self, self.options.heartbeat_s, feed_cfg)
        self._filters: dict[str, SymbolFilters] = {}
        self._chart_cache: tuple[Any, Any, Any] | None = None  # (base, open candle, ChartData)
        self._chart_structure: tuple[Any, Any, Any, int] | None = None  # see _chart_base
        self._version = 0
        self.feed_status = "starting"
        self.risk = RiskConfig()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        from tradeterm.store import create_store

        logging.getLogger("tradeterm").addHandler(self._handler)
        url = self.settings.effective_database_url
        if self.options.ephemeral:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="tradeterm-")
            url = f"sqlite:///{Path(self._tmpdir.name) / 'demo.db'}"
        else:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = create_store(url)
        await self.store.open()
        rest_url, ws_url = await self._market_urls()
        self.ingest = MarketIngest(SPOT, rest_url=rest_url, ws_url=ws_url, bus=self.bus, store=self.store,
                                   config=IngestConfig(history_bars=self.options.history_bars))
        self.analysis = AnalysisStage(VENUE, self.bus, self.ingest.book, self.store,
                                      strategies=self.options.strategies, on_signal=self._on_signal,
                                      metrics=self.metrics)
        self.heartbeat.rest_url = rest_url
        self.supervisor.spawn("feed-watch-live", self.heartbeat.feed.run_live)
        self.supervisor.spawn("feed-watch-closed", self.heartbeat.feed.run_closed)
        await self.ingest.start()
        self.analysis.start(self.supervisor)
        pairs = [(s, tf) for s in self.options.symbols for tf in self.options.timeframes]
        for s, tf in pairs:
            self.analysis.follow(s, tf)
        self.activity.add("feed", f"subscribing {len(pairs)} series on {rest_url}")
        await self.ingest.subscribe_many(pairs)
        await self._load_filters(rest_url)
        self.trading = TradingStage(self.options.symbols, self.bus, self.activity, self.store, self.risk,
                                    starting_balance=self.options.paper_balance, metrics=self.metrics)
        await self.trading.start(self._last_prices(), self.supervisor)
        if self._usdm_enabled:
            await self._start_usdm(rest_url, ws_url)
        self.feed_status = "live"
        self.activity.add("feed", "market data live; history loaded")
        self.supervisor.spawn("heartbeat", self.heartbeat.run)

    @property
    def _usdm_enabled(self) -> bool:
        return self.venue_server is not None and self._credentials is not None and self.options.usdm

    async def _start_usdm(self, rest_url: str, ws_url: str) -> None:
        """The USD-M side of the demo: market data (klines of the followed series, mark price and
        funding per symbol) into the shared candle book, and the USD-M broker."""
        assert self.ingest is not None and self._credentials is not None
        pairs = [(s, tf) for s in self.options.symbols for tf in self.options.timeframes]
        self.usdm_feed = FeedWatch(self.usdm_bus, pairs)
        self.supervisor.spawn("usdm-feed-watch-live", self.usdm_feed.run_live)
        self.supervisor.spawn("usdm-feed-watch-closed", self.usdm_feed.run_closed)
        funding = self.usdm_bus.subscribe(FundingWindowV1, policy=Policy.DURABLE, maxsize=1_000, name="funding")
        self.supervisor.spawn("usdm-funding", lambda: self._watch_funding(funding))
        bars = min(self.options.history_bars, self.options.usdm_history_bars)
        self.usdm_ingest = MarketIngest(USDM, rest_url=rest_url, ws_url=ws_url, bus=self.usdm_bus,
                                        book=self.ingest.book, store=self.store,
                                        config=IngestConfig(history_bars=bars))
        await self.usdm_ingest.start()
        self.activity.add("feed", f"subscribing {len(pairs)} USD-M series and mark price on {rest_url}")
        await self.usdm_ingest.subscribe_many(pairs)
        for s in self.options.symbols:
            await self.usdm_ingest.subscribe_funding(s)
        key, secret = self._credentials
        self.usdm_trading = UsdmTradingStage(self.options.symbols, self.bus, self.activity, self.store,
                                             self.usdm_risk, metrics=self.metrics, rest_url=rest_url, ws_url=ws_url,
                                             api_key=key, secret=secret, leverage=self.options.usdm_leverage)
        await self.usdm_trading.start({}, self.supervisor)
        self.activity.add("system", f"USD-M futures account on the demo venue ({self.options.usdm_leverage}x, "
                                    "isolated, one-way)")

    async def _watch_funding(self, sub: Any) -> None:
        async for w in sub:
            self.funding[w.symbol] = w

    @property
    def usdm_risk(self) -> RiskConfig:
        """The spot risk settings with the USD-M default leverage."""
        return self.risk.model_copy(update={"leverage": self.options.usdm_leverage})

    @property
    def stages(self) -> dict[Market, TradingStage]:
        """The trading stage of each market that runs (spot first)."""
        out: dict[Market, TradingStage] = {}
        if self.trading is not None:
            out["spot"] = self.trading
        if self.usdm_trading is not None:
            out["usdm"] = self.usdm_trading
        return out

    @property
    def markets(self) -> tuple[Market, ...]:
        """The markets this profile trades: spot, plus usdm in the demo."""
        return ("spot", "usdm") if self._usdm_enabled else ("spot",)

    async def _market_urls(self) -> tuple[str, str]:
        if self.settings.profile is Profile.DEMO:
            from tradeterm.venue import VenueConfig, VenueServer
            from tradeterm.venue.auth import generate_hmac_credential

            cred = generate_hmac_credential()  # the demo venue's only key: the USD-M broker's
            assert cred.secret is not None
            self.venue_server = VenueServer(VenueConfig(synthetic=list(self.options.symbols), seed=self.options.seed,
                                                        speed=self.options.speed, futures=self.options.usdm,
                                                        futures_balance=self.options.paper_balance,
                                                        credentials=[cred], paused=self.options.venue_paused))
            await self.venue_server.start()
            self._credentials = (cred.api_key, cred.secret)
            self.activity.add("system", f"demo venue on {self.venue_server.rest_url} (synthetic, "
                                        f"{'max' if self.options.speed is None else f'{self.options.speed:g}x'} speed)")
            return self.venue_server.rest_url, self.venue_server.ws_url
        ep = self.settings.endpoints
        if not ep.spot_rest_url or not ep.spot_ws_url:
            raise UserError("no Binance spot URLs configured")
        return ep.spot_rest_url, ep.spot_ws_url

    async def _load_filters(self, rest_url: str) -> None:
        import httpx

        async with httpx.AsyncClient(base_url=rest_url, timeout=10) as client:
            resp = await client.get("/api/v3/exchangeInfo")
            resp.raise_for_status()
            for entry in resp.json().get("symbols", []):
                if entry.get("symbol") in self.options.symbols:
                    self._filters[entry["symbol"]] = SymbolFilters.from_exchange_info(entry)

    def _last_prices(self) -> dict[str, Decimal]:
        out = {}
        for s in self.options.symbols:
            frame = self.frame(s, self.options.timeframes[0], bars=1)
            if frame is not None and len(frame):
                out[s] = Decimal(repr(float(frame.close[-1])))
        return out

    @property
    def reconcile_report(self) -> Any:
        """What the spot broker found when it reconciled at start (None before)."""
        return self.trading.reconcile_report if self.trading is not None else None

    def reconcile_reports(self) -> dict[Market, Any]:
        """Per market that this profile trades: what its broker found at start (None before)."""
        stages = self.stages
        return {m: (stages[m].reconcile_report if m in stages else None) for m in self.markets}

    def brokers_not_ready(self) -> list[str]:
        """Markets whose broker has not started, reconciled and reported an account yet."""
        stages = self.stages
        return [m for m in self.markets if m not in stages or stages[m].broker is None
                or stages[m].account is None or stages[m].reconcile_report is None]

    async def series_not_ready(self) -> list[str]:
        """Followed series whose history or live sequence has not started yet (a derived
        timeframe comes up after its base stream, once its own history has loaded)."""
        if self.ingest is None:
            return [f"{s} {tf}" for s in self.options.symbols for tf in self.options.timeframes]
        waiting = []
        ingests = [(self.ingest, "")]
        if self._usdm_enabled:
            if self.usdm_ingest is None:
                return [f"{s} {tf} usdm" for s in self.options.symbols for tf in self.options.timeframes]
            ingests.append((self.usdm_ingest, " usdm"))
        for ingest, label in ingests:
            for s in self.options.symbols:
                for tf in self.options.timeframes:
                    try:
                        await asyncio.wait_for(ingest.wait_ready(s, tf), 0.05)
                    except (TimeoutError, UserError):
                        waiting.append(f"{s} {tf}{label}")
        return waiting

    def stop_decisions(self) -> None:
        """First step of a shutdown: refuse every new decision (auto and manual) from now on."""
        if self.accepting:
            self.accepting = False
            self._auto.clear()
            self.activity.add("system", "no new decisions: shutting down")

    async def stop(self, cancel_orders: bool = False) -> None:
        """Stop in the order that keeps the account safe (see the module doc). With
        ``cancel_orders`` every working entry is withdrawn before the workers stop (exits that
        protect open positions stay); otherwise orders keep working on the exchange and the next
        start reconciles them. A second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        self.stop_decisions()
        for t in list(self._tasks):  # in-flight auto placements finish or are cancelled
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if cancel_orders:
            for stage in self.stages.values():
                try:
                    await asyncio.wait_for(stage.cancel_working(), 2.0)
                except Exception as exc:  # noqa: BLE001 - stopping must go on; the next start reconciles
                    log.error("cancelling working %s orders on stop failed: %s", stage.market, exc)
        await self.supervisor.stop()
        await self.heartbeat.close()
        if self.usdm_feed is not None:
            self.usdm_feed.close()
        for stage in reversed(self.stages.values()):
            try:
                await stage.stop()
            except Exception as exc:  # noqa: BLE001 - one broker failing to close must not keep the rest open
                log.error("stopping the %s broker failed: %s", stage.market, exc)
        if self.analysis is not None:
            await self.analysis.stop()
        if self.usdm_ingest is not None:
            await self.usdm_ingest.stop()
        if self.ingest is not None:
            await self.ingest.stop()
        if self.venue_server is not None:
            await self.venue_server.stop()
        if self.store is not None:
            await self.store.close()
        self.bus.close()
        self.usdm_bus.close()
        logging.getLogger("tradeterm").removeHandler(self._handler)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ stage callbacks
    def _on_signal(self, signal: SignalRawV1) -> None:
        self._signals[signal.signal_id] = signal
        self.activity.add("signal", f"{signal.strategy} {signal.side} {signal.symbol} {signal.tf} entry {signal.entry} "
                                    f"stop {signal.stop} score {signal.score:.2f}", at_ms=signal.confirmed_at)
        if signal.symbol in self._auto and self.accepting:
            t0 = self.analysis.t0 if self.analysis is not None else None
            task = asyncio.get_running_loop().create_task(self._auto_place(signal, t0))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _auto_place(self, signal: SignalRawV1, t0: float | None = None) -> None:
        """Auto mode: a signal becomes a bracket when every guard is SAFE (decide() re-checks).

        Spot cannot sell short: a SELL entry needs the base asset, which the auto-trader did not
        buy for it, so the exchange would reject it after the bracket was recorded. Such signals
        stay in the queue for the trader instead (who may hold the base)."""
        if signal.side.value == "SELL" and VENUE == "binance-spot":
            self.activity.add("order", f"auto-trade skipped {signal.signal_id}: a spot account cannot sell short; "
                                       "the signal stays in the queue")
            return
        stage = self.stages.get("spot")
        if stage is not None and not await stage.wait_fed(signal.symbol, signal.confirmed_at):
            self.activity.add("order", f"auto-trade skipped {signal.signal_id}: the paper account has not seen "
                                       "the signal's bar yet (feed behind); the signal stays in the queue", "WARNING")
            return
        try:
            did = await self.place_bracket(self.ticket_for_signal(signal.signal_id, market="spot"), t0=t0,
                                           market="spot")  # auto-trade trades the spot account
            self._signals.pop(signal.signal_id, None)
            self.activity.add("order", f"auto-trade placed {did} from {signal.signal_id}")
        except UserError as exc:
            self.activity.add("order", f"auto-trade skipped {signal.signal_id}: {exc}", "WARNING")

    # ------------------------------------------------------------------ read model
    def frame(self, symbol: str, tf: str, bars: int = CHART_BARS, market: Market = "spot") -> CandleFrame | None:
        """The last ``bars`` candles of a series (copied out of the book), or None before history.
        ``market="usdm"``: the USD-M series (the demo follows the same symbols there)."""
        if self.ingest is None or (market == "usdm" and self.usdm_ingest is None):
            return None
        view = self.ingest.book.view(USDM_VENUE if market == "usdm" else VENUE, symbol, tf)
        if len(view) == 0:
            return None
        sl = slice(max(0, len(view) - bars), len(view))
        return CandleFrame.from_columns(symbol, tf, np.array(view.open_time[sl]), np.array(view.open[sl]),
                                        np.array(view.high[sl]), np.array(view.low[sl]), np.array(view.close[sl]),
                                        np.array(view.volume[sl]))

    def _chart(self, symbol: str, tf: str, market: Market = "spot") -> Any:
        """The chart of the selected series, cached at two levels because the UI polls at 10 Hz
        and the open candle moves at every tick: the structure over the *closed* candles (SMC
        pass and indicator series, rebuilt once per closed candle, or when a closed candle was
        revised) and the bundle for the current open candle (built from the former in
        O(period), see :class:`~tradeterm.pipeline.chartdata.ClosedSeries`; the same object
        while nothing moved, so the widget's identity check holds)."""
        from tradeterm.pipeline.chartdata import chart_data

        frame = self.frame(symbol, tf, market=market)
        if frame is None or len(frame) < 3:
            return None
        base = self._chart_base(frame, symbol, tf, market)
        last = (int(frame.open_time[-1]),
                *(float(col[-1]) for col in (frame.open, frame.high, frame.low, frame.close, frame.volume)))
        cached = self._chart_cache
        if cached is not None and cached[0] is base and cached[1] == last:
            return cached[2]
        _key, closed, smc, decimals = base
        # The closed candles' decimals hold for the open one when its prices sit on the same
        # grid (they do: the venue quotes on its tick); inferring over every bar at each tick
        # was ~40 % of the chart's cost per tick.
        fits = all(abs(p * 10.0**decimals - round(p * 10.0**decimals)) <= 1e-6 for p in last[1:5])
        data = chart_data(frame, smc=smc, series=closed.extend(frame), price_decimals=decimals if fits else None)
        self._chart_cache = (base, last, data)
        return data

    def _chart_base(self, frame: CandleFrame, symbol: str, tf: str, market: Market) -> tuple[Any, Any, Any, int]:
        """``(key, ClosedSeries, SmcResult | None, price decimals)`` over the frame's closed
        candles (all but the last), reused while the key (market, series, last closed open time,
        frame length) is the same and the closed candles are unchanged."""
        from tradeterm.analysis.smc import SmcConfig, analyze
        from tradeterm.pipeline.chartdata import ClosedSeries, infer_decimals

        n = len(frame)
        key = (market, symbol, tf, int(frame.open_time[-2]), n)
        base = self._chart_structure
        if base is not None and base[0] == key and base[1].matches(frame):
            return base
        closed = frame.slice(0, n - 1)  # the open candle moves; structure uses closed bars
        venue = USDM_VENUE if market == "usdm" else VENUE
        smc = analyze(closed, SmcConfig(), venue=venue, symbol=symbol, tf=tf) if len(closed) > 12 else None
        base = (key, ClosedSeries.of(closed), smc, infer_decimals(closed))
        self._chart_structure = base
        return base

    def _watch_row(self, symbol: str, tf: str) -> WatchRow:
        frame = self.frame(symbol, tf, bars=max(SPARK_POINTS, 1440 * 60_000 // Timeframe(tf).ms + 1))
        board = self.board(symbol)
        reasons = "; ".join(board.reasons)
        if frame is None or len(frame) == 0:
            return WatchRow(symbol, None, None, (), board.status == "BLOCK", reasons)
        last = float(frame.close[-1])
        first = float(frame.open[0])
        return WatchRow(symbol, last, (last / first - 1) * 100 if first else None,
                        tuple(float(x) for x in frame.close[-SPARK_POINTS:]), board.status == "BLOCK", reasons)

    def board(self, symbol: str, market: Market = "spot") -> Any:
        """The guard board's verdict for ``symbol`` in ``market`` now. USD-M boards get the
        symbol's funding window (mark price and funding from the USD-M stream), the USD-M
        account's equity and exposure and the USD-M feed's freshness; the regime is the spot
        analysis' (one analysis per symbol)."""
        regime = None
        if self.analysis is not None:
            stream = self.analysis.streams.get((symbol, Timeframe(self._selected[1])))
            regime = stream.regime if stream is not None else None
        usdm = market == "usdm"
        stage = self.usdm_trading if usdm else self.trading
        equity = stage.equity_input() if stage is not None else None
        exposure = stage.exposure_input() if stage is not None else None
        watch = self.usdm_feed if usdm else self.heartbeat.feed
        feed = watch.freshness(symbol) if self.feed_status == "live" and watch is not None else None
        inputs = GuardInputs(regime=regime, equity=equity, exposure=exposure, feed=feed,
                             funding=self.funding.get(symbol) if usdm else None)
        return (self._usdm_boards if usdm else self._boards)[symbol].evaluate(inputs, int(time.time() * 1000))

    def snapshot(self) -> Snapshot:
        symbol, tf = self._selected
        market = self._market
        self._expire_signals()
        board = self.board(symbol, market)
        stages = self.stages
        selected = stages.get(market)
        accounts = tuple(v for st in stages.values() if (v := st.account_view()) is not None)
        rows = tuple(
            SignalRow(sig, 0, self.board(sig.symbol).status == "BLOCK", tuple(self.board(sig.symbol).reasons),
                      tuple(Decimal(r) for r in sig.take_profits_r))
            for sig in sorted(self._signals.values(), key=lambda s: s.confirmed_at, reverse=True)
        )
        self._version += 1
        return Snapshot(
            version=self._version,
            symbol=symbol,
            tf=tf,
            chart=self._chart(symbol, tf, market),
            watchlist=tuple(self._watch_row(s, tf) for s in self.options.symbols),
            signals=rows,
            guards=board.guards,
            brackets=tuple(row for st in stages.values() for row in st.brackets()),
            orders=tuple(u for st in stages.values() for u in st.orders.values()),
            positions=tuple(row for st in stages.values() for row in st.positions()),
            account=selected.account_view() if selected is not None else None,
            log=self.activity.lines(),
            auto_trade=symbol in self._auto,
            feed_status=self.feed_status,
            timeframes=self.options.timeframes,
            venue=selected.venue if selected is not None and selected.broker is not None else
            (USDM_VENUE if market == "usdm" else "paper"),
            market=market,
            heartbeat=self.heartbeat.last,
            workers=tuple(WorkerRow(w.name, w.state, w.restarts, w.last_error)
                          for w in self.supervisor.workers.values()),
            auto_symbols=tuple(s for s in self.options.symbols if s in self._auto),
            markets=self.markets,
            accounts=accounts,
        )

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary for the daemon's status route and for scripts watching it.
        ``account``, ``reconciled`` are the spot account's (as before USD-M existed); ``markets``
        has each market's account and reconciliation; brackets and orders name their market."""
        view = self.trading.account_view() if self.trading is not None else None
        stages = self.stages
        hb = self.heartbeat.last
        report = self.reconcile_report
        return {
            "feed_status": self.feed_status,
            "accepting": self.accepting,
            "auto_trade": sorted(self._auto),
            "account": None if view is None else {
                "equity": str(view.equity), "available": str(view.available), "quote": view.quote_asset,
                "drawdown_pct": str(view.drawdown_pct), "kill_switch": view.kill_switch,
                "kill_reason": view.kill_reason},
            "brackets": [{"id": b.bracket_id, "symbol": b.symbol, "side": b.side, "state": b.state,
                          "quantity": str(b.quantity), "filled": str(b.filled), "market": b.market,
                          "leverage": b.leverage}
                         for st in stages.values() for b in st.brackets()],
            "orders": [{"client_order_id": o.client_order_id, "symbol": o.symbol, "leg": o.leg.value,
                        "status": o.status.value, "market": st.market}
                       for st in stages.values() for o in self._status_orders(st)],
            "positions": [{"symbol": p.symbol, "side": p.side, "quantity": str(p.quantity), "entry": str(p.entry),
                           "market": p.market, "unrealised": None if p.unrealised is None else str(p.unrealised)}
                          for st in stages.values() for p in st.positions()],
            "markets": {m: self._market_status(m) for m in self.markets},
            "funding": {s: {"rate": str(w.rate), "funding_time": w.funding_time,
                            "mark_price": None if w.mark_price is None else str(w.mark_price)}
                        for s, w in sorted(self.funding.items())},
            "guards": {s: {"status": str(self.board(s).status), "reasons": list(self.board(s).reasons)}
                       for s in self.options.symbols},
            "usdm_guards": {s: {"status": str((b := self.board(s, "usdm")).status), "reasons": list(b.reasons)}
                            for s in self.options.symbols} if "usdm" in stages else {},
            "heartbeat": None if hb is None else {
                "at_ms": hb.at_ms, "ok": hb.ok, "clock_offset_ms": hb.clock_offset_ms,
                "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in hb.checks}},
            "workers": {w.name: {"state": w.state, "restarts": w.restarts, "last_error": w.last_error}
                        for w in self.supervisor.workers.values()},
            "reconciled": None if report is None else {"adopted": list(report.adopted),
                                                       "foreign_orders": list(report.foreign_orders)},
        }

    def _market_status(self, market: Market) -> dict[str, Any]:
        stage = self.stages.get(market)
        view: AccountView | None = stage.account_view() if stage is not None else None
        report = stage.reconcile_report if stage is not None else None
        return {
            "venue": stage.venue if stage is not None and stage.broker is not None else None,
            "ready": stage is not None and stage.account is not None and report is not None,
            "account": None if view is None else {
                "equity": str(view.equity), "available": str(view.available), "quote": view.quote_asset,
                "drawdown_pct": str(view.drawdown_pct), "kill_switch": view.kill_switch,
                "kill_reason": view.kill_reason},
            "reconciled": None if report is None else {"adopted": list(report.adopted),
                                                       "foreign_orders": list(report.foreign_orders)},
        }

    def _status_orders(self, stage: TradingStage | None = None, recent: int = 100) -> list[Any]:
        """Every working order plus the ``recent`` newest finished ones of a stage (spot by
        default): a long-running daemon must not answer a status request with its whole history."""
        stage = stage if stage is not None else self.trading
        if stage is None:
            return []
        orders = list(stage.orders.values())
        working = [o for o in orders if not o.status.is_final]
        done = [o for o in orders if o.status.is_final][-recent:]
        return working + done

    def _expire_signals(self) -> None:
        if self.ingest is None:
            return
        for sid, sig in list(self._signals.items()):
            view = self.ingest.book.view(VENUE, sig.symbol, sig.tf)
            if len(view) and int(view.open_time[-1]) > sig.confirmed_at + sig.ttl_bars * Timeframe(sig.tf).ms:
                del self._signals[sid]
                self.activity.add("signal", f"signal {sid} expired after {sig.ttl_bars} bars")

    # ------------------------------------------------------------------ intents
    def select(self, symbol: str, tf: str) -> None:
        symbol = symbol.upper()
        if symbol not in self.options.symbols:
            raise UserError(f"{symbol} is not followed (followed: {', '.join(self.options.symbols)})")
        if tf not in self.options.timeframes:
            raise UserError(f"{tf} is not followed (followed: {', '.join(self.options.timeframes)})")
        self._selected = (symbol, tf)

    def reject_signal(self, signal_id: str) -> None:
        if self._signals.pop(signal_id, None) is None:
            raise UserError(f"no pending signal {signal_id}")
        self.activity.add("signal", f"rejected {signal_id}")

    def select_market(self, market: str) -> None:
        """Which market the read model's account, venue, guards and chart show, and where a
        ticket whose venue names neither market goes (``spot``, or ``usdm`` in the demo)."""
        self._market = self._check_market(market)

    @property
    def market(self) -> Market:
        """The selected market (see :meth:`select_market`)."""
        return self._market

    def _check_market(self, market: str) -> Market:
        m = market.lower()
        if m not in MARKETS:
            raise UserError(f"unknown market {market!r}; use spot or usdm")
        if m not in self.markets:
            raise UserError(f"{m} is not traded in this profile (markets: {', '.join(self.markets)})")
        return m  # type: ignore[return-value]

    def market_of(self, ticket: ManualTicket, market: str | None = None) -> Market:
        """The market a ticket goes to: ``market`` when given; else its venue's (the USD-M
        broker's venue, or any venue name saying usdm/futures, is USD-M); else spot."""
        if market is not None:
            return self._check_market(market)
        v = ticket.venue.lower()
        if v == USDM_VENUE or "usdm" in v or "futures" in v:
            return self._check_market("usdm")
        return "spot"

    def _stage(self, market: Market) -> TradingStage:
        stage = self.stages.get(market)
        if stage is None or stage.broker is None:
            raise UserError(f"the {market} broker is not ready yet")
        return stage

    def ticket_for_signal(self, signal_id: str, market: str | None = None) -> ManualTicket:
        """A ticket from a pending signal for ``market`` (default: the selected market). A
        USD-M ticket carries the default leverage (the bracket panel asks for it)."""
        sig = self._signals.get(signal_id)
        if sig is None:
            raise UserError(f"no pending signal {signal_id}")
        m = self._check_market(market) if market is not None else self._market
        stage = self.stages.get(m)
        ready = stage is not None and stage.broker is not None
        if m == "usdm":
            return ManualTicket(venue=stage.venue if ready else USDM_VENUE, symbol=sig.symbol,  # type: ignore[union-attr]
                                side=sig.side, entry=sig.entry, stop=sig.stop, ticket_id=signal_id[:64],
                                leverage=self.options.usdm_leverage)
        venue = stage.venue if ready else VENUE  # type: ignore[union-attr]
        return ManualTicket(venue=venue, symbol=sig.symbol, side=sig.side, entry=sig.entry, stop=sig.stop,
                            ticket_id=signal_id[:64])

    def _symbol_filters(self, symbol: str, market: Market = "spot") -> SymbolFilters:
        filters = self._filters.get(symbol) if market == "spot" else \
            (self.usdm_trading.filters.get(symbol) if self.usdm_trading is not None else None)
        if filters is None:
            raise UserError(f"no {'USD-M ' if market == 'usdm' else ''}exchange filters for {symbol} yet")
        return filters

    def _market_price(self, symbol: str, market: Market = "spot") -> Decimal | None:
        """The reference price of a market entry: spot's last close; USD-M's mark price (how
        the exchange values a futures order), else its last close."""
        if market == "usdm":
            w = self.funding.get(symbol)
            if w is not None and w.mark_price is not None:
                return Decimal(w.mark_price)
        frame = self.frame(symbol, self.options.timeframes[0], bars=1, market=market)
        return Decimal(repr(float(frame.close[-1]))) if frame is not None and len(frame) else None

    def _risk_for(self, market: Market) -> RiskConfig:
        return self.usdm_risk if market == "usdm" else self.risk

    def preview(self, ticket: ManualTicket, market: str | None = None) -> Preview:
        m = self.market_of(ticket, market)
        stage = self._stage(m)
        if stage.account is None:
            raise UserError("the broker is not ready yet")
        filters = self._symbol_filters(ticket.symbol, m)
        blocked = list(self.board(ticket.symbol, m).reasons)
        if ticket.venue != stage.venue:
            ticket = ticket.model_copy(update={"venue": stage.venue})
        return preview(ticket, stage.account, filters, self._risk_for(m), int(time.time() * 1000),
                       guards=blocked or True, market_price=self._market_price(ticket.symbol, m))

    async def place_bracket(self, ticket: ManualTicket, t0: float | None = None, market: str | None = None) -> str:
        """Send a bracket to the ticket's market (see :meth:`market_of`); returns its id."""
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        if not self.accepting:
            raise UserError("refused: the pipeline is shutting down")
        m = self.market_of(ticket, market)
        stage = self._stage(m)
        filters = self._symbol_filters(ticket.symbol, m)
        board = self.board(ticket.symbol, m)
        blocked = [f"guard BLOCK: {r}" for r in board.reasons] if board.status == "BLOCK" else []
        return await stage.place(ticket, filters, blocked, self._market_price(ticket.symbol, m), t0)

    async def cancel_bracket(self, bracket_id: str) -> None:
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        for stage in self.stages.values():
            if stage.broker is not None and bracket_id in stage.broker.brackets:
                await stage.cancel(bracket_id)
                return
        raise UserError(f"no bracket {bracket_id}")

    async def close_position(self, symbol: str, market: str | None = None) -> None:
        """Close ``symbol``'s position in ``market``; without one, in the only market holding a
        position in it, or the selected market when both do."""
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        symbol = symbol.upper()
        if market is not None:
            await self._stage(self._check_market(market)).close_symbol(symbol)
            return
        holding = [m for m, st in self.stages.items() if any(p.symbol == symbol for p in st.positions())]
        m = self._market if self._market in holding or not holding else holding[0]
        await self._stage(m if m in self.stages else "spot").close_symbol(symbol)

    async def kill_switch(self, reason: str) -> None:
        """Trip every market's kill switch: each broker cancels its orders and flattens."""
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        self._auto.clear()
        errors = []
        for stage in self.stages.values():
            if stage.broker is None:
                continue
            try:
                await stage.kill(reason)
            except Exception as exc:  # noqa: BLE001 - one market failing must not spare the other
                log.error("kill switch on %s failed: %s", stage.market, exc)
                errors.append(f"{stage.market}: {exc}")
        if errors:
            raise UserError("kill switch incomplete: " + "; ".join(errors))

    def reset_kill_switch(self) -> None:
        for stage in self.stages.values():
            if stage.broker is not None:
                stage.reset_kill()

    def auto_trade(self, symbol: str) -> bool:
        return symbol.upper() in self._auto

    def set_auto_trade(self, symbol: str, on: bool) -> None:
        symbol = symbol.upper()
        if symbol not in self.options.symbols:
            raise UserError(f"{symbol} is not followed")
        if on and not self.accepting:
            raise UserError("refused: the pipeline is shutting down")
        (self._auto.add if on else self._auto.discard)(symbol)
        self.activity.add("system", f"auto-trade {'ON' if on else 'off'} for {symbol}")
