"""Market-data building blocks: synthetic generation, aggregation and loading speed.

Usage: python bench/synthetic_bench.py [--bars 1000000] [--runs 3]
Prints the median of the runs. The goal (Market-data issue) is 1M synthetic 1m bars in well under
a second or two, so the demo venue can hold years of history without a visible start-up pause.
The first numba call compiles (or loads its on-disk cache); it is reported separately.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from tradeterm.contracts import Timeframe
from tradeterm.market import synthetic
from tradeterm.market.aggregate import Aggregator, aggregate
from tradeterm.market.loaders import load_klines
from tradeterm.market.synthetic import SyntheticMarket

T0 = 1_704_067_200_000
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "candles"


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.bars

    def gen() -> object:
        return SyntheticMarket("BTCUSDT", seed=1, start_ms=T0).generate(n)

    t0 = time.perf_counter()
    frame = SyntheticMarket("BTCUSDT", seed=1, start_ms=T0).generate(n)
    print(f"synthetic first call (numba compile or cache load): {time.perf_counter() - t0:.3f} s")
    print(f"synthetic {n:,} x 1m bars: {_median(gen, args.runs):.3f} s")
    saved = synthetic._NUMBA_MIN_BARS
    synthetic._NUMBA_MIN_BARS = 1 << 62
    try:
        print(f"synthetic {n:,} x 1m bars, pure Python kernel: {_median(gen, 1):.3f} s")
    finally:
        synthetic._NUMBA_MIN_BARS = saved

    def stream() -> object:
        m = SyntheticMarket("BTCUSDT", seed=1, start_ms=T0)
        for _ in range(10_000):
            m.next_bars(1)
        return m

    print(f"synthetic streaming, next_bars(1): {10_000 / _median(stream, args.runs):,.0f} bars/s")
    for tf in (Timeframe.M5, Timeframe.H1, Timeframe.D1, Timeframe.MO1):
        print(f"aggregate {n:,} x 1m -> {tf.value}: {_median(lambda tf=tf: aggregate(frame, tf), args.runs) * 1000:.1f} ms")
    part = frame.slice(0, 50_000)
    live = _median(lambda: Aggregator(Timeframe.H1).push_frame(part), 1)
    print(f"Aggregator (live form) 1m -> 1h: {len(part) / live:,.0f} base bars/s")
    big = DATA / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
    if big.exists():
        print(f"load_klines {big.name} (13,848 rows): {_median(lambda: load_klines(big), args.runs) * 1000:.1f} ms")
    us = DATA / "binanceus_BTCUSDT_1m_20230301-20230321.csv"
    if us.exists():
        print(f"load_klines {us.name} (30,240 rows, ISO times): {_median(lambda: load_klines(us), args.runs) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
