"""End-to-end pipeline latency: candle close → features → SMC → decision → order ACK.

Usage: python bench/e2e_bench.py [--symbols 20] [--bars 240] [--runs 3] [--no-regime] [--no-broker-store]

What runs is the daemon's pipeline, unchanged: :class:`PipelineController` with the built-in venue
in-process on loopback (its real REST and WebSocket servers), the market ingest over that socket,
the analysis stage (indicators, SMC, regime, ``smc_retest``), the guard board, auto-trade on every
symbol (decide → paper broker on the venue's matching engine) and the SQLite store. ``--symbols``
synthetic symbols × 2 timeframes (1m streamed, 15m aggregated from it).

Speed "max": the venue's replay clock is stepped by hand, one 1m bar at a time, and the next bar is
released as soon as the pipeline has finished the previous one (every closed candle analysed,
every auto-trade placement done). So the market runs as fast as the pipeline takes it, and each
step is the real worst case of live trading: all symbols close a bar at the same instant (and at
every quarter hour the 15m bars close with them), so the last candle of a burst waits for all the
others — that queueing is in the figures, deliberately.

Latency is wall time from the moment the ingest published the closed candle on the bus (the kline
that closed it was received and accepted) to: its features computed, its SMC step done, a decision
made on its signal (approved or refused, auto mode) and the broker's ACK of the bracket. The same
code feeds the ``tradeterm_stage_latency_seconds`` histograms of ``/metrics``. Percentiles are per
run; the figure printed is the median over ``--runs``. Goal: p99 <= 25 ms end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradeterm.analysis.guards import GuardBoard, default_board
from tradeterm.pipeline.controller import PipelineController, PipelineOptions
from tradeterm.pipeline.metrics import STAGES

MAJORS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
OTHERS = ["BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "LTCUSDT", "DOTUSDT", "LINKUSDT", "AVAXUSDT", "TRXUSDT",
          "ATOMUSDT", "NEARUSDT", "APTUSDT", "ARBUSDT", "OPUSDT", "FILUSDT", "ICPUSDT", "UNIUSDT", "AAVEUSDT",
          "ETCUSDT", "XLMUSDT", "INJUSDT", "SUIUSDT", "SEIUSDT", "TIAUSDT", "RUNEUSDT", "ALGOUSDT", "EGLDUSDT"]
PCTS = (50, 95, 99)
GOAL_P99_MS = 25.0


def _no_regime() -> GuardBoard:
    return GuardBoard([g for g in default_board().guards if g.name != "regime"])


async def one_run(n_symbols: int, bars: int, no_regime: bool, seed: int,
                  no_broker_store: bool = False, balance: int = 10_000) -> dict[str, object]:
    symbols = tuple((MAJORS + OTHERS)[:n_symbols])
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp:
        os.environ["TRADETERM_DATA_DIR"] = tmp
        from tradeterm.config import load_settings

        settings = load_settings(use_default_file=False)
        options = PipelineOptions(symbols=symbols, timeframes=("1m", "15m"), speed=None, venue_paused=True,
                                  seed=seed, history_bars=300, heartbeat_s=3600.0, keep_latency_samples=True,
                                  stale_feed_s=3600.0, ephemeral=True, paper_balance=Decimal(balance),
                                  guards=_no_regime if no_regime else default_board,
                                  usdm=False)  # auto-trade places on spot; keep the USD-M side out of the figures
        c = PipelineController(settings, options)
        await c.start()
        try:
            for s in symbols:
                c.set_auto_trade(s, True)
            if no_broker_store and c.trading is not None and c.trading.broker is not None:
                c.trading.broker.store = None  # diagnostic only: shows the store's share of the ACK
            assert c.ingest is not None
            for s in symbols:  # every series (15m is derived from 1m) has its history before the replay
                for tf in options.timeframes:
                    await c.ingest.wait_ready(s, tf, 60)
            venue = c.venue_server.venue
            assert c.analysis is not None
            stats = c.bus.stats("candles.v1")
            t_start = time.perf_counter()
            stalls = 0
            for _ in range(bars):
                before = stats.published
                venue.step_bars(1)
                deadline = time.monotonic() + 30
                while not (stats.published >= before + n_symbols and c.analysis.seen >= stats.published
                           and not c._tasks):
                    if time.monotonic() > deadline:
                        stalls += 1
                        break
                    await asyncio.sleep(0.0002)
            wall = time.perf_counter() - t_start
            samples = {s: np.asarray(c.metrics.samples[s]) * 1000.0 for s in STAGES}
            return {"samples": samples, "wall": wall, "candles": c.analysis.candles_in, "stalls": stalls,
                    "brackets": len(c.trading.brackets()) if c.trading else 0}
        finally:
            await c.stop()


def _row(label: str, per_run: list[np.ndarray]) -> str:
    if not all(len(a) for a in per_run):
        return f"  {label:<22} {'no samples':>10}"
    pct = [statistics.median(float(np.percentile(a, p)) for a in per_run) for p in PCTS]
    worst = statistics.median(float(a.max()) for a in per_run)
    n = statistics.median(len(a) for a in per_run)
    cells = "  ".join(f"p{p} {v:7.2f}" for p, v in zip(PCTS, pct, strict=True))
    return f"  {label:<22} {cells}  max {worst:8.2f}   n={n:,.0f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--symbols", type=int, default=20)
    p.add_argument("--bars", type=int, default=240, help="1m bars replayed per run (every 15th closes a 15m bar)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-regime", action="store_true", help="drop the regime guard (more decisions reach the broker)")
    p.add_argument("--balance", type=int, default=10_000,
                   help="paper USDT; the default account is fully committed after one or two brackets")
    p.add_argument("--no-broker-store", action="store_true",
                   help="diagnostic: the broker writes no decisions/orders to the store (not a safe way to trade)")
    a = p.parse_args()
    if not 1 <= a.symbols <= len(MAJORS) + len(OTHERS):
        p.error(f"--symbols must be within 1..{len(MAJORS) + len(OTHERS)}")
    logging.basicConfig(level=logging.ERROR)
    runs = [asyncio.run(one_run(a.symbols, a.bars, a.no_regime, seed=i + 1, no_broker_store=a.no_broker_store,
                                balance=a.balance))
            for i in range(a.runs)]
    print(f"\ne2e pipeline latency, {a.symbols} symbols x (1m + 15m), {a.bars} bars at max speed, "
          f"median of {a.runs} runs, ms from the closed candle on the bus:")
    labels = {"features": "close -> features", "smc": "close -> SMC", "decision": "close -> decision",
              "ack": "close -> order ACK"}
    for stage in STAGES:
        print(_row(labels[stage], [r["samples"][stage] for r in runs]))  # type: ignore[index]
    walls = [float(r["wall"]) for r in runs]  # type: ignore[arg-type]
    candles = [int(r["candles"]) for r in runs]  # type: ignore[call-overload]
    print(f"  candles analysed per run {statistics.median(candles):,.0f} in {statistics.median(walls):.1f} s "
          f"({statistics.median(c / w for c, w in zip(candles, walls, strict=True)):,.0f} candles/s incl. stepping); "
          f"brackets {[r['brackets'] for r in runs]}, stalled steps {[r['stalls'] for r in runs]}")
    ends = [r["samples"]["ack"] for r in runs if len(r["samples"]["ack"])]  # type: ignore[index]
    if not ends:
        ends = [r["samples"]["decision"] for r in runs]  # type: ignore[index]
    e2e = statistics.median(float(np.percentile(x, 99)) for x in ends) if ends and all(len(x) for x in ends) else None
    if e2e is not None:
        print(f"  goal p99 <= {GOAL_P99_MS:g} ms end to end: {'met' if e2e <= GOAL_P99_MS else 'NOT met'} ({e2e:.2f} ms)")


if __name__ == "__main__":
    main()
