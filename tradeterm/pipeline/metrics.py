"""Pipeline metrics: stage latencies measured in the hot path, everything else read at scrape time.

Latency is measured in wall-clock time from the moment a closed candle is published on the bus
(``candles.v1``; the ingest publishes it as soon as the kline that closed it was accepted) to:

* ``features`` — the indicators of that bar are computed;
* ``smc``      — the SMC engine has processed the bar (structure, zones);
* ``decision`` — a signal of that bar has been turned into an approved/refused decision (auto mode);
* ``ack``      — the broker acknowledged the bracket of that decision.

Market time cannot be used: the demo venue replays faster than real time, so a candle's
``close_time`` is in the (replayed) future. Counts, gauges and states (orders by status, guards,
equity, reconnects, rate-limit weight, worker restarts) are not bookkept twice: a collector reads
them from the controller when ``/metrics`` is scraped.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tradeterm.bus import EventBus

if TYPE_CHECKING:
    from tradeterm.pipeline.controller import PipelineController

STAGES = ("features", "smc", "decision", "ack")
# 100 µs … 10 s: the daemon's p99 target is 25 ms, a slow store or a 5xx retry reaches seconds.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_STAMPS = 20_000  # candles in flight at most (20 symbols × 2 tf with a deep durable queue fits easily)
# A stamp older than this is never looked up again (the histograms stop at 10 s): dropping it
# keeps the table at what a minute of candles needs instead of filling to _STAMPS over half an
# hour of streaming — memory that only grew, slowly, while the TUI ran.
_STAMP_TTL_S = 60.0

CandleKey = tuple[str, str, int]


class StampingBus(EventBus):
    """An :class:`EventBus` that notes when each closed ``candles.v1`` event was published.

    The stamp is taken before delivery, so the latency a consumer reports includes its time in
    the queue — the part that grows first when a stage falls behind."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: OrderedDict[CandleKey, float] = OrderedDict()

    def _stamp(self, event: Any, topic: str | None) -> None:
        if (topic or getattr(event, "TOPIC", None)) == "candles.v1" and getattr(event, "closed", False):
            st = self.stamps
            now = time.perf_counter()
            st[(event.symbol, event.tf.value, event.open_time)] = now
            if len(st) > _STAMPS:
                st.popitem(last=False)
            stale = now - _STAMP_TTL_S
            while st and next(iter(st.values())) < stale:
                st.popitem(last=False)

    async def publish(self, event: Any, topic: str | None = None) -> None:
        self._stamp(event, topic)
        await super().publish(event, topic)

    def publish_nowait(self, event: Any, topic: str | None = None) -> bool:
        self._stamp(event, topic)
        return super().publish_nowait(event, topic)

    def published_at(self, symbol: str, tf: str, open_time: int) -> float | None:
        return self.stamps.get((symbol, tf, open_time))


class PipelineMetrics:
    """The latency histograms (own registry), plus optional raw samples for the benchmark."""

    def __init__(self, keep_samples: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram("tradeterm_stage_latency_seconds",
                                 "Wall time from a closed candle on the bus to each stage's result",
                                 ["stage"], buckets=BUCKETS, registry=self.registry)
        self._children = {s: self.latency.labels(stage=s) for s in STAGES}
        self.keep_samples = keep_samples
        self.samples: dict[str, list[float]] = {s: [] for s in STAGES}

    def observe(self, stage: str, t0: float | None, t1: float | None = None) -> None:
        """Record ``t1 - t0`` seconds (``t1`` defaults to now) for ``stage``; no-op without t0."""
        if t0 is None:
            return
        dt = (time.perf_counter() if t1 is None else t1) - t0
        self._children[stage].observe(dt)
        if self.keep_samples:
            self.samples[stage].append(dt)


class ControllerCollector:
    """Reads the controller's state at scrape time into Prometheus families."""

    def __init__(self, controller: PipelineController) -> None:
        self.c = controller

    def collect(self) -> Iterator[Any]:
        c = self.c
        yield from c.metrics.registry.collect()

        rate = GaugeMetricFamily("tradeterm_events_per_second",
                                 "Bus events published per second over the last heartbeat interval", labels=["topic"])
        for topic, eps in sorted(c.heartbeat.events_per_second.items()):
            rate.add_metric([topic], eps)
        yield rate

        reconnects = CounterMetricFamily("tradeterm_feed_reconnects", "Market-data stream reconnections",
                                         labels=["market", "reason"])
        weight = GaugeMetricFamily("tradeterm_rate_limit_weight_used",
                                   "Request weight used in the current one-minute window", labels=["market"])
        limit = GaugeMetricFamily("tradeterm_rate_limit_weight_limit", "Request weight allowed per minute",
                                  labels=["market"])
        for ingest in (c.ingest, c.usdm_ingest):
            if ingest is None:
                continue
            market = ingest.venue
            reconnects.add_metric([market, "drop"], ingest.stream.drops)
            reconnects.add_metric([market, "planned"], ingest.stream.planned)
            gate = ingest.rest.gate
            weight.add_metric([market], float(gate.used))
            limit.add_metric([market], float(gate.limit))
        yield reconnects
        yield weight
        yield limit

        orders = GaugeMetricFamily("tradeterm_orders", "Orders known to the brokers (every market), by latest status",
                                   labels=["status"])
        by_market = GaugeMetricFamily("tradeterm_market_orders", "Orders known to a market's broker, by latest status",
                                      labels=["market", "status"])
        counts: dict[str, int] = {}
        stages = c.stages
        for market, stage in stages.items():
            mine: dict[str, int] = {}
            for u in stage.orders.values():
                mine[u.status.value] = mine.get(u.status.value, 0) + 1
                counts[u.status.value] = counts.get(u.status.value, 0) + 1
            for status in sorted(set(mine) | {"NEW", "FILLED"}):
                by_market.add_metric([market, status], mine.get(status, 0))
        for status in ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"):
            orders.add_metric([status], counts.pop(status, 0))
        for status, n in sorted(counts.items()):
            orders.add_metric([status], n)
        yield orders
        yield by_market

        guards = GaugeMetricFamily("tradeterm_guard_blocked", "1 when a guard blocks new entries for a symbol",
                                   labels=["symbol", "guard"])
        usdm_guards = GaugeMetricFamily("tradeterm_usdm_guard_blocked",
                                        "1 when a guard blocks new USD-M entries for a symbol", labels=["symbol", "guard"])
        funding = GaugeMetricFamily("tradeterm_funding_rate", "Funding rate of the next settlement (USD-M)",
                                    labels=["symbol"])
        for symbol in c.options.symbols:
            for g in c.board(symbol).guards:
                guards.add_metric([symbol, g.name], 1.0 if g.blocked else 0.0)
            if "usdm" in stages:
                for g in c.board(symbol, "usdm").guards:
                    usdm_guards.add_metric([symbol, g.name], 1.0 if g.blocked else 0.0)
        for symbol, window in sorted(c.funding.items()):
            funding.add_metric([symbol], float(window.rate))
        yield guards
        yield usdm_guards
        yield funding

        view = c.trading.account_view() if c.trading is not None else None
        equity = GaugeMetricFamily("tradeterm_equity", "Account equity in the quote asset", labels=["quote"])
        drawdown = GaugeMetricFamily("tradeterm_drawdown_ratio", "Equity below its peak, as a fraction of the peak")
        kill = GaugeMetricFamily("tradeterm_kill_switch", "1 when the kill switch is tripped")
        if view is not None:
            equity.add_metric([view.quote_asset], float(view.equity))
            drawdown.add_metric([], float(view.drawdown_pct) / 100.0)
            kill.add_metric([], 1.0 if view.kill_switch else 0.0)
        yield equity
        yield drawdown
        yield kill
        m_equity = GaugeMetricFamily("tradeterm_market_equity", "Equity of each market's account in its quote asset "
                                     "(usdm: margin balance)", labels=["market", "quote"])
        m_drawdown = GaugeMetricFamily("tradeterm_market_drawdown_ratio", "A market account's equity below its peak",
                                       labels=["market"])
        m_kill = GaugeMetricFamily("tradeterm_market_kill_switch", "1 when a market broker's kill switch is tripped",
                                   labels=["market"])
        reconciled = GaugeMetricFamily("tradeterm_broker_reconciled",
                                       "1 when a market's broker started, reconciled and reports an account",
                                       labels=["market"])
        waiting = set(c.brokers_not_ready())
        for market in c.markets:
            reconciled.add_metric([market], 0.0 if market in waiting else 1.0)
            found = stages.get(market)
            mv = found.account_view() if found is not None else None
            if mv is not None:
                m_equity.add_metric([market, mv.quote_asset], float(mv.equity))
                m_drawdown.add_metric([market], float(mv.drawdown_pct) / 100.0)
                m_kill.add_metric([market], 1.0 if mv.kill_switch else 0.0)
        yield m_equity
        yield m_drawdown
        yield m_kill
        yield reconciled

        auto = GaugeMetricFamily("tradeterm_auto_trade", "1 when auto-trade is on for a symbol", labels=["symbol"])
        for symbol in c.options.symbols:
            auto.add_metric([symbol], 1.0 if c.auto_trade(symbol) else 0.0)
        yield auto

        restarts = CounterMetricFamily("tradeterm_worker_restarts", "Pipeline worker restarts after a failure",
                                       labels=["worker"])
        up = GaugeMetricFamily("tradeterm_worker_up", "1 while a pipeline worker is running", labels=["worker"])
        for name, w in sorted(c.supervisor.workers.items()):
            restarts.add_metric([name], w.restarts)
            up.add_metric([name], 1.0 if w.state == "running" else 0.0)
        yield restarts
        yield up

        hb = c.heartbeat.last
        checks = GaugeMetricFamily("tradeterm_heartbeat_ok", "1 when a heartbeat self-check passed", labels=["check"])
        offset = GaugeMetricFamily("tradeterm_clock_offset_seconds", "Venue clock minus local clock")
        age = GaugeMetricFamily("tradeterm_feed_age_seconds", "Seconds since the last candle update of a series",
                                labels=["symbol", "tf"])
        if hb is not None:
            for chk in hb.checks:
                checks.add_metric([chk.name], 1.0 if chk.ok else 0.0)
            if hb.clock_offset_ms is not None:
                offset.add_metric([], hb.clock_offset_ms / 1000.0)
        now = time.time() * 1000
        for (symbol, tf), at in sorted(c.heartbeat.feed.last_update.items()):
            age.add_metric([symbol, tf], max(0.0, (now - at) / 1000.0))
        yield checks
        yield offset
        yield age
