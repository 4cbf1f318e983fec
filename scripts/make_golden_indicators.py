"""Regenerate tests/analysis/golden/indicators_v1.npz: TA-Lib reference outputs that the
indicator tests compare against, so a regression shows up even where TA-Lib is not installed
and a TA-Lib upgrade that moves numbers shows up as a golden-file diff.

Two inputs:
* ``syn``: 600 one-minute bars of a seeded GARCH(1,1) random walk with Student-t shocks
  (stored in the file, inputs and outputs), starting 18:00 UTC so the UTC day changes inside;
* ``real``: a slice of ../shared/data/candles/binance_um_BTCUSDT_1h_20250101-20260731.csv.
  Only the slice position is stored; the tests read the candles from the shared data.

VWAP is not in TA-Lib: its golden values come from the straightforward per-day loop below,
written independently of tradeterm's implementation.

Usage: python scripts/make_golden_indicators.py   (run from the repository root)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import talib

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "analysis" / "golden" / "indicators_v1.npz"
REAL_FILE = "binance_um_BTCUSDT_1h_20250101-20260731.csv"
REAL_PATH = ROOT / ".." / "shared" / "data" / "candles" / REAL_FILE
REAL_START, REAL_LEN = 8000, 500
SYN_LEN = 600
SYN_START_MS = int(datetime(2024, 3, 9, 18, 0, tzinfo=UTC).timestamp() * 1000)
FIXED_ANCHOR_OFFSET = 250  # the fixed-anchor VWAP starts at bar 250 of each input

CASES: dict[str, tuple[str, dict[str, float]]] = {
    "sma_5": ("SMA", {"timeperiod": 5}),
    "sma_30": ("SMA", {"timeperiod": 30}),
    "ema_2": ("EMA", {"timeperiod": 2}),
    "ema_20": ("EMA", {"timeperiod": 20}),
    "ema_200": ("EMA", {"timeperiod": 200}),
    "rsi_2": ("RSI", {"timeperiod": 2}),
    "rsi_14": ("RSI", {"timeperiod": 14}),
    "macd_12_26_9": ("MACD", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
    "macd_5_35_5": ("MACD", {"fastperiod": 5, "slowperiod": 35, "signalperiod": 5}),
    "atr_1": ("ATR", {"timeperiod": 1}),
    "atr_14": ("ATR", {"timeperiod": 14}),
    "bbands_20_2_2": ("BBANDS", {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}),
    "bbands_5_1.5_2.5": ("BBANDS", {"timeperiod": 5, "nbdevup": 1.5, "nbdevdn": 2.5}),
}
VWAP_CASES: dict[str, tuple[str, int]] = {
    "vwap_day": ("day", 0),
    "vwap_session_8": ("session", 8),
    "vwap_fixed": ("fixed", 0),
}


def synthetic(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """GARCH(1,1) geometric walk, t(5) shocks, half-normal wicks, lognormal volume; tick 0.01."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 6e-4**2 * (1 - 0.05 - 0.93), 0.05, 0.93
    var, log_p, closes = 6e-4**2, np.log(100.0), np.empty(n)
    shocks = rng.standard_t(5, n) / np.sqrt(5 / 3)
    for i in range(n):
        r = np.sqrt(var) * shocks[i]
        log_p += r
        closes[i] = np.exp(log_p)
        var = omega + alpha * r * r + beta * var
    close = np.round(closes, 2)
    opens = np.round(np.concatenate(([100.0], close[:-1])) * (1 + rng.normal(0, 1e-5, n)), 2)
    sigma = 6e-4 * close
    high = np.round(np.maximum(opens, close) + np.abs(rng.normal(0, 0.6, n)) * sigma, 2)
    low = np.round(np.minimum(opens, close) - np.abs(rng.normal(0, 0.6, n)) * sigma, 2)
    volume = np.round(rng.lognormal(3, 1, n) * (0.5 + np.abs(shocks)), 3)
    t = SYN_START_MS + 60_000 * np.arange(n, dtype=np.int64)
    return {
        "open_time": t,
        "open": opens,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
    }


def real_slice() -> dict[str, np.ndarray]:
    rows = np.loadtxt(
        REAL_PATH, delimiter=",", skiprows=1 + REAL_START, max_rows=REAL_LEN, usecols=range(6)
    )
    t, o, h, lo, c, v = rows.T
    return {
        "open_time": t.astype(np.int64),
        "open": o,
        "high": h,
        "low": lo,
        "close": c,
        "volume": v,
    }


def reference_vwap(bars: dict[str, np.ndarray], mode: str, hour: int) -> np.ndarray:
    """Per-bar loop: session = UTC date of (open time - hour); fixed = cumulative from bar 250."""
    out = np.full(len(bars["close"]), np.nan)
    anchor = int(bars["open_time"][FIXED_ANCHOR_OFFSET])
    key, pv, vol = None, 0.0, 0.0
    for i, t in enumerate(bars["open_time"].tolist()):
        if mode == "fixed":
            if t < anchor:
                continue
            k = "fixed"
        else:
            k = datetime.fromtimestamp((t - hour * 3_600_000) / 1000, tz=UTC).date().isoformat()
        if k != key:
            key, pv, vol = k, 0.0, 0.0
        tp = (float(bars["high"][i]) + float(bars["low"][i]) + float(bars["close"][i])) / 3.0
        pv += tp * float(bars["volume"][i])
        vol += float(bars["volume"][i])
        out[i] = pv / vol if vol > 0 else np.nan
    return out


def outputs(prefix: str, bars: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    res: dict[str, np.ndarray] = {}
    for name, (func, params) in CASES.items():
        args = (bars["high"], bars["low"], bars["close"]) if func == "ATR" else (bars["close"],)
        got = getattr(talib, func)(*args, **params)
        for j, arr in enumerate(got if isinstance(got, tuple) else (got,)):
            res[f"{prefix}__{name}__{j}"] = arr
    for name, (mode, hour) in VWAP_CASES.items():
        res[f"{prefix}__{name}__0"] = reference_vwap(bars, mode, hour)
    return res


def main() -> None:
    syn, real = synthetic(SYN_LEN), real_slice()
    arrays = {f"syn_input__{k}": v for k, v in syn.items()}
    arrays |= outputs("syn", syn) | outputs("real", real)
    meta = {
        "talib": talib.__version__,
        "ta_lib_c": talib.__ta_version__.decode()
        if isinstance(talib.__ta_version__, bytes)
        else str(talib.__ta_version__),
        "cases": CASES,
        "vwap_cases": VWAP_CASES,
        "fixed_anchor_offset": FIXED_ANCHOR_OFFSET,
        "real": {"file": REAL_FILE, "start_row": REAL_START, "length": REAL_LEN},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
    print(f"wrote {OUT.relative_to(ROOT)}: {len(arrays)} arrays, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
