"""SMC speed: the whole vectorised pass, the contract materialisers, the incremental engine, and
numba's start-up in a fresh process.

Usage: python bench/smc_bench.py [--sizes 100000 1000000] [--runs 5] [--engine-bars 100000]
Goal (Analysis issue): the whole SMC set at 1M bars <= 1 s. Anchor: smartmoneyconcepts 0.0.27
takes ~3.1 s at 100k and ~56 s at 1M on this class of machine (shared/reference/anchors.md).
Data: a seeded GARCH(1,1) walk with Student-t(5) shocks and a daily volatility season, 1-minute
bars on a 0.01 tick (the anchors' recipe). Figures are medians; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tradeterm.analysis.smc import SmcConfig, SmcEngine, analyze
from tradeterm.analysis.smc.api import JIT_MIN_BARS
from tradeterm.market.frame import CandleFrame

T0 = 1_704_067_200_000  # 2024-01-01


def garch_frame(n: int, seed: int = 42) -> CandleFrame:
    """GARCH(1,1) (alpha 0.05, beta 0.93, unconditional sigma 6e-4/min) with t(5) shocks."""
    rng = np.random.default_rng(seed)
    alpha, beta, sigma = 0.05, 0.93, 6e-4
    omega = sigma**2 * (1 - alpha - beta)
    z = rng.standard_t(5, n) / np.sqrt(5 / 3)
    season = 1 + 0.35 * np.sin(2 * np.pi * (np.arange(n) % 1440) / 1440)
    r = np.empty(n)
    var = sigma**2
    for i in range(n):
        e = np.sqrt(var) * z[i]
        r[i] = e * season[i]
        var = omega + alpha * e * e + beta * var
    close = np.round(100 * np.exp(np.cumsum(r)), 2)
    prev = np.r_[100.0, close[:-1]]
    open_ = np.round(prev + rng.normal(0, 0.002, n), 2)
    vol = sigma * season * close
    high = np.round(np.maximum(open_, close) + np.abs(rng.normal(0, 0.6, n)) * vol, 2)
    low = np.round(np.minimum(open_, close) - np.abs(rng.normal(0, 0.6, n)) * vol, 2)
    volume = rng.lognormal(0, 1, n) * (0.5 + np.abs(z)) * season
    return CandleFrame.from_columns(
        "BTCUSDT", "1m", T0 + 60_000 * np.arange(n), open_, high, low, close, volume
    )


def _median_s(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _fresh_process_first_call(
    cache_dir: str | None, jit: bool | None, n: int = 10_000
) -> tuple[float, float]:
    """(import s, first analyze() on n bars s) in a new interpreter."""
    code = (
        "import sys, time; t0 = time.perf_counter()\n"
        "import tradeterm.analysis.smc as smc\n"
        "t1 = time.perf_counter()\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from smc_bench import garch_frame\n"
        f"f = garch_frame({n})\n"
        f"t2 = time.perf_counter(); smc.analyze(f, jit={jit}); t3 = time.perf_counter()\n"
        "print(t1 - t0, t3 - t2)\n"
    )
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    imp, first = out.stdout.split()
    return float(imp), float(first)


def smc_section(
    sizes: tuple[int, ...] = (100_000, 1_000_000), runs: int = 5, engine_bars: int = 100_000
) -> dict[str, float]:
    """Print the SMC figures; return them keyed by name (for BENCHMARKS.md tooling)."""
    cfg = SmcConfig()
    fig: dict[str, float] = {}
    print(f"SMC (default config: swings 5/5, close breaks, wick OBs; median of {runs} runs)")
    analyze(garch_frame(2_000), cfg, jit=True)  # compile / load the numba kernels
    for n in sizes:
        f = garch_frame(n)
        res = analyze(f, cfg)
        t = _median_s(lambda f=f: analyze(f, cfg), runs)
        fig[f"analyze_{n}"] = t
        n_ev, n_z = len(res.structure), len(res.zones)
        zones_born = int(np.count_nonzero(res.zones.state == 0))
        print(
            f"  analyze, {n:>9,} bars: {t * 1e3:8.1f} ms  ({n_ev:,} structure events, {n_z:,} zone events, "
            f"{zones_born:,} zones)"
        )
        mat_runs = 3 if n <= 100_000 else 1
        tm = _median_s(res.all_events, mat_runs)
        fig[f"materialise_{n}"] = tm
        print(
            f"    .all_events() as pydantic contracts: {tm * 1e3:8.0f} ms  ({(tm / (n_ev + n_z)) * 1e6:.1f} µs/event, "
            f"{'median of 3' if mat_runs == 3 else 'single run'})"
        )
    # incremental engine, as live would run it (validated events)
    f = garch_frame(engine_bars)
    ct = f.close_time
    rows = list(
        zip(
            f.open_time.tolist(),
            ct.tolist(),
            f.open.tolist(),
            f.high.tolist(),
            f.low.tolist(),
            f.close.tolist(),
        )
    )
    eng = SmcEngine(cfg, symbol=f.symbol, tf=f.tf)
    lat = np.empty(len(rows))
    clock = time.perf_counter_ns
    for i, r in enumerate(rows):
        t0 = clock()
        eng.push(*r)
        lat[i] = clock() - t0
    lat /= 1e3
    p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
    fig.update(engine_p50_us=p50, engine_p99_us=p99, engine_mean_us=float(lat.mean()))
    print(
        f"  engine.push, {engine_bars:,} bars: p50 {p50:.1f} µs, p99 {p99:.1f} µs, p99.9 {p999:.1f} µs, "
        f"mean {lat.mean():.1f} µs, max {lat.max():.0f} µs ({eng.open_zones:,} zones still open at the end)"
    )
    # start-up in fresh processes: plain-Python kernels (the default below JIT_MIN_BARS) and numba
    with tempfile.TemporaryDirectory() as cold:
        _, first_cold = _fresh_process_first_call(cold, jit=True)
    _fresh_process_first_call(None, jit=True)  # make sure the package's numba cache is warm
    runs3 = {
        jit: [_fresh_process_first_call(None, jit=jit) for _ in range(3)] for jit in (None, True)
    }
    imp = statistics.median(r[0] for r in runs3[None])
    first_py = statistics.median(r[1] for r in runs3[None])
    first_jit = statistics.median(r[1] for r in runs3[True])
    fig.update(import_s=imp, first_call_python_s=first_py, first_call_numba_warm_s=first_jit)
    fig["first_call_numba_cold_s"] = first_cold
    print(
        f"  fresh process (median of 3): import tradeterm.analysis.smc {imp * 1e3:.0f} ms (no numba); "
        f"first analyze() of 10k bars {first_py * 1e3:.0f} ms with the Python kernels (default below "
        f"{JIT_MIN_BARS:,} bars), {first_jit * 1e3:.0f} ms with jit=True and numba's cache warm, "
        f"{first_cold:.1f} s with an empty cache (compiles)"
    )
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engine-bars", type=int, default=100_000)
    args = parser.parse_args()
    smc_section(tuple(args.sizes), args.runs, args.engine_bars)


if __name__ == "__main__":
    main()
