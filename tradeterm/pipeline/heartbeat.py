"""Heartbeat: the pipeline checks itself periodically, and watches how fresh each feed is.

Why a self-check when ``/readyz`` exists: readiness is asked from outside and only when someone
asks; the trader on the screen and the logs of an unattended daemon need the answer pushed, and
the guards need feed freshness on every decision, not on every probe. Every ``interval_s``:

* **feeds** — every followed series updated within the stale limits (:class:`FeedGuard` rules);
* **clock** — offset of the venue clock (``/api/v3/time``, midpoint of the round trip) from the
  local clock; signed requests fail beyond ``recvWindow``, so a drift shows here first;
* **broker** — the broker started, reconciled, and reports an account;
* **store** — writable: the newest closed candle is upserted again (idempotent, same row, a real
  write transaction), or the store is read when no candle has closed yet.

The result goes to the read model (``Snapshot.heartbeat``), ``/metrics`` and the log: one INFO
line a minute while healthy, and a WARNING/INFO line whenever a check flips.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from tradeterm.analysis.guards.base import GuardInputs
from tradeterm.analysis.guards.feed import (
    FeedFreshness,
    FeedGuard,
    FeedGuardConfig,
    SeriesFreshness,
)
from tradeterm.bus import EventBus, Policy
from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.pipeline.readmodel import HeartbeatCheck, HeartbeatView

if TYPE_CHECKING:
    from tradeterm.pipeline.controller import PipelineController

log = logging.getLogger("tradeterm.pipeline.heartbeat")
LIVE_TOPIC = "candles.live"  # the ingest's open-candle updates (market/ingest.py)
MAX_CLOCK_OFFSET_MS = 1000
STORE_TIMEOUT_S = 2.0
LOG_EVERY_S = 60.0


def _now_ms() -> int:
    return int(time.time() * 1000)


class FeedWatch:
    """When each followed series last changed (wall clock, as received), from the bus.

    Subscribes with the ``latest`` policy: only the newest update per series matters for
    freshness, so this watcher can never slow the ingest down."""

    def __init__(self, bus: EventBus, pairs: list[tuple[str, str]]) -> None:
        self.since_ms = _now_ms()
        self.pairs = [(s, Timeframe(tf)) for s, tf in pairs]
        self.last_update: dict[tuple[str, str], int] = {}
        self.last_close: dict[tuple[str, str], int] = {}
        self.last_candle: CandleV1 | None = None
        self._live = bus.subscribe(LIVE_TOPIC, policy=Policy.LATEST, name="feed-watch-live")
        self._closed = bus.subscribe(CandleV1, policy=Policy.LATEST, name="feed-watch-closed")
        self._cache: dict[str, FeedFreshness] = {}

    async def run_live(self) -> None:
        async for k in self._live:
            self.last_update[(k.symbol, k.tf.value)] = _now_ms()
            self._cache.clear()

    async def run_closed(self) -> None:
        async for c in self._closed:
            if c.closed:
                now = _now_ms()
                key = (c.symbol, c.tf.value)
                self.last_close[key] = now
                self.last_update[key] = now
                self.last_candle = c
                self._cache.clear()

    def freshness(self, symbol: str) -> FeedFreshness:
        """The feed guard's input for ``symbol`` (cached until the next update)."""
        hit = self._cache.get(symbol)
        if hit is None:
            hit = self._cache[symbol] = FeedFreshness(symbol, tuple(
                SeriesFreshness(tf.value, tf.ms, self.since_ms, self.last_update.get((s, tf.value)),
                                self.last_close.get((s, tf.value)))
                for s, tf in self.pairs if s == symbol))
        return hit

    def close(self) -> None:
        self._live.close()
        self._closed.close()


class Heartbeat:
    """Runs the self-check every ``interval_s`` (see the module doc)."""

    def __init__(self, controller: PipelineController, interval_s: float, feed_config: FeedGuardConfig) -> None:
        self.c = controller
        self.interval_s = interval_s
        self.guard = FeedGuard(feed_config)
        self.feed = FeedWatch(controller.bus, [(s, tf) for s in controller.options.symbols
                                               for tf in controller.options.timeframes])
        self.last: HeartbeatView | None = None
        self.events_per_second: dict[str, float] = {}
        self.rest_url: str | None = None
        self._client: Any = None
        self._published: dict[str, int] = {}
        self._at = time.monotonic()
        self._logged_at = 0.0
        self._store_task: asyncio.Future[Any] | None = None

    async def run(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        self.feed.close()
        if self._store_task is not None and not self._store_task.done():
            await asyncio.wait([self._store_task], timeout=STORE_TIMEOUT_S)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def beat(self) -> HeartbeatView:
        self._rates()
        stale = self._stale()
        checks = [HeartbeatCheck("feeds", not stale, "stale: " + ", ".join(stale) if stale else
                                 f"{len(self.feed.pairs)} series fresh")]
        offset, clock = await self._clock()
        checks += [clock, self._broker(), await self._store()]
        view = HeartbeatView(_now_ms(), all(c.ok for c in checks), tuple(checks), offset, tuple(stale))
        self._report(view)
        self.last = view
        return view

    # ------------------------------------------------------------------ checks
    def _stale(self) -> list[str]:
        """Stale series: "BTCUSDT 1m" (spot), "BTCUSDT 1m usdm" (the demo's USD-M series)."""
        now = _now_ms()
        out = []
        watches = [(self.feed, "")]
        usdm = getattr(self.c, "usdm_feed", None)
        if usdm is not None:
            watches.append((usdm, " usdm"))
        for watch, label in watches:
            for symbol in self.c.options.symbols:
                f = watch.freshness(symbol)
                if self.guard.evaluate(GuardInputs(feed=f), now).blocked:
                    cfg = self.guard.config
                    out += [f"{symbol} {s.tf}{label}" for s in f.series
                            if now - (s.last_update_ms or s.since_ms) > cfg.stale_after_ms
                            or now - (s.last_close_ms or s.since_ms) > cfg.stale_bars * s.tf_ms]
        return out

    async def _clock(self) -> tuple[int | None, HeartbeatCheck]:
        if self.rest_url is None:
            return None, HeartbeatCheck("clock", True, "no venue clock to compare (no REST endpoint)")
        import httpx

        try:
            if self._client is None:
                self._client = httpx.AsyncClient(base_url=self.rest_url, timeout=2.0)
            t0 = time.time() * 1000
            resp = await self._client.get("/api/v3/time")
            t1 = time.time() * 1000
            resp.raise_for_status()
            offset = round(int(resp.json()["serverTime"]) - (t0 + t1) / 2)
        except Exception as exc:  # noqa: BLE001 - a failed check is a status, not a crash
            return None, HeartbeatCheck("clock", False, f"venue time unavailable: {type(exc).__name__}")
        ok = abs(offset) <= MAX_CLOCK_OFFSET_MS
        return offset, HeartbeatCheck("clock", ok, f"offset {offset:+d} ms" + ("" if ok else
                                      f" (beyond ±{MAX_CLOCK_OFFSET_MS} ms; check NTP)"))

    def _broker(self) -> HeartbeatCheck:
        """Every market's broker (spot; USD-M in the demo): started, reconciled, an account."""
        stages = self.c.stages
        if not stages:
            return HeartbeatCheck("broker", False, "not started")
        parts, ok = [], True
        for market in self.c.markets:
            t = stages.get(market)
            if t is None or t.broker is None:
                ok = False
                parts.append(f"{market}: not started")
                continue
            if t.account is None:
                ok = False
                parts.append(f"{t.venue}: no account snapshot yet")
                continue
            report = t.reconcile_report
            adopted = len(report.adopted) if report is not None else 0
            kill = ", kill switch TRIPPED" if t.broker.killswitch.tripped else ""
            parts.append(f"{t.venue} connected, reconciled ({adopted} adopted){kill}")
        return HeartbeatCheck("broker", ok, "; ".join(parts))

    async def _store(self) -> HeartbeatCheck:
        store = self.c.store
        if store is None:
            return HeartbeatCheck("store", False, "not open")
        candle = self.feed.last_candle
        if self._store_task is None or self._store_task.done():
            # Shielded, never cancelled: cancelling a store call half-way through its transaction
            # would leave the shared connection mid-transaction for every other writer.
            self._store_task = asyncio.ensure_future(
                store.upsert_candle_events([candle]) if candle is not None else store.list_audit(limit=1))
        what = "writable" if candle is not None else "reachable (nothing to write yet)"
        try:
            await asyncio.wait_for(asyncio.shield(self._store_task), STORE_TIMEOUT_S)
            return HeartbeatCheck("store", True, f"{store.dialect} {what}")
        except TimeoutError:
            return HeartbeatCheck("store", False, f"{store.dialect}: no answer within {STORE_TIMEOUT_S:g} s")
        except Exception as exc:  # noqa: BLE001 - a failed check is a status, not a crash
            return HeartbeatCheck("store", False, f"{store.dialect}: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ bookkeeping
    def _rates(self) -> None:
        now = time.monotonic()
        dt = max(now - self._at, 1e-6)
        stats = self.c.bus.all_stats()
        self.events_per_second = {t: round((s.published - self._published.get(t, 0)) / dt, 3)
                                  for t, s in stats.items()}
        self._published = {t: s.published for t, s in stats.items()}
        self._at = now

    def _report(self, view: HeartbeatView) -> None:
        prev = {c.name: c.ok for c in self.last.checks} if self.last is not None else {}
        for chk in view.checks:
            if prev.get(chk.name, True) != chk.ok:
                level = logging.INFO if chk.ok else logging.WARNING
                log.log(level, "heartbeat %s %s: %s", chk.name, "recovered" if chk.ok else "FAILED", chk.detail,
                        extra={"check": chk.name, "ok": chk.ok})
                if chk.ok:  # WARNINGs reach the activity log through its handler already
                    self.c.activity.add("system", f"heartbeat {chk.name} recovered: {chk.detail}")
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.info("heartbeat %s", "ok" if view.ok else "NOT ok",
                     extra={"checks": {c.name: c.detail for c in view.checks}, "ok": view.ok,
                            "clock_offset_ms": view.clock_offset_ms})
