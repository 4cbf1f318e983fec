"""``tradeterm --daemon``: the headless host process.

It owns what every headless deployment needs regardless of which pipeline stages run inside it:
JSON logs on stdout, a single-instance lock per data dir, the pipeline controller (the same wiring
the workstation runs: feeds, analysis, store), the health/readiness/metrics endpoint on loopback,
an audit trail of starts and stops, and a graceful exit on SIGTERM/SIGINT (exit 0, within 5 s).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from tradeterm import __version__
from tradeterm.bus import EventBus
from tradeterm.config import Settings
from tradeterm.errors import UserError
from tradeterm.ops.health import Health
from tradeterm.ops.httpserver import AppServer
from tradeterm.ops.lock import InstanceLock
from tradeterm.ops.logging import configure_logging

log = logging.getLogger("tradeterm.daemon")
LOCK_FILE = "daemon.lock"


async def run_daemon(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set or SIGTERM/SIGINT arrives; return the exit code."""
    from tradeterm.pipeline.controller import PipelineController

    configure_logging("json", settings.log_level, stream=sys.stdout)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, stop, sig)

    with InstanceLock(settings.data_dir / LOCK_FILE):
        controller = PipelineController(settings)
        try:
            await controller.start()
        except BaseException:
            await controller.stop()
            raise
        try:
            store = controller.store
            health = Health(controller.bus)

            async def store_check() -> str:
                await store.list_audit(limit=1)
                return f"{store.dialect} reachable"

            async def feed_check() -> str:
                if controller.feed_status != "live":
                    raise RuntimeError(f"market data {controller.feed_status}")
                return f"{len(controller.options.symbols)} symbols live"

            health.add_check("store", store_check)
            health.add_check("feeds", feed_check)
            server = AppServer(health.app(), settings.daemon.host, settings.daemon.port)
            try:
                await server.start()
            except OSError as exc:
                raise UserError(f"daemon endpoint: {exc.strerror}") from None
            await store.append_audit("daemon", "started", {"version": __version__, "profile": settings.profile.value,
                                                           "endpoint": server.base_url})
            log.info("daemon ready", extra={"endpoint": server.base_url, "profile": settings.profile.value,
                                            "store": store.url, "version": __version__})
            try:
                await stop.wait()
            finally:
                log.info("daemon stopping")
                await server.stop()
                await store.append_audit("daemon", "stopped", {})
        finally:
            await controller.stop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
    log.info("daemon stopped")
    return 0


def _on_signal(stop: asyncio.Event, sig: signal.Signals) -> None:
    log.info("received %s", sig.name)
    stop.set()
