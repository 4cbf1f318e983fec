"""StreamClient against a tiny local WebSocket server that speaks Binance's stream protocol:
splitting across connections, URL + SUBSCRIBE, run-time (un)subscription, reconnect after a drop
with resubscription, make-before-break on serverShutdown and on age, garbage frames, backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from tests.waiting import until
from tradeterm.market.backoff import Backoff
from tradeterm.market.spec import SPOT, USDM
from tradeterm.market.stream import StreamClient, StreamConfig


class FakeExchange:
    """Records every connection's path and streams; acks control messages like Binance."""

    def __init__(self) -> None:
        self.open: dict[ServerConnection, set[str]] = {}
        self.paths: list[str] = []
        self.control: list[dict[str, Any]] = []
        self.max_open = 0
        self.server: Server | None = None
        self.refuse_method: str | None = None

    async def handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        self.paths.append(path)
        q = parse_qs(urlsplit(path).query).get("streams", [""])[0]
        self.open[ws] = {s for s in q.split("/") if s}
        self.max_open = max(self.max_open, len(self.open))
        try:
            async for raw in ws:
                m = orjson.loads(raw)
                self.control.append(m)
                if m.get("method") == self.refuse_method:
                    await ws.send(orjson.dumps({"code": 2, "msg": "Invalid request", "id": m["id"]}))
                    continue
                if m["method"] == "SUBSCRIBE":
                    self.open[ws] |= set(m["params"])
                elif m["method"] == "UNSUBSCRIBE":
                    self.open[ws] -= set(m["params"])
                await ws.send(orjson.dumps({"result": None, "id": m["id"]}))
        except Exception:  # noqa: BLE001, S110 - a client going away is normal for a test server
            pass
        finally:
            self.open.pop(ws, None)

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    def streams(self) -> set[str]:
        return set().union(*self.open.values()) if self.open else set()

    async def push(self, stream: str, data: Any, *, raw: str | None = None) -> None:
        text = raw if raw is not None else orjson.dumps({"stream": stream, "data": data}).decode()
        for ws, names in list(self.open.items()):
            if raw is not None or stream in names:
                await ws.send(text)

    async def drop_all(self) -> None:
        for ws in list(self.open):
            await ws.close()


@pytest.fixture
async def exchange() -> AsyncIterator[FakeExchange]:
    ex = FakeExchange()
    ex.server = await serve(ex.handler, "127.0.0.1", 0)
    yield ex
    ex.server.close()
    await ex.server.wait_closed()


FAST = {"backoff_base": 0.01, "backoff_cap": 0.05, "ping_interval": None, "ack_timeout": 5.0}


def names(n: int, prefix: str = "sym") -> list[str]:
    return [f"{prefix}{i}usdt@kline_1m" for i in range(n)]


async def test_streams_are_split_across_connections_via_url_and_subscribe(exchange: FakeExchange) -> None:
    got: list[Any] = []
    client = StreamClient(exchange.url, SPOT, got.append,
                          config=StreamConfig(max_streams=3, url_streams=2, subscribe_batch=1, **FAST))
    async with client:
        await client.subscribe(names(7))
        assert len(client.connections) == 3
        assert exchange.streams() == set(names(7))
        assert sorted(len(s) for s in exchange.open.values()) == [1, 3, 3]
        assert all(p.startswith("/stream?streams=") and p.count("@") <= 2 for p in exchange.paths)
        subs = [m for m in exchange.control if m["method"] == "SUBSCRIBE"]
        assert len(subs) == 2 and all(len(m["params"]) == 1 for m in subs)
        await exchange.push("sym5usdt@kline_1m", {"e": "kline", "n": 5})
        await until(lambda: len(got) == 1, "the pushed frame")
        assert got[0] == {"stream": "sym5usdt@kline_1m", "data": {"e": "kline", "n": 5}}


async def test_subscribe_and_unsubscribe_at_run_time(exchange: FakeExchange) -> None:
    client = StreamClient(exchange.url, SPOT, lambda m: None, config=StreamConfig(max_streams=2, **FAST))
    async with client:
        await client.subscribe(["btcusdt@kline_1m"])
        await client.subscribe(["ethusdt@kline_1m", "btcusdt@kline_1m"])  # a repeat is a no-op
        assert exchange.streams() == {"btcusdt@kline_1m", "ethusdt@kline_1m"} and len(exchange.open) == 1
        await client.unsubscribe(["btcusdt@kline_1m"])
        assert exchange.streams() == {"ethusdt@kline_1m"}
        assert client.streams == frozenset({"ethusdt@kline_1m"})
        await client.unsubscribe(["ethusdt@kline_1m"])
        await until(lambda: not exchange.open, "the empty connection to close")
        assert client.connections == []


async def test_concurrent_subscriptions_share_one_subscribe_message(exchange: FakeExchange) -> None:
    client = StreamClient(exchange.url, SPOT, lambda m: None, config=StreamConfig(**FAST))
    async with client:
        await client.subscribe(["a@kline_1m"])
        await asyncio.gather(*(client.subscribe([f"s{i}@kline_1m"]) for i in range(12)))
        subs = [m for m in exchange.control if m["method"] == "SUBSCRIBE"]
        assert len(subs) <= 2  # the first call's own message, then the other eleven together
        assert exchange.streams() == {"a@kline_1m", *(f"s{i}@kline_1m" for i in range(12))}


async def test_futures_use_the_routed_market_path(exchange: FakeExchange) -> None:
    client = StreamClient(exchange.url, USDM, lambda m: None, config=StreamConfig(**FAST))
    async with client:
        await client.subscribe(["btcusdt@kline_1m", "btcusdt@markPrice@1s"])
    assert exchange.paths[0] == "/market/stream?streams=btcusdt@kline_1m/btcusdt@markPrice@1s"
    assert StreamClient("wss://fstream.binance.com/market", USDM, lambda m: None).url_for(["a"]) == \
        "wss://fstream.binance.com/market/stream?streams=a"


async def test_reconnect_after_a_drop_resubscribes_everything(exchange: FakeExchange) -> None:
    connects: list[frozenset[str]] = []
    client = StreamClient(exchange.url, SPOT, lambda m: None, on_connect=connects.append,
                          config=StreamConfig(url_streams=1, **FAST))
    async with client:
        await client.subscribe(["a@kline_1m"])
        await client.subscribe(["b@kline_1m"])  # added by SUBSCRIBE on the live socket
        await exchange.drop_all()
        await until(lambda: len(connects) == 2 and exchange.streams() == {"a@kline_1m", "b@kline_1m"},
                    "the reconnect")
        assert connects[1] == frozenset({"a@kline_1m", "b@kline_1m"})
        assert client.drops == 1 and client.connects == 2


async def test_server_shutdown_replaces_the_connection_before_closing_it(exchange: FakeExchange) -> None:
    got: list[Any] = []
    connects: list[frozenset[str]] = []
    client = StreamClient(exchange.url, SPOT, got.append, on_connect=connects.append, config=StreamConfig(**FAST))
    async with client:
        await client.subscribe(["a@kline_1m"])
        await exchange.push("", None, raw='{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}')
        await until(lambda: client.planned == 1 and len(connects) == 2 and len(exchange.open) == 1,
                    "the planned replacement")
        assert exchange.max_open == 2  # the new socket was open before the old one closed
        assert client.drops == 0 and got == []  # the shutdown notice is not a market event


async def test_connection_is_replaced_before_its_age_limit(exchange: FakeExchange) -> None:
    client = StreamClient(exchange.url, SPOT, lambda m: None, config=StreamConfig(max_age=0.2, **FAST))
    async with client:
        await client.subscribe(["a@kline_1m"])
        await until(lambda: client.planned >= 2, "two planned reconnects")
        assert client.drops == 0 and exchange.streams() == {"a@kline_1m"}


async def test_garbage_frames_are_counted_and_a_failing_handler_does_not_kill_the_socket(
        exchange: FakeExchange) -> None:
    got: list[Any] = []

    def handler(msg: Any) -> None:
        if msg == "boom":
            raise RuntimeError("a bug downstream")
        got.append(msg)

    client = StreamClient(exchange.url, SPOT, handler, config=StreamConfig(**FAST))
    async with client:
        await client.subscribe(["a@kline_1m"])
        for raw in ("{not json", "", "\x00\xff", '"boom"', "[1,2]", '{"stream":"a@kline_1m","data":{"e":"x"}}'):
            await exchange.push("", None, raw=raw)
        await until(lambda: len(got) == 2, "the valid frames")
        assert got == [[1, 2], {"stream": "a@kline_1m", "data": {"e": "x"}}]
        assert client.rejects.counts == {"malformed_json": 3}
        assert client.handler_errors == 1 and client.drops == 0


async def test_refused_subscription_is_counted_not_fatal(exchange: FakeExchange) -> None:
    exchange.refuse_method = "SUBSCRIBE"
    client = StreamClient(exchange.url, SPOT, lambda m: None, config=StreamConfig(**FAST))
    async with client:
        await client.subscribe(["a@kline_1m"])
        await client.subscribe(["b@kline_1m"])
        assert client.rejects.counts == {"control_error": 1}
        assert client.drops == 0


async def test_unreachable_server_is_retried_with_backoff_until_it_appears() -> None:
    ex = FakeExchange()
    probe = await serve(ex.handler, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    client = StreamClient(f"ws://127.0.0.1:{port}", SPOT, lambda m: None,
                          config=StreamConfig(open_timeout=0.2, **FAST))
    async with client:
        await client.subscribe(["a@kline_1m"])  # returns although nothing is listening
        await until(lambda: client.failed_connects >= 3, "failed attempts")
        ex.server = await serve(ex.handler, "127.0.0.1", port)
        try:
            await until(lambda: ex.streams() == {"a@kline_1m"}, "the connection once the server is up")
        finally:
            await client.close()
            ex.server.close()
            await ex.server.wait_closed()


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    top = Backoff(0.5, 8.0, rand=lambda: 1.0)
    assert [top.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    top.reset()
    assert top.next_delay() == 0.5
    draws = iter([0.0, 0.25, 0.5])
    jit = Backoff(1.0, 60.0, rand=lambda: next(draws))
    assert [jit.next_delay() for _ in range(3)] == [0.0, 0.5, 2.0]  # uniform in [0, ceiling]
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


async def test_server_pings_are_answered_and_a_silent_link_is_detected() -> None:
    ex = FakeExchange()
    # The server pings every 50 ms and drops a client that does not pong within 100 ms.
    ex.server = await serve(ex.handler, "127.0.0.1", 0, ping_interval=0.05, ping_timeout=0.1, close_timeout=0.1)
    connects: list[frozenset[str]] = []
    cfg = StreamConfig(backoff_base=0.01, backoff_cap=0.05, ping_interval=0.05, ping_timeout=0.2)
    client = StreamClient(ex.url, SPOT, lambda m: None, on_connect=connects.append, config=cfg)
    try:
        async with client:
            await client.subscribe(["a@kline_1m"])
            first = next(iter(ex.open))
            await until(lambda: first.latency > 0, "a ping round trip")  # pongs flow both ways
            await asyncio.sleep(0.3)  # several server ping intervals: a client that ignored them is gone
            assert client.drops == 0 and len(connects) == 1
            # The link goes silent (the server stops reading: no pongs for our pings): found and replaced.
            first.transport.pause_reading()
            await until(lambda: client.drops == 1 and len(connects) == 2, "the dead link to be replaced")
    finally:
        ex.server.close()
        await ex.server.wait_closed()
