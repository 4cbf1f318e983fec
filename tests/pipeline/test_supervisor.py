"""Supervision: a failed worker is logged, shown, counted and restarted with capped, jittered backoff."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from tradeterm.pipeline.activity import ActivityLog
from tradeterm.pipeline.supervisor import BackoffPolicy, Supervisor

FAST = BackoffPolicy(base_s=0.001, cap_s=0.004, jitter=0.5)


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    exact = BackoffPolicy(base_s=0.5, cap_s=30.0, jitter=0.0)
    rng = random.Random(1)
    assert [exact.delay(n, rng) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert exact.delay(10_000, rng) == 30.0  # no overflow on a long crash loop
    jittered = BackoffPolicy(base_s=0.5, cap_s=30.0, jitter=0.5)
    delays = [jittered.delay(3, rng) for _ in range(200)]
    assert all(1.0 <= d <= 2.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # spread out, not in lock step


@pytest.mark.parametrize("kw", [{"base_s": 0}, {"base_s": 2, "cap_s": 1}, {"jitter": 1.5}])
def test_bad_backoff_is_refused(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(**kw)


async def test_failing_worker_is_logged_shown_counted_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    activity = ActivityLog()
    sup = Supervisor(activity, FAST, random.Random(7))
    runs = 0
    healthy = asyncio.Event()

    async def worker() -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            raise RuntimeError(f"boom {runs}")
        healthy.set()
        await asyncio.Event().wait()  # runs until cancelled

    with caplog.at_level(logging.WARNING, logger="tradeterm.pipeline.supervisor"):
        sup.spawn("stage", worker)
        await asyncio.wait_for(healthy.wait(), 30)
    w = sup.workers["stage"]
    assert (w.state, w.restarts, w.consecutive_failures, w.last_error) == ("running", 2, 2, "RuntimeError: boom 2")
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failed] == ["worker stage failed: RuntimeError: boom 1",
                                                "worker stage failed: RuntimeError: boom 2"]
    # The traceback reaches the process log (as exc_info, or as redacted exc_text once the
    # process's RedactingFilter has seen the record: another test may have installed it).
    assert all(r.exc_info is not None or "RuntimeError: boom" in (r.exc_text or "") for r in failed)
    lines = [line for line in activity.lines() if line.kind == "error"]
    assert len(lines) == 2 and lines[0].level == "ERROR" and "worker stage failed (RuntimeError: boom 1)" in lines[0].text
    await sup.stop()
    assert w.state == "stopped" and runs == 3


async def test_a_worker_that_returns_is_restarted_too() -> None:
    sup = Supervisor(None, FAST)
    runs = 0
    third = asyncio.Event()

    async def worker() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            third.set()
            await asyncio.Event().wait()

    sup.spawn("quiet", worker)
    await asyncio.wait_for(third.wait(), 30)
    assert sup.workers["quiet"].last_error == "returned unexpectedly" and sup.restarts == 2
    with pytest.raises(ValueError, match="already supervised"):
        sup.spawn("quiet", worker)
    await sup.stop()


async def test_stop_cancels_a_worker_waiting_for_its_restart() -> None:
    sup = Supervisor(None, BackoffPolicy(base_s=60, cap_s=60, jitter=0))
    failed = asyncio.Event()

    async def worker() -> None:
        failed.set()
        raise RuntimeError("down")

    sup.spawn("slow", worker)
    await asyncio.wait_for(failed.wait(), 30)
    await asyncio.sleep(0)
    assert sup.workers["slow"].state == "restarting" and sup.workers["slow"].next_restart_in_s == 60
    await sup.stop(timeout=10)
    assert sup.workers["slow"].state == "stopped"
