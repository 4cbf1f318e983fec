"""Reconnect delays: exponential growth, capped, with *full* jitter.

Full jitter (a uniform draw between 0 and the capped exponential) rather than a fixed delay or
"exponential plus a little noise": when Binance drops every client at once (a restart, the
24-hour cut), clients that all wait 1, 2, 4 s come back in synchronized waves and trip the
300-connections-per-5-minutes limit together; uniform draws spread them out. The attempt count
resets only after a connection has proved stable, so a server that accepts and immediately drops
still gets slower and slower retries instead of a tight loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    def __init__(
        self,
        base: float = 1.0,
        cap: float = 60.0,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rand = rand

    def ceiling(self) -> float:
        """The largest delay the next attempt may draw."""
        return min(self.cap, self.base * 2.0 ** min(self.attempt, 62))

    def next_delay(self) -> float:
        """The delay before the next attempt (and count the attempt)."""
        delay = self._rand() * self.ceiling()
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
