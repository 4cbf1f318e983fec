"""Binance errors as typed exceptions, each carrying the code and message a user will see.

Why typed: the broker's next move depends on *what kind* of failure it was, not on the text.
A definite reject (-2010, filter failures) ends an order; an unknown execution status (HTTP 5xx,
-1006, -1007, a client timeout) must be resolved by asking the exchange before anything is
resent; a rate limit means wait; a bad timestamp means resync the clock. Messages never carry
secrets: request URLs (which hold the signature) are not part of any message.
"""

from __future__ import annotations

from typing import Any


class BrokerError(Exception):
    """Base of every broker failure; ``str()`` is one line fit for a user."""


class KillSwitchTripped(BrokerError):
    """New decisions are refused until a person resets the kill switch."""


class UnknownSymbol(BrokerError):
    """The venue does not list the symbol (no exchangeInfo entry)."""


class CircuitOpen(BrokerError):
    """Too many recent failures on an endpoint family: calls are refused for a cooldown."""

    def __init__(self, family: str, retry_in_s: float) -> None:
        super().__init__(f"{family} requests paused for {retry_in_s:.1f}s after repeated failures")
        self.family = family
        self.retry_in_s = retry_in_s


class BinanceError(BrokerError):
    """An answer from Binance (or the venue) with ``{"code", "msg"}``."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"Binance error {code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status


class OrderRejected(BinanceError):
    """A definite rejection: the order does not exist (-2010, -1013 filter failures, -11xx)."""

    @property
    def duplicate(self) -> bool:
        return self.code == -2010 and "Duplicate order" in self.msg


class UnknownOrder(BinanceError):
    """Cancel of an order that is not open (-2011): already filled, cancelled or never placed."""


class NoSuchOrder(BinanceError):
    """Query of an order the exchange does not know (-2013): proof it was never accepted."""


class InvalidTimestamp(BinanceError):
    """-1021: our clock and the server's disagree beyond recvWindow."""


class AuthError(BinanceError):
    """Bad key, signature or permissions (-1022, -2014, -2015): no retry can help."""


class RateLimited(BinanceError):
    """HTTP 429 (-1003/-1015): a definite reject; wait ``retry_after`` seconds."""

    def __init__(self, code: int, msg: str, http_status: int, retry_after: float) -> None:
        super().__init__(code, msg, http_status)
        self.retry_after = retry_after


class IpBanned(RateLimited):
    """HTTP 418: the IP is banned for ``retry_after`` seconds."""


class ExecutionUnknown(BinanceError):
    """HTTP 5xx, -1006, -1007 or no answer at all: the order may or may not exist."""


UNKNOWN_STATUS_CODES = frozenset({-1006, -1007})
AUTH_CODES = frozenset({-1022, -2014, -2015})


def map_error(http_status: int, body: Any, retry_after: float | None = None) -> BinanceError:
    """The exception for an error answer. A body without ``code`` (a proxy page) counts as
    unknown execution status for 5xx and as a generic error otherwise."""
    code = int(body.get("code", 0)) if isinstance(body, dict) else 0
    msg = str(body.get("msg", "")) if isinstance(body, dict) else ""
    msg = msg or f"HTTP {http_status}"
    if http_status == 418:
        return IpBanned(code or -1003, msg, http_status, retry_after or 120.0)
    if http_status == 429:
        return RateLimited(code or -1003, msg, http_status, retry_after or 1.0)
    if http_status >= 500 or http_status == 408 or code in UNKNOWN_STATUS_CODES:
        return ExecutionUnknown(code, msg, http_status)
    if code == -1021:
        return InvalidTimestamp(code, msg, http_status)
    if code in AUTH_CODES:
        return AuthError(code, msg, http_status)
    if code == -2011:
        return UnknownOrder(code, msg, http_status)
    if code in (-2013, -2018):
        return NoSuchOrder(code, msg, http_status)
    if code == -2010 or code == -1013 or -1199 <= code <= -1100 or code == -1111:
        return OrderRejected(code, msg, http_status)
    return BinanceError(code, msg, http_status)
