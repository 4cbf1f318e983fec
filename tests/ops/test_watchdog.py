"""The daemon's last-resort exit: a shutdown stuck anywhere still ends, and says where it was.

Each case runs in a subprocess, because firing the watchdog ends the process it runs in."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from tradeterm.ops.watchdog import EXIT_STUCK

PRELUDE = """
import asyncio, time
from tradeterm.ops.watchdog import HardExit
"""


def _run(body: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=timeout)


def test_a_task_that_never_finishes_is_ended_with_its_stack_written() -> None:
    done = _run("""
        async def stuck_forever():
            await asyncio.Event().wait()  # nothing will ever set it

        async def main():
            HardExit(asyncio.get_running_loop(), 0.3).arm()
            await asyncio.create_task(stuck_forever(), name="the-stuck-one")

        asyncio.run(main())
    """)
    assert done.returncode == EXIT_STUCK
    assert "shutdown stuck for 0.3 s" in done.stderr
    assert "the-stuck-one" in done.stderr and "stuck_forever" in done.stderr  # the task's own stack
    assert "Thread" in done.stderr  # and every thread's (faulthandler)


def test_a_loop_blocked_in_synchronous_code_is_ended_with_the_thread_stacks() -> None:
    t0 = time.monotonic()
    done = _run("""
        def blocked_in_sync_code():
            time.sleep(30)

        async def main():
            HardExit(asyncio.get_running_loop(), 0.3).arm()
            blocked_in_sync_code()

        asyncio.run(main())
    """)
    assert done.returncode == EXIT_STUCK
    assert "blocked_in_sync_code" in done.stderr  # the loop could not answer: the thread dump shows it
    assert time.monotonic() - t0 < 25  # it did not sit out the 30 s sleep


def test_a_clean_exit_does_not_wait_for_the_armed_watchdog() -> None:
    t0 = time.monotonic()
    done = _run("""
        async def main():
            HardExit(asyncio.get_running_loop(), 30.0).arm()

        asyncio.run(main())
    """)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert time.monotonic() - t0 < 25  # the timer thread is a daemon thread: exit is not held


def test_arming_twice_keeps_one_timer() -> None:
    done = _run("""
        import threading

        async def main():
            w = HardExit(asyncio.get_running_loop(), 30.0)
            w.arm()
            w.arm()
            print(sum(t.name == "tradeterm-hard-exit" for t in threading.enumerate()), w.armed)

        asyncio.run(main())
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True"]
