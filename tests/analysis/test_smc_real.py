"""The no-look-ahead property and engine equality on real Binance series."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tradeterm.analysis.smc import SmcConfig, analyze
from tradeterm.contracts import SmcEventV1
from tradeterm.market.frame import CandleFrame

try:
    from smc_helpers import (
        CSV_1H,
        JSON_5M,
        assert_prefix_consistent,
        assert_tables_equal,
        load_binance_csv,
        load_pandas_json,
        run_engine,
    )
except ImportError:  # tests/analysis collected as a package
    from tests.analysis.smc_helpers import (
        CSV_1H,
        JSON_5M,
        assert_prefix_consistent,
        assert_tables_equal,
        load_binance_csv,
        load_pandas_json,
        run_engine,
    )

ALT = SmcConfig(
    swing_left=3,
    swing_right=2,
    break_on="wick",
    ob_zone="body",
    ob_mitigated_at=0.3,
    fvg_mitigated_at=0.6,
    fvg_min_size=0.0005,
    fvg_min_size_unit="fraction",
    liquidity_tolerance=0.001,
)


@pytest.fixture(scope="module")
def btc_1h() -> CandleFrame:
    return load_binance_csv(CSV_1H)


@pytest.fixture(scope="module")
def btc_5m() -> CandleFrame:
    return load_pandas_json(JSON_5M)


def causal_atr(f: CandleFrame, n: int = 14) -> np.ndarray:
    """Wilder ATR from bars <= i only; NaN while warming up."""
    prev_close = np.r_[np.nan, f.close[:-1]]
    tr = np.fmax(f.high - f.low, np.fmax(np.abs(f.high - prev_close), np.abs(f.low - prev_close)))
    atr = np.full(len(f), np.nan)
    if len(f) > n:
        atr[n] = tr[1 : n + 1].mean()
        for i in range(n + 1, len(f)):
            atr[i] = (atr[i - 1] * (n - 1) + tr[i]) / n
    return atr


def cut_points(n: int, seed: int, count: int = 200) -> list[int]:
    rng = np.random.default_rng(seed)
    return sorted({0, 1, 2, 3, 7, 12, 25, n - 1, n, *rng.integers(0, n + 1, count).tolist()})


@pytest.mark.parametrize("cfg", [SmcConfig(), ALT], ids=["default", "alt"])
@pytest.mark.parametrize("which", ["btc_1h", "btc_5m"])
def test_real_prefix_runs_match_full_run(
    which: str, cfg: SmcConfig, request: pytest.FixtureRequest
) -> None:
    f: CandleFrame = request.getfixturevalue(which)
    assert_prefix_consistent(f, cfg, cut_points(len(f), seed=len(f)))


@pytest.mark.parametrize("cfg", [SmcConfig(), ALT], ids=["default", "alt"])
@pytest.mark.parametrize("which", ["btc_1h", "btc_5m"])
def test_real_engine_equals_vectorised(
    which: str, cfg: SmcConfig, request: pytest.FixtureRequest
) -> None:
    f: CandleFrame = request.getfixturevalue(which)
    res = analyze(f, cfg, venue="binance-usdm")
    events, _ = run_engine(f, cfg, venue="binance-usdm")
    assert events == res.all_events()  # validated contracts on both sides
    kinds = Counter(e.kind.value for e in events)
    # every concept occurs on a real series, so none of them is silently dead
    for kind in (
        "SWING_HIGH",
        "SWING_LOW",
        "BOS",
        "CHOCH",
        "LIQUIDITY_SWEEP",
        "ORDER_BLOCK",
        "FVG",
        "LIQUIDITY",
    ):
        assert kinds[kind] > 0, kind
    assert len({e.event_id for e in events if isinstance(e, SmcEventV1)}) == sum(
        isinstance(e, SmcEventV1) for e in events
    )


def test_real_with_causal_atr_thresholds(btc_1h: CandleFrame) -> None:
    atr = causal_atr(btc_1h)
    th = {"fvg_min_size": 0.25 * atr, "liquidity_tolerance": 0.1 * atr}
    cfg = SmcConfig(swing_left=4, swing_right=3)
    full = analyze(btc_1h, cfg, **th)
    assert_prefix_consistent(
        btc_1h, cfg, cut_points(len(btc_1h), seed=3, count=60), full=full, **th
    )
    events, _ = run_engine(btc_1h, cfg, **th)
    assert events == full.all_events()
    # fewer, larger gaps than with no threshold, none before the ATR exists
    plain = analyze(btc_1h, cfg)
    born_gaps = full.zones.take(np.flatnonzero((full.zones.kind == 1) & (full.zones.state == 0)))
    assert 0 < len(born_gaps) < np.count_nonzero((plain.zones.kind == 1) & (plain.zones.state == 0))
    assert born_gaps.born.min() >= 14


def test_python_and_numba_kernels_agree_bit_for_bit(btc_5m: CandleFrame) -> None:
    pytest.importorskip("numba")
    for cfg in (SmcConfig(), ALT):
        a, b = analyze(btc_5m, cfg, jit=False), analyze(btc_5m, cfg, jit=True)
        assert_tables_equal(a.structure, b.structure, "structure")
        assert_tables_equal(a.zones, b.zones, "zones")
