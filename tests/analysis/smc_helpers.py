"""Shared helpers of the SMC tests: candle builders, real-data loaders, run-and-compare."""

from __future__ import annotations

import csv
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradeterm.analysis.smc import SmcConfig, SmcEngine, SmcResult, analyze
from tradeterm.contracts import SmcEventV1, ZoneV1
from tradeterm.market.frame import CandleFrame

T0 = 1_700_000_000_000  # 2023-11-14, inside the contracts' 2000..2200 window
MIN = 60_000
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "candles"
CSV_1H = DATA / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
JSON_5M = DATA / "binance_um_BTCUSDT_5m_20230102-20230209.json"


def frame(ohlc: list[tuple[float, float, float, float]], symbol: str = "BTCUSDT") -> CandleFrame:
    """1-minute candles from (open, high, low, close) rows, starting at T0."""
    a = np.asarray(ohlc, dtype=np.float64).reshape(-1, 4)
    n = a.shape[0]
    return CandleFrame.from_columns(
        symbol, "1m", T0 + MIN * np.arange(n), a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.ones(n)
    )


def load_binance_csv(path: Path) -> CandleFrame:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    col = {
        k: np.array([r[k] for r in rows])
        for k in ("openTime", "open", "high", "low", "close", "volume")
    }
    return CandleFrame.from_columns(
        "BTCUSDT",
        "1h",
        col["openTime"].astype(np.int64),
        *(col[k].astype(np.float64) for k in ("open", "high", "low", "close", "volume")),
    )


def load_pandas_json(path: Path) -> CandleFrame:
    """pandas ``to_json(orient="columns")``: {column: {row: value}}."""
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    d = json.loads(path.read_text())
    keys = sorted(d["date"], key=int)
    col = {
        c: np.array([d[c][k] for k in keys])
        for c in ("date", "open", "high", "low", "close", "volume")
    }
    return CandleFrame.from_columns(
        "BTCUSDT",
        "5m",
        col["date"].astype(np.int64),
        *(col[k].astype(np.float64) for k in ("open", "high", "low", "close", "volume")),
    )


def run_engine(
    f: CandleFrame,
    cfg: SmcConfig,
    *,
    fvg_min_size: np.ndarray | None = None,
    liquidity_tolerance: np.ndarray | None = None,
    venue: str = "demo",
) -> tuple[list[SmcEventV1 | ZoneV1], list[int]]:
    """All events of an engine fed bar by bar, and how many each bar produced."""
    eng = SmcEngine(cfg, venue=venue, symbol=f.symbol, tf=f.tf)
    ct = f.close_time
    out: list[SmcEventV1 | ZoneV1] = []
    per_bar: list[int] = []
    for i in range(len(f)):
        ev = eng.push(
            int(f.open_time[i]),
            int(ct[i]),
            float(f.open[i]),
            float(f.high[i]),
            float(f.low[i]),
            float(f.close[i]),
            fvg_min_size=None if fvg_min_size is None else float(fvg_min_size[i]),
            liquidity_tolerance=None
            if liquidity_tolerance is None
            else float(liquidity_tolerance[i]),
        )
        out.extend(ev)
        per_bar.append(len(ev))
    return out, per_bar


def table_rows(table: Any, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    return {
        f.name: (getattr(table, f.name) if rows is None else getattr(table, f.name)[rows])
        for f in fields(table)
    }


def assert_tables_equal(a: Any, b: Any, what: str) -> None:
    ra, rb = table_rows(a), table_rows(b)
    for name in ra:
        assert ra[name].dtype == rb[name].dtype, (
            f"{what}.{name}: dtype {ra[name].dtype} != {rb[name].dtype}"
        )
        assert np.array_equal(ra[name], rb[name]), f"{what}.{name} differs:\n{ra[name]}\n{rb[name]}"


def assert_prefix_consistent(
    f: CandleFrame,
    cfg: SmcConfig,
    ks: list[int] | range,
    full: SmcResult | None = None,
    fvg_min_size: np.ndarray | None = None,
    liquidity_tolerance: np.ndarray | None = None,
    jit: bool | None = None,
) -> None:
    """The no-look-ahead property, on the columnar tables: a run on bars[:k] equals the full
    run's rows confirmed before bar k, for every k given (threshold arrays cut at k too)."""
    if full is None:
        full = analyze(
            f, cfg, fvg_min_size=fvg_min_size, liquidity_tolerance=liquidity_tolerance, jit=jit
        )
    for k in ks:
        pre = analyze(
            f.slice(0, k),
            cfg,
            fvg_min_size=None if fvg_min_size is None else fvg_min_size[:k],
            liquidity_tolerance=None if liquidity_tolerance is None else liquidity_tolerance[:k],
            jit=jit,
        )
        assert_tables_equal(
            pre.structure,
            full.structure.take(np.flatnonzero(full.structure.conf < k)),
            f"structure[:{k}]",
        )
        assert_tables_equal(
            pre.zones, full.zones.take(np.flatnonzero(full.zones.conf < k)), f"zones[:{k}]"
        )


def mirror(f: CandleFrame, pivot: float) -> CandleFrame:
    """The series upside down around ``pivot``: every bullish fact becomes its bearish twin."""
    return CandleFrame.from_columns(
        f.symbol,
        f.tf,
        f.open_time,
        pivot - f.open,
        pivot - f.low,
        pivot - f.high,
        pivot - f.close,
        f.volume,
    )
