"""Supervision of the pipeline's long-running workers.

Why: each stage is a coroutine looping over a bus subscription or a broker stream. Left as a bare
``asyncio.Task``, an unexpected exception ends it silently: the task's exception is only noticed
when someone awaits it, which for a daemon is at shutdown, days later, while the account trades
on stale analysis. The supervisor turns such a failure into something visible and survivable:

* the traceback goes to the process log (ERROR) and a line to the activity log the trader reads;
* the worker is restarted after an exponential backoff with jitter, capped, so a persistent fault
  does not spin the CPU and several failing workers do not restart in lock step;
* every failure is counted (``restarts``), which ``/metrics`` exports, and the last error is kept
  so the read model can show which worker is unhealthy and why.

A worker that ran for ``healthy_after_s`` before failing starts again from the base delay: a
crash once a day is not treated like a crash loop. A worker that *returns* while the supervisor is
running is restarted too (a stage silently finishing is the same outage as one that crashed).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tradeterm.pipeline.activity import ActivityLog

log = logging.getLogger("tradeterm.pipeline.supervisor")

Factory = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class BackoffPolicy:
    """Restart delays: ``base × 2^(n-1)`` for the n-th consecutive failure, at most ``cap``,
    shortened by a random fraction up to ``jitter`` (0 = none, 1 = anywhere in [0, delay])."""

    base_s: float = 0.5
    cap_s: float = 30.0
    jitter: float = 0.5
    healthy_after_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s:
            raise ValueError(f"backoff needs 0 < base_s <= cap_s, got {self.base_s} and {self.cap_s}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter}")

    def delay(self, failures: int, rng: random.Random) -> float:
        raw = min(self.cap_s, self.base_s * 2.0 ** min(max(failures - 1, 0), 30))
        return raw * (1.0 - self.jitter * rng.random())


@dataclass
class WorkerStatus:
    """One supervised worker as the read model and ``/metrics`` show it."""

    name: str
    state: str = "starting"  # running | restarting | stopped
    restarts: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    last_error_at_ms: int | None = None
    next_restart_in_s: float | None = None


class Supervisor:
    """Runs named workers and restarts them when they fail (see the module doc)."""

    def __init__(self, activity: ActivityLog | None = None, policy: BackoffPolicy | None = None,
                 rng: random.Random | None = None) -> None:
        self.activity = activity
        self.policy = policy or BackoffPolicy()
        self._rng = rng or random.Random()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.workers: dict[str, WorkerStatus] = {}
        self._stopping = False

    def spawn(self, name: str, factory: Factory) -> None:
        """Start ``factory()`` as worker ``name`` and keep it running until :meth:`stop`.
        ``factory`` is called again for each restart, so it must build a fresh coroutine."""
        if name in self._tasks and not self._tasks[name].done():
            raise ValueError(f"a worker named {name!r} is already supervised")
        self.workers[name] = WorkerStatus(name)
        self._tasks[name] = asyncio.get_running_loop().create_task(self._keep(name, factory), name=f"sup:{name}")

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.workers.values())

    async def _keep(self, name: str, factory: Factory) -> None:
        status = self.workers[name]
        while not self._stopping:
            status.state = "running"
            status.next_restart_in_s = None
            started = time.monotonic()
            try:
                await factory()
            except asyncio.CancelledError:
                status.state = "stopped"
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of a worker is supervised
                if self._stopping:
                    break
                self._failed(status, started, f"{type(exc).__name__}: {exc}", exc)
            else:
                if self._stopping:
                    break
                self._failed(status, started, "returned unexpectedly", None)
            delay = self.policy.delay(status.consecutive_failures, self._rng)
            status.state = "restarting"
            status.next_restart_in_s = round(delay, 3)
            await asyncio.sleep(delay)
            status.restarts += 1
            log.warning("worker %s restarting (restart %d)", name, status.restarts,
                        extra={"worker": name, "restarts": status.restarts})
        status.state = "stopped"

    def _failed(self, status: WorkerStatus, started: float, what: str, exc: BaseException | None) -> None:
        if time.monotonic() - started >= self.policy.healthy_after_s:
            status.consecutive_failures = 0
        status.consecutive_failures += 1
        status.last_error = what
        status.last_error_at_ms = int(time.time() * 1000)
        # The traceback goes to the process log only; the activity line stays one line.
        log.error("worker %s failed: %s", status.name, what, exc_info=exc,
                  extra={"worker": status.name, "failures": status.consecutive_failures,
                         "in_activity": self.activity is not None})
        if self.activity is not None:
            self.activity.add("error", f"worker {status.name} failed ({what}); restarting with backoff", "ERROR")

    async def stop(self, timeout: float = 2.0) -> None:
        """Cancel every worker and wait (at most ``timeout``) for them to finish."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for w in self.workers.values():
            w.state = "stopped"
        self._tasks.clear()
