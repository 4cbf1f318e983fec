"""Faults the venue can inject, switched on from tests (Python or the control API) or CLI flags.

Each fault imitates something Binance really does to a client: connections cut, slow answers,
a 5xx or a timeout *after* the order was accepted (the order exists; the client cannot know),
429/418 bursts, a server clock that disagrees with the client's, and user-data events delivered
twice or out of order."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tradeterm.venue.errors import VenueError


@dataclass
class Faults:
    delay_ms: int = 0                 # added before every REST answer
    fail_orders: int = 0              # the next N accepted orders answer with the failure below
    fail_mode: str = "5xx"            # "5xx" (HTTP 503, -1006) or "timeout" (hold, then 408 -1007)
    timeout_s: float = 15.0
    burst_429: int = 0                # the next N REST requests answer 429 (-1003, Retry-After)
    burst_418: int = 0                # the next N REST requests answer 418 (banned)
    clock_skew_ms: int = 0            # server clock minus wall clock
    drop_streams_every_s: float = 0.0  # cut every market-stream connection this often (0 = never)
    userdata_duplicate: bool = False  # send every user-data event twice
    userdata_reorder: bool = False    # swap each pair of consecutive user-data events

    def update(self, changes: dict[str, Any]) -> None:
        names = {f.name: f.type for f in fields(self)}
        for k, v in changes.items():
            if k not in names:
                raise ValueError(f"unknown fault {k!r}")
            cur = getattr(self, k)
            setattr(self, k, type(cur)(v))
        if self.fail_mode not in ("5xx", "timeout"):
            raise ValueError("fail_mode must be '5xx' or 'timeout'")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def take_burst(self) -> VenueError | None:
        """The injected 429/418 for this request, if a burst is on."""
        if self.burst_418 > 0:
            self.burst_418 -= 1
            return VenueError(-1003, "Way too much request weight used; IP banned until 0. Please use "
                              "WebSocket Streams for live updates to avoid bans.", http_status=418, retry_after=120)
        if self.burst_429 > 0:
            self.burst_429 -= 1
            return VenueError(-1003, "Too much request weight used; current limit is 6000 request weight "
                              "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling "
                              "the API.", http_status=429, retry_after=1)
        return None

    def take_order_failure(self) -> str | None:
        if self.fail_orders > 0:
            self.fail_orders -= 1
            return self.fail_mode
        return None
