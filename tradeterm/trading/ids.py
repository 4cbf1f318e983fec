"""Deterministic identifiers: a decision id from its source, a client order id per leg.

Binance deduplicates only by client order id, and only among *open* orders; the broker's
defence against placing twice after a timeout or a restart is to reuse the same id, which
needs ids that are a pure function of what is being placed. So:

* decision id = ``d`` + 20 hex digits of SHA-256 over (venue, symbol, signal id): the same
  signal decided twice, in two processes or after a restart, gets the same id;
* client order id = ``tt-<decision id>-<leg code><index><r revision>``, e.g. ``tt-d1f…-E``,
  ``-T2``, ``-S``, ``-S1r2`` (spot stop of slice 1 after the second stop move).

Leg codes: E entry, S stop, T take profit, L spot order list (OCO), C close, X other. Every id
uses only ``[A-Za-z0-9_-]`` (the subset both spot and futures accept) and stays within 36
characters for any valid decision id (at most 24 characters by contract).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from tradeterm.contracts.trading import OrderLeg

PREFIX = "tt"
MAX_INDEX = 99
MAX_REVISION = 999
DECISION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,24}$")

_CODES: dict[OrderLeg, str] = {
    OrderLeg.ENTRY: "E",
    OrderLeg.STOP: "S",
    OrderLeg.TP: "T",
    OrderLeg.CLOSE: "C",
    OrderLeg.OTHER: "X",
}
_LIST_CODE = "L"
_LEGS = {code: leg for leg, code in _CODES.items()}
_SUFFIX_RE = re.compile(
    r"^(?P<code>[ESTCXL])(?P<index>[1-9][0-9]?)?(?:r(?P<rev>[1-9][0-9]{0,2}))?$"
)


def _digest(*parts: str) -> str:
    h = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return "d" + h[:20]


def decision_id_for_signal(venue: str, symbol: str, signal_id: str) -> str:
    """Stable per signal: a retry, a second process or a restart yields the same id."""
    return _digest("signal", venue, symbol.upper(), signal_id)


def decision_id_for_ticket(venue: str, symbol: str, ticket_key: str) -> str:
    """Stable per manual ticket; ``ticket_key`` is the ticket id or its canonical content."""
    return _digest("ticket", venue, symbol.upper(), ticket_key)


def _check(decision_id: str, index: int, revision: int) -> None:
    if not DECISION_ID_RE.match(decision_id):
        raise ValueError(f"decision id {decision_id!r} must be 1-24 of [A-Za-z0-9_-]")
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"leg index {index} outside 0..{MAX_INDEX}")
    if not 0 <= revision <= MAX_REVISION:
        raise ValueError(f"revision {revision} outside 0..{MAX_REVISION}")


def _suffix(code: str, index: int, revision: int) -> str:
    return code + (str(index) if index else "") + (f"r{revision}" if revision else "")


# The id functions are pure and sit on the hot path (a bracket reads its entry id, and parses
# every update's id, many times per update): memoised. Errors are not cached, so they still
# raise on every call; ``typed`` keeps ``1`` and ``True`` apart as the uncached code did.
_CACHE_SIZE = 8192


@lru_cache(maxsize=_CACHE_SIZE, typed=True)
def client_order_id(decision_id: str, leg: OrderLeg, index: int = 0, revision: int = 0) -> str:
    """The one id this leg is ever placed under (per revision: a moved stop is a new order)."""
    _check(decision_id, index, revision)
    return f"{PREFIX}-{decision_id}-{_suffix(_CODES[leg], index, revision)}"


@lru_cache(maxsize=_CACHE_SIZE, typed=True)
def list_client_order_id(decision_id: str, index: int, revision: int = 0) -> str:
    """``listClientOrderId`` of the spot OCO carrying take-profit slice ``index``."""
    _check(decision_id, index, revision)
    return f"{PREFIX}-{decision_id}-{_suffix(_LIST_CODE, index, revision)}"


@dataclass(frozen=True, slots=True)
class ParsedOrderId:
    decision_id: str
    leg: OrderLeg | None  # None for an order-list id
    index: int
    revision: int

    @property
    def is_list(self) -> bool:
        return self.leg is None


@lru_cache(maxsize=_CACHE_SIZE)
def parse_client_order_id(text: str) -> ParsedOrderId | None:
    """Inverse of :func:`client_order_id`/:func:`list_client_order_id`; None if not ours."""
    if not text.startswith(PREFIX + "-") or len(text) > 36:
        return None
    body = text[len(PREFIX) + 1 :]
    decision_id, sep, suffix = body.rpartition("-")
    if not sep or not DECISION_ID_RE.match(decision_id):
        return None
    m = _SUFFIX_RE.match(suffix)
    if m is None:
        return None
    code = m["code"]
    return ParsedOrderId(
        decision_id=decision_id,
        leg=None if code == _LIST_CODE else _LEGS[code],
        index=int(m["index"] or 0),
        revision=int(m["rev"] or 0),
    )
