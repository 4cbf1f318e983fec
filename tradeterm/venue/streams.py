"""Market streams over WebSocket: ``/ws/<stream>``, ``/ws/a/b``, ``/stream?streams=a/b`` (combined
``{"stream","data"}`` wrapper), live ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS``.

Each event is serialised once per stream, not once per client; each connection drains its own
bounded queue from a writer task, so one slow client never blocks the replay (at ``speed=max``
the replay instead waits until every queue has drained: "as fast as consumers take it").

The queue is a plain deque plus a wake-up event rather than an ``asyncio.Queue``: the writer
drains everything pending per wake-up, and pushing costs an append (profiled: put/get of
``asyncio.Queue`` were ~8% of the server's time at 10 clients)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

QUEUE_LIMIT = 20_000
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


def normalize(name: str) -> str:
    """Symbols are lowercase in stream names; the rest is case-sensitive (``kline_1M``, ``aggTrade``).
    All-market names (``!markPrice@arr``, ``!forceOrder@arr``) have no symbol and stay as given."""
    if name.startswith("!"):
        return name
    sym, at, rest = name.partition("@")
    return sym.lower() + at + rest if at else name


class StreamConn:
    def __init__(self, ws: WebSocket, combined: bool) -> None:
        self.ws = ws
        self.combined = combined
        self.names: list[str] = []
        self.pending: deque[str] = deque()  # at most QUEUE_LIMIT texts not yet sent
        self.wakeup = asyncio.Event()  # set when there is something to send, or on close
        self.closed = False

    def push(self, text: str) -> None:
        if self.closed:
            return
        if len(self.pending) >= QUEUE_LIMIT:  # Binance drops clients that cannot keep up
            self.close()
            return
        self.pending.append(text)
        self.wakeup.set()

    def close(self) -> None:
        """No more pushes; the writer sends what is pending, then closes the socket."""
        if not self.closed:
            self.closed = True
            self.wakeup.set()


class StreamHub:
    """Who listens to which stream name."""

    def __init__(self) -> None:
        self.subs: dict[str, set[StreamConn]] = {}
        self.conns: set[StreamConn] = set()
        self._drained = asyncio.Event()
        self._drained.set()
        self.sent = 0

    def subscribe(self, conn: StreamConn, names: list[str]) -> None:
        for n in map(normalize, names):
            if n not in conn.names:
                conn.names.append(n)
            self.subs.setdefault(n, set()).add(conn)

    def unsubscribe(self, conn: StreamConn, names: list[str]) -> None:
        for n in map(normalize, names):
            if n in conn.names:
                conn.names.remove(n)
            s = self.subs.get(n)
            if s is not None:
                s.discard(conn)
                if not s:
                    del self.subs[n]

    def remove(self, conn: StreamConn) -> None:
        self.unsubscribe(conn, list(conn.names))
        self.conns.discard(conn)

    def names_for(self, symbol: str) -> list[str]:
        prefix = symbol.lower() + "@"
        return [n for n in self.subs if n.startswith(prefix)]

    @property
    def has_consumers(self) -> bool:
        return bool(self.subs)

    def publish(self, name: str, data: dict[str, Any] | list[Any]) -> None:
        conns = self.subs.get(name)
        if not conns:
            return
        raw = orjson.dumps(data).decode()
        wrapped = None
        for c in conns:
            if c.combined:
                if wrapped is None:
                    wrapped = '{"stream":"' + name + '","data":' + raw + "}"
                c.push(wrapped)
            else:
                c.push(raw)

    def backlog(self) -> int:
        return max((len(c.pending) for c in self.conns), default=0)

    def drop_all(self) -> None:
        for c in list(self.conns):
            c.close()


def _text_sender(ws: WebSocket) -> Callable[[str], Awaitable[None]]:
    """``ws.send_text`` without re-checking starlette's state machine per message: the writer is
    the only sender once the socket is accepted, so the state stays CONNECTED until it ends. An
    OSError still ends the connection as ``WebSocket.send`` would (state DISCONNECTED, 1006)."""
    raw: Callable[[Message], Awaitable[None]] | None = getattr(ws, "_send", None)
    if raw is None:
        return ws.send_text

    async def send(text: str) -> None:
        try:
            await raw({"type": "websocket.send", "text": text})
        except OSError:
            ws.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(code=1006) from None

    return send


async def _writer(conn: StreamConn) -> None:
    send = _text_sender(conn.ws)
    pending = conn.pending
    wakeup = conn.wakeup
    while True:
        while pending:
            await send(pending.popleft())
        if conn.closed:
            break
        wakeup.clear()
        await wakeup.wait()
    with contextlib.suppress(Exception):
        await conn.ws.close(1000)


def _parse_names(raw: str) -> list[str]:
    return [s for s in raw.split("/") if s]


async def serve_stream(ws: WebSocket, hub: StreamHub, names: list[str], combined: bool) -> None:
    """One market-stream connection until either side closes it."""
    await ws.accept()
    conn = StreamConn(ws, combined)
    hub.conns.add(conn)
    hub.subscribe(conn, names)
    writer = asyncio.create_task(_writer(conn))
    try:
        while not conn.closed:
            recv = asyncio.create_task(ws.receive_text())
            done, _ = await asyncio.wait({recv, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer in done:
                recv.cancel()
                break
            text = recv.result()
            reply = _control(hub, conn, text)
            if reply is not None:
                conn.push(orjson.dumps(reply).decode())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.remove(conn)
        conn.close()
        if not writer.done():
            writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


def _control(hub: StreamHub, conn: StreamConn, text: str) -> dict[str, Any] | None:
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}, "id": None}
    if not isinstance(msg, dict):
        return {"error": {"code": 2, "msg": "Invalid request: request must be an object"}, "id": None}
    rid = msg.get("id")
    if rid is not None and not (isinstance(rid, int) or (isinstance(rid, str) and rid.isalnum() and len(rid) <= 36)):
        return {"error": {"code": 2, "msg": "Invalid request: invalid request ID"}, "id": None}
    method = msg.get("method")
    if method not in _METHODS:
        return {"error": {"code": 2, "msg": f"Invalid request: unknown variant `{method}`, expected one of "
                          "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"},
                "id": rid}
    params = msg.get("params", [])
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return {"error": {"code": 2, "msg": "Invalid request: params must be a list of strings"}, "id": rid}
        (hub.subscribe if method == "SUBSCRIBE" else hub.unsubscribe)(conn, params)
        return {"result": None, "id": rid}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": list(conn.names), "id": rid}
    if method == "SET_PROPERTY":
        if params and params[0] == "combined" and len(params) == 2 and isinstance(params[1], bool):
            conn.combined = params[1]
            return {"result": None, "id": rid}
        return {"error": {"code": 0, "msg": "Unknown property"}, "id": rid}
    if params and params[0] == "combined":
        return {"result": conn.combined, "id": rid}
    return {"error": {"code": 0, "msg": "Unknown property"}, "id": rid}


def stream_routes(hub: StreamHub) -> list[Any]:
    from starlette.routing import WebSocketRoute

    async def ws_raw(ws: WebSocket) -> None:
        await serve_stream(ws, hub, _parse_names(ws.path_params.get("streams", "")), combined=False)

    async def ws_bare(ws: WebSocket) -> None:
        await serve_stream(ws, hub, [], combined=False)

    async def ws_combined(ws: WebSocket) -> None:
        await serve_stream(ws, hub, _parse_names(ws.query_params.get("streams", "")), combined=True)

    return [WebSocketRoute("/ws", ws_bare), WebSocketRoute("/ws/{streams:path}", ws_raw),
            WebSocketRoute("/stream", ws_combined)]
