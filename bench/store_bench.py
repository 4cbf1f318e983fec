"""Candle upsert throughput of the store backends.

For each backend and batch size: a fresh database, one ``upsert_candles`` of N synthetic 1m
candles (first write), the same call again (re-write, which must change nothing), and a
``fetch_candles`` of them all (read). Figures are rows per second, the median over ``--runs``
fresh databases. The re-write is verified, not assumed: it must report 0 changed rows, leave the
row count and a checksum of every stored value unchanged, and on Postgres leave every row's
``xmin`` (its row version) as it was.

Postgres is measured twice: with its default bulk path (COPY + MERGE) and with the
``INSERT … ON CONFLICT`` fallback, which is the comparison that chose the default.

    python bench/store_bench.py                          # 100k and 1M rows, 3 runs each
    python bench/store_bench.py --rows 100000 --runs 5 --backends sqlite
    TRADETERM_TEST_PG_DSN=postgresql://postgres@127.0.0.1:5432/test python bench/store_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import numpy as np

from tradeterm.market.frame import CandleFrame
from tradeterm.store import Store, create_store

VENUE = "binance-spot"
SYMBOL = "BTCUSDT"
START_MS = 1_500_000_000_000 - 1_500_000_000_000 % 60_000
GOALS = {"sqlite": 100_000, "postgres": 200_000}


@dataclass(frozen=True)
class Run:
    first: float
    rewrite: float
    read: float


def synthetic_frame(n: int, seed: int) -> CandleFrame:
    rng = np.random.default_rng(seed)
    close = 20_000 + np.cumsum(rng.normal(0, 10, n))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = rng.random((2, n)) * 5
    volume = rng.random(n) * 50
    return CandleFrame.from_columns(
        SYMBOL,
        "1m",
        START_MS + np.arange(n, dtype=np.int64) * 60_000,
        open_,
        np.maximum(open_, close) + spread[0],
        np.minimum(open_, close) - spread[1],
        close,
        volume,
        quote_volume=volume * close,
        trades=rng.integers(1, 5_000, n),
        taker_buy_base=volume / 2,
        taker_buy_quote=volume * close / 2,
    )


def digest(frame: CandleFrame | None) -> str:
    h = hashlib.sha256()
    if frame is not None:
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
            h.update(np.ascontiguousarray(getattr(frame, name)).tobytes())
    return h.hexdigest()


@asynccontextmanager
async def fresh_database(backend: str, dsn: str | None, tmp: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        path = tmp / f"bench-{secrets.token_hex(4)}.db"
        try:
            yield f"sqlite://{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert dsn is not None
    schema = f"tt_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"] + [
        ("search_path", schema)
    ]
    try:
        yield urlunsplit(parts._replace(query=urlencode(query)))
    finally:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


async def row_versions(url: str) -> str | None:
    """Postgres: a digest of every candle row's xmin; any rewrite of a row changes it."""
    if not url.startswith("postgresql"):
        return None
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT md5(string_agg(xmin::text, ',' ORDER BY series_id, open_time)) FROM candles"
        )
    finally:
        await conn.close()


async def one_run(backend: str, variant: str, n: int, seed: int, dsn: str | None, tmp: Path) -> Run:
    frame = synthetic_frame(n, seed)
    async with fresh_database(backend, dsn, tmp) as url, create_store(url) as store:
        if variant == "on-conflict":
            store.use_merge = False  # type: ignore[attr-defined]
        t = time.perf_counter()
        written = await store.upsert_candles(frame, VENUE)
        first = n / (time.perf_counter() - t)
        if written != n:
            raise SystemExit(f"{backend}: first write reported {written} rows, expected {n}")
        before = (
            await count(store),
            digest(await store.fetch_candles(VENUE, SYMBOL, "1m")),
            await row_versions(url),
        )

        t = time.perf_counter()
        changed = await store.upsert_candles(frame, VENUE)
        rewrite = n / (time.perf_counter() - t)

        t = time.perf_counter()
        fetched = await store.fetch_candles(VENUE, SYMBOL, "1m")
        read = n / (time.perf_counter() - t)
        after = (await count(store), digest(fetched), await row_versions(url))
        if changed != 0 or after != before or before[0] != n or before[1] != digest(frame):
            raise SystemExit(
                f"{backend}: the re-write changed data (reported {changed}; before {before}, after {after})"
            )
    return Run(first, rewrite, read)


async def count(store: Store) -> int:
    return await store.candle_count(VENUE, SYMBOL, "1m")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        default="100000,1000000",
        help="comma-separated batch sizes (default: %(default)s)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="fresh databases per figure; the median is shown (default: 3)",
    )
    parser.add_argument("--backends", default="sqlite,postgres", help="default: %(default)s")
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("TRADETERM_BENCH_PG_DSN") or os.environ.get("TRADETERM_TEST_PG_DSN"),
        help="Postgres server (default: $TRADETERM_BENCH_PG_DSN or $TRADETERM_TEST_PG_DSN)",
    )
    parser.add_argument(
        "--tmp", default=None, help="directory for SQLite files (default: the system temp dir)"
    )
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.rows.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "postgres" in backends and not args.pg_dsn:
        print("postgres: skipped (no --pg-dsn and no TRADETERM_TEST_PG_DSN)", file=sys.stderr)
        backends.remove("postgres")

    cases = [
        (b, v)
        for b in backends
        for v in (("merge", "on-conflict") if b == "postgres" else ("executemany",))
    ]
    header = f"{'backend':<9}{'bulk path':<13}{'rows':>10}{'first write':>15}{'re-write':>15}{'read':>15}  goal"
    print(
        f"median of {args.runs} runs, rows/s; re-writes verified unchanged (count, checksum, xmin on Postgres)"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for n in sizes:
            for backend, variant in cases:
                runs = [
                    await one_run(backend, variant, n, seed, args.pg_dsn, Path(tmp))
                    for seed in range(args.runs)
                ]
                first, rewrite, read = (
                    statistics.median(getattr(r, f) for r in runs)
                    for f in ("first", "rewrite", "read")
                )
                goal = GOALS[backend]
                verdict = "ok" if min(first, rewrite) >= goal else f"below {goal:,}"
                print(
                    f"{backend:<9}{variant:<13}{n:>10,}{first:>15,.0f}{rewrite:>15,.0f}{read:>15,.0f}  {verdict}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
