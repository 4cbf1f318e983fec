"""Waiting for a condition in async tests: the deadline only stops a hang, nothing asserts on
timing (a slow shared CI machine must not fail a test that is merely slow)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

DEADLINE_S = 90.0


async def until(cond: Callable[[], object], what: str = "the condition", timeout: float = DEADLINE_S,
                poll: float = 0.02) -> None:
    """Return as soon as ``cond()`` is truthy; fail naming ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(poll)
