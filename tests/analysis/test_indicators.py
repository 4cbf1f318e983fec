"""Indicators against TA-Lib (golden file and live), warm-up semantics, input rules, VWAP,
IndicatorSet and the lazy numba start. Streaming equality and random inputs live in
test_indicators_stream.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import talib

from tradeterm.analysis import indicators as ind
from tradeterm.analysis.indicators import _jit
from tradeterm.contracts.analysis import FeaturesV1

GOLDEN = Path(__file__).parent / "golden" / "indicators_v1.npz"
CANDLES = Path(__file__).parents[2] / ".." / "shared" / "data" / "candles"
REAL_1H = CANDLES / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
needs_real = pytest.mark.skipif(not REAL_1H.exists(), reason="shared candle data not present")


@pytest.fixture(params=["python", "numba"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once on the plain-Python loops and once on the compiled ones."""
    monkeypatch.setattr(_jit, "force_engine", request.param)
    return str(request.param)


def load_bars(path: Path, start: int = 0, length: int | None = None) -> dict[str, np.ndarray]:
    rows = np.loadtxt(path, delimiter=",", skiprows=1 + start, max_rows=length, usecols=range(6))
    t, o, h, lo, c, v = rows.T
    return {
        "open_time": t.astype(np.int64),
        "open": o,
        "high": h,
        "low": lo,
        "close": c,
        "volume": v,
    }


def assert_matches(ours: np.ndarray, ref: np.ndarray, scale: float) -> None:
    """Same NaN positions; elsewhere |ours - ref| <= 1e-9 * max(|ref|, scale).

    ``scale`` (the input's magnitude, or 100 for RSI) keeps the bound meaningful where an
    output crosses zero (MACD, histogram), the same rule TA-Lib's own contract uses."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg="NaN positions differ")
    ok = ~np.isnan(ref)
    err = np.abs(ours[ok] - ref[ok])
    bound = 1e-9 * np.maximum(np.abs(ref[ok]), scale)
    assert np.all(err <= bound), (
        f"max error {err.max():.3e} at {np.flatnonzero(ok)[np.argmax(err - bound)]}"
    )


def ours_for(
    func: str, params: dict[str, float], bars: dict[str, np.ndarray]
) -> tuple[np.ndarray, ...]:
    p = {k: int(v) if k.endswith("period") else v for k, v in params.items()}
    if func == "ATR":
        return (ind.atr(bars["high"], bars["low"], bars["close"], **p),)
    out = getattr(ind, func.lower())(bars["close"], **p)
    return out if isinstance(out, tuple) else (out,)


def ours_vwap(bars: dict[str, np.ndarray], mode: str, hour: int, fixed_offset: int) -> np.ndarray:
    anchor: str | int = int(bars["open_time"][fixed_offset]) if mode == "fixed" else mode
    return ind.vwap(
        bars["open_time"], bars["high"], bars["low"], bars["close"], bars["volume"], anchor, hour
    )


# ---------------------------------------------------------------- golden vectors and TA-Lib


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as z:
        return {k: z[k] for k in z.files}


def _golden_sets(golden: dict[str, np.ndarray]) -> list[tuple[str, dict[str, np.ndarray]]]:
    meta = json.loads(str(golden["meta"]))
    syn = {k.split("__")[1]: v for k, v in golden.items() if k.startswith("syn_input__")}
    sets = [("syn", syn)]
    if REAL_1H.exists():
        sets.append(("real", load_bars(REAL_1H, meta["real"]["start_row"], meta["real"]["length"])))
    return sets


def test_golden_file_matches(golden: dict[str, np.ndarray], engine: str) -> None:
    meta = json.loads(str(golden["meta"]))
    checked = 0
    for prefix, bars in _golden_sets(golden):
        scale = float(np.nanmax(np.abs(bars["close"])))
        for name, (func, params) in meta["cases"].items():
            for j, arr in enumerate(ours_for(func, params, bars)):
                assert_matches(
                    arr, golden[f"{prefix}__{name}__{j}"], 100.0 if func == "RSI" else scale
                )
                checked += 1
        for name, (mode, hour) in meta["vwap_cases"].items():
            assert_matches(
                ours_vwap(bars, mode, hour, meta["fixed_anchor_offset"]),
                golden[f"{prefix}__{name}__0"],
                scale,
            )
            checked += 1
    assert checked >= 24


def test_golden_file_still_matches_installed_talib(golden: dict[str, np.ndarray]) -> None:
    """If this fails, TA-Lib changed its numbers: rerun scripts/make_golden_indicators.py."""
    meta = json.loads(str(golden["meta"]))
    for prefix, bars in _golden_sets(golden):
        for name, (func, params) in meta["cases"].items():
            args = (bars["high"], bars["low"], bars["close"]) if func == "ATR" else (bars["close"],)
            got = getattr(talib, func)(*args, **params)
            for j, arr in enumerate(got if isinstance(got, tuple) else (got,)):
                assert_matches(
                    arr, golden[f"{prefix}__{name}__{j}"], float(np.nanmax(np.abs(bars["close"])))
                )


@needs_real
def test_whole_real_file_against_talib(engine: str) -> None:
    bars = load_bars(REAL_1H)
    h, lo, c = bars["high"], bars["low"], bars["close"]
    scale = float(c.max())
    assert_matches(ind.sma(c, 20), talib.SMA(c, 20), scale)
    assert_matches(ind.ema(c, 200), talib.EMA(c, 200), scale)
    assert_matches(ind.rsi(c, 14), talib.RSI(c, 14), 100.0)
    assert_matches(ind.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14), scale)
    for a, b in zip(ind.macd(c), talib.MACD(c)):
        assert_matches(a, b, scale)
    for a, b in zip(ind.bbands(c, 20, 2.0, 2.0), talib.BBANDS(c, 20, 2.0, 2.0)):
        assert_matches(a, b, scale)


def test_long_series_does_not_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    """300k bars at BTC-like prices: running sums and recursions stay within the contract."""
    monkeypatch.setattr(_jit, "force_engine", "numba")
    rng = np.random.default_rng(7)
    n = 300_000 if _jit.numba_enabled() else 30_000  # the Python loops need ~1 µs a bar
    c = np.round(60_000 * np.exp(np.cumsum(rng.standard_normal(n) * 8e-4)), 1)
    h, lo = c + np.round(rng.random(n) * 30, 1), c - np.round(rng.random(n) * 30, 1)
    scale = float(c.max())
    assert_matches(ind.sma(c, 50), talib.SMA(c, 50), scale)
    assert_matches(ind.ema(c, 20), talib.EMA(c, 20), scale)
    assert_matches(ind.rsi(c, 14), talib.RSI(c, 14), 100.0)
    assert_matches(ind.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14), scale)
    for a, b in zip(ind.macd(c, 12, 26, 9), talib.MACD(c, 12, 26, 9)):
        assert_matches(a, b, scale)
    for a, b in zip(ind.bbands(c, 20, 2.0, 2.0), talib.BBANDS(c, 20, 2.0, 2.0)):
        assert_matches(a, b, scale)


# ---------------------------------------------------------------- warm-up and seeding


@pytest.fixture(scope="module")
def walk() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    c = 100 + np.cumsum(rng.standard_normal(400))
    return {"close": c, "high": c + rng.random(400), "low": c - rng.random(400)}


def test_ema_seed_is_the_mean_of_the_first_period(walk: dict[str, np.ndarray], engine: str) -> None:
    e = ind.ema(walk["close"], 20)
    assert np.isnan(e[:19]).all()
    assert e[19] == sum(walk["close"][:20].tolist()) / 20  # summed in order, as TA-Lib does
    k = 2 / 21
    assert e[20] == pytest.approx(e[19] + k * (walk["close"][20] - e[19]), rel=1e-15)


def test_rsi_seed_and_first_index(walk: dict[str, np.ndarray], engine: str) -> None:
    c = walk["close"]
    r = ind.rsi(c, 14)
    assert np.isnan(r[:14]).all() and not np.isnan(r[14])
    d = np.diff(c[:15])
    g, lo = d[d > 0].sum() / 14, -d[d < 0].sum() / 14
    assert r[14] == pytest.approx(100 * g / (g + lo), rel=1e-12)
    assert ind.rsi(np.full(30, 5.0), 14)[14:].tolist() == [0.0] * 16  # flat: 0, like TA-Lib


def test_atr_first_value_is_mean_true_range_of_bars_1_to_period(
    walk: dict[str, np.ndarray], engine: str
) -> None:
    h, lo, c = walk["high"], walk["low"], walk["close"]
    a = ind.atr(h, lo, c, 14)
    assert np.isnan(a[:14]).all()
    tr = np.maximum(h[1:15], c[:14]) - np.minimum(lo[1:15], c[:14])
    assert a[14] == pytest.approx(tr.mean(), rel=1e-13)  # not high-low of bar 0
    assert a[15] == pytest.approx(
        (a[14] * 13 + max(h[15], c[14]) - min(lo[15], c[14])) / 14, rel=1e-13
    )


def test_macd_delayed_start(walk: dict[str, np.ndarray], engine: str) -> None:
    c = walk["close"]
    line, sig, hist = ind.macd(c, 12, 26, 9)
    for arr in (line, sig, hist):
        assert np.isnan(arr[:33]).all() and not np.isnan(arr[33:]).any()
    naive = ind.ema(c, 12) - ind.ema(c, 26)
    assert abs(line[33] - naive[33]) > 1e-6  # not EMA12 - EMA26: the fast EMA starts late
    fast, slow = c[14:26].mean(), c[:26].mean()  # both seeded at bar 25; fast from its last 12
    lines = [fast - slow]
    for i in range(26, 34):
        fast += 2 / 13 * (c[i] - fast)
        slow += 2 / 27 * (c[i] - slow)
        lines.append(fast - slow)
    assert line[33] == pytest.approx(lines[-1], rel=1e-10)
    assert sig[33] == pytest.approx(np.mean(lines), rel=1e-10)  # signal seeded by 9 MACD values
    np.testing.assert_array_equal(hist[33:], line[33:] - sig[33:])


def test_bbands_use_population_std(walk: dict[str, np.ndarray], engine: str) -> None:
    c = walk["close"]
    up, mid, low = ind.bbands(c, 20, 2.0, 3.0)
    assert np.isnan(mid[:19]).all()
    window = c[100:120]
    assert mid[119] == pytest.approx(window.mean(), rel=1e-13)
    assert up[119] - mid[119] == pytest.approx(2.0 * window.std(ddof=0), rel=1e-9)
    assert mid[119] - low[119] == pytest.approx(3.0 * window.std(ddof=0), rel=1e-9)


def test_bbands_keep_width_on_finely_quoted_prices(engine: str) -> None:
    # 30,000.00 +/- 0.01: E[x^2]-mean^2 in doubles would cancel to noise or 0.
    c = 30_000.0 + 0.01 * (np.arange(60) % 2)
    up, mid, _ = ind.bbands(c, 20, 2.0, 2.0)
    assert up[40] - mid[40] == pytest.approx(0.01, rel=1e-6)


def test_short_and_empty_inputs_give_nan(engine: str) -> None:
    assert ind.ema(np.array([]), 5).shape == (0,)
    assert np.isnan(ind.ema(np.arange(4.0), 5)).all()
    assert np.isnan(ind.rsi(np.arange(14.0), 14)).all()
    assert all(np.isnan(a).all() for a in ind.macd(np.arange(33.0)))
    assert np.isnan(ind.atr(np.ones(3), np.ones(3), np.ones(3), 3)).all()


def test_leading_nans_are_skipped_like_talib(engine: str) -> None:
    c = np.concatenate([[np.nan] * 5, 100 + np.arange(30.0)])
    e = ind.ema(c, 10)
    assert np.isnan(e[:14]).all() and e[14] == pytest.approx(np.mean(c[5:15]))
    np.testing.assert_array_equal(e, talib.EMA(c, 10))


# ---------------------------------------------------------------- input rules


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ind.ema(np.ones(10), 0), "timeperiod"),
        (lambda: ind.sma(np.ones(10), 100_001), "timeperiod"),
        (lambda: ind.rsi(np.ones(10), 1), "timeperiod"),
        (lambda: ind.bbands(np.ones(10), 1), "timeperiod"),
        (lambda: ind.ema(np.ones(10), 5.0), "integer"),
        (lambda: ind.ema(np.ones(10), True), "integer"),
        (lambda: ind.macd(np.ones(10), 26, 12, 9), "must not exceed"),
        (lambda: ind.macd(np.ones(10), 1, 12, 9), "fastperiod"),
        (lambda: ind.macd(np.ones(10), 12, 26, 0), "signalperiod"),
        (lambda: ind.bbands(np.ones(10), 5, float("nan"), 2.0), "nbdevup"),
        (lambda: ind.ema(np.ones((3, 4)), 2), "1-D"),
        (lambda: ind.ema(np.array(["a", "b"]), 2), "numeric"),
        (lambda: ind.atr(np.ones(10), np.ones(9), np.ones(10), 3), "same length"),
        (
            lambda: ind.vwap(np.arange(3), np.ones(3), np.ones(3), np.ones(3), np.ones(2)),
            "same length",
        ),
        (
            lambda: ind.vwap(np.arange(3) + 0.5, np.ones(3), np.ones(3), np.ones(3), np.ones(3)),
            "whole",
        ),
        (
            lambda: ind.vwap(np.arange(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3), "week"),
            "anchor",
        ),
        (
            lambda: ind.vwap(
                np.arange(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3), "day", 5
            ),
            "session",
        ),
        (
            lambda: ind.vwap(
                np.arange(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3), "session", 24
            ),
            "hour",
        ),
        (lambda: ind.EmaState(0), "period"),
        (lambda: ind.MacdState(9, 5, 3), "must not exceed"),
    ],
)
def test_bad_input_is_a_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_lists_ints_and_strided_views_are_accepted(engine: str) -> None:
    base = np.arange(40.0) * 1.5
    np.testing.assert_array_equal(ind.sma(list(range(40)), 5), talib.SMA(np.arange(40.0), 5))
    np.testing.assert_array_equal(
        ind.ema(base[::2], 4), talib.EMA(np.ascontiguousarray(base[::2]), 4)
    )


def test_vwap_rejects_time_going_backwards(engine: str) -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        ind.vwap(np.array([2, 1]), np.ones(2), np.ones(2), np.ones(2), np.ones(2))
    state = ind.VwapState()
    state.update(2, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="non-decreasing"):
        state.update(1, 1, 1, 1, 1)


# ---------------------------------------------------------------- VWAP semantics

DAY = 86_400_000
HOUR = 3_600_000
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC


def test_vwap_resets_at_the_utc_day_and_at_the_session_hour(engine: str) -> None:
    t = T0 + np.array([22, 23, 24, 25, 31, 32], dtype=np.int64) * HOUR  # day 1 22:00 .. day 2 08:00
    h = np.array([11.0, 12, 13, 14, 15, 16])
    lo, c = h - 2, h - 1
    v = np.array([1.0, 3, 2, 2, 1, 1])
    tp = h - 1
    day = ind.vwap(t, h, lo, c, v, "day")
    np.testing.assert_allclose(
        day, [10, (10 + 33) / 4, 12, 12.5, (24 + 26 + 14) / 5, (24 + 26 + 14 + 15) / 6], rtol=1e-15
    )
    sess = ind.vwap(t, h, lo, c, v, "session", 8)  # 08:00 UTC opens a new session
    expected_to_7 = np.cumsum(tp[:5] * v[:5]) / np.cumsum(v[:5])
    np.testing.assert_allclose(sess[:5], expected_to_7, rtol=1e-15)
    assert sess[5] == pytest.approx(15.0)


def test_vwap_fixed_anchor_and_zero_volume(engine: str) -> None:
    t = T0 + np.arange(5, dtype=np.int64) * DAY
    h = np.array([10.0, 20, 30, 40, 50])
    v = np.array([1.0, 1, 0, 2, 2])
    got = ind.vwap(t, h, h, h, v, int(t[2]))
    assert np.isnan(got[:3]).all()  # before the anchor, then a zero-volume bar: undefined
    assert got[3] == 40 and got[4] == 45
    state = ind.VwapState(int(t[2]))
    assert [state.update(*row) for row in zip(t, h, h, h, v)] == [None, None, None, 40.0, 45.0]


# ---------------------------------------------------------------- IndicatorSet


@needs_real
def test_indicator_set_stream_equals_arrays_and_fits_features_v1() -> None:
    bars = load_bars(REAL_1H, 0, 600)
    s = ind.IndicatorSet()
    arrays = s.compute(bars["open_time"], bars["high"], bars["low"], bars["close"], bars["volume"])
    assert tuple(arrays) == s.names
    rows = zip(bars["open_time"], bars["high"], bars["low"], bars["close"], bars["volume"])
    for i, row in enumerate(rows):
        values = s.update(*row)
        for name, value in values.items():
            ref = arrays[name][i]
            assert (value is None and np.isnan(ref)) or value == ref, (name, i)
    assert None not in s.values.values()
    FeaturesV1(venue="binance-um", symbol="BTCUSDT", tf="1h", time=int(bars["open_time"][-1]),
               confirmed_at=int(bars["open_time"][-1]) + HOUR - 1, values=s.values)  # fmt: skip


def test_indicator_set_refuses_bad_candles_without_changing_state() -> None:
    clean, poked = ind.IndicatorSet(), ind.IndicatorSet()
    for i in range(40):
        row = (T0 + i * HOUR, 101.0 + i, 99.0 + i, 100.0 + i, 5.0)
        clean.update(*row)
        poked.update(*row)
    last = T0 + 39 * HOUR
    for bad in [
        (last + HOUR, float("nan"), 99.0, 100.0, 5.0),
        (last + HOUR, 98.0, 99.0, 100.0, 5.0),
        (last + HOUR, 101.0, 99.0, 100.0, -1.0),
        (last, 101.0, 99.0, 100.0, 5.0),
    ]:
        with pytest.raises(ValueError):
            poked.update(*bad)
    nxt = (last + HOUR, 150.0, 140.0, 145.0, 5.0)
    assert poked.update(*nxt) == clean.update(*nxt)


def test_indicator_config_is_validated() -> None:
    with pytest.raises(ValueError, match="duplicates"):
        ind.IndicatorConfig(ema_periods=(20, 20))
    with pytest.raises(ValueError, match="must not exceed"):
        ind.IndicatorConfig(macd_periods=(30, 26, 9))
    names = ind.IndicatorConfig(ema_periods=(9,), rsi_period=7, atr_period=10).names
    assert names[:2] == ("ema_9", "rsi_7") and "atr_10" in names


# ---------------------------------------------------------------- lazy numba


def _run(code: str, **env: str) -> str:
    full_env = {**os.environ, **env}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_small_inputs_and_streaming_never_import_numba() -> None:
    code = (
        "import sys, numpy as np\n"
        "from tradeterm.analysis import indicators as ind, regime\n"
        "c = 100 + np.sin(np.arange(1000.0))\n"
        "ind.ema(c, 20); ind.rsi(c); ind.macd(c); ind.bbands(c, 20); ind.atr(c + 1, c - 1, c)\n"
        "regime.regime(c + 1, c - 1, c)\n"
        "s = ind.IndicatorSet()\n"
        "[s.update(1_735_689_600_000 + i * 60_000, x + 1, x - 1, x, 1.0) for i, x in enumerate(c)]\n"
        "print('numba' in sys.modules)\n"
    )
    assert _run(code) == "False"


def test_without_numba_large_inputs_run_as_python() -> None:
    code = (
        "import sys, numpy as np, talib\n"
        "from tradeterm.analysis import indicators as ind\n"
        "c = 100 + np.cumsum(np.random.default_rng(1).standard_normal(5000))\n"
        "ok = np.array_equal(ind.rsi(c, 14), talib.RSI(c, 14), equal_nan=True)\n"
        "print(ok, 'numba' in sys.modules)\n"
    )
    assert _run(code, TRADETERM_NO_NUMBA="1") == "True False"


def test_many_short_calls_end_up_compiled() -> None:
    code = (
        "import sys, numpy as np\n"
        "from tradeterm.analysis import indicators as ind\n"
        "from tradeterm.analysis.indicators import _jit\n"
        "c = 100 + np.sin(np.arange(1000.0))\n"
        "_jit.clock = lambda: 0.0  # frozen: the bucket never drains, however slow this machine is\n"
        "first = [ind.ema(c, 20) for _ in range(_jit.PYTHON_BUDGET // 1000)]\n"
        "before = 'numba' in sys.modules\n"
        "later = ind.ema(c, 20)\n"
        "print(before, _jit.numba_enabled() == ('numba' in sys.modules), np.array_equal(first[0], later, equal_nan=True))\n"
    )
    assert _run(code) == "False True True"


def test_warm_up_compiles_every_kernel() -> None:
    thread = ind.warm_up(background=True)
    assert thread is not None
    thread.join(timeout=300)
    assert all(k._compiled is not None for k in _jit._REGISTRY)
