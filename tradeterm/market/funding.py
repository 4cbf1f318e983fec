"""USD-M mark price stream → ``funding_window.v1``, the funding guard's input.

``<symbol>@markPrice@1s`` carries the mark and index price, the *estimated* rate for the next
settlement (``r``) and its time (``T``). The rate drifts every second, so every update is
published (the guard wants the latest), but only a few are worth keeping: one when the
settlement time moves on, and otherwise one per ``persist_every_ms``.

Most perpetuals settle every 8 hours; ``GET /fapi/v1/fundingInfo`` lists the ones that do not
(4 h, 1 h …), and :func:`funding_intervals` reads it once so the guard can roll a stale window
forward by the right step.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from tradeterm.contracts import FundingWindowV1
from tradeterm.market.kline_parse import BadInput
from tradeterm.market.rest import RestClient, RestError

__all__ = ["FundingTracker", "funding_intervals", "parse_mark_price"]

log = logging.getLogger("tradeterm.market.funding")

DEFAULT_INTERVAL_HOURS = 8


def _positive_decimal(raw: Any, name: str) -> Decimal | None:
    """A price as Decimal; ``None`` for "0" (Binance sends 0 when it has no index yet)."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise BadInput("bad_type", f"{name} must be a decimal string, got {type(raw).__name__}")
    try:
        d = Decimal(str(raw))
    except InvalidOperation:
        raise BadInput("bad_type", f"{name} {raw!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise BadInput("bad_value", f"{name} {raw!r} is negative or not finite")
    return d if d > 0 else None


def parse_mark_price(data: dict[str, Any], venue: str, interval_hours: int = DEFAULT_INTERVAL_HOURS) -> FundingWindowV1:
    """Validate a ``markPriceUpdate`` event into a funding window."""
    try:
        sym, ev, ft, rate_raw = data["s"], data["E"], data["T"], data["r"]
    except KeyError as e:
        raise BadInput("bad_type", f"markPriceUpdate field {e.args[0]!r} is missing") from None
    if type(ev) is not int or type(ft) is not int or type(sym) is not str:
        raise BadInput("bad_type", "markPriceUpdate E/T must be integers and s a string")
    if ft <= 0:
        raise BadInput("bad_value", f"{sym}: no next funding time (not a perpetual?)")
    if isinstance(rate_raw, float) and not math.isfinite(rate_raw):
        raise BadInput("bad_value", f"{sym}: funding rate {rate_raw!r}")
    try:
        rate = Decimal(str(rate_raw))
    except InvalidOperation:
        raise BadInput("bad_type", f"{sym}: funding rate {rate_raw!r} is not a number") from None
    if not rate.is_finite():
        raise BadInput("bad_value", f"{sym}: funding rate {rate_raw!r} is not finite")
    mark = _positive_decimal(data.get("p", "0"), "mark price")
    index = _positive_decimal(data.get("i", "0"), "index price")
    try:
        return FundingWindowV1(
            venue=venue, symbol=sym, observed_at=ev, funding_time=ft, rate=rate, mark_price=mark,
            index_price=index, interval_hours=interval_hours,
        )
    except ValidationError as e:
        raise BadInput("bad_value", f"{sym}: {e.errors()[0]['msg']}") from None


class FundingTracker:
    """Per-symbol state: which updates to keep, and the interval to stamp on each window."""

    def __init__(self, venue: str, *, persist_every_ms: int = 60_000) -> None:
        self.venue = venue
        self.persist_every_ms = persist_every_ms
        self.intervals: dict[str, int] = {}
        self.symbols: set[str] = set()
        self._last_kept: dict[str, tuple[int, int]] = {}  # symbol -> (funding_time, observed_at)
        self.latest: dict[str, FundingWindowV1] = {}

    def on_event(self, data: dict[str, Any]) -> tuple[FundingWindowV1, bool]:
        """(the window, whether to persist it). Raises :class:`BadInput`."""
        sym = data.get("s")
        if sym not in self.symbols:
            raise BadInput("unsubscribed", f"mark price for {sym!r}, which is not subscribed")
        w = parse_mark_price(data, self.venue, self.intervals.get(sym, DEFAULT_INTERVAL_HOURS))
        prev = self.latest.get(sym)
        if prev is not None and w.observed_at < prev.observed_at:
            raise BadInput("stale", f"{sym}: mark price at {w.observed_at} after one at {prev.observed_at}")
        self.latest[sym] = w
        kept = self._last_kept.get(sym)
        keep = kept is None or kept[0] != w.funding_time or w.observed_at - kept[1] >= self.persist_every_ms
        if keep:
            self._last_kept[sym] = (w.funding_time, w.observed_at)
        return w, keep


async def funding_intervals(rest: RestClient) -> dict[str, int]:
    """Symbols with a non-default settlement interval; ``{}`` if the endpoint is unavailable
    (the guard then assumes 8 h, which is right for most symbols)."""
    try:
        rows = await rest.get("/fapi/v1/fundingInfo", {}, 1)
    except RestError as e:
        log.warning("fundingInfo unavailable (%s); assuming %d h funding intervals", e, DEFAULT_INTERVAL_HOURS)
        return {}
    out: dict[str, int] = {}
    if isinstance(rows, list):
        for r in rows:
            if isinstance(r, dict) and isinstance(r.get("symbol"), str) and isinstance(r.get("fundingIntervalHours"), int):
                hours = r["fundingIntervalHours"]
                if 1 <= hours <= 24:
                    out[r["symbol"]] = hours
    return out
