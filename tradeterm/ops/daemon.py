"""``tradeterm --daemon``: the headless host process.

It owns what every headless deployment needs regardless of which pipeline stages run inside it:
JSON logs on stdout, a single-instance lock per data dir, the pipeline controller (the same wiring
the workstation runs: feeds, analysis, guards, decisions, paper broker (and in the demo the
USD-M broker on the venue's simulated futures account), store), the
health/readiness/metrics endpoint on loopback with token-protected control routes, an audit
trail of starts, stops and control actions, and a graceful exit on SIGTERM/SIGINT: stop taking
decisions, optionally withdraw working entry orders (``daemon.cancel_on_stop``; exits protecting
open positions always stay), flush the store, exit 0 within 5 s.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from typing import Any

from tradeterm import __version__
from tradeterm.config import Settings
from tradeterm.errors import UserError
from tradeterm.ops.control import control_routes
from tradeterm.ops.health import Health
from tradeterm.ops.httpserver import AppServer
from tradeterm.ops.lock import InstanceLock
from tradeterm.ops.logging import configure_logging, register_secret
from tradeterm.ops.watchdog import HardExit

log = logging.getLogger("tradeterm.daemon")
LOCK_FILE = "daemon.lock"


STOP_BUDGET_S = 4.5  # SIGTERM → exit 0 within 5 s, with room for the interpreter to exit
HARD_EXIT_S = 10.0  # a shutdown still running this long after the signal is stuck: force the exit


def daemon_options(settings: Settings) -> Any:
    """The pipeline options of a daemon: the settings' symbols and timeframes, demo speed and
    heartbeat/stale-feed limits from ``[daemon]``."""
    from tradeterm.pipeline.controller import PipelineOptions

    d = settings.daemon
    return PipelineOptions(symbols=tuple(settings.symbols), timeframes=tuple(settings.timeframes),
                           speed=d.demo_speed, heartbeat_s=d.heartbeat_s, stale_feed_s=d.stale_feed_s,
                           stale_feed_bars=d.stale_feed_bars)


async def run_daemon(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set or SIGTERM/SIGINT arrives; return the exit code."""
    from tradeterm.pipeline.controller import PipelineController
    from tradeterm.pipeline.metrics import ControllerCollector

    configure_logging("json", settings.log_level, stream=sys.stdout)
    token = settings.daemon.control_token()
    if token is not None:
        register_secret(token.get_secret_value())
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    hard_exit = HardExit(loop, HARD_EXIT_S)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, stop, sig, hard_exit)

    with InstanceLock(settings.data_dir / LOCK_FILE):
        controller = PipelineController(settings, daemon_options(settings))
        try:
            await controller.start()
        except BaseException:
            await controller.stop()
            raise
        stopped_at: float | None = None
        try:
            store = controller.store
            health = Health(controller.bus)
            health.registry.register(ControllerCollector(controller))

            async def store_check() -> str:
                await store.list_audit(limit=1)
                return f"{store.dialect} reachable"

            async def feed_check() -> str:
                if controller.feed_status != "live":
                    raise RuntimeError(f"market data {controller.feed_status}")
                waiting = await controller.series_not_ready()
                if waiting:
                    raise RuntimeError(f"history loading: {', '.join(waiting)}")
                hb = controller.heartbeat.last
                if hb is not None and hb.stale:
                    raise RuntimeError(f"stale: {', '.join(hb.stale)}")
                return f"{len(controller.options.symbols)} symbols live"

            async def broker_check() -> str:
                waiting = controller.brokers_not_ready()  # every market: spot, and USD-M in the demo
                if waiting:
                    raise RuntimeError(f"broker not reconciled yet: {', '.join(waiting)}")
                stages = controller.stages
                return "; ".join(f"{stages[m].venue} reconciled ({len(getattr(stages[m].reconcile_report, 'adopted', ()))}"
                                 " adopted)" for m in controller.markets)

            async def audit(action: str, data: dict[str, Any]) -> None:
                await store.append_audit("control", action, data)

            health.add_check("store", store_check)
            health.add_check("feeds", feed_check)
            health.add_check("broker", broker_check)
            routes = control_routes(controller, settings.daemon.control_token, audit)
            server = AppServer(health.app(routes), settings.daemon.host, settings.daemon.port)
            try:
                await server.start()
            except OSError as exc:
                raise UserError(f"daemon endpoint: {exc.strerror}") from None
            await store.append_audit("daemon", "started", {"version": __version__, "profile": settings.profile.value,
                                                           "endpoint": server.base_url})
            log.info("daemon ready", extra={"endpoint": server.base_url, "profile": settings.profile.value,
                                            "store": store.url, "version": __version__,
                                            "control": "enabled" if token is not None else "disabled"})
            try:
                await stop.wait()
            finally:
                stopped_at = time.monotonic()
                log.info("daemon stopping", extra={"cancel_on_stop": settings.daemon.cancel_on_stop})
                controller.stop_decisions()
                await server.stop()
                await store.append_audit("daemon", "stopped", {"cancel_on_stop": settings.daemon.cancel_on_stop})
        finally:
            budget = STOP_BUDGET_S - (time.monotonic() - stopped_at if stopped_at is not None else 0.0)
            try:
                await asyncio.wait_for(controller.stop(cancel_orders=settings.daemon.cancel_on_stop),
                                       max(budget, 0.5))
            except TimeoutError:
                log.error("pipeline did not stop within the shutdown budget; exiting anyway "
                          "(the next start reconciles orders and backfills candles)")
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
    log.info("daemon stopped")
    return 0


def _on_signal(stop: asyncio.Event, sig: signal.Signals, hard_exit: HardExit) -> None:
    log.info("received %s", sig.name)
    stop.set()
    hard_exit.arm()  # from here the process ends within HARD_EXIT_S, cleanly or not
