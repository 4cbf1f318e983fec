"""USD-M user data over a listenKey, the mechanism Binance futures still uses.

``POST/PUT/DELETE /fapi/v1/listenKey`` manage one key per API key (valid 60 minutes from the
last keepalive, by the server clock); connections open ``/private/ws/<key>``,
``/private/ws?listenKey=<key>&events=A/B`` or ``/private/stream?listenKey=…`` (combined frames
``{"stream": <key>, "data": …}``). When a key lapses its connections get ``listenKeyExpired`` and
then nothing more, as on Binance. The part-1 user-data faults (duplicate, reorder) apply."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tradeterm.venue.errors import VenueError
from tradeterm.venue.faults import Faults

UNKNOWN_KEY = (-1125, "This listenKey does not exist.")


@dataclass
class _Key:
    api_key: str
    expires_ms: int


@dataclass(eq=False)
class _Conn:
    ws: WebSocket
    key: str
    events: frozenset[str] | None
    combined: bool
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    held: dict[str, Any] | None = None
    expired: bool = False


class FuturesUserData:
    def __init__(self, faults: Faults, server_time: Callable[[], int], validity_ms: int = 3_600_000) -> None:
        self.faults = faults
        self.server_time = server_time
        self.validity_ms = validity_ms
        self.keys: dict[str, _Key] = {}
        self.conns: set[_Conn] = set()

    # ---------------------------------------------------------------- keys
    def create(self, api_key: str) -> str:
        """Binance returns the active key of this API key (extended) rather than a second one."""
        self.check_expiry()
        now = self.server_time()
        for k, v in self.keys.items():
            if v.api_key == api_key:
                v.expires_ms = now + self.validity_ms
                return k
        key = secrets.token_urlsafe(48)[:64]
        self.keys[key] = _Key(api_key, now + self.validity_ms)
        return key

    def keepalive(self, api_key: str) -> str:
        self.check_expiry()
        for k, v in self.keys.items():
            if v.api_key == api_key:
                v.expires_ms = self.server_time() + self.validity_ms
                return k
        raise VenueError(*UNKNOWN_KEY)

    def close(self, api_key: str) -> None:
        for k in [k for k, v in self.keys.items() if v.api_key == api_key]:
            del self.keys[k]

    def expire(self, key: str) -> None:
        """Let a key lapse now (what an hour without keepalive does)."""
        if key in self.keys:
            self.keys[key].expires_ms = self.server_time() - 1
        self.check_expiry()

    def check_expiry(self) -> None:
        now = self.server_time()
        for k in [k for k, v in self.keys.items() if v.expires_ms < now]:
            del self.keys[k]
            for c in self.conns:
                if c.key == k and not c.expired:
                    self._send(c, {"e": "listenKeyExpired", "E": now, "listenKey": k})
                    c.expired = True

    # ---------------------------------------------------------------- delivery
    def publish(self, event: dict[str, Any]) -> None:
        for c in list(self.conns):
            if c.expired or (c.events is not None and event["e"] not in c.events):
                continue
            frames = [event]
            if self.faults.userdata_reorder:
                if c.held is None:
                    c.held = event
                    continue
                frames, c.held = [event, c.held], None
            elif c.held is not None:
                frames, c.held = [c.held, event], None
            for ev in frames:
                self._send(c, ev)
                if self.faults.userdata_duplicate:
                    self._send(c, ev)

    def _send(self, c: _Conn, event: dict[str, Any]) -> None:
        raw = orjson.dumps(event).decode()
        c.queue.put_nowait('{"stream":"' + c.key + '","data":' + raw + "}" if c.combined else raw)

    async def serve(self, ws: WebSocket, key: str, events: frozenset[str] | None, combined: bool) -> None:
        self.check_expiry()
        if key not in self.keys:
            await ws.close(4001)  # Binance refuses the handshake for an unknown key
            return
        await ws.accept()
        c = _Conn(ws, key, events, combined)
        self.conns.add(c)

        async def writer() -> None:
            while True:
                item = await c.queue.get()
                if item is None:
                    break
                await ws.send_text(item)
            # Ending the writer ends the connection (``drop_all``, the venue stopping): the client
            # sees a close, as when Binance cuts a user-data stream, rather than a silent socket.
            with contextlib.suppress(Exception):
                await ws.close(1000)

        w = asyncio.create_task(writer())
        try:
            while True:
                await ws.receive_text()  # pings/pongs are handled by the server; text is ignored
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.conns.discard(c)
            c.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(w, 1.0)

    def flush_held(self) -> None:
        """Deliver events held back by the reorder fault once it is switched off (nothing is lost)."""
        for c in list(self.conns):
            if c.held is not None:
                ev, c.held = c.held, None
                self._send(c, ev)

    def drop_all(self) -> None:
        """Cut every user-data connection (the control API's drop-streams and the periodic drop
        fault): the client must reconnect with its listenKey, which stays valid."""
        for c in list(self.conns):
            c.queue.put_nowait(None)

    def routes(self, prefix: str) -> list[WebSocketRoute]:
        """``<prefix>/ws/<key>``, ``<prefix>/ws?listenKey=``, ``<prefix>/stream?listenKey=``."""

        def events_of(ws: WebSocket) -> frozenset[str] | None:
            raw = ws.query_params.get("events")
            return frozenset(e for e in raw.split("/") if e) if raw else None

        async def raw_key(ws: WebSocket) -> None:
            key = ws.path_params.get("key", "").strip("/") or ws.query_params.get("listenKey", "")
            await self.serve(ws, key, events_of(ws), combined=False)

        async def combined(ws: WebSocket) -> None:
            await self.serve(ws, ws.query_params.get("listenKey", ""), events_of(ws), combined=True)

        return [WebSocketRoute(f"{prefix}/ws", raw_key), WebSocketRoute(f"{prefix}/ws/{{key:path}}", raw_key),
                WebSocketRoute(f"{prefix}/stream", combined)]
