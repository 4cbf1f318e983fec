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
        """The client id is already in use by an open order: proof the order exists (spot
        ``-2010 Duplicate order sent.``, futures ``-4116``)."""
        return (self.code == -2010 and "Duplicate order" in self.msg) or self.code == -4116


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


# ---------------------------------------------------------------------- USD-M futures
# Futures reuse some spot codes with other meanings (-2021, -2022, -2018), so they have their
# own mapper. Each class below is a definite reject (an :class:`OrderRejected`), so the broker
# marks the order rejected; the class says *why* in a way code can branch on.


class MarginInsufficient(OrderRejected):
    """-2019 margin insufficient (or -2018 balance insufficient): the entry is too big for the
    free margin at this leverage."""


class ReduceOnlyRejected(OrderRejected):
    """-2022 / -4118: a reduce-only order would not reduce (no position, or it would flip it)."""


class PositionSideMismatch(OrderRejected):
    """-4061: ``positionSide`` does not match the account's mode (one-way vs hedge)."""


class NotionalTooSmall(OrderRejected):
    """-4164: price x quantity below the symbol's minimum notional (reduce-only is exempt)."""


class AlgoEndpointRequired(OrderRejected):
    """-4120: a conditional type sent to ``/fapi/v1/order``; since 2025-12-09 those live on the
    algo-order endpoint. Seeing this means outdated broker code, never a market condition."""


class WouldTrigger(OrderRejected):
    """-2021 / -4142: a stop or take profit whose trigger is already crossed."""


class FilterRejected(OrderRejected):
    """-4000..-4033, -1111: a filter (tick, step, bounds, percent price) refused the order; also
    raised locally, before sending, when our own filter check fails."""


class NoChangeNeeded(BinanceError):
    """-4046 (margin type) / -4059 (position mode): already so. Setup treats it as success."""


class AccountConfigRejected(BinanceError):
    """-4047/-4048/-4067/-4068 (open orders or a position block a margin-type or mode change),
    -4028 (invalid leverage) and other setup refusals."""


class ServerBusy(RateLimited):
    """HTTP 503 with -1008: the request was throttled and definitely not executed."""


_FUTURES_REJECTS: dict[int, type[OrderRejected]] = {
    -2018: MarginInsufficient,
    -2019: MarginInsufficient,
    -2022: ReduceOnlyRejected,
    -4118: ReduceOnlyRejected,
    -4061: PositionSideMismatch,
    -4164: NotionalTooSmall,
    -4120: AlgoEndpointRequired,
    -2021: WouldTrigger,
    -4142: WouldTrigger,
    -1111: FilterRejected,
}
_FUTURES_SETUP = frozenset({-4028, -4047, -4048, -4067, -4068, -4161})


def map_futures_error(http_status: int, body: Any, retry_after: float | None = None) -> BinanceError:
    """The exception for a USD-M error answer (see the module notes above)."""
    code = int(body.get("code", 0)) if isinstance(body, dict) else 0
    msg = str(body.get("msg", "")) if isinstance(body, dict) else ""
    msg = msg or f"HTTP {http_status}"
    if code == -1008:
        return ServerBusy(code, msg, http_status, retry_after or 0.5)
    if http_status >= 500 or http_status in (408, 418, 429) or code in UNKNOWN_STATUS_CODES:
        return map_error(http_status, body, retry_after)
    if code in _FUTURES_REJECTS:
        return _FUTURES_REJECTS[code](code, msg, http_status)
    if code in _FUTURES_SETUP:
        return AccountConfigRejected(code, msg, http_status)
    if -4033 <= code <= -4000 or code in (-4131, -4116, -2010, -2020, -2024, -2025, -2026, -2027, -2028,
                                          -4045, -4062, -4136, -4137, -4138, -5021, -5022, -5028, -5040):
        return (FilterRejected if -4033 <= code <= -4000 else OrderRejected)(code, msg, http_status)
    if code in (-4046, -4059):
        return NoChangeNeeded(code, msg, http_status)
    return map_error(http_status, body, retry_after)
