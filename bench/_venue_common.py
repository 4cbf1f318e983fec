"""What the venue benches share: stopping the venue's process, and counting stream messages.

The benches run the venue in a spawned process (so its event loop is not the client's) and talk
to it over loopback, as a user's client would."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from typing import Any


def stop_venue(proc: mp.Process, conn: Any) -> None:
    """Ask the venue process to stop (its loop polls ``conn``); kill it if it will not."""
    conn.send("stop")
    proc.join(10)
    if proc.is_alive():
        proc.kill()


async def count_stream_messages(url: str, clients: int, seconds: float) -> tuple[int, float]:
    """Messages received by ``clients`` WebSocket clients of ``url`` in about ``seconds``, after a
    one-second warm-up (connections up, replay running); returns (messages, measured seconds)."""
    from websockets.asyncio.client import connect

    counts = [0] * clients
    stop = asyncio.Event()

    async def client(k: int) -> None:
        async with connect(url, max_queue=None) as ws:
            async for _ in ws:
                counts[k] += 1
                if stop.is_set():
                    return

    tasks = [asyncio.create_task(client(k)) for k in range(clients)]
    await asyncio.sleep(1.0)
    start_total, t0 = sum(counts), time.perf_counter()
    await asyncio.sleep(seconds)
    total, dt = sum(counts) - start_total, time.perf_counter() - t0
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return total, dt
