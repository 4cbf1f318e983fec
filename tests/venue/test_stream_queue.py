"""A market-stream connection's send queue (a deque drained by one writer task): order kept,
nothing lost across wake-ups, close after what was queued, pushes after close ignored, a client
that falls QUEUE_LIMIT behind is closed, and a failed send ends the writer like starlette's
``send_text`` would. No sockets: a stand-in records what the writer sends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect, WebSocketState

from tradeterm.venue import streams
from tradeterm.venue.streams import StreamConn, StreamHub, _writer


class FakeWs:
    def __init__(self, fail_after: int | None = None) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.application_state = WebSocketState.CONNECTED
        self._fail_after = fail_after

    async def _send(self, message: dict[str, Any]) -> None:
        assert message["type"] == "websocket.send"
        if self._fail_after is not None and len(self.sent) >= self._fail_after:
            raise OSError("connection reset")
        self.sent.append(message["text"])

    async def send_text(self, text: str) -> None:  # pragma: no cover - used only without ``_send``
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int = 1000) -> None:
        self.closed_with = code


def _conn(ws: FakeWs) -> StreamConn:
    return StreamConn(ws, combined=False)  # type: ignore[arg-type]


async def test_writer_sends_in_order_across_wakeups_then_closes_after_the_backlog() -> None:
    ws = FakeWs()
    conn = _conn(ws)
    conn.push("a")
    conn.push("b")
    task = asyncio.create_task(_writer(conn))
    await asyncio.sleep(0)
    assert ws.sent == ["a", "b"] and not task.done()  # idle: waiting for more
    for k in range(100):
        conn.push(f"m{k}")
        if k % 7 == 0:
            await asyncio.sleep(0)
    conn.close()
    conn.push("after-close")  # ignored
    await asyncio.wait_for(task, 5)
    assert ws.sent == ["a", "b", *(f"m{k}" for k in range(100))]
    assert ws.closed_with == 1000 and not conn.pending


async def test_hub_backlog_counts_what_is_not_yet_sent() -> None:
    hub = StreamHub()
    ws1, ws2 = FakeWs(), FakeWs()
    c1, c2 = _conn(ws1), _conn(ws2)
    for c in (c1, c2):
        hub.conns.add(c)
        hub.subscribe(c, ["btcusdt@kline_1m"])
    for k in range(5):
        hub.publish("btcusdt@kline_1m", {"k": k})
    assert hub.backlog() == 5
    assert ws1.sent == [] and list(c1.pending) == list(c2.pending)  # one encoding shared by both
    assert c1.pending[0] is c2.pending[0]
    tasks = [asyncio.create_task(_writer(c)) for c in (c1, c2)]
    await asyncio.sleep(0)
    assert hub.backlog() == 0 and ws1.sent == ws2.sent == [f'{{"k":{k}}}' for k in range(5)]
    hub.drop_all()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert ws1.closed_with == ws2.closed_with == 1000


async def test_a_client_that_falls_queue_limit_behind_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "QUEUE_LIMIT", 3)
    ws = FakeWs()
    conn = _conn(ws)
    for k in range(5):
        conn.push(str(k))
    assert conn.closed and list(conn.pending) == ["0", "1", "2"]
    await asyncio.wait_for(_writer(conn), 5)  # drains what it had, then closes
    assert ws.sent == ["0", "1", "2"] and ws.closed_with == 1000


async def test_a_failed_send_ends_the_writer_as_a_1006_disconnect() -> None:
    ws = FakeWs(fail_after=2)
    conn = _conn(ws)
    for k in range(4):
        conn.push(str(k))
    with pytest.raises(WebSocketDisconnect) as ei:
        await asyncio.wait_for(_writer(conn), 5)
    assert ei.value.code == 1006 and ws.application_state == WebSocketState.DISCONNECTED
    assert ws.sent == ["0", "1"] and ws.closed_with is None
