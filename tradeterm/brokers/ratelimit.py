"""Client-side pacing: a rate limiter fed by Binance's usage headers, exponential backoff with
jitter, and a circuit breaker per endpoint family.

Why headers and not a local count: the weight is per IP and the order count per account, so
other processes (a second daemon, a TUI) spend the same budget; only the exchange knows the
total. We slow down *before* the limit (429 first, 418 ban next), and after a 429/418 nobody
sends anything until Retry-After has passed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

Clock = Callable[[], float]


@dataclass
class Usage:
    weight_1m: int = 0
    orders_10s: int = 0
    seen_at: float = 0.0


class RateLimiter:
    """Tells how long to wait before the next request, from the last usage headers seen."""

    def __init__(
        self,
        weight_per_minute: int = 6000,
        orders_per_10s: int = 50,
        *,
        headroom: float = 0.9,
        clock: Clock = time.monotonic,
    ) -> None:
        self.weight_per_minute = weight_per_minute
        self.orders_per_10s = orders_per_10s
        self.headroom = headroom
        self.clock = clock
        self.usage = Usage()
        self.blocked_until = 0.0

    def observe(self, headers: dict[str, str] | object) -> None:
        """Read ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-10S`` (case-insensitive)."""
        get = getattr(headers, "get", None)
        if get is None:
            return
        weight = get("x-mbx-used-weight-1m") or get("X-MBX-USED-WEIGHT-1M")
        orders = get("x-mbx-order-count-10s") or get("X-MBX-ORDER-COUNT-10S")
        now = self.clock()
        if weight is not None:
            self.usage.weight_1m = int(weight)
            self.usage.seen_at = now
        if orders is not None:
            self.usage.orders_10s = int(orders)
            self.usage.seen_at = now

    def block(self, seconds: float) -> None:
        """After a 429/418: nothing goes out for ``seconds``."""
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)

    def delay(self, weight: int = 1, *, order: bool = False) -> float:
        """Seconds to wait before sending a request of ``weight`` (0 = go now)."""
        now = self.clock()
        wait = max(0.0, self.blocked_until - now)
        age = now - self.usage.seen_at
        if age < 60 and self.usage.weight_1m + weight > self.weight_per_minute * self.headroom:
            wait = max(wait, 60 - age)
        if order and age < 10 and self.usage.orders_10s + 1 > self.orders_per_10s * self.headroom:
            wait = max(wait, 10 - age)
        return wait


def backoff_delays(
    attempts: int, base: float = 0.05, cap: float = 2.0, rng: random.Random | None = None
) -> list[float]:
    """"Full jitter" exponential backoff: attempt k waits uniform(0, min(cap, base·2^k)), so many
    clients retrying after one outage do not hit the server in lockstep."""
    r = rng or random.Random()
    return [r.uniform(0, min(cap, base * 2**k)) for k in range(attempts)]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """closed → (``threshold`` consecutive failures) → open → (``cooldown``) → half-open: one
    probe goes through; success closes, failure re-opens. One breaker per endpoint family, so a
    failing order endpoint does not stop the queries that reconcile it."""

    def __init__(self, threshold: int = 5, cooldown: float = 5.0, clock: Clock = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self.opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def retry_in(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self.clock() - self.opened_at))

    def allow(self) -> bool:
        """May a request go out now? In half-open only one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._probing = False

    def failure(self) -> None:
        self._probing = False
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()
