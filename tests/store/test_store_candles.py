"""Candles on both backends: exact round trips, idempotent re-writes, the bulk path."""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]
import numpy as np
import pytest

from tradeterm.contracts import CandleV1
from tradeterm.market.frame import CandleFrame
from tradeterm.store import create_store

VENUE = "binance-spot"
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000

PG_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""Run a ``db_url``/``store`` test on Postgres only."""


def make_frame(n: int, *, symbol: str = "BTCUSDT", start: int = T0, seed: int = 1) -> CandleFrame:
    """Random candles with full float64 precision (no round numbers that would hide a lossy
    conversion)."""
    rng = np.random.default_rng(seed)
    close = 30_000 + np.cumsum(rng.normal(0, 25, n))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) + rng.random(n) * 10
    low = np.minimum(open_, close) - rng.random(n) * 10
    volume = rng.random(n) * 100
    return CandleFrame.from_columns(
        symbol,
        "1m",
        start + np.arange(n, dtype=np.int64) * 60_000,
        open_,
        high,
        low,
        close,
        volume,
        quote_volume=volume * close,
        trades=rng.integers(0, 10_000, n),
        taker_buy_base=volume * rng.random(n),
        taker_buy_quote=volume * close * rng.random(n) / 2,
    )


def assert_same(a: CandleFrame | None, b: CandleFrame) -> None:
    assert a is not None
    assert (a.symbol, a.tf) == (b.symbol, b.tf)
    for name in (
        "open_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
        "trades",
        "taker_buy_base",
        "taker_buy_quote",
    ):
        got, want = getattr(a, name), getattr(b, name)
        assert got.dtype == want.dtype, name
        assert np.array_equal(got, want), name


@pytest.mark.parametrize("n", [50, 2500])  # below and above the Postgres COPY threshold
async def test_candles_round_trip_exactly(store, n: int) -> None:
    frame = make_frame(n)
    assert await store.upsert_candles(frame, VENUE) == n
    assert_same(await store.fetch_candles(VENUE, "BTCUSDT", "1m"), frame)
    assert await store.candle_count(VENUE, "btcusdt", "1m") == n


@pytest.mark.parametrize("n", [50, 2500])
async def test_rewrite_of_same_candles_changes_nothing(store, raw, n: int) -> None:
    frame = make_frame(n)
    await store.upsert_candles(frame, VENUE)
    before = await raw.dump()
    assert await store.upsert_candles(frame, VENUE) == 0
    assert await raw.dump() == before  # on Postgres this includes every row's xmin


@pytest.mark.parametrize("n", [50, 2500])
async def test_changed_candles_are_updated_and_only_those(store, n: int) -> None:
    frame = make_frame(n)
    await store.upsert_candles(frame, VENUE)
    close = frame.close.copy()
    close[[3, 7]] += 0.5
    high = np.maximum(frame.high, close)
    changed = CandleFrame.from_columns(
        "BTCUSDT",
        "1m",
        frame.open_time,
        frame.open,
        high,
        frame.low,
        close,
        frame.volume,
        frame.quote_volume,
        frame.trades,
        frame.taker_buy_base,
        frame.taker_buy_quote,
    )
    assert await store.upsert_candles(changed, VENUE) == 2
    assert_same(await store.fetch_candles(VENUE, "BTCUSDT", "1m"), changed)


@PG_ONLY
async def test_postgres_fallback_without_merge_is_equivalent(store, raw, monkeypatch) -> None:
    """The INSERT … ON CONFLICT bulk path (no MERGE: Postgres < 15, or a concurrent writer)."""
    monkeypatch.setattr(store, "use_merge", False)
    frame = make_frame(3000)
    assert await store.upsert_candles(frame, VENUE) == 3000
    before = await raw.dump()
    assert await store.upsert_candles(frame, VENUE) == 0
    assert await raw.dump() == before
    assert_same(await store.fetch_candles(VENUE, "BTCUSDT", "1m"), frame)


async def test_overlapping_batches_merge(store) -> None:
    frame = make_frame(300)
    assert await store.upsert_candles(frame.slice(0, 200), VENUE) == 200
    assert await store.upsert_candles(frame.slice(100, 300), VENUE) == 100
    assert_same(await store.fetch_candles(VENUE, "BTCUSDT", "1m"), frame)


async def test_duplicate_open_times_keep_the_last_row(store) -> None:
    frame = make_frame(5)
    idx = np.array([0, 1, 2, 1, 3, 4])
    dup = CandleFrame.from_columns(
        "BTCUSDT",
        "1m",
        frame.open_time[idx],
        frame.open[idx],
        frame.high[idx] + np.arange(6),
        frame.low[idx],
        frame.close[idx],
        frame.volume[idx],
    )
    assert await store.upsert_candles(dup, VENUE) == 5
    got = await store.fetch_candles(VENUE, "BTCUSDT", "1m")
    assert got is not None and got.high[1] == frame.high[1] + 3


async def test_fetch_ranges_and_limits(store) -> None:
    frame = make_frame(100)
    await store.upsert_candles(frame, VENUE)
    t = frame.open_time
    got = await store.fetch_candles(VENUE, "BTCUSDT", "1m", start_ms=int(t[10]), end_ms=int(t[20]))
    assert_same(got, frame.slice(10, 20))  # start inclusive, end exclusive
    assert_same(
        await store.fetch_candles(VENUE, "BTCUSDT", "1m", limit=5), frame.slice(95, 100)
    )  # latest
    assert_same(
        await store.fetch_candles(VENUE, "BTCUSDT", "1m", start_ms=int(t[40]), limit=5),
        frame.slice(40, 45),
    )
    assert (
        await store.candle_count(VENUE, "BTCUSDT", "1m", start_ms=int(t[10]), end_ms=int(t[20]))
        == 10
    )
    assert await store.fetch_candles(VENUE, "BTCUSDT", "1m", start_ms=int(t[-1]) + 1) is None
    assert await store.fetch_candles(VENUE, "ETHUSDT", "1m") is None
    assert await store.fetch_candles("other-venue", "BTCUSDT", "1m") is None
    assert await store.candle_count(VENUE, "BTCUSDT", "5m") == 0


async def test_series_are_separate(store) -> None:
    btc, eth = make_frame(30), make_frame(20, symbol="ETHUSDT", seed=2)
    await store.upsert_candles(btc, VENUE)
    await store.upsert_candles(eth, VENUE)
    await store.upsert_candles(btc.slice(0, 10), "binance-usdm")
    assert_same(await store.fetch_candles(VENUE, "ETHUSDT", "1m"), eth)
    assert await store.list_series() == [
        ("binance-spot", "BTCUSDT", "1m", 30, int(btc.open_time[0]), int(btc.open_time[-1])),
        ("binance-spot", "ETHUSDT", "1m", 20, int(eth.open_time[0]), int(eth.open_time[-1])),
        ("binance-usdm", "BTCUSDT", "1m", 10, int(btc.open_time[0]), int(btc.open_time[9])),
    ]


async def test_open_candle_never_overwrites_a_closed_one(store) -> None:
    frame = make_frame(3)
    final = frame.to_candles(VENUE, closed=True)
    forming = CandleV1(
        **{
            **final[2].model_dump(),
            "close": final[2].close + 1,
            "high": final[2].high + 1,
            "closed": False,
        }
    )
    assert await store.upsert_candle_events([forming]) == 1
    assert await store.fetch_candles(VENUE, "BTCUSDT", "1m", closed_only=True) is None
    assert await store.upsert_candle_events(final) == 3  # closed replaces the open bar
    assert await store.upsert_candle_events([forming]) == 0  # a late open update is ignored
    assert_same(await store.fetch_candles(VENUE, "BTCUSDT", "1m", closed_only=True), frame)
    # Both states of a bar in one batch, in either order: the closed one stays.
    later = make_frame(2, start=int(frame.open_time[-1]) + 60_000, seed=3).to_candles(VENUE)
    opened = [
        CandleV1(
            **{**c.model_dump(), "closed": False, "volume": c.volume / 2, "taker_buy_base": 0.0}
        )
        for c in later
    ]
    await store.upsert_candle_events([later[0], opened[0], opened[1], later[1]])
    got = await store.fetch_candles(VENUE, "BTCUSDT", "1m", closed_only=True)
    assert (
        got is not None and len(got) == 5 and got.volume[-2:].tolist() == [c.volume for c in later]
    )


@pytest.mark.parametrize("n", [50, 2500])
async def test_open_frames_are_stored_as_open(store, n: int) -> None:
    frame = make_frame(n)
    assert await store.upsert_candles(frame, VENUE, closed=False) == n
    assert await store.fetch_candles(VENUE, "BTCUSDT", "1m", closed_only=True) is None
    assert await store.upsert_candles(frame, VENUE, closed=True) == n  # only the flag changes
    assert_same(await store.fetch_candles(VENUE, "BTCUSDT", "1m", closed_only=True), frame)
    assert await store.upsert_candles(frame, VENUE, closed=False) == 0


async def test_large_candle_batches_for_two_series_in_one_write(store) -> None:
    """Two bulk-path frames in one transaction must not see each other's staged rows."""
    btc, eth = make_frame(2100), make_frame(2100, symbol="ETHUSDT", seed=5)
    events = btc.to_candles(VENUE) + eth.to_candles(VENUE)
    assert await store.write(events) == 4200
    assert await store.candle_count(VENUE, "BTCUSDT", "1m") == 2100
    assert_same(await store.fetch_candles(VENUE, "ETHUSDT", "1m"), eth)
    assert await store.write(events) == 0


async def test_frames_with_nan_are_refused(store) -> None:
    frame = make_frame(3)
    close = frame.close.copy()
    close[1] = np.nan
    bad = CandleFrame.from_columns(
        "BTCUSDT", "1m", frame.open_time, frame.open, frame.high, frame.low, close, frame.volume
    )
    with pytest.raises(ValueError, match="NaN"):
        await store.upsert_candles(bad, VENUE)
    with pytest.raises(ValueError, match="venue"):
        await store.upsert_candles(frame, "Binance Spot")
    assert await store.upsert_candles(frame.slice(0, 0), VENUE) == 0


async def test_candles_survive_reopening(db_url: str) -> None:
    frame = make_frame(40)
    async with create_store(db_url) as s:
        await s.upsert_candles(frame, VENUE)
    async with create_store(db_url) as s:
        assert_same(await s.fetch_candles(VENUE, "BTCUSDT", "1m"), frame)


@PG_ONLY
async def test_postgres_merge_losing_a_race_falls_back_to_on_conflict(store, db_url: str) -> None:
    """Another writer inserts a row of our batch while our MERGE runs: MERGE fails with a
    unique violation, and the bulk path retries as INSERT … ON CONFLICT instead of failing."""
    frame = make_frame(3000)
    await store.upsert_candles(frame.slice(2999, 3000), VENUE)  # creates the series
    other = await asyncpg.connect(db_url)
    try:
        sid = await other.fetchval("SELECT series_id FROM candle_series")
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "INSERT INTO candles VALUES ($1, $2::bigint, $2::bigint + 59999, 1, 1, 1, 1, 1, 1, 1, 1, 1, true)",
            sid,
            int(frame.open_time[5]),
        )
        task = asyncio.create_task(store.upsert_candles(frame, VENUE))
        for _ in range(400):  # until our MERGE waits on the other transaction's row
            blocked = await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                other.get_server_pid(),
            )
            if blocked:
                break
            await asyncio.sleep(0.025)
        else:
            pytest.fail("the MERGE never waited on the concurrent insert")
        await tx.commit()
        # 2998 inserted + the racing row updated to our values; the last row was already equal.
        assert await task == 2999
    finally:
        await other.close()
    assert_same(await store.fetch_candles(VENUE, "BTCUSDT", "1m"), frame)
