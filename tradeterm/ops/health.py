"""Health, readiness and metrics over HTTP for the headless daemon.

``/healthz`` answers while the process is alive (for a supervisor's liveness probe);
``/readyz`` runs every registered readiness check (store reachable now; feeds connected and broker
reconciled once the pipeline registers them) and answers 503 until all pass; ``/metrics`` is the
Prometheus text format, rendered by prometheus_client from a registry private to the daemon.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradeterm import __version__
from tradeterm.bus import EventBus

Check = Callable[[], Awaitable[str]]
"""A readiness check: returns a short detail when ready, raises with the reason when not."""

CHECK_TIMEOUT_S = 2.0


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str


class Health:
    """Readiness checks plus the metrics registry; components register themselves here."""

    def __init__(self, bus: EventBus) -> None:
        self.started = time.time()
        self.bus = bus
        self._checks: dict[str, Check] = {}
        self.last_results: list[CheckResult] = []
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_BusCollector(bus))
        self.registry.register(_ProcessCollector(self))

    def add_check(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def run_checks(self) -> list[CheckResult]:
        async def one(name: str, check: Check) -> CheckResult:
            try:
                detail = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
                return CheckResult(name, True, detail)
            except TimeoutError:
                return CheckResult(name, False, f"no answer within {CHECK_TIMEOUT_S:g} s")
            except Exception as exc:  # noqa: BLE001 - a failing check is a status, not a crash
                return CheckResult(name, False, f"{type(exc).__name__}: {exc}")

        results = list(await asyncio.gather(*(one(n, c) for n, c in self._checks.items())))
        self.last_results = results
        return results

    def app(self, extra_routes: list[Route] | None = None) -> Starlette:
        async def healthz(request: Request) -> Response:
            return JSONResponse({"status": "alive", "version": __version__,
                                 "uptime_s": round(time.time() - self.started, 3)})

        async def readyz(request: Request) -> Response:
            results = await self.run_checks()
            ready = all(r.ok for r in results)
            body = {"ready": ready, "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results}}
            return JSONResponse(body, status_code=200 if ready else 503)

        async def metrics(request: Request) -> Response:
            await self.run_checks()
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics),
                                 *(extra_routes or [])])


class _BusCollector:
    """Bus counters read at scrape time (no double bookkeeping in the hot path)."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("tradeterm_bus_events", "Events through the in-process bus", labels=["topic", "outcome"])
        for topic, stats in sorted(self.bus.all_stats().items()):
            family.add_metric([topic, "published"], stats.published)
            family.add_metric([topic, "delivered"], stats.delivered)
            family.add_metric([topic, "dropped"], stats.dropped)
        yield family


class _ProcessCollector:
    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily("tradeterm_info", "Build information", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily("tradeterm_uptime_seconds", "Seconds since the daemon started",
                                value=time.time() - self.health.started)
        ready = GaugeMetricFamily("tradeterm_check_ok", "1 when a readiness check passed at the last scrape",
                                  labels=["check"])
        for r in self.health.last_results:
            ready.add_metric([r.name], 1.0 if r.ok else 0.0)
        yield ready
