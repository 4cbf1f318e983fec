"""Per-call latency of the store writes on the order path (what ``tradeterm/brokers/core.py``
asks of the store before an order is sent or after an update arrives).

Calls measured, each on its own, in a loop:

* ``decision``  ``store.write([DecisionV1])``            (place_bracket: the intent, before sending)
* ``order+fill`` ``store.write([OrderUpdateV1, Fill])``  (the update journal, one transaction)
* ``audit``     ``store.append_audit(kind, msg, data)``  (kill switch, errors)

in two settings: ``alone`` (nothing else uses the store) and ``busy`` (a concurrent writer keeps
writing candle batches, ``--batch`` closed candles per ``upsert_candle_events``, plus a handful of
analysis events, like the pipeline's candle writer and analysis stage do). Figures are p50/p99
in milliseconds per call, the median over ``--runs`` fresh databases.

    python bench/store_latency_bench.py                     # SQLite, 3 runs
    python bench/store_latency_bench.py --backends sqlite postgres --calls 300
    TRADETERM_TEST_PG_DSN=postgresql://postgres@127.0.0.1:5432/test python bench/store_latency_bench.py --backends postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from tradeterm.contracts import CandleV1, DecisionV1, FeaturesV1, OrderUpdateV1
from tradeterm.store import Store, create_store
from tradeterm.store.records import Fill

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
SYMBOLS = [f"S{i:02d}USDT" for i in range(20)]


def decision(i: int) -> DecisionV1:
    return DecisionV1(
        decision_id=f"d-{i}",
        signal_id=f"sig-{i}",
        venue="binance-spot",
        symbol="BTCUSDT",
        side="BUY",
        status="APPROVED",
        entry=Decimal("42000.10"),
        stop=Decimal("41800.05"),
        quantity=Decimal("0.003"),
        take_profits=[],
        risk_amount=Decimal("0.60015"),
        created_at=T0 + i,
        expires_at=T0 + i + 3_600_000,
        reasons=["bench"],
    )


def order_and_fill(i: int) -> list[object]:
    u = OrderUpdateV1(
        venue="binance-spot",
        symbol="BTCUSDT",
        client_order_id=f"d-{i}-E",
        exchange_order_id=str(i),
        decision_id=f"d-{i}",
        leg="ENTRY",
        side="BUY",
        order_type="LIMIT",
        status="FILLED",
        price=Decimal("42000.10"),
        orig_qty=Decimal("0.003"),
        filled_qty=Decimal("0.003"),
        avg_price=Decimal("42000.10"),
        last_fill_qty=Decimal("0.003"),
        last_fill_price=Decimal("42000.10"),
        fee=Decimal("0.00000300"),
        fee_asset="BTC",
        event_time=T0 + i,
        sequence=1,
    )
    fill = Fill(
        venue="binance-spot",
        symbol="BTCUSDT",
        client_order_id=u.client_order_id,
        trade_id=str(i),
        side="BUY",
        price=Decimal("42000.10"),
        quantity=Decimal("0.003"),
        quote_quantity=Decimal("126.0003"),
        fee=Decimal("0.00000300"),
        fee_asset="BTC",
        is_maker=True,
        time=T0 + i,
    )
    return [u, fill]


def candle_batch(step: int, n: int) -> list[object]:
    out: list[object] = []
    for k in range(n):
        sym = SYMBOLS[k % len(SYMBOLS)]
        t = T0 + (step * n + k) * 60_000
        out.append(
            CandleV1(
                venue="binance-spot",
                symbol=sym,
                tf="1m",
                open_time=t,
                close_time=t + 59_999,
                open=100.0,
                high=101.0,
                low=99.0,
                close=100.5,
                volume=5.0,
                closed=True,
            )
        )
    return out


def features(step: int) -> list[object]:
    return [
        FeaturesV1(
            venue="binance-spot",
            symbol=sym,
            tf="1m",
            time=T0 + step * 60_000,
            confirmed_at=T0 + step * 60_000 + 59_999,
            values={"ema_20": 100.0 + step, "rsi_14": 50.0},
        )
        for sym in SYMBOLS[:5]
    ]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def measure(
    store: Store, calls: int, busy: bool, batch: int
) -> dict[str, tuple[float, float]]:
    stop = asyncio.Event()

    async def background() -> None:
        step = 0
        while not stop.is_set():
            await store.upsert_candle_events(candle_batch(step, batch))  # type: ignore[arg-type]
            await store.write(features(step))  # type: ignore[arg-type]
            step += 1
            await asyncio.sleep(0)

    bg = asyncio.create_task(background()) if busy else None
    await asyncio.sleep(0.05 if busy else 0)
    base = 1_000_000 if busy else 0
    kinds: dict[str, Callable[[int], Awaitable[object]]] = {
        "decision": lambda i: store.write([decision(base + i)]),
        "order+fill": lambda i: store.write(order_and_fill(base + i)),  # type: ignore[arg-type]
        "audit": lambda i: store.append_audit("bench", "latency probe", {"i": i}),
    }
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        for i in range(calls):
            for name, call in kinds.items():
                t = time.perf_counter()
                await call(i)
                samples[name].append((time.perf_counter() - t) * 1000)
                # The order path is not a tight loop: give the background writer room to queue.
                await asyncio.sleep(0.002 if busy else 0)
    finally:
        stop.set()
        if bg is not None:
            await bg
    return {k: (statistics.median(v), pct(v, 99)) for k, v in samples.items()}


@asynccontextmanager
async def fresh_url(backend: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            yield f"sqlite://{Path(d) / 'bench.db'}"
        return
    dsn = os.environ.get("TRADETERM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    parts = urlsplit(dsn)
    query = urlencode([*parse_qsl(parts.query), ("search_path", schema)])
    try:
        yield urlunsplit(parts._replace(query=query))
    finally:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


async def one_run(
    backend: str, calls: int, batch: int
) -> dict[str, dict[str, tuple[float, float]]]:
    out = {}
    for busy in (False, True):
        async with fresh_url(backend) as url, create_store(url) as store:
            out["busy" if busy else "alone"] = await measure(store, calls, busy, batch)
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--backends", nargs="+", default=["sqlite"], choices=["sqlite", "postgres"])
    p.add_argument("--calls", type=int, default=300, help="calls of each kind per setting")
    p.add_argument("--batch", type=int, default=200, help="candles per background batch")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    for backend in a.backends:
        runs = [asyncio.run(one_run(backend, a.calls, a.batch)) for _ in range(a.runs)]
        print(
            f"{backend}: ms per call, median of {a.runs} runs ({a.calls} calls each; "
            f"busy = concurrent {a.batch}-candle batches + features)"
        )
        for setting in ("alone", "busy"):
            for kind in runs[0][setting]:
                p50 = statistics.median(r[setting][kind][0] for r in runs)
                p99 = statistics.median(r[setting][kind][1] for r in runs)
                print(f"  {setting:5} {kind:10} p50 {p50:7.2f}  p99 {p99:7.2f}")


if __name__ == "__main__":
    main()
