"""App factory and an in-process server.

``create_venue_app`` gives a Starlette app serving Spot REST, market streams, the WS API and the
control API from one port (Binance uses several hosts; clients take each base URL separately, so
one loopback port serves them all). ``VenueServer`` runs it under uvicorn on an ephemeral port,
for tests, benchmarks, the demo and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette

from tradeterm.ops.httpserver import bind_tcp
from tradeterm.venue.config import VenueConfig
from tradeterm.venue.control import control_routes
from tradeterm.venue.rest_spot import SpotApi
from tradeterm.venue.streams import stream_routes
from tradeterm.venue.venue import Venue

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def create_venue_app(config: VenueConfig | Venue) -> Starlette:
    venue = config if isinstance(config, Venue) else Venue(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await venue.start()
        try:
            yield
        finally:
            await venue.stop()

    routes: list[Any] = [*SpotApi(venue).routes(), *stream_routes(venue.streams), *venue.userdata.routes(),
                         *control_routes(venue)]
    if venue.futures is not None:
        from tradeterm.venue.rest_futures import FuturesApi
        from tradeterm.venue.ws_fapi import FuturesWsApi

        routes += [*FuturesApi(venue, venue.futures).routes(), *venue.futures.stream_routes(),
                   *FuturesWsApi(venue, venue.futures).routes()]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.venue = venue
    return app


class VenueServer:
    """uvicorn in this process on ``host:port`` (0 = any free port)."""

    def __init__(self, config: VenueConfig | Venue, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_venue_app(config)
        self.venue: Venue = self.app.state.venue
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.base}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.base}"

    @property
    def fstream_url(self) -> str:
        """Futures streams, classic paths (``/futures/ws/...``); the routed ``/market``, ``/public``,
        ``/private`` paths are also served at the root of :attr:`ws_url`."""
        return f"ws://{self.base}/futures"

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self.base}/ws-api/v3"

    @property
    def ws_fapi_url(self) -> str:
        """The USD-M WebSocket API (Binance's ``wss://ws-fapi.binance.com/ws-fapi/v1``)."""
        return f"ws://{self.base}/ws-fapi/v1"

    async def start(self) -> None:
        sock = bind_tcp(self.host, self.port)  # TCP_NODELAY-ready; see ops.httpserver
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                ws="websockets-sansio", ws_ping_interval=20.0, ws_ping_timeout=60.0,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("venue server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self.venue.drop_streams()
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = None
        self._task = None

    async def run_until_stopped(self) -> None:
        """Serve until Ctrl-C/SIGTERM, then shut down cleanly (the CLI's main loop). uvicorn
        re-raises the signal after its graceful exit; we have handled it, so it is dropped."""
        assert self._server is not None and self._task is not None
        while not self._server.should_exit and not self._task.done():
            await asyncio.sleep(0.1)
        captured = getattr(self._server, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()
        await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
