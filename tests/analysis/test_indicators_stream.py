"""The per-candle classes against the array functions (bit for bit), both against TA-Lib on
random inputs (hypothesis), the Python loops against the compiled ones, and the exact fma."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import numpy as np
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeterm.analysis import indicators as ind
from tradeterm.analysis.indicators import _jit
from tradeterm.analysis.indicators._fma import fma

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENGINES = ("python", "numba")


@contextmanager
def engine(name: str) -> Iterator[None]:
    saved = _jit.force_engine
    _jit.force_engine = name
    try:
        yield
    finally:
        _jit.force_engine = saved


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise-equal values and NaN positions."""
    return bool(np.array_equal(a, b, equal_nan=True))


def within_contract(ours: np.ndarray, ref: np.ndarray, scale: float) -> bool:
    """Same NaNs; elsewhere |ours - ref| <= 1e-9 * max(|ref|, scale) (TA-Lib's own contract)."""
    if not np.array_equal(np.isnan(ours), np.isnan(ref)):
        return False
    ok = ~np.isnan(ref)
    return bool(np.all(np.abs(ours[ok] - ref[ok]) <= 1e-9 * np.maximum(np.abs(ref[ok]), scale)))


@st.composite
def bars(draw: st.DrawFn, max_len: int = 160, nans: bool = True) -> dict[str, np.ndarray]:
    """Random OHLC: random walks at scales from 1e-4 to 1e5, on a tick grid or not, with flat
    stretches, jumps (they trigger the Bollinger re-centring) and, optionally, NaNs."""
    n = draw(st.integers(0, max_len))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-4, 5))
    steps = rng.standard_normal(n) * scale * draw(st.sampled_from([1e-3, 1e-2, 0.1]))
    if draw(st.booleans()):
        steps[rng.random(n) < 0.3] = 0.0  # flat stretches
    if draw(st.booleans()) and n:
        steps[rng.integers(0, n)] += scale * rng.choice([-0.5, 5.0])  # a jump
    close = scale + np.cumsum(steps)
    spread = np.abs(rng.standard_normal((2, n))) * np.abs(steps).mean() if n else np.zeros((2, 0))
    high, low = close + spread[0], close - spread[1]
    if draw(st.booleans()):
        tick = scale * 1e-3
        close, high, low = (np.round(a / tick) * tick for a in (close, high, low))
    out = {"close": close, "high": high, "low": low}
    if nans and n and draw(st.booleans()):
        for arr in out.values():
            lead = draw(st.integers(0, n))
            arr[: lead if draw(st.booleans()) else 0] = np.nan
            arr[rng.random(n) < draw(st.sampled_from([0.0, 0.02]))] = np.nan
    return out


def stream(
    make: Callable[[], object], rows: Iterator[tuple[float, ...]], width: int
) -> list[np.ndarray]:
    """Feed rows to a fresh state; collect its outputs as arrays (None -> NaN)."""
    state = make()
    cols: list[list[float]] = [[] for _ in range(width)]
    for row in rows:
        value = state.update(*row)  # type: ignore[attr-defined]
        vals = (value,) if width == 1 else value
        for j in range(width):
            cols[j].append(np.nan if vals is None or vals[j] is None else vals[j])
    return [np.array(c, dtype=np.float64) for c in cols]


@given(b=bars(), period=st.integers(1, 30), fast=st.integers(2, 12), extra=st.integers(0, 20),
       signal=st.integers(1, 10), devs=st.sampled_from([(2.0, 2.0), (1.0, 1.0), (1.5, 2.5), (0.5, 3.0)]))  # fmt: skip
@SETTINGS
def test_arrays_match_talib_on_random_inputs(
    b: dict[str, np.ndarray],
    period: int,
    fast: int,
    extra: int,
    signal: int,
    devs: tuple[float, float],
) -> None:
    c, h, lo = b["close"], b["high"], b["low"]
    finite = np.abs(np.concatenate([c, h, lo]))
    scale = float(np.nanmax(finite)) if np.isfinite(finite).any() else 1.0
    p2 = max(period, 2)
    for name in ENGINES:
        with engine(name):
            assert within_contract(ind.sma(c, period), talib.SMA(c, period), scale)
            assert within_contract(ind.ema(c, period), talib.EMA(c, period), scale)
            assert within_contract(ind.rsi(c, p2), talib.RSI(c, p2), 100.0)
            assert within_contract(ind.atr(h, lo, c, period), talib.ATR(h, lo, c, period), scale)
            for ours, ref in zip(
                ind.macd(c, fast, fast + extra, signal), talib.MACD(c, fast, fast + extra, signal)
            ):
                assert within_contract(ours, ref, scale)
            for ours, ref in zip(ind.bbands(c, p2, *devs), talib.BBANDS(c, p2, *devs)):
                assert within_contract(ours, ref, scale)


@given(b=bars(), period=st.integers(1, 30), fast=st.integers(2, 12), extra=st.integers(0, 20),
       signal=st.integers(1, 10), devs=st.sampled_from([(2.0, 2.0), (1.5, 2.5)]))  # fmt: skip
@SETTINGS
def test_states_and_both_engines_agree_bit_for_bit(
    b: dict[str, np.ndarray],
    period: int,
    fast: int,
    extra: int,
    signal: int,
    devs: tuple[float, float],
) -> None:
    c, h, lo = b["close"], b["high"], b["low"]
    p2 = max(period, 2)
    one = [(x,) for x in c]
    cases: list[tuple[Callable[[], Any], Callable[[], Any], list[Any]]] = [
        (lambda: (ind.sma(c, period),), lambda: ind.SmaState(period), one),
        (lambda: (ind.ema(c, period),), lambda: ind.EmaState(period), one),
        (lambda: (ind.rsi(c, p2),), lambda: ind.RsiState(p2), one),
        (lambda: (ind.atr(h, lo, c, period),), lambda: ind.AtrState(period), list(zip(h, lo, c))),
        (
            lambda: ind.macd(c, fast, fast + extra, signal),
            lambda: ind.MacdState(fast, fast + extra, signal),
            one,
        ),
        (lambda: ind.bbands(c, p2, *devs), lambda: ind.BbandsState(p2, *devs), one),
    ]
    for arrays, make_state, rows in cases:
        with engine("python"):
            py = arrays()
        with engine("numba"):
            nb = arrays()
        streamed = stream(make_state, iter(rows), len(py))
        for a, b_, s in zip(py, nb, streamed):
            assert same(a, b_), make_state
            assert same(a, s), make_state


@given(n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1), hour=st.integers(0, 23),
       step_min=st.sampled_from([1, 15, 60, 240]), mode=st.sampled_from(["day", "session", "fixed"]))  # fmt: skip
@SETTINGS
def test_vwap_arrays_state_and_reference_agree(
    n: int, seed: int, hour: int, step_min: int, mode: str
) -> None:
    rng = np.random.default_rng(seed)
    t = 1_735_689_600_000 + np.cumsum(rng.integers(1, 3, n)) * step_min * 60_000
    c = 100 + np.cumsum(rng.standard_normal(n))
    h, lo = c + rng.random(n), c - rng.random(n)
    v = np.where(rng.random(n) < 0.2, 0.0, rng.lognormal(0, 1, n))
    anchor: str | int = (
        int(t[n // 2]) if mode == "fixed" and n else ("day" if mode == "fixed" else mode)
    )
    hr = hour if anchor == "session" else 0
    with engine("python"):
        py = ind.vwap(t, h, lo, c, v, anchor, hr)
    with engine("numba"):
        nb = ind.vwap(t, h, lo, c, v, anchor, hr)
    (streamed,) = stream(lambda: ind.VwapState(anchor, hr), iter(zip(t, h, lo, c, v)), 1)
    assert same(py, nb) and same(py, streamed)
    ref = np.full(n, np.nan)  # the obvious definition, with sessions keyed by a date string
    key, pv, vol = None, 0.0, 0.0
    for i in range(n):
        if isinstance(anchor, int):
            if t[i] < anchor:
                continue
            k = "fixed"
        else:
            k = str(np.datetime64(int(t[i]) - hr * 3_600_000, "ms").astype("datetime64[D]"))
        if k != key:
            key, pv, vol = k, 0.0, 0.0
        pv += (h[i] + lo[i] + c[i]) / 3.0 * v[i]
        vol += v[i]
        ref[i] = pv / vol if vol > 0 else np.nan
    assert same(py, ref)


finite_doubles = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).filter(
    lambda x: x == 0 or abs(x) > 1e-12
)


@given(a=finite_doubles, b=finite_doubles, c=finite_doubles)
@settings(max_examples=400, deadline=None)
def test_python_fma_is_correctly_rounded(a: float, b: float, c: float) -> None:
    assert fma(a, b, c) == float(Fraction(a) * Fraction(b) + Fraction(c))


def test_fma_differs_from_two_roundings_where_it_should() -> None:
    a = 1.0 + 2.0**-30
    assert fma(a, a, -1.0) == float(Fraction(a) ** 2 - 1)
    assert fma(a, a, -1.0) != a * a - 1.0  # the plain form loses the 2**-60 term
    assert math.isnan(fma(float("nan"), 1.0, 1.0)) and fma(float("inf"), 1.0, 1.0) == float("inf")
