"""Analysis benchmarks, one function per section (``--section``; default: all).

indicators: each indicator at 100k and 1M bars against TA-Lib in the same run, interleaved
(TA-Lib and ours back to back in each round, so machine noise hits both), median of the
rounds and the median of the per-round ratios; the per-candle cost of the full IndicatorSet
and of RegimeState (p50/p99 µs); and numba's first-call cost in fresh processes, with the
on-disk cache present and, for reference, empty. Goal: each indicator ≤ 2× TA-Lib at 1M bars.

Usage: python bench/analysis_bench.py --section indicators [--runs-100k 21] [--runs-1m 11]
Data: the GARCH(1,1) one-minute walk of shared/reference/anchors.md (seed 42).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

ONE_MINUTE_MS = 60_000
START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def garch_bars(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """GARCH(1,1) geometric walk (alpha .05, beta .93, t(5) shocks, sigma 6e-4/min with a
    ±35 % daily cycle), half-normal wicks, lognormal volume, tick 0.01."""
    rng = np.random.default_rng(seed)
    season = 1 + 0.35 * np.sin(2 * np.pi * np.arange(n) / 1440)
    shocks = rng.standard_t(5, n) / np.sqrt(5 / 3)
    omega, alpha, beta = 6e-4**2 * 0.02, 0.05, 0.93
    var, rets = 6e-4**2, np.empty(n)
    for i in range(n):  # the GARCH recursion; ~1 s at 1M bars, done once per size
        rets[i] = np.sqrt(var) * shocks[i]
        var = omega + alpha * rets[i] ** 2 + beta * var
    rets *= season
    close = np.round(100 * np.exp(np.cumsum(rets)), 2)
    opens = np.round(np.concatenate(([100.0], close[:-1])) + rng.normal(0, 0.002, n), 2)
    wick = 0.6 * 6e-4 * close * season
    high = np.round(np.maximum(opens, close) + np.abs(rng.normal(0, 1, n)) * wick, 2)
    low = np.round(np.minimum(opens, close) - np.abs(rng.normal(0, 1, n)) * wick, 2)
    volume = rng.lognormal(3, 1, n) * (0.5 + np.abs(shocks)) * season
    t = START_MS + ONE_MINUTE_MS * np.arange(n, dtype=np.int64)
    return {
        "open_time": t,
        "open": opens,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
    }


def interleaved(
    ref: Callable[[], object], ours: Callable[[], object], runs: int
) -> tuple[float, float, float]:
    """Median ms of ``ref``, of ``ours``, and the median per-round ratio ours/ref."""
    for _ in range(2):
        ref(), ours()
    t_ref, t_ours, ratios = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        ref()
        t1 = time.perf_counter()
        ours()
        t2 = time.perf_counter()
        t_ref.append((t1 - t0) * 1e3)
        t_ours.append((t2 - t1) * 1e3)
        ratios.append((t2 - t1) / (t1 - t0))
    return statistics.median(t_ref), statistics.median(t_ours), statistics.median(ratios)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def _fresh_process(code: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    return proc.stdout.strip()


_COLD_CODE = """
import time
t0 = time.perf_counter()
import numpy as np
from tradeterm.analysis import indicators as ind
t1 = time.perf_counter()
c = 100 + np.cumsum(np.random.default_rng(1).standard_normal(100_000)) * 0.01
h, lo, v, t = c + 0.05, c - 0.05, np.ones_like(c), 1_704_067_200_000 + 60_000 * np.arange(len(c))
t2 = time.perf_counter()
ind.ema(c, 20)
t3 = time.perf_counter()
ind.sma(c, 20); ind.rsi(c, 14); ind.macd(c); ind.atr(h, lo, c, 14); ind.bbands(c, 20); ind.vwap(t, h, lo, c, v)
t4 = time.perf_counter()
print(f"{(t1 - t0) * 1e3:.0f} {(t3 - t2) * 1e3:.0f} {(t4 - t2) * 1e3:.0f}")
"""


def _cold_start(runs: int = 3) -> None:
    print(f"\nnumba cold start, fresh process, 100k bars (median of {runs}):")
    _fresh_process(_COLD_CODE)  # make sure the on-disk cache is populated
    rows = [tuple(map(float, _fresh_process(_COLD_CODE).split())) for _ in range(runs)]
    imp, first, all_ = (statistics.median(r[i] for r in rows) for i in range(3))
    print(
        f"  import tradeterm.analysis.indicators (numpy incl.): {imp:7.0f} ms  (numba not imported)"
    )
    print(
        f"  first ema() call, cache present:                    {first:7.0f} ms  (import numba + init + load)"
    )
    print(f"  first call of all 7 indicators, cache present:      {all_:7.0f} ms")
    with tempfile.TemporaryDirectory() as empty:
        row = _fresh_process(_COLD_CODE, {"NUMBA_CACHE_DIR": empty}).split()
    print(
        f"  first call of all 7 indicators, EMPTY cache:        {float(row[2]):7.0f} ms  (one run: compiles everything)"
    )
    small = _fresh_process(
        "import time, numpy as np\nfrom tradeterm.analysis import indicators as ind\n"
        "c = 100 + np.sin(np.arange(1000.0)); s = ind.IndicatorSet()\n"
        "t0 = time.perf_counter()\n"
        "s.compute(1_704_067_200_000 + 60_000 * np.arange(1000), c + 1, c - 1, c, np.ones(1000))\n"
        "print(f'{(time.perf_counter() - t0) * 1e3:.1f}')"
    )
    print(
        f"  IndicatorSet.compute on 1,000 bars, fresh process:  {float(small):7.1f} ms  (plain Python, no numba)"
    )


def _per_candle(bars: dict[str, np.ndarray], n: int) -> None:
    from tradeterm.analysis.indicators import IndicatorSet
    from tradeterm.analysis.regime import RegimeState

    rows = list(
        zip(*(bars[k][:n].tolist() for k in ("open_time", "high", "low", "close", "volume")))
    )
    s = IndicatorSet()
    state = RegimeState(venue="bench", symbol="BTCUSDT", tf="1m")
    t_set, t_reg = [], []
    clock = time.perf_counter_ns
    for t, h, lo, c, v in rows:
        t0 = clock()
        s.update(t, h, lo, c, v)
        t1 = clock()
        state.update(t, h, lo, c)
        t2 = clock()
        t_set.append((t1 - t0) / 1e3)
        t_reg.append((t2 - t1) / 1e3)
    warm = 300  # skip the warm-up bars (cheaper: most indicators still return None)
    for label, samples in (
        ("IndicatorSet.update (12 features)", t_set),
        ("RegimeState.update", t_reg),
    ):
        q = np.percentile(samples[warm:], [50, 99])
        print(f"  {label:34s} p50 {q[0]:6.1f} µs   p99 {q[1]:6.1f} µs   ({n - warm:,} candles)")


def _against_talib(n: int, runs: int) -> dict[str, np.ndarray]:
    """Print one size's rows of the comparison table; returns the bars it used."""
    import talib

    from tradeterm.analysis import indicators as ind
    from tradeterm.analysis.regime import regime

    b = garch_bars(n)
    c, h, lo, t, v = b["close"], b["high"], b["low"], b["open_time"], b["volume"]
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("SMA(20)", lambda: talib.SMA(c, 20), lambda: ind.sma(c, 20)),
        ("EMA(20)", lambda: talib.EMA(c, 20), lambda: ind.ema(c, 20)),
        ("RSI(14)", lambda: talib.RSI(c, 14), lambda: ind.rsi(c, 14)),
        ("MACD(12,26,9)", lambda: talib.MACD(c, 12, 26, 9), lambda: ind.macd(c, 12, 26, 9)),
        ("ATR(14)", lambda: talib.ATR(h, lo, c, 14), lambda: ind.atr(h, lo, c, 14)),
        ("BBANDS(20,2,2)", lambda: talib.BBANDS(c, 20, 2, 2), lambda: ind.bbands(c, 20, 2.0, 2.0)),
    ]
    for name, ref, ours in cases:
        t_ref, t_ours, ratio = interleaved(ref, ours, runs)
        print(f"{name:24s} {n:>9,d} {t_ref:9.3f} {t_ours:9.3f} {ratio:5.2f}x")
    vw = median_ms(lambda: ind.vwap(t, h, lo, c, v), runs)
    print(f"{'VWAP(day) [no talib]':24s} {n:>9,d} {'-':>9s} {vw:9.3f}")
    rg = median_ms(lambda: regime(h, lo, c), max(3, runs // 3))
    print(f"{'regime() [no talib]':24s} {n:>9,d} {'-':>9s} {rg:9.3f}")
    return b


def run_indicators(args: argparse.Namespace) -> None:
    import talib

    from tradeterm.analysis.indicators import _jit

    _jit.warm_up(background=False)
    _jit.force_engine = "numba"
    print(f"talib {talib.__version__} (C {talib.__ta_version__!r}), numpy {np.__version__}")
    print(f"{'indicator':24s} {'bars':>9s} {'talib ms':>9s} {'ours ms':>9s} {'ratio':>6s}")
    _against_talib(100_000, args.runs_100k)
    bars = _against_talib(1_000_000, args.runs_1m)
    _jit.force_engine = None
    print("\nper closed candle (1-minute GARCH bars):")
    _per_candle(bars, 20_300)
    _cold_start()


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {"indicators": run_indicators}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--section", choices=sorted(SECTIONS), action="append", help="repeatable; default: all"
    )
    parser.add_argument("--runs-100k", type=int, default=21)
    parser.add_argument("--runs-1m", type=int, default=11)
    args = parser.parse_args()
    for name in args.section or sorted(SECTIONS):
        print(f"== {name} ==")
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
