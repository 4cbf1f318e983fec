"""Bulk writes (candles, analysis events) must not hold the database ahead of the order path.

On SQLite a bulk write commits in chunks of ``BULK_CHUNK_ROWS`` rows and small writes (order
updates, decisions, audit) queued meanwhile run between two chunks. Before, a burst of analysis
events was one transaction at the same priority as the broker's writes, and an order update
waited behind it for up to ~80 ms in the end-to-end bench.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from conftest import T0

from tradeterm.contracts import CandleV1, FeaturesV1
from tradeterm.store import Store
from tradeterm.store.factory import create_store
from tradeterm.store.sqlite import BULK, BULK_CHUNK_ROWS, SMALL, SqliteStore

SERIES = {"venue": "binance-spot", "symbol": "BTCUSDT", "tf": "1m"}
MINUTE = 60_000


def _features(n: int) -> list[FeaturesV1]:
    return [FeaturesV1(**SERIES, time=T0 + i * MINUTE, confirmed_at=T0 + (i + 1) * MINUTE - 1,
                       values={"ema_20": 100.0 + i, "rsi_14": None}) for i in range(n)]


def _candles(n: int) -> list[CandleV1]:
    return [CandleV1(**SERIES, open_time=T0 + i * MINUTE, close_time=T0 + (i + 1) * MINUTE - 1,
                     open=100.0, high=101.0 + i, low=99.0, close=100.5, volume=1.0) for i in range(n)]


async def test_bulk_write_lands_whole_across_chunks(store: Store) -> None:
    n = BULK_CHUNK_ROWS * 3 + 5  # several chunks, the last one partial
    changed = await store.write([*_features(n), *_candles(n)], bulk=True)
    assert changed == 2 * n
    assert len(await store.read("features.v1", symbol="BTCUSDT")) == n
    assert await store.candle_count("binance-spot", "BTCUSDT", "1m", T0, T0 + n * MINUTE) == n
    # A replay of the same batch (a retry after a failed chunk) changes nothing and loses nothing.
    await store.write([*_features(n), *_candles(n)], bulk=True)
    assert len(await store.read("features.v1", symbol="BTCUSDT")) == n
    assert await store.candle_count("binance-spot", "BTCUSDT", "1m", T0, T0 + n * MINUTE) == n


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> SqliteStore:
    store = create_store(f"sqlite:///{tmp_path / 'bulk.db'}")
    assert isinstance(store, SqliteStore)
    await store.open()
    yield store  # type: ignore[misc]
    await store.close()


async def test_small_write_runs_between_chunks_of_a_bulk_write(sqlite_store: SqliteStore) -> None:
    worker = sqlite_store._require()
    order: list[str] = []
    first_running, release = threading.Event(), threading.Event()

    def chunk(name: str, block: bool = False):  # type: ignore[no-untyped-def]
        def job(conn: sqlite3.Connection) -> int:
            if block:
                first_running.set()
                assert release.wait(10)
            order.append(name)
            return 1
        return job

    bulk = asyncio.ensure_future(worker.run_chunks([chunk("bulk-1", block=True), chunk("bulk-2"), chunk("bulk-3")]))
    assert await asyncio.to_thread(first_running.wait, 10)
    small = asyncio.ensure_future(worker.run(chunk("small"), SMALL))
    later_bulk = asyncio.ensure_future(worker.run(chunk("later-bulk"), BULK))
    await asyncio.sleep(0.01)  # both are queued while the first chunk runs
    release.set()
    assert await bulk == 3
    await small, await later_bulk
    # The small write goes in after the running chunk; the bulk write keeps its place ahead of
    # the bulk job queued after it.
    assert order == ["bulk-1", "small", "bulk-2", "bulk-3", "later-bulk"]


async def test_failed_chunk_stops_the_rest_and_reaches_the_caller(sqlite_store: SqliteStore) -> None:
    worker = sqlite_store._require()
    ran: list[int] = []

    def ok(i: int):  # type: ignore[no-untyped-def]
        return lambda conn: ran.append(i) or 1

    def boom(conn: sqlite3.Connection) -> int:
        raise sqlite3.IntegrityError("chunk 2 is bad")

    with pytest.raises(sqlite3.IntegrityError, match="chunk 2 is bad"):
        await worker.run_chunks([ok(1), boom, ok(3)])
    assert ran == [1]
    assert await worker.run(ok(4), SMALL) == 1  # the worker goes on
    assert ran == [1, 4]


async def test_store_write_chunks_on_sqlite_and_a_small_write_gets_in(sqlite_store: SqliteStore) -> None:
    """Through the store API: a bulk write of many chunks and a small write issued right after
    it; the small one completes first (it waits for one chunk, not the batch)."""
    n = BULK_CHUNK_ROWS * 200  # ~0.1 s of chunks: the small write is queued long before the end
    done: list[str] = []

    async def tagged(name: str, coro) -> None:  # type: ignore[no-untyped-def]
        await coro
        done.append(name)

    bulk = asyncio.ensure_future(tagged("bulk", sqlite_store.write(_features(n), bulk=True)))
    await asyncio.sleep(0)  # the bulk job is queued (or running) first
    await tagged("audit", sqlite_store.append_audit("probe", "small write during a bulk one"))
    await bulk
    assert done == ["audit", "bulk"]
    assert len(await sqlite_store.read("features.v1", symbol="BTCUSDT")) == n
