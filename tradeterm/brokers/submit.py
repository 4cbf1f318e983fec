"""Placing an order exactly once over an unreliable link: the request-level half of idempotency,
shared by the Spot and USD-M transports.

The rule (``reference/binance-api.md`` §10): a POST whose outcome is unknown (client timeout,
HTTP 5xx, -1006, -1007, an open circuit) is never resent blindly. The exchange is asked by
client id; found → that state is adopted; not found → keep asking until the lost request's
recvWindow has passed (after that the engine refuses it, so it can no longer execute), and only
then resend under the *same* id. A duplicate-id reply (-2010 "Duplicate order sent.", futures
-4116) proves the order exists and is resolved the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tradeterm.brokers.errors import (
    CircuitOpen,
    ExecutionUnknown,
    IpBanned,
    OrderRejected,
    RateLimited,
)
from tradeterm.brokers.http import SpotHttp
from tradeterm.brokers.transport import Report

SUBMIT_ATTEMPTS = 3
MAX_ORDER_RETRY_AFTER = 10.0
RESOLVE_POLL_S = 0.1
RESOLVE_GRACE_MS = 200

Lookup = Callable[[], Awaitable[list[Report] | None]]


async def submit(
    http: SpotHttp,
    path: str,
    params: Mapping[str, Any],
    lookup: Lookup,
    parse: Callable[[Any], list[Report]],
    *,
    family: str = "order",
) -> list[Report]:
    """POST once; resolve an unknown outcome by asking; resend only what provably is not."""
    for _ in range(SUBMIT_ATTEMPTS):
        try:
            body = await http.request("POST", path, params, signed=True, family=family)
        except IpBanned:
            raise
        except RateLimited as exc:  # a definite reject: nothing was placed
            if exc.retry_after > MAX_ORDER_RETRY_AFTER:
                raise
            await asyncio.sleep(exc.retry_after)
            continue
        except OrderRejected as exc:
            if exc.duplicate and (found := await lookup()):
                return found
            raise
        except (ExecutionUnknown, CircuitOpen) as exc:
            found = await resolve(http, lookup, http.now_ms())
            if found:
                return found
            if isinstance(exc, CircuitOpen):
                raise
            continue  # provably absent: the same ids again
        return parse(body)
    raise ExecutionUnknown(0, "order outcome still unknown after several attempts", 0)


async def resolve(http: SpotHttp, lookup: Lookup, since_ms: int) -> list[Report] | None:
    """Found → its state. Not found → keep asking until the lost request's recvWindow has
    passed (after that it cannot execute), then None."""
    deadline = since_ms + http.recv_window + RESOLVE_GRACE_MS
    while True:
        try:
            found = await lookup()
        except (ExecutionUnknown, CircuitOpen, RateLimited):
            found = None
            if http.now_ms() > deadline + 10_000:
                raise
        else:
            if found:
                return found
            if http.now_ms() > deadline:
                return None
        await asyncio.sleep(RESOLVE_POLL_S)
