"""User data through the WebSocket API (``/ws-api/v3``), the only way Binance Spot delivers it
since the listenKey streams stopped on 2026-02-20.

A connection subscribes with ``userDataStream.subscribe.signature`` (any key type) or, after an
Ed25519 ``session.logon``, with ``userDataStream.subscribe``; events then arrive as
``{"subscriptionId": n, "event": {...}}``. Faults may duplicate or swap events, as a client must
survive both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tradeterm.venue.auth import Authenticator
from tradeterm.venue.errors import VenueError
from tradeterm.venue.faults import Faults


class ApiConn:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.subscriptions: list[int] = []
        self.next_sub = 0
        self.logged_on: str | None = None
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.held: dict[str, Any] | None = None  # reorder fault: the event waiting for its successor

    def push(self, text: str | None) -> None:
        self.queue.put_nowait(text)


class UserDataHub:
    def __init__(self, auth: Authenticator, faults: Faults, rate_limits: Callable[[], list[dict[str, Any]]],
                 server_time: Callable[[], int]) -> None:
        self.auth = auth
        self.faults = faults
        self.rate_limits = rate_limits
        self.server_time = server_time
        self.conns: set[ApiConn] = set()

    def publish(self, event: dict[str, Any]) -> None:
        for c in list(self.conns):
            for sid in c.subscriptions:
                self._deliver(c, sid, event)

    def _deliver(self, c: ApiConn, sid: int, event: dict[str, Any]) -> None:
        frames = [event]
        if self.faults.userdata_reorder:
            if c.held is None:
                c.held = event
                return
            frames = [event, c.held]
            c.held = None
        elif c.held is not None:
            frames = [c.held, event]
            c.held = None
        for ev in frames:
            text = orjson.dumps({"subscriptionId": sid, "event": ev}).decode()
            c.push(text)
            if self.faults.userdata_duplicate:
                c.push(text)

    def flush_held(self) -> None:
        """Release a held (reordered) event, e.g. when the fault is switched off."""
        for c in self.conns:
            if c.held is not None and c.subscriptions:
                ev, c.held = c.held, None
                c.push(orjson.dumps({"subscriptionId": c.subscriptions[0], "event": ev}).decode())

    def _limits(self, weight: int) -> list[dict[str, Any]]:
        out = []
        for rl in self.rate_limits():
            if rl["rateLimitType"] == "REQUEST_WEIGHT":
                out.append({**rl, "count": weight})
        return out

    def handle(self, c: ApiConn, msg: Any) -> dict[str, Any]:
        if not isinstance(msg, dict) or "method" not in msg:
            return {"id": None, "status": 400, "error": {"code": -1102, "msg": "Mandatory parameter 'method' was not sent, was empty/null, or malformed."}}
        rid = msg.get("id")
        method = msg.get("method")
        params = msg.get("params") or {}
        try:
            result = self._call(c, method, params)
        except VenueError as e:
            return {"id": rid, "status": e.http_status, "error": e.body(), "rateLimits": self._limits(2)}
        return {"id": rid, "status": 200, "result": result, "rateLimits": self._limits(2)}

    def _call(self, c: ApiConn, method: Any, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self.server_time()}
        if method == "session.logon":
            cred = self.auth.check_ws(params)
            if cred.ed25519 is None:
                raise VenueError(-1022, "Signature for this request is not valid.")  # logon is Ed25519 only
            c.logged_on = cred.api_key
            return {"apiKey": cred.api_key, "authorizedSince": self.server_time(), "connectedSince": self.server_time(),
                    "returnRateLimits": True, "serverTime": self.server_time(), "userDataStream": bool(c.subscriptions)}
        if method == "session.logout":
            c.logged_on = None
            return {"apiKey": None, "authorizedSince": None, "connectedSince": self.server_time(),
                    "returnRateLimits": True, "serverTime": self.server_time(), "userDataStream": bool(c.subscriptions)}
        if method == "userDataStream.subscribe.signature":
            self.auth.check_ws(params)
            return self._subscribe(c)
        if method == "userDataStream.subscribe":
            if c.logged_on is None:
                raise VenueError(-2015, "Invalid API-key, IP, or permissions for action.")
            return self._subscribe(c)
        if method == "userDataStream.unsubscribe":
            sid = params.get("subscriptionId")
            if sid is None:
                c.subscriptions.clear()
            elif sid in c.subscriptions:
                c.subscriptions.remove(sid)
            else:
                raise VenueError(-2036, "User Data Stream subscription not active.")
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in c.subscriptions]
        raise VenueError(-1102 if not method else -1020, "This operation is not supported." if method else
                         "Mandatory parameter 'method' was not sent, was empty/null, or malformed.")

    def _subscribe(self, c: ApiConn) -> dict[str, int]:
        if c.subscriptions:
            raise VenueError(-2035, "User Data Stream subscription already active.")
        sid = c.next_sub
        c.next_sub += 1
        c.subscriptions.append(sid)
        return {"subscriptionId": sid}

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        c = ApiConn(ws)
        self.conns.add(c)

        async def writer() -> None:
            while True:
                item = await c.queue.get()
                if item is None:
                    return
                await ws.send_text(item)

        w = asyncio.create_task(writer())
        try:
            while True:
                text = await ws.receive_text()
                try:
                    msg = orjson.loads(text)
                except orjson.JSONDecodeError:
                    c.push(orjson.dumps({"id": None, "status": 400, "error": {"code": -1000, "msg": "Malformed request."}}).decode())
                    continue
                c.push(orjson.dumps(self.handle(c, msg)).decode())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.conns.discard(c)
            c.push(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(w, 1.0)

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws-api/v3", self.serve)]
