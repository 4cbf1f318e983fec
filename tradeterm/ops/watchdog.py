"""A last-resort exit for a shutdown that gets stuck.

The daemon promises to exit within a few seconds of SIGTERM, and a supervisor (systemd, a
container runtime) counts on it. The orderly path has its own budget, but some hangs are out of
its reach: a task that ignores cancellation, ``asyncio.run`` waiting on its default executor, a
non-daemon thread joined at interpreter exit. The watchdog is a plain thread, so it fires
whatever the event loop is doing. Before exiting it writes where everything was stuck (each
asyncio task's stack when the loop still answers, every thread's stack in any case), so the
hang can be fixed rather than merely survived. Exiting without the rest of the clean-up loses
nothing that matters: SQLite and Postgres commit per transaction, and the next start
reconciles orders and backfills candles.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import sys
import threading
from typing import TextIO

log = logging.getLogger("tradeterm.daemon")

EXIT_STUCK = 70  # EX_SOFTWARE (sysexits.h): the process did not stop the way it should have
TASK_DUMP_WAIT_S = 0.5  # how long to wait for the loop to list its tasks before dumping threads only


def dump_tasks(loop: asyncio.AbstractEventLoop, out: TextIO) -> bool:
    """Write every pending task's stack from inside ``loop``; False when the loop does not answer
    within ``TASK_DUMP_WAIT_S`` (it is blocked in synchronous code: the thread dump shows where)."""
    done = threading.Event()

    def dump() -> None:
        try:
            for task in asyncio.all_tasks(loop):
                print(f"--- task {task.get_name()}: {task.get_coro()!r}", file=out)
                task.print_stack(file=out)
        finally:
            done.set()

    try:
        loop.call_soon_threadsafe(dump)
    except RuntimeError:  # the loop is closed already
        return False
    return done.wait(TASK_DUMP_WAIT_S)


class HardExit:
    """Armed once; after ``after_s`` seconds it dumps the stacks to ``out`` and ends the process
    with ``EXIT_STUCK``, unless the process has exited first (the thread is a daemon thread, so a
    clean exit never waits for it)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, after_s: float, out: TextIO | None = None) -> None:
        self.loop = loop
        self.after_s = after_s
        self.out = out if out is not None else sys.stderr
        self._timer: threading.Timer | None = None

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def arm(self) -> None:
        if self._timer is not None:
            return
        self._timer = threading.Timer(self.after_s, self.fire)
        self._timer.name = "tradeterm-hard-exit"
        self._timer.daemon = True
        self._timer.start()

    def fire(self) -> None:
        log.critical("shutdown stuck for %g s; forcing exit (stacks on stderr; the next start reconciles)",
                     self.after_s)
        print(f"tradeterm: shutdown stuck for {self.after_s:g} s; where it was:", file=self.out)
        dump_tasks(self.loop, self.out)
        self.out.flush()
        try:
            faulthandler.dump_traceback(file=self.out, all_threads=True)
        except (ValueError, OSError, AttributeError):  # an in-memory stream has no file descriptor
            pass
        for stream in (self.out, sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (ValueError, OSError):  # a closed or broken pipe: nothing left to save there
                pass
        os._exit(EXIT_STUCK)
