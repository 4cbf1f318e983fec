"""The fake's market: seeded synthetic 1m history per symbol, its timeframes, and chart bundles.

Why a module of its own: generating 24,000 bars and running the SMC pass over them is the only
expensive thing the fake does, so it is cached per process here (tests and benches build many
fakes over the same seeds), apart from the cheap bookkeeping of orders and signals.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

import numpy as np

from tradeterm.analysis.smc import SmcConfig, SmcResult, analyze, codes
from tradeterm.contracts.timeframe import Timeframe
from tradeterm.market.aggregate import aggregate
from tradeterm.market.frame import CandleFrame
from tradeterm.pipeline.chartdata import ChartData, OrderLine, Series, indicator_series

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC: where every fake market starts
MINUTE = 60_000
BASE_BARS = 24_000  # 1m bars of history (~16.7 days): enough for 300 bars of 1h
CHART_BARS = 300
TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h")
DEFAULT_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@lru_cache(maxsize=64)
def base_frame(symbol: str, seed: int, bars: int) -> CandleFrame:
    """1m history of one symbol; cached per process because tests build many fakes (64 entries:
    a 20-symbol bench watchlist must not evict its own symbols on every snapshot)."""
    from tradeterm.market.synthetic import SyntheticMarket

    return SyntheticMarket(symbol, seed=seed, start_ms=T0).generate(bars)


@lru_cache(maxsize=64)
def tf_frame(symbol: str, seed: int, bars: int, tf: str) -> CandleFrame:
    """The whole history of ``symbol`` on ``tf`` (aggregated once, then sliced per frame)."""
    base = base_frame(symbol, seed, bars)
    return base if tf == "1m" else aggregate(base, tf)


@lru_cache(maxsize=64)
def chart_parts(
    symbol: str, seed: int, bars: int, tf: str
) -> tuple[CandleFrame, SmcResult, tuple[Series, ...]]:
    """The last ``CHART_BARS`` bars of ``tf``, their SMC pass and indicator overlays."""
    frame = tf_frame(symbol, seed, bars, tf)
    start = max(len(frame) - CHART_BARS, 0)
    frame = frame.slice(start, len(frame))
    return frame, analyze(frame, SmcConfig()), indicator_series(frame)


def visible_chart_parts(
    symbol: str, seed: int, bars: int, tf: str, end_ms: int | None
) -> tuple[CandleFrame, SmcResult, tuple[Series, ...]]:
    """The last ``CHART_BARS`` bars of ``tf`` closed by ``end_ms`` (``None``: the whole
    history), analysed on that cut alone, so a replayed chart never shows SMC events from bars
    that have not happened yet and always has a full window however far it was rewound."""
    if end_ms is None:
        return chart_parts(symbol, seed, bars, tf)
    full = tf_frame(symbol, seed, bars, tf)
    stop = int(np.searchsorted(full.open_time + Timeframe(tf).ms, end_ms, side="right"))
    stop = max(stop, 1)
    frame = full.slice(max(stop - CHART_BARS, 0), stop)
    return frame, analyze(frame, SmcConfig()), indicator_series(frame)


def chart_bundle(
    frame: CandleFrame,
    smc: SmcResult,
    series: tuple[Series, ...],
    orders: tuple[OrderLine, ...],
    price_decimals: int,
) -> ChartData:
    """The chart's input with liquidity sweeps included.

    ``ChartData.breaks`` is a :class:`~tradeterm.analysis.smc.StructureTable`, whose kinds cover
    BOS, CHOCH *and* sweeps; the chart draws each kind as its own overlay (``structure`` and
    ``liquidity``), as :func:`tradeterm.pipeline.chartdata.chart_data` does; the fake builds the
    bundle itself because it brings its own series.
    """
    return ChartData(
        frame=frame,
        series=series,
        swings=smc.swings,
        breaks=smc.structure.of_kind(codes.BOS, codes.CHOCH, codes.SWEEP),
        zones=smc.active_zones(),
        orders=orders,
        price_decimals=price_decimals,
    )


def quantize(value: float | Decimal, quantum: Decimal) -> Decimal:
    """``value`` on the grid of ``quantum`` (a tick or a step), via its shortest repr."""
    return Decimal(repr(float(value))).quantize(quantum)
