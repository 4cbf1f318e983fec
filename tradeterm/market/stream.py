"""Binance combined market streams: many streams over a few long-lived connections.

What this module keeps true, and why:

* **Split within limits.** Binance allows 1024 streams per connection and counts every message
  a client sends (SUBSCRIBE, pings, pongs) against 5/s (spot) or 10/s (futures); exceeding it
  disconnects. Streams are packed onto connections of at most ``max_streams``; the first ones
  go in the URL (``/stream?streams=…``, ``/market/stream?…`` for futures), the rest in batched
  SUBSCRIBE messages sent below the allowed rate, leaving room for keepalive frames; concurrent
  subscriptions on a live connection share one SUBSCRIBE.
* **Run-time (un)subscription.** :meth:`StreamClient.subscribe` returns once the exchange has
  acknowledged the subscription (or the connection is down, in which case the next connect
  includes it): the caller can then start a REST backfill knowing that no candle closes unseen.
* **Connection life.** websockets answers the server's pings and sends its own (a dead TCP link
  is found within ``ping_interval + ping_timeout``). A connection is replaced *before* Binance's
  24-hour cut, and on a ``serverShutdown`` event, by opening the new one first and closing the
  old one after (make-before-break: overlap is harmless, messages are deduplicated downstream).
  Any other drop is followed by a reconnect after :class:`~tradeterm.market.backoff.Backoff`
  (exponential, capped, full jitter). After *every* (re)connect ``on_connect`` is called with the
  connection's streams so the owner can backfill whatever closed while it was away.
* **Garbage in, nothing out.** Frames that are not JSON are counted and dropped here; control
  replies are consumed here; everything else goes to ``on_message`` as a decoded object. An
  exception in ``on_message`` is logged and counted, never allowed to kill the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Self

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tradeterm.market.backoff import Backoff
from tradeterm.market.kline_parse import RejectLog
from tradeterm.market.spec import MarketSpec

__all__ = ["StreamClient", "StreamConfig"]

log = logging.getLogger("tradeterm.market.stream")

OnMessage = Callable[[Any], None]
OnConnect = Callable[[frozenset[str]], None]


class StreamConfig:
    """Tunables of a :class:`StreamClient` (defaults follow Binance's documented limits)."""

    def __init__(
        self,
        *,
        max_streams: int | None = None,
        url_streams: int = 100,
        subscribe_batch: int = 200,
        max_age: float = 23.5 * 3600,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        stable_after: float = 60.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 60.0,
        open_timeout: float = 10.0,
        ack_timeout: float = 10.0,
    ) -> None:
        self.max_streams = max_streams
        self.url_streams = url_streams
        self.subscribe_batch = subscribe_batch
        self.max_age = max_age
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.open_timeout = open_timeout
        self.ack_timeout = ack_timeout


class StreamClient:
    """All market streams of one Binance market (spot or USD-M) for one consumer."""

    def __init__(
        self,
        ws_url: str,
        spec: MarketSpec,
        on_message: OnMessage,
        *,
        on_connect: OnConnect | None = None,
        rejects: RejectLog | None = None,
        config: StreamConfig | None = None,
    ) -> None:
        self.ws_url = ws_url.rstrip("/")
        self.spec = spec
        self.on_message = on_message
        self.on_connect = on_connect
        self.rejects = rejects or RejectLog(f"{spec.venue} stream")
        self.config = config or StreamConfig()
        self.max_streams = min(self.config.max_streams or spec.max_streams_per_connection,
                               spec.max_streams_per_connection)
        self._conns: list[_Connection] = []
        self._where: dict[str, _Connection] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self.connects = 0  # successful (re)connects
        self.failed_connects = 0
        self.drops = 0  # connections lost unexpectedly
        self.planned = 0  # make-before-break replacements (age, serverShutdown)
        self.handler_errors = 0

    @property
    def streams(self) -> frozenset[str]:
        return frozenset(self._where)

    @property
    def connections(self) -> list[_Connection]:
        return list(self._conns)

    def url_for(self, names: list[str]) -> str:
        base = self.ws_url
        path = self.spec.stream_path
        if path.startswith("/market") and base.endswith("/market"):
            path = path[len("/market"):]
        return f"{base}{path}?streams={'/'.join(names)}" if names else f"{base}{path}"

    async def subscribe(self, names: Iterable[str]) -> None:
        """Add streams; returns when they are live (or their connection is down and will
        include them when it comes back)."""
        if self._closed:
            raise RuntimeError("the stream client is closed")
        async with self._lock:
            todo = [n for n in dict.fromkeys(names) if n not in self._where]
            groups: dict[_Connection, list[str]] = {}
            for name in todo:
                conn = next((c for c in self._conns if len(c.names) + len(groups.get(c, [])) < self.max_streams),
                            None)
                if conn is None:
                    conn = _Connection(self, len(self._conns))
                    self._conns.append(conn)
                groups.setdefault(conn, []).append(name)
                self._where[name] = conn
        await asyncio.gather(*(conn.add(batch) for conn, batch in groups.items()))

    async def unsubscribe(self, names: Iterable[str]) -> None:
        async with self._lock:
            groups: dict[_Connection, list[str]] = {}
            for name in dict.fromkeys(names):
                conn = self._where.pop(name, None)
                if conn is not None:
                    groups.setdefault(conn, []).append(name)
        for conn, batch in groups.items():
            await conn.remove(batch)
            if not conn.names:
                await conn.stop()
                self._conns.remove(conn)

    async def close(self) -> None:
        self._closed = True
        conns, self._conns = self._conns, []
        self._where.clear()
        await asyncio.gather(*(c.stop() for c in conns), return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _dispatch(self, msg: Any) -> None:
        try:
            self.on_message(msg)
        except Exception:
            self.handler_errors += 1
            if self.handler_errors == 1:
                log.exception("%s stream: message handler failed; further failures are only counted",
                              self.spec.venue)


class _Connection:
    """One socket's worth of streams, kept connected until stopped."""

    def __init__(self, client: StreamClient, index: int) -> None:
        self.client = client
        self.index = index
        self.names: list[str] = []
        self.ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._live: set[str] = set()  # subscribed on the current socket
        self._ready = False
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._sent: deque[float] = deque()
        self._queued: list[tuple[list[str], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._planned = asyncio.Event()
        self.connected = asyncio.Event()
        self.opened_at = 0.0

    # ------------------------------------------------------------------ membership
    async def add(self, batch: list[str]) -> None:
        self.names.extend(batch)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self.client.spec.venue}-stream-{self.index}")
        self._wake.set()
        if self._ready and self.ws is not None:
            # Coalesce: calls arriving while a SUBSCRIBE is in flight (or rate-limited) share the
            # next one, so a UI adding symbols one by one does not queue one message per symbol.
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._queued.append((batch, fut))
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush_subscribes())
            await fut
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), self.client.config.open_timeout)

    async def _flush_subscribes(self) -> None:
        while self._queued:
            items, self._queued = self._queued, []
            try:
                ws = self.ws
                wanted = [n for b, _ in items for n in b if n in self.names and n not in self._live]
                if ws is not None and self._ready:
                    for chunk in _chunks(list(dict.fromkeys(wanted)), self.client.config.subscribe_batch):
                        await self._control(ws, "SUBSCRIBE", chunk)
                        if ws is self.ws:
                            self._live.update(chunk)
            except ConnectionClosed:
                # Nothing is lost: the reconnect puts everything in self.names in its URL.
                log.debug("connection closed while subscribing; the reconnect will subscribe")
            finally:
                for _, fut in items:
                    if not fut.done():
                        fut.set_result(None)

    async def remove(self, batch: list[str]) -> None:
        gone = set(batch)
        self.names = [n for n in self.names if n not in gone]
        if self._ready and self.ws is not None and self.names:
            with contextlib.suppress(ConnectionClosed):
                for chunk in _chunks([n for n in batch if n in self._live], self.client.config.subscribe_batch):
                    await self._control(self.ws, "UNSUBSCRIBE", chunk)
        self._live -= gone

    async def stop(self) -> None:
        for t in (self._task, self._flusher):
            if t is not None and not t.done():
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        self._task = self._flusher = None
        for _, fut in self._queued:
            if not fut.done():
                fut.set_result(None)
        self._queued = []
        await self._retire(self.ws, self._reader)
        self.ws, self._reader, self._ready = None, None, False
        self.connected.clear()

    # ------------------------------------------------------------------ the loop
    async def _run(self) -> None:
        cfg = self.client.config
        loop = asyncio.get_running_loop()
        backoff = Backoff(cfg.backoff_base, cfg.backoff_cap)
        try:
            while True:
                if not self.names:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                try:
                    ws, reader, live = await self._open()
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # noqa: BLE001 - refused, bad handshake, timeout, closed while subscribing
                    self.client.failed_connects += 1
                    delay = backoff.next_delay()
                    log.warning("%s stream %d: connect failed (%s: %s); retrying in %.1f s",
                                self.client.spec.venue, self.index, type(e).__name__, e, delay)
                    await asyncio.sleep(delay)
                    continue
                old, old_reader = self.ws, self._reader
                self.ws, self._reader, self._live, self._ready = ws, reader, live, True
                self.opened_at = loop.time()
                self._planned.clear()
                self.connected.set()
                self.client.connects += 1
                await self._retire(old, old_reader)
                if self.client.on_connect is not None:
                    try:
                        self.client.on_connect(frozenset(live))
                    except Exception:
                        log.exception("%s stream: on_connect failed", self.client.spec.venue)
                reason = await self._watch(reader)
                if reason == "dropped":
                    self.client.drops += 1
                    self._ready = False
                    self.connected.clear()
                    if loop.time() - self.opened_at >= cfg.stable_after:
                        backoff.reset()
                    delay = backoff.next_delay()
                    log.info("%s stream %d: connection lost; reconnecting in %.2f s",
                             self.client.spec.venue, self.index, delay)
                    await asyncio.sleep(delay)
                else:
                    self.client.planned += 1
                    log.info("%s stream %d: planned reconnect (%s)", self.client.spec.venue, self.index, reason)
        finally:
            for fut in self._acks.values():
                fut.cancel()
            self._acks.clear()

    async def _watch(self, reader: asyncio.Task[None]) -> str:
        planned = asyncio.create_task(self._planned.wait())
        try:
            done, _ = await asyncio.wait({reader, planned}, timeout=self.client.config.max_age,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            planned.cancel()
        if reader in done:
            return "dropped"
        return "server shutdown" if planned in done else "age limit"

    async def _open(self) -> tuple[ClientConnection, asyncio.Task[None], set[str]]:
        cfg = self.client.config
        first = self.names[: cfg.url_streams]
        ws = await connect(
            self.client.url_for(first),
            open_timeout=cfg.open_timeout,
            ping_interval=cfg.ping_interval,
            ping_timeout=cfg.ping_timeout,
            close_timeout=2.0,
            max_queue=None,
            compression=None,
        )
        live = set(first)
        reader = asyncio.create_task(self._read(ws))
        try:
            while True:  # names may change while we subscribe: loop until the socket matches
                missing = [n for n in self.names if n not in live]
                if not missing:
                    break
                for chunk in _chunks(missing, cfg.subscribe_batch):
                    await self._control(ws, "SUBSCRIBE", chunk)
                    live.update(chunk)
            extra = [n for n in live if n not in self.names]
            if extra:
                await self._control(ws, "UNSUBSCRIBE", extra)
                live.difference_update(extra)
        except BaseException:
            await self._retire(ws, reader)
            raise
        return ws, reader, live

    async def _retire(self, ws: ClientConnection | None, reader: asyncio.Task[None] | None) -> None:
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2.0)
        if reader is not None:
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _read(self, ws: ClientConnection) -> None:
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        dispatch = self.client._dispatch
        rejects = self.client.rejects
        try:
            async for raw in ws:
                try:
                    msg = loads(raw)
                except decode_error:
                    rejects.add("malformed_json", str(raw)[:120])
                    continue
                if type(msg) is dict:
                    if "id" in msg and ("result" in msg or "error" in msg or "code" in msg):
                        self._on_reply(msg)
                        continue
                    if msg.get("stream") == "!serverShutdown" or msg.get("e") == "serverShutdown":
                        self._planned.set()
                        continue
                dispatch(msg)
        except ConnectionClosed:
            pass

    # ------------------------------------------------------------------ control messages
    async def _control(self, ws: ClientConnection, method: str, params: list[str]) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE at a safe rate and wait for the acknowledgement. The limit
        counts pings and pongs too, so two messages a second are left for them."""
        rate = max(1.0, self.client.spec.control_msgs_per_s - 2)
        now = time.monotonic()
        while self._sent and now - self._sent[0] >= 1.0:
            self._sent.popleft()
        if len(self._sent) >= rate:
            await asyncio.sleep(1.0 - (now - self._sent[0]))
        self._sent.append(time.monotonic())
        rid = next(self._ids)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[rid] = fut
        await ws.send(orjson.dumps({"method": method, "params": params, "id": rid}).decode())
        try:
            await asyncio.wait_for(fut, self.client.config.ack_timeout)
        except TimeoutError:
            log.warning("%s stream %d: no answer to %s within %.0f s", self.client.spec.venue, self.index,
                        method, self.client.config.ack_timeout)
        except _ControlRefused as e:
            self.client.rejects.add("control_error", f"{method} {params[:3]}: {e}")
        finally:
            self._acks.pop(rid, None)

    def _on_reply(self, msg: dict[str, Any]) -> None:
        fut = self._acks.get(msg.get("id"))  # type: ignore[arg-type]
        if fut is None or fut.done():
            return
        err = msg.get("error")
        if err is None and "code" in msg:
            err = msg
        if err is not None:
            fut.set_exception(_ControlRefused(str(err.get("msg", err)) if isinstance(err, dict) else str(err)))
        else:
            fut.set_result(None)


class _ControlRefused(Exception):
    pass


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
