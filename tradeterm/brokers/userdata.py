"""Spot user data through the WebSocket API (``userDataStream.subscribe.signature``), the only
mechanism Binance still serves since the listenKey streams stopped (2026-02-20).

The connection is kept alive across drops: reconnect with jittered backoff, subscribe again,
then call ``on_reconnect`` — the broker reconciles there, because whatever happened while the
stream was down (a fill, a cancel) was never delivered and never will be.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tradeterm.brokers.errors import BrokerError, map_error
from tradeterm.brokers.signing import Signer, sign_ws_params
from tradeterm.brokers.transport import Report
from tradeterm.brokers.updates import from_execution_report

log = logging.getLogger("tradeterm.brokers.userdata")

EventSink = Callable[[list[Report]], Awaitable[None]]


class UserDataStream:
    def __init__(
        self,
        url: str,
        signer: Signer,
        now_ms: Callable[[], int],
        venue: str,
        on_reports: EventSink,
        on_reconnect: Callable[[], Awaitable[Any]] | None = None,
        *,
        recv_window: int = 5000,
        max_backoff: float = 2.0,
    ) -> None:
        self.url = url
        self.signer = signer
        self.now_ms = now_ms
        self.venue = venue
        self.on_reports = on_reports
        self.on_reconnect = on_reconnect
        self.recv_window = recv_window
        self.max_backoff = max_backoff
        self.connected = asyncio.Event()
        self.connections = 0  # how many subscriptions succeeded (tests and metrics)
        self.balances: dict[str, tuple[str, str]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None

    async def start(self, timeout: float = 5.0) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drop(self) -> None:
        """Close the current connection (tests: a stream cut at a chosen moment)."""
        if self._ws is not None:
            await self._ws.close()

    async def _subscribe(self, ws: ClientConnection) -> None:
        rid = next(self._ids)
        params = sign_ws_params(self.signer, {"timestamp": self.now_ms(), "recvWindow": self.recv_window})
        await ws.send(orjson.dumps({"id": rid, "method": "userDataStream.subscribe.signature", "params": params}).decode())
        while True:
            msg = orjson.loads(await ws.recv())
            if msg.get("id") == rid:
                if msg.get("status") != 200:
                    raise map_error(int(msg.get("status", 400)), msg.get("error", {}))
                return
            await self._frame(msg)  # an event raced the answer: keep it

    async def _frame(self, msg: dict[str, Any]) -> None:
        event = msg.get("event")
        if not isinstance(event, dict):
            return
        kind = event.get("e")
        if kind == "executionReport":
            u, fill = from_execution_report(event, self.venue)
            if u is not None:
                await self.on_reports([(u, fill)])
        elif kind == "outboundAccountPosition":
            for b in event.get("B", ()):
                self.balances[b["a"]] = (b["f"], b["l"])

    async def _run(self) -> None:
        rng = random.Random()
        failures = 0
        while True:
            try:
                async with connect(self.url, open_timeout=5, max_size=2**22) as ws:
                    self._ws = ws
                    await self._subscribe(ws)
                    first = self.connections == 0
                    self.connections += 1
                    failures = 0
                    self.connected.set()
                    if not first and self.on_reconnect is not None:
                        asyncio.ensure_future(self.on_reconnect())
                    async for raw in ws:
                        await self._frame(orjson.loads(raw))
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, WebSocketException, orjson.JSONDecodeError) as exc:
                log.warning("user-data stream lost (%s); reconnecting", type(exc).__name__)
            except BrokerError as exc:  # a rejected subscription: keep trying, loudly
                log.error("user-data subscription failed: %s", exc)
            finally:
                self._ws = None
                self.connected.clear()
            failures += 1
            await asyncio.sleep(rng.uniform(0, min(self.max_backoff, 0.05 * 2**failures)))
