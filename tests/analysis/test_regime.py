"""Regime: trailing percentile, level thresholds, trend slope, no look-ahead, events, and the
per-candle form against the arrays."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeterm.analysis import regime as rg
from tradeterm.analysis.indicators import _jit, atr, ema
from tradeterm.contracts.analysis import Trend, Volatility

REAL_1H = (
    Path(__file__).parents[2]
    / ".."
    / "shared"
    / "data"
    / "candles"
    / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
)
T0 = 1_735_689_600_000
HOUR = 3_600_000


@contextmanager
def engine(name: str) -> Iterator[None]:
    saved = _jit.force_engine
    _jit.force_engine = name
    try:
        yield
    finally:
        _jit.force_engine = saved


def brute_percentile(x: np.ndarray, lookback: int, min_periods: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for i in range(len(x)):
        if np.isnan(x[i]):
            continue
        window = x[max(0, i - lookback + 1) : i + 1]
        others = np.delete(window, len(window) - 1)
        others = others[~np.isnan(others)]
        if len(others) + 1 >= min_periods:
            out[i] = 100.0 * (np.sum(others < x[i]) + 0.5 * np.sum(others == x[i])) / len(others)
    return out


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    if not REAL_1H.exists():
        pytest.skip("shared candle data not present")
    t, _o, h, lo, c = np.loadtxt(
        REAL_1H, delimiter=",", skiprows=1, max_rows=4000, usecols=range(5)
    ).T
    return {"open_time": t.astype(np.int64), "high": h, "low": lo, "close": c}


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 250),
    lookback=st.integers(2, 60),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_trailing_percentile_is_the_windowed_mid_rank(
    seed: int, n: int, lookback: int, data: st.DataObject
) -> None:
    min_periods = data.draw(st.integers(2, lookback))
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(n), int(rng.integers(0, 3)))  # coarse rounding: many ties
    x[rng.random(n) < 0.1] = np.nan
    expected = brute_percentile(x, lookback, min_periods)
    for name in ("python", "numba"):
        with engine(name):
            got = rg.trailing_percentile(x, lookback, min_periods)
        np.testing.assert_array_equal(got, expected)


def test_percentile_extremes() -> None:
    x = np.arange(10.0)
    assert rg.trailing_percentile(x, 5, 5)[4:].tolist() == [100.0] * 6  # each new value is the max
    assert rg.trailing_percentile(x[::-1].copy(), 5, 5)[4:].tolist() == [0.0] * 6
    assert rg.trailing_percentile(np.ones(6), 3, 2)[1:].tolist() == [50.0] * 5  # all tied


def test_level_boundaries() -> None:
    cfg = rg.RegimeConfig()
    codes = [
        cfg.volatility_code(p)
        for p in (0.0, 19.99, 20.0, 80.0, 80.01, 95.0, 95.01, 100.0, float("nan"))
    ]
    assert codes == [0, 0, 1, 1, 2, 2, 3, 3, -1]
    assert [cfg.trend_code(s) for s in (0.06, 0.05, -0.05, -0.06, float("nan"))] == [2, 1, 1, 0, -1]
    assert [rg.VOLATILITY_LEVELS[k] for k in range(4)] == list(Volatility)
    assert rg.TREND_LEVELS == (Trend.DOWN, Trend.FLAT, Trend.UP)


def test_hysteresis_widens_the_held_level() -> None:
    cfg = rg.RegimeConfig(vol_hysteresis=5.0, trend_hysteresis=0.01)
    # NORMAL is held down to 15 and up to 85; from LOW it takes 25 to get back to NORMAL.
    assert [cfg.volatility_code(p, 1) for p in (15.0, 14.99, 85.0, 85.01, 100.0)] == [1, 0, 1, 2, 3]
    assert [cfg.volatility_code(p, 0) for p in (20.0, 24.99, 25.0)] == [0, 0, 1]
    assert [cfg.volatility_code(p, 3) for p in (90.01, 90.0, 50.0)] == [3, 2, 1]
    # From HIGH, EXTREME's edge moves only halfway to 100 (95 -> 97.5), or it could never be reached.
    assert [cfg.volatility_code(p, 2) for p in (97.5, 97.51, 75.01, 75.0)] == [2, 3, 2, 1]
    assert [cfg.trend_code(s, 1) for s in (0.06, 0.0601, -0.06, -0.0601)] == [1, 2, 1, 0]
    assert [cfg.trend_code(s, 2) for s in (0.0401, 0.04)] == [2, 1]
    assert cfg.volatility_code(float("nan"), 2) == -1


def test_hysteresis_damps_flapping_and_streaming_agrees() -> None:
    # A percentile hovering around a boundary: plain thresholds flip every few bars.
    rng = np.random.default_rng(9)
    c = 100 + np.cumsum(rng.normal(0, 1, 3000))
    h, lo = c + rng.uniform(0.5, 1.5, 3000), c - rng.uniform(0.5, 1.5, 3000)
    t = 1_700_000_000_000 + np.arange(3000, dtype=np.int64) * 60_000
    kw = {"venue": "binance", "symbol": "BTCUSDT", "tf": "1m"}
    plain = rg.regime_events(t, h, lo, c, config=rg.RegimeConfig(vol_hysteresis=0, trend_hysteresis=0), **kw)
    damped = rg.regime_events(t, h, lo, c, **kw)
    assert len(damped) < 0.6 * len(plain)
    state = rg.RegimeState(**kw)
    streamed = [e for i in range(3000) if (e := state.update(int(t[i]), h[i], lo[i], c[i]))]
    assert [(e.time, e.volatility, e.trend) for e in streamed] == [(e.time, e.volatility, e.trend) for e in damped]


@pytest.mark.parametrize(
    "kwargs",
    [{"vol_hysteresis": -1.0}, {"trend_hysteresis": -0.1}, {"lookback": 1}, {"min_periods": 600}, {"low_below": 90.0}, {"extreme_above": 101.0}, {"flat_band": -0.1},
     {"slope_bars": 0}, {"ema_period": 0}],
)  # fmt: skip
def test_config_is_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        rg.RegimeConfig(**kwargs)  # type: ignore[arg-type]


def test_arrays_follow_their_definitions(real: dict[str, np.ndarray]) -> None:
    h, lo, c = real["high"], real["low"], real["close"]
    cfg = rg.RegimeConfig(lookback=300, min_periods=50, slope_bars=8, ema_period=30)
    ra = rg.regime(h, lo, c, cfg)
    a, e = atr(h, lo, c, 14), ema(c, 30)
    np.testing.assert_array_equal(ra.atr_percentile, brute_percentile(a / c, 300, 50))
    slope = np.full(len(c), np.nan)
    slope[8:] = (e[8:] - e[:-8]) / (8.0 * a[8:])
    np.testing.assert_array_equal(ra.ema_slope, slope)
    defined = ~np.isnan(ra.atr_percentile)
    vol, trend, pv, pt = [], [], -1, -1
    for p, s in zip(ra.atr_percentile, ra.ema_slope, strict=True):  # each bar sees the last's level
        pv, pt = cfg.volatility_code(p, pv), cfg.trend_code(s, pt)
        vol.append(pv)
        trend.append(pt)
    assert vol == ra.volatility.tolist() and trend == ra.trend.tolist()
    assert defined.sum() == len(c) - 14 - 49  # ATR warm-up, then min_periods values
    assert set(np.unique(ra.volatility[defined])) == {0, 1, 2, 3}


def test_trend_and_volatility_read_the_obvious_cases() -> None:
    n = 1200
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(n) * 0.2
    up = 100 + 0.3 * np.arange(n) + noise
    ra = rg.regime(up + 0.5, up - 0.5, up)
    assert (ra.trend[100:] == 2).all()
    down = up[::-1].copy()
    assert (rg.regime(down + 0.5, down - 0.5, down).trend[100:] == 0).all()
    flat = 100 + noise
    assert (rg.regime(flat + 0.5, flat - 0.5, flat).trend[100:] == 1).mean() > 0.95
    calm_then_wild = 100 + np.concatenate([noise[:1000], noise[1000:] * 20])
    spread = np.where(np.arange(n) < 1000, 0.3, 6.0)
    ra = rg.regime(calm_then_wild + spread, calm_then_wild - spread, calm_then_wild)
    assert (ra.volatility[1001:1020] == 3).all()  # EXTREME right after the burst
    assert np.mean(ra.volatility[600:1000] == 3) < 0.15  # relative: calm bars are rarely extreme


def test_no_look_ahead_prefix_runs_and_perturbed_futures(real: dict[str, np.ndarray]) -> None:
    h, lo, c, t = real["high"], real["low"], real["close"], real["open_time"]
    full = rg.regime(h, lo, c)
    events = rg.regime_events(t, h, lo, c, venue="binance-um", symbol="BTCUSDT", tf="1h")
    for cut in (700, 1555, 3001):
        part = rg.regime(h[:cut], lo[:cut], c[:cut])
        for name in ("atr_percentile", "ema_slope", "volatility", "trend"):
            np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[:cut])
        horizon = int(t[cut - 1]) + HOUR - 1
        part_events = rg.regime_events(
            t[:cut], h[:cut], lo[:cut], c[:cut], venue="binance-um", symbol="BTCUSDT", tf="1h"
        )
        assert part_events == [e for e in events if e.confirmed_at <= horizon]
        wild = c.copy()
        wild[cut:] *= 3.0  # a different future must not change the past
        changed = rg.regime(h * np.where(np.arange(len(c)) >= cut, 3.0, 1.0), lo, wild)
        np.testing.assert_array_equal(changed.atr_percentile[:cut], full.atr_percentile[:cut])
        np.testing.assert_array_equal(changed.trend[:cut], full.trend[:cut])


def test_events_carry_bar_times_and_change_points(real: dict[str, np.ndarray]) -> None:
    h, lo, c, t = real["high"], real["low"], real["close"], real["open_time"]
    every = rg.regime_events(
        t, h, lo, c, venue="binance-um", symbol="BTCUSDT", tf="1h", every_bar=True
    )
    changes = rg.regime_events(t, h, lo, c, venue="binance-um", symbol="BTCUSDT", tf="1h")
    ra = rg.regime(h, lo, c)
    assert len(every) == int(((ra.volatility >= 0) & (ra.trend >= 0)).sum())
    assert all(e.confirmed_at == e.time + HOUR - 1 for e in every)
    pairs = [(e.volatility, e.trend) for e in every]
    expected = [e for i, e in enumerate(every) if i == 0 or pairs[i] != pairs[i - 1]]
    assert changes == expected and 10 < len(changes) < len(every)


def test_state_matches_arrays_and_events(real: dict[str, np.ndarray]) -> None:
    h, lo, c, t = real["high"], real["low"], real["close"], real["open_time"]
    cfg = rg.RegimeConfig(lookback=200, min_periods=40)
    for every_bar in (False, True):
        state = rg.RegimeState(
            venue="binance-um", symbol="BTCUSDT", tf="1h", config=cfg, every_bar=every_bar
        )
        streamed, readings = [], []
        for row in zip(t, h, lo, c):
            ev = state.update(*row)
            if ev is not None:
                streamed.append(ev)
            readings.append(state.reading)
        expected = rg.regime_events(
            t,
            h,
            lo,
            c,
            venue="binance-um",
            symbol="BTCUSDT",
            tf="1h",
            config=cfg,
            every_bar=every_bar,
        )
        assert streamed == expected
    ra = rg.regime(h, lo, c, cfg)
    for i, r in enumerate(readings):
        defined = ra.volatility[i] >= 0 and ra.trend[i] >= 0
        assert (r is None) == (not defined)
        if r is not None:
            assert (r.atr_percentile, r.ema_slope) == (ra.atr_percentile[i], ra.ema_slope[i])
    with pytest.raises(ValueError, match="not newer"):
        state.update(int(t[-1]), 1.0, 1.0, 1.0)


def test_flat_prices_give_no_trend_reading() -> None:
    c = np.full(300, 50.0)
    ra = rg.regime(c, c, c, rg.RegimeConfig(lookback=50, min_periods=10))
    assert np.isnan(ra.ema_slope).all() and (ra.trend == -1).all()  # ATR 0: slope undefined
    state = rg.RegimeState(
        venue="x-test",
        symbol="BTCUSDT",
        tf="1m",
        config=rg.RegimeConfig(lookback=50, min_periods=10),
    )
    assert all(state.update(T0 + i * 60_000, 50.0, 50.0, 50.0) is None for i in range(300))
