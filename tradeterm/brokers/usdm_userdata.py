"""USD-M user data over a listenKey (``POST /fapi/v1/listenKey``, ``/private/ws/<key>``): the
mechanism Binance futures still serves.

Kept alive the way the key's rules require: a keepalive (``PUT``) well inside the 60-minute
validity; a ``listenKeyExpired`` event or an unknown key (-1125) gets a fresh key and a new
connection. Every connection after the first calls ``on_reconnect``, where the broker
reconciles, because what happened while the stream was down was never delivered and never
will be. Events go through :class:`~tradeterm.brokers.usdm_updates.AlgoCorrelator` so a stop's
algo and child states arrive under one id in either order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tradeterm.brokers.errors import BinanceError, BrokerError
from tradeterm.brokers.http import SpotHttp
from tradeterm.brokers.transport import Report
from tradeterm.brokers.usdm_updates import AlgoCorrelator

log = logging.getLogger("tradeterm.brokers.usdm_userdata")

EventSink = Callable[[list[Report]], Awaitable[None]]
KEEPALIVE_S = 30 * 60.0


class UsdmUserData:
    def __init__(
        self,
        http: SpotHttp,
        ws_base: str,
        correlator: AlgoCorrelator,
        on_reports: EventSink,
        on_reconnect: Callable[[], Awaitable[Any]] | None = None,
        *,
        keepalive_s: float = KEEPALIVE_S,
        max_backoff: float = 2.0,
    ) -> None:
        """``ws_base`` is the fstream base (``wss://fstream.binance.com`` or the venue's
        ``ws://127.0.0.1:PORT``); user data is read from its routed ``/private`` path."""
        self.http = http
        self.ws_base = ws_base.rstrip("/")
        self.correlator = correlator
        self.on_reports = on_reports
        self.on_reconnect = on_reconnect
        self.keepalive_s = keepalive_s
        self.max_backoff = max_backoff
        self.connected = asyncio.Event()
        self.connections = 0
        self.positions: dict[tuple[str, str], Decimal] = {}  # (symbol, positionSide) -> amount, from ACCOUNT_UPDATE
        self.wallet: dict[str, Decimal] = {}
        self._key: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None

    async def start(self, timeout: float = 5.0) -> None:
        self._task = asyncio.create_task(self._run())
        self._keepalive = asyncio.create_task(self._keep_alive())
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        for task in (self._keepalive, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._keepalive = None
        if self._key is not None:
            with contextlib.suppress(BrokerError):
                await self.http.request("DELETE", "/fapi/v1/listenKey", keyed=True, family="stream", safe=True)
            self._key = None

    async def drop(self) -> None:
        """Close the current connection (tests: a stream cut at a chosen moment)."""
        if self._ws is not None:
            await self._ws.close()

    async def _new_key(self) -> str:
        body = await self.http.request("POST", "/fapi/v1/listenKey", keyed=True, family="stream", safe=True)
        self._key = str(body["listenKey"])
        return self._key

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            try:
                await self.http.request("PUT", "/fapi/v1/listenKey", keyed=True, family="stream", safe=True)
            except BinanceError as exc:
                if exc.code == -1125:  # the key lapsed: the next connection takes a new one
                    self._key = None
                    await self.drop()
                else:
                    log.warning("listenKey keepalive failed: %s", exc)
            except BrokerError as exc:
                log.warning("listenKey keepalive failed: %s", exc)

    async def _frame(self, raw: str | bytes) -> bool:
        """Handle one frame; False when the key expired (the connection must be renewed)."""
        msg = orjson.loads(raw)
        if isinstance(msg, dict) and "data" in msg and "stream" in msg:
            msg = msg["data"]
        if not isinstance(msg, dict):
            return True
        kind = msg.get("e")
        if kind == "listenKeyExpired":
            self._key = None
            return False
        if kind == "ACCOUNT_UPDATE":
            a = msg.get("a", {})
            for b in a.get("B", ()):
                self.wallet[b["a"]] = Decimal(str(b["wb"]))
            for p in a.get("P", ()):
                self.positions[(p["s"], p.get("ps", "BOTH"))] = Decimal(str(p["pa"]))
            return True
        reports = self.correlator.on_event(msg)
        if reports:
            await self.on_reports(reports)
        return True

    async def _run(self) -> None:
        rng = random.Random()
        failures = 0
        while True:
            try:
                # POST returns the active key (extended) or a new one: asking on every
                # connection also renews a key that lapsed while we were away.
                key = await self._new_key()
                async with connect(f"{self.ws_base}/private/ws/{key}", open_timeout=5, max_size=2**22) as ws:
                    self._ws = ws
                    first = self.connections == 0
                    self.connections += 1
                    failures = 0
                    self.connected.set()
                    if not first and self.on_reconnect is not None:
                        asyncio.ensure_future(self.on_reconnect())
                    async for raw in ws:
                        if not await self._frame(raw):
                            break
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, WebSocketException, orjson.JSONDecodeError) as exc:
                log.warning("USD-M user-data stream lost (%s); reconnecting", type(exc).__name__)
            except BrokerError as exc:
                log.error("USD-M listenKey request failed: %s", exc)
            finally:
                self._ws = None
                self.connected.clear()
            failures += 1
            await asyncio.sleep(rng.uniform(0, min(self.max_backoff, 0.05 * 2**failures)))
