"""Pipeline speed: the per-candle cost of the whole analysis state plus the guard board, and the
throughput of ``tradeterm analyze`` on the real 1h BTC file.

Sections (``--section``, default all):

* ``guards``: :func:`guards_section` — the default board (news with a year of windows, funding,
  session in New York with kill zones, regime, drawdown, exposure) evaluated once per candle.
* ``pipeline``: :func:`pipeline_section` — one closed candle through indicators + SMC engine +
  regime + ``smc_retest`` (features.v1 built too, as live), then the guard board, per symbol and
  timeframe. Goal (Analysis issue): p99 <= 200 µs.
* ``analyze``: :func:`analyze_section` — the command end to end (load, analyse, JSON Lines out)
  with and without features.

Usage: python bench/pipeline_bench.py [--section pipeline] [--runs 3]
Data: shared/data/candles/binance_um_BTCUSDT_1h_20250101-20260731.csv (13,848 bars, real) and a
seeded GARCH 1-minute walk (smc_bench.garch_frame). The machine is shared and noisy: figures are
the median over runs of each percentile; the garbage collector stays on (it is on in a session).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from tradeterm.analysis.guards import (
    EquitySnapshot,
    ExposureSnapshot,
    GuardBoard,
    GuardInputs,
    NewsGuard,
    NewsSchedule,
    SessionGuard,
    SessionGuardConfig,
    default_board,
)
from tradeterm.analysis.guards.calendar import CalendarEvent
from tradeterm.analysis.pipeline import AnalysisState, PipelineConfig
from tradeterm.analysis.strategies.smc_retest import SmcRetest
from tradeterm.contracts import FundingWindowV1, Impact
from tradeterm.market.frame import CandleFrame
from tradeterm.market.loaders import load_klines

REAL_1H = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "candles"
    / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
)
PCTS = (50, 90, 99, 99.9)
_8H = 8 * 3_600_000


def _board() -> GuardBoard:
    guards = list(default_board().guards)
    session = SessionGuard(
        SessionGuardConfig(
            tz="America/New_York",
            hours=("02:00-16:00",),
            kill_zones={"London": "02:00-05:00", "New York": "07:00-11:00"},
            allow_weekends=False,
        )
    )
    return GuardBoard([session if g.name == "session" else g for g in guards])


def _news(start: int, end: int) -> NewsSchedule:
    """A high-impact release every weekday at 13:30 UTC: ~250 windows a year."""
    day = 86_400_000
    events = [
        CalendarEvent(f"release {i}", t + 13 * 3_600_000 + 30 * 60_000, Impact.HIGH, "USD")
        for i, t in enumerate(range(start - start % day, end, day))
        if (t // day + 3) % 7 < 5
    ]
    return NewsSchedule(NewsGuard().windows(events))


def _funding(t: int) -> FundingWindowV1:
    nxt = t - t % _8H + _8H
    return FundingWindowV1(
        venue="binance-um",
        symbol="BTCUSDT",
        observed_at=t,
        funding_time=nxt,
        rate=Decimal("0.0001"),
    )


def _percentiles(samples_ns: list[int]) -> list[float]:
    a = np.asarray(samples_ns, dtype=np.float64) / 1e3
    return [float(np.percentile(a, p)) for p in PCTS]


def _fmt(row: list[float]) -> str:
    return "  ".join(f"p{p:g} {v:7.1f}" for p, v in zip(PCTS, row, strict=True))


def _time_stream(
    frame: CandleFrame, venue: str, board: GuardBoard | None
) -> tuple[list[int], list[int]]:
    """Per-candle ns for (analysis state incl. smc_retest, guard board)."""
    state = AnalysisState(
        venue=venue,
        symbol=frame.symbol,
        tf=frame.tf,
        config=PipelineConfig(),
        strategies=[SmcRetest()],
    )
    cols = [
        c.tolist()
        for c in (
            frame.open_time,
            frame.close_time,
            frame.open,
            frame.high,
            frame.low,
            frame.close,
            frame.volume,
        )
    ]
    news = _news(int(frame.open_time[0]), int(frame.close_time[-1]))
    equity = EquitySnapshot(Decimal(10_000), Decimal(10_200), Decimal(10_050))
    exposure = ExposureSnapshot(Decimal(1), 1)
    t_state: list[int] = []
    t_guard: list[int] = []
    funding = _funding(int(frame.open_time[0]))
    clock = time.perf_counter_ns
    for ot, ct, o, h, lo, c, v in zip(*cols, strict=True):
        a = clock()
        state.update(ot, ct, o, h, lo, c, v)
        b = clock()
        t_state.append(b - a)
        if board is not None:
            if ct >= funding.funding_time:
                funding = _funding(ct)
            a = clock()
            board.evaluate(
                GuardInputs(
                    news=news,
                    funding=funding,
                    regime=state.regime,
                    equity=equity,
                    exposure=exposure,
                ),
                ct,
            )
            t_guard.append(clock() - a)
    return t_state, t_guard


def _streams(n_synthetic: int) -> list[tuple[str, CandleFrame, str]]:
    out = []
    if REAL_1H.exists():
        out.append(("BTCUSDT 1h real", load_klines(REAL_1H), "binance-um"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from smc_bench import garch_frame

    out.append((f"GARCH 1m x{n_synthetic // 1000}k", garch_frame(n_synthetic), "demo"))
    return out


def guards_section(runs: int = 3, n_synthetic: int = 20_000) -> None:
    print(
        "\nguard board per candle (6 guards, news ~250 windows/yr, NY session with kill zones), µs:"
    )
    for label, frame, venue in _streams(n_synthetic):
        rows = []
        for _ in range(runs):
            _, t_guard = _time_stream(frame, venue, _board())
            rows.append(_percentiles(t_guard))
        print(
            f"  {label:<20} {_fmt([statistics.median(r[i] for r in rows) for i in range(len(PCTS))])}"
        )


def pipeline_section(runs: int = 3, n_synthetic: int = 20_000) -> None:
    print(
        "\none closed candle: indicators + SMC + regime + smc_retest (+ features.v1), then guards, µs:"
    )
    for label, frame, venue in _streams(n_synthetic):
        state_rows, total_rows = [], []
        for _ in range(runs):
            t_state, t_guard = _time_stream(frame, venue, _board())
            state_rows.append(_percentiles(t_state))
            total_rows.append(_percentiles([a + b for a, b in zip(t_state, t_guard, strict=True)]))
        med = [statistics.median(r[i] for r in total_rows) for i in range(len(PCTS))]
        print(
            f"  {label:<20} state  {_fmt([statistics.median(r[i] for r in state_rows) for i in range(len(PCTS))])}"
        )
        print(
            f"  {'':<20} +guards {_fmt(med)}   goal p99 <= 200: {'met' if med[2] <= 200 else 'NOT met'}"
        )


def analyze_section(runs: int = 3) -> None:
    if not REAL_1H.exists():
        print(f"\nanalyze: skipped, {REAL_1H} not found")
        return
    from tradeterm.commands import analyze

    parser = argparse.ArgumentParser()
    analyze.register(parser.add_subparsers())
    print(f"\ntradeterm analyze on {REAL_1H.name} (13,848 bars), median of {runs}:")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "events.jsonl"
        for label, extra in (("all events", []), ("--no-features", ["--no-features"]),
                             ("4 strategies", ["--strategy", "smc_retest", "--strategy", "sma_cross",
                                               "--strategy", "rsi_reversion", "--strategy", "fib_rsi"])):  # fmt: skip
            times = []
            for _ in range(runs):
                args = parser.parse_args(
                    ["analyze", "--data", str(REAL_1H), "--out", str(out), *extra]
                )
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    args.handler(args, None)
                times.append(time.perf_counter() - t0)
            s = statistics.median(times)
            size = out.stat().st_size / 1e6
            print(f"  {label:<14} {s:5.2f} s  {13_848 / s:8,.0f} bars/s  {size:5.1f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--section", choices=["guards", "pipeline", "analyze", "all"], default="all")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--synthetic-bars", type=int, default=20_000)
    a = p.parse_args()
    if a.section in ("guards", "all"):
        guards_section(a.runs, a.synthetic_bars)
    if a.section in ("pipeline", "all"):
        pipeline_section(a.runs, a.synthetic_bars)
    if a.section in ("analyze", "all"):
        analyze_section(a.runs)


if __name__ == "__main__":
    main()
