"""The pipeline controller: builds the stages from the settings, runs them, and serves the UI.

Stages (each a background worker that the controller's :class:`Supervisor` restarts with
backoff when it fails)::

    venue (demo: in-process, loopback) ─► MarketIngest ─► candles.v1 ─► AnalysisStage ─► signals
                                            │   └► store                 └► store, bus      │
                                            └► candle book ─► chart (read model)   auto: decide ─► broker
                                  FeedWatch + Heartbeat (self-check; feed guard input) ◄─┘

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
from typing import Any

import numpy as np

from tradeterm.analysis.guards import (
    FeedGuard,
    FeedGuardConfig,
    GuardBoard,
    GuardInputs,
    default_board,
)
from tradeterm.config import Profile, Settings
from tradeterm.contracts import SignalRawV1, Timeframe
from tradeterm.errors import UserError
from tradeterm.market.frame import CandleFrame
from tradeterm.market.ingest import IngestConfig, MarketIngest
from tradeterm.market.spec import SPOT
from tradeterm.pipeline.activity import ActivityHandler, ActivityLog
from tradeterm.pipeline.analysis_stage import AnalysisStage
from tradeterm.pipeline.heartbeat import Heartbeat
from tradeterm.pipeline.metrics import PipelineMetrics, StampingBus
from tradeterm.pipeline.readmodel import SignalRow, Snapshot, WatchRow, WorkerRow
from tradeterm.pipeline.supervisor import BackoffPolicy, Supervisor
from tradeterm.pipeline.trading_stage import TradingStage
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.preview import Preview, preview
from tradeterm.trading.risk import RiskConfig
from tradeterm.trading.ticket import ManualTicket

log = logging.getLogger("tradeterm.pipeline")
VENUE = "binance-spot"
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
        self.venue_server: Any = None
        self.store: Any = None
        self.ingest: MarketIngest | None = None
        self.analysis: AnalysisStage | None = None
        self.trading: TradingStage | None = None
        self._auto: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._handler = ActivityHandler(self.activity)
        self._selected = (self.options.symbols[0], self.options.timeframes[0])
        self._signals: dict[str, SignalRawV1] = {}
        feed_cfg = FeedGuardConfig(stale_after_ms=int(self.options.stale_feed_s * 1000),
                                   stale_bars=self.options.stale_feed_bars)
        self._boards = {s: self.options.guards() for s in self.options.symbols}
        for board in self._boards.values():
            for g in board.guards:
                if isinstance(g, FeedGuard):
                    g.config = feed_cfg
        self.heartbeat = Heartbeat(self, self.options.heartbeat_s, feed_cfg)
        self._filters: dict[str, SymbolFilters] = {}
        self._chart_cache: tuple[Any, Any] | None = None
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
        self.feed_status = "live"
        self.activity.add("feed", "market data live; history loaded")
        self.supervisor.spawn("heartbeat", self.heartbeat.run)

    async def _market_urls(self) -> tuple[str, str]:
        if self.settings.profile is Profile.DEMO:
            from tradeterm.venue import VenueConfig, VenueServer

            self.venue_server = VenueServer(VenueConfig(synthetic=list(self.options.symbols), seed=self.options.seed,
                                                        speed=self.options.speed, futures=False,
                                                        paused=self.options.venue_paused))
            await self.venue_server.start()
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
        """What the broker found when it reconciled at start (None before)."""
        return self.trading.reconcile_report if self.trading is not None else None

    async def series_not_ready(self) -> list[str]:
        """Followed series whose history or live sequence has not started yet (a derived
        timeframe comes up after its base stream, once its own history has loaded)."""
        if self.ingest is None:
            return [f"{s} {tf}" for s in self.options.symbols for tf in self.options.timeframes]
        waiting = []
        for s in self.options.symbols:
            for tf in self.options.timeframes:
                try:
                    await asyncio.wait_for(self.ingest.wait_ready(s, tf), 0.05)
                except (TimeoutError, UserError):
                    waiting.append(f"{s} {tf}")
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
        start reconciles them."""
        self.stop_decisions()
        for t in list(self._tasks):  # in-flight auto placements finish or are cancelled
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if cancel_orders and self.trading is not None:
            try:
                await asyncio.wait_for(self.trading.cancel_working(), 2.0)
            except Exception as exc:  # noqa: BLE001 - stopping must go on; the next start reconciles
                log.error("cancelling working orders on stop failed: %s", exc)
        await self.supervisor.stop()
        await self.heartbeat.close()
        if self.trading is not None:
            await self.trading.stop()
        if self.analysis is not None:
            await self.analysis.stop()
        if self.ingest is not None:
            await self.ingest.stop()
        if self.venue_server is not None:
            await self.venue_server.stop()
        if self.store is not None:
            await self.store.close()
        self.bus.close()
        logging.getLogger("tradeterm").removeHandler(self._handler)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    async def __aenter__(self) -> PipelineController:
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
        try:
            did = await self.place_bracket(self.ticket_for_signal(signal.signal_id), t0=t0)
            self._signals.pop(signal.signal_id, None)
            self.activity.add("order", f"auto-trade placed {did} from {signal.signal_id}")
        except UserError as exc:
            self.activity.add("order", f"auto-trade skipped {signal.signal_id}: {exc}", "WARNING")

    # ------------------------------------------------------------------ read model
    def frame(self, symbol: str, tf: str, bars: int = CHART_BARS) -> CandleFrame | None:
        """The last ``bars`` candles of a series (copied out of the book), or None before history."""
        if self.ingest is None:
            return None
        view = self.ingest.book.view(VENUE, symbol, tf)
        if len(view) == 0:
            return None
        sl = slice(max(0, len(view) - bars), len(view))
        return CandleFrame.from_columns(symbol, tf, np.array(view.open_time[sl]), np.array(view.open[sl]),
                                        np.array(view.high[sl]), np.array(view.low[sl]), np.array(view.close[sl]),
                                        np.array(view.volume[sl]))

    def _chart(self, symbol: str, tf: str) -> Any:
        from tradeterm.analysis.smc import SmcConfig, analyze
        from tradeterm.pipeline.chartdata import chart_data

        frame = self.frame(symbol, tf)
        if frame is None or len(frame) < 3:
            return None
        key = (symbol, tf, int(frame.open_time[-1]), float(frame.close[-1]), float(frame.volume[-1]))
        if self._chart_cache is not None and self._chart_cache[0] == key:
            return self._chart_cache[1]
        closed = frame.slice(0, len(frame) - 1)  # the open candle moves; structure uses closed bars
        smc = analyze(closed, SmcConfig(), venue=VENUE, symbol=symbol, tf=tf) if len(closed) > 12 else None
        data = chart_data(frame, smc=smc)
        self._chart_cache = (key, data)
        return data

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

    def board(self, symbol: str) -> Any:
        """The guard board's verdict for ``symbol`` now."""
        regime = None
        if self.analysis is not None:
            stream = self.analysis.streams.get((symbol, Timeframe(self._selected[1])))
            regime = stream.regime if stream is not None else None
        equity = self.trading.equity_input() if self.trading is not None else None
        exposure = self.trading.exposure_input() if self.trading is not None else None
        feed = self.heartbeat.feed.freshness(symbol) if self.feed_status == "live" else None
        inputs = GuardInputs(regime=regime, equity=equity, exposure=exposure, feed=feed)
        return self._boards[symbol].evaluate(inputs, int(time.time() * 1000))

    def snapshot(self) -> Snapshot:
        symbol, tf = self._selected
        self._expire_signals()
        board = self.board(symbol)
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
            chart=self._chart(symbol, tf),
            watchlist=tuple(self._watch_row(s, tf) for s in self.options.symbols),
            signals=rows,
            guards=board.guards,
            brackets=tuple(self.trading.brackets()) if self.trading else (),
            orders=tuple(self.trading.orders.values()) if self.trading else (),
            positions=tuple(self.trading.positions()) if self.trading else (),
            account=self.trading.account_view() if self.trading else None,
            log=self.activity.lines(),
            auto_trade=symbol in self._auto,
            feed_status=self.feed_status,
            timeframes=self.options.timeframes,
            venue=self.trading.venue if self.trading is not None and self.trading.broker is not None else "paper",
            heartbeat=self.heartbeat.last,
            workers=tuple(WorkerRow(w.name, w.state, w.restarts, w.last_error)
                          for w in self.supervisor.workers.values()),
            auto_symbols=tuple(s for s in self.options.symbols if s in self._auto),
        )

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary for the daemon's status route and for scripts watching it."""
        view = self.trading.account_view() if self.trading is not None else None
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
                          "quantity": str(b.quantity), "filled": str(b.filled)}
                         for b in (self.trading.brackets() if self.trading is not None else [])],
            "orders": [{"client_order_id": o.client_order_id, "symbol": o.symbol, "leg": o.leg.value,
                        "status": o.status.value} for o in self._status_orders()],
            "guards": {s: {"status": str(self.board(s).status), "reasons": list(self.board(s).reasons)}
                       for s in self.options.symbols},
            "heartbeat": None if hb is None else {
                "at_ms": hb.at_ms, "ok": hb.ok, "clock_offset_ms": hb.clock_offset_ms,
                "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in hb.checks}},
            "workers": {w.name: {"state": w.state, "restarts": w.restarts, "last_error": w.last_error}
                        for w in self.supervisor.workers.values()},
            "reconciled": None if report is None else {"adopted": list(report.adopted),
                                                       "foreign_orders": list(report.foreign_orders)},
        }

    def _status_orders(self, recent: int = 100) -> list[Any]:
        """Every working order plus the ``recent`` newest finished ones (a long-running daemon
        must not answer a status request with its whole history)."""
        if self.trading is None:
            return []
        orders = list(self.trading.orders.values())
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

    def ticket_for_signal(self, signal_id: str) -> ManualTicket:
        sig = self._signals.get(signal_id)
        if sig is None:
            raise UserError(f"no pending signal {signal_id}")
        venue = self.trading.venue if self.trading is not None and self.trading.broker is not None else VENUE
        return ManualTicket(venue=venue, symbol=sig.symbol, side=sig.side, entry=sig.entry, stop=sig.stop,
                            ticket_id=signal_id[:64])

    def _symbol_filters(self, symbol: str) -> SymbolFilters:
        filters = self._filters.get(symbol)
        if filters is None:
            raise UserError(f"no exchange filters for {symbol} yet")
        return filters

    def _market_price(self, symbol: str) -> Decimal | None:
        frame = self.frame(symbol, self.options.timeframes[0], bars=1)
        return Decimal(repr(float(frame.close[-1]))) if frame is not None and len(frame) else None

    def preview(self, ticket: ManualTicket) -> Preview:
        if self.trading is None or self.trading.account is None:
            raise UserError("the broker is not ready yet")
        filters = self._symbol_filters(ticket.symbol)
        blocked = list(self.board(ticket.symbol).reasons)
        return preview(ticket, self.trading.account, filters, self.risk,
                       int(time.time() * 1000), guards=blocked or True, market_price=self._market_price(ticket.symbol))

    async def place_bracket(self, ticket: ManualTicket, t0: float | None = None) -> str:
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        if not self.accepting:
            raise UserError("refused: the pipeline is shutting down")
        filters = self._symbol_filters(ticket.symbol)
        board = self.board(ticket.symbol)
        blocked = [f"guard BLOCK: {r}" for r in board.reasons] if board.status == "BLOCK" else []
        return await self.trading.place(ticket, filters, blocked, self._market_price(ticket.symbol), t0)

    async def cancel_bracket(self, bracket_id: str) -> None:
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        await self.trading.cancel(bracket_id)

    async def close_position(self, symbol: str) -> None:
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        await self.trading.close_symbol(symbol.upper())

    async def kill_switch(self, reason: str) -> None:
        if self.trading is None:
            raise UserError("the broker is not ready yet")
        self._auto.clear()
        await self.trading.kill(reason)

    def reset_kill_switch(self) -> None:
        if self.trading is not None:
            self.trading.reset_kill()

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
