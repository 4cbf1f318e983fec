"""Request weight and order counts, in fixed windows as Binance counts them.

Exceeding the weight limit answers 429 with ``Retry-After`` (seconds to the window's end);
a client that keeps sending while limited collects strikes and is banned with 418 for
``ban_seconds``. Order counts limit *new* orders per 10 s and per day (``-1015``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tradeterm.venue import errors as E


@dataclass
class _Window:
    key: int = -1
    used: int = 0

    def at(self, key: int) -> _Window:
        if key != self.key:
            self.key, self.used = key, 0
        return self


@dataclass
class _Client:
    weight: _Window = field(default_factory=_Window)
    strikes: int = 0
    banned_until: float = 0.0


class RateLimiter:
    def __init__(self, *, weight_per_minute: int = 6000, orders_per_10s: int = 50,
                 orders_per_day: int = 160_000, strikes_before_ban: int = 3, ban_seconds: int = 120,
                 clock: Callable[[], float] = time.time, long_window_s: int = 86400) -> None:
        """``orders_per_day`` counts over ``long_window_s`` (a day on spot; USD-M counts a minute)."""
        self.weight_per_minute = weight_per_minute
        self.orders_per_10s = orders_per_10s
        self.orders_per_day = orders_per_day
        self.strikes_before_ban = strikes_before_ban
        self.ban_seconds = ban_seconds
        self._clock = clock
        self.long_window_s = long_window_s
        self._clients: dict[str, _Client] = {}
        self._orders_10s = _Window()
        self._orders_day = _Window()

    def reset(self) -> None:
        self._clients.clear()
        self._orders_10s = _Window()
        self._orders_day = _Window()

    def _client(self, ip: str) -> _Client:
        c = self._clients.get(ip)
        if c is None:
            c = self._clients[ip] = _Client()
        return c

    def used_weight(self, ip: str) -> int:
        now = self._clock()
        return self._client(ip).weight.at(int(now // 60)).used

    def spend(self, ip: str, weight: int) -> int:
        """Charge ``weight``; raise 418 while banned and 429 past the limit. Returns weight used."""
        now = self._clock()
        c = self._client(ip)
        if c.banned_until > now:
            raise E.banned(int(c.banned_until * 1000), max(1, int(c.banned_until - now + 0.999)))
        w = c.weight.at(int(now // 60))
        w.used += weight
        if w.used > self.weight_per_minute:
            c.strikes += 1
            if c.strikes > self.strikes_before_ban:
                c.banned_until = now + self.ban_seconds
                c.strikes = 0
                raise E.banned(int(c.banned_until * 1000), self.ban_seconds)
            raise E.too_much_weight(self.weight_per_minute, max(1, int(60 - now % 60 + 0.999)))
        return w.used

    def refund(self, ip: str, weight: int) -> None:
        """Successful order requests cost nothing (Binance, since 2026-04-02)."""
        now = self._clock()
        w = self._client(ip).weight.at(int(now // 60))
        w.used = max(0, w.used - weight)

    def order_counts(self) -> tuple[int, int]:
        now = self._clock()
        return self._orders_10s.at(int(now // 10)).used, self._orders_day.at(int(now // self.long_window_s)).used

    def check_order(self) -> None:
        n10, nday = self.order_counts()
        now = self._clock()
        if n10 >= self.orders_per_10s:
            raise E.too_many_orders(self.orders_per_10s, "10 SECOND", max(1, int(10 - now % 10 + 0.999)))
        if nday >= self.orders_per_day:
            per = "1 DAY" if self.long_window_s == 86400 else f"{self.long_window_s // 60} MINUTE"
            raise E.too_many_orders(self.orders_per_day, per,
                                    max(1, int(self.long_window_s - now % self.long_window_s)))

    def count_orders(self, n: int = 1) -> None:
        now = self._clock()
        self._orders_10s.at(int(now // 10)).used += n
        self._orders_day.at(int(now // self.long_window_s)).used += n

    def rate_limits(self) -> list[dict[str, object]]:
        """``exchangeInfo.rateLimits``."""
        return [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": self.weight_per_minute},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": self.orders_per_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY" if self.long_window_s == 86400 else "MINUTE",
             "intervalNum": 1 if self.long_window_s == 86400 else self.long_window_s // 60,
             "limit": self.orders_per_day},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
        ]
