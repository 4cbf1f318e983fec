"""Cancelling a task in the middle of a store write (a pipeline stage shut down, a ``wait_for``
timing out) must not tear the transaction: the write is wholly in or wholly out, the connection
is usable by the next caller, and the cancelled caller gets ``CancelledError`` without waiting
for the database.

The bug this guards against: on SQLite, ``BEGIN IMMEDIATE`` and ``COMMIT`` were separate jobs on
the shared connection's thread, so a task cancelled between them left the connection inside its
transaction and every later write failed with "cannot start a transaction within a transaction".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import numpy as np
from conftest import T0

from tradeterm.contracts import DecisionV1, OrderUpdateV1
from tradeterm.market.frame import CandleFrame
from tradeterm.store import Store

MINUTE = 60_000


def _decision(i: int) -> DecisionV1:
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
        reasons=["ok"],
    )


def _order(i: int) -> OrderUpdateV1:
    return OrderUpdateV1(
        venue="binance-spot",
        symbol="BTCUSDT",
        client_order_id=f"d-{i}-E",
        decision_id=f"d-{i}",
        leg="ENTRY",
        side="BUY",
        order_type="LIMIT",
        status="NEW",
        price=Decimal("42000.10"),
        orig_qty=Decimal("0.003"),
        filled_qty=Decimal(0),
        event_time=T0 + i,
        sequence=1,
    )


def _frame(n: int, start: int) -> CandleFrame:
    close = 100 + np.arange(n, dtype=np.float64) % 7
    return CandleFrame.from_columns(
        "ETHUSDT",
        "1m",
        T0 + (start + np.arange(n, dtype=np.int64)) * MINUTE,
        close,
        close + 1,
        close - 1,
        close,
        np.ones(n),
    )


async def _cancel_after(coro: Awaitable[Any], steps: int, pause: float) -> bool:
    """Start ``coro`` in a task, let it run ``steps`` loop iterations (and ``pause`` seconds),
    cancel it, and check the caller hears of it at once. True if it finished before the cancel."""
    task = asyncio.ensure_future(coro)
    for _ in range(steps):
        await asyncio.sleep(0)
    if pause:
        await asyncio.sleep(pause)
    finished = task.done()
    task.cancel()
    # Promptly: a few loop iterations, never a wait for the database to finish the write.
    for _ in range(5):
        if task.done():
            break
        await asyncio.sleep(0)
    assert task.done(), "a cancelled store call kept its caller waiting"
    if not task.cancelled():
        task.result()  # finished before the cancel: it must not have failed
    return finished


SCHEDULE = [(steps, 0.0) for steps in range(12)] + [(0, p) for p in (0.0005, 0.001, 0.002, 0.004)]


async def test_cancelled_event_write_is_whole_and_store_stays_usable(store: Store) -> None:
    for i, (steps, pause) in enumerate(SCHEDULE):
        await _cancel_after(store.write([_decision(i), _order(i)]), steps, pause)
        # The next write must work (it failed with "cannot start a transaction within a
        # transaction" before the fix) ...
        assert await store.write([_decision(10_000 + i)]) == 1
        assert [
            d.decision_id
            for d in await store.read("decision.v1")
            if d.decision_id == f"d-{10_000 + i}"
        ]
    # ... and each cancelled write landed whole or not at all: decision and order together.
    decisions = {d.decision_id for d in await store.read("decision.v1")}  # type: ignore[attr-defined]
    orders = {o.decision_id for o in await store.list_orders()}
    for i in range(len(SCHEDULE)):
        assert (f"d-{i}" in decisions) == (f"d-{i}" in orders), i


async def test_cancelled_candle_and_audit_writes(store: Store) -> None:
    n = 3000  # big enough to be cancelled mid-write (and to take the COPY path on Postgres)
    for i, (steps, pause) in enumerate(SCHEDULE):
        start = i * n
        await _cancel_after(store.upsert_candles(_frame(n, start), "binance-spot"), steps, pause)
        count = await store.candle_count(
            "binance-spot", "ETHUSDT", "1m", T0 + start * MINUTE, T0 + (start + n) * MINUTE
        )
        assert count in (0, n), (i, count)
        await _cancel_after(store.append_audit("cancel", f"probe {i}", {"i": i}), steps, pause)
        await store.append_audit("after", f"after {i}")
        note = store.add_journal_note(f"note {i}", tags=["a", "b"])
        await _cancel_after(note, steps, pause)
    assert len(await store.list_audit(kind="after", limit=None)) == len(SCHEDULE)
    for note in await store.list_journal():
        assert note.tags == ("a", "b")  # a note and its tags are one transaction
    assert await store.upsert_candles(_frame(5, 10**6), "binance-spot") == 5


async def test_cancel_storm_with_concurrent_writers(store: Store) -> None:
    """Many writers at once, some cancelled at random points; nothing is left half-done and the
    store keeps working (on Postgres: no pool connection is handed back busy or in a
    transaction)."""
    rng = np.random.default_rng(7)
    calls: list[Callable[[int], Awaitable[Any]]] = [
        lambda i: store.write([_decision(i), _order(i)]),
        lambda i: store.append_audit("storm", str(i)),
        lambda i: store.upsert_candles(_frame(200, 50_000 + i * 200), "binance-spot"),
    ]
    for round_ in range(6):
        tasks = [asyncio.ensure_future(calls[k % len(calls)](round_ * 100 + k)) for k in range(12)]
        for _ in range(int(rng.integers(0, 6))):
            await asyncio.sleep(0)
        for t in tasks[:: int(rng.integers(1, 4))]:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for r in results:
            assert not isinstance(r, Exception), r
        assert await store.write([_decision(90_000 + round_)]) == 1
    decisions = {d.decision_id for d in await store.read("decision.v1")}  # type: ignore[attr-defined]
    orders = {o.decision_id for o in await store.list_orders()}
    assert {d for d in decisions if int(d[2:]) < 90_000} == orders
