"""Run an ASGI app under uvicorn inside our own event loop, on a socket we bind ourselves.

Why not ``uvicorn.run``: the daemon and the tests need the real port when asked for port 0, need
to own SIGTERM/SIGINT (uvicorn re-raises the signal after its shutdown, which would turn a clean
stop into exit code -15), and must share the loop with the pipeline's workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any, Self

import uvicorn


class _NoSignalServer(uvicorn.Server):
    """uvicorn without its own signal handling: the owner of the loop decides when to stop."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


def bind_tcp(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket. ``IPPROTO_TCP`` is explicit because asyncio only sets
    TCP_NODELAY on accepted sockets whose proto says TCP; without it every small response waits
    ~40 ms for a delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


class AppServer:
    """An ASGI app served on ``host:port`` (0 = a free port, readable from ``.port`` after start)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._options = {"log_level": "warning", "access_log": False, "lifespan": "on",
                         "timeout_graceful_shutdown": 2, **uvicorn_options}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        sock = bind_tcp(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = _NoSignalServer(uvicorn.Config(self.app, **self._options))
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"HTTP server on {self.host}:{self.port} stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = None
        self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
