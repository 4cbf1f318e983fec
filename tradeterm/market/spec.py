"""What differs between Binance Spot and USD-M futures market data, in one place.

The stream and REST code is the same for both markets; only paths, page sizes, weights and
connection limits differ. Keeping those numbers here (with the facts sheet as their source)
means a new market is one more :class:`MarketSpec`, not a branch in every client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradeterm.contracts import Timeframe
from tradeterm.errors import UserError

__all__ = ["SPECS", "SPOT", "USDM", "MarketSpec", "spec_for"]


def _spot_kline_weight(limit: int) -> int:
    return 2  # GET /api/v3/klines weighs 2 whatever the limit


def _usdm_kline_weight(limit: int) -> int:
    # [1,100) -> 1, [100,500) -> 2, [500,1000] -> 5, > 1000 -> 10
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    if limit <= 1000:
        return 5
    return 10


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One Binance market's data API, as the facts sheet (§3.1, §4.1, §5, §7) describes it."""

    venue: str  # the venue name used in contracts and the store
    klines_path: str
    max_klines: int  # largest ``limit`` one klines request may ask for
    weight_limit: int  # REQUEST_WEIGHT per minute when exchangeInfo has not been read
    stream_path: str  # combined-stream path appended to the ws base URL
    max_streams_per_connection: int
    control_msgs_per_s: float  # incoming messages per second a connection may send (pings count)
    intervals: frozenset[Timeframe]
    kline_weight_fn: Callable[[int], int]

    def kline_weight(self, limit: int) -> int:
        return self.kline_weight_fn(limit)

    def check_interval(self, tf: Timeframe) -> None:
        if tf not in self.intervals:
            raise UserError(f"{self.venue} has no {tf.value} klines")


SPOT = MarketSpec(
    venue="binance-spot",
    klines_path="/api/v3/klines",
    max_klines=1000,
    weight_limit=6000,
    stream_path="/stream",
    max_streams_per_connection=1024,
    control_msgs_per_s=5.0,
    intervals=frozenset(Timeframe),
    kline_weight_fn=_spot_kline_weight,
)

USDM = MarketSpec(
    venue="binance-usdm",
    klines_path="/fapi/v1/klines",
    max_klines=1500,
    weight_limit=2400,
    # Futures streams are routed since 2026-04: klines and mark price live under /market only;
    # the bare host silently sends nothing for them.
    stream_path="/market/stream",
    max_streams_per_connection=1024,
    control_msgs_per_s=10.0,
    intervals=frozenset(tf for tf in Timeframe if tf is not Timeframe.S1),
    kline_weight_fn=_usdm_kline_weight,
)

SPECS: dict[str, MarketSpec] = {SPOT.venue: SPOT, USDM.venue: USDM}


def spec_for(venue: str) -> MarketSpec:
    try:
        return SPECS[venue]
    except KeyError:
        raise UserError(f"unknown venue {venue!r}; use {' or '.join(SPECS)}") from None
