"""The analysis state: wiring (each part's events equal its own batch computation), order of
events, refusal of bad bars without damage, and the prefix property of the whole pipeline."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeterm.analysis.indicators import IndicatorConfig, IndicatorSet
from tradeterm.analysis.pipeline import AnalysisState, PipelineConfig, run_frame
from tradeterm.analysis.regime import RegimeConfig, regime_events
from tradeterm.analysis.smc import SmcConfig, analyze
from tradeterm.analysis.strategies import create_strategy
from tradeterm.contracts import CandleV1, FeaturesV1, RegimeV1, SignalRawV1, SmcEventV1, ZoneV1
from tradeterm.market.frame import CandleFrame

T0 = 1_767_225_600_000
MIN = 60_000
CFG = PipelineConfig(
    smc=SmcConfig(swing_left=3, swing_right=2), regime=RegimeConfig(lookback=60, min_periods=30)
)
RANK: dict[type, int] = {FeaturesV1: 0, SmcEventV1: 1, ZoneV1: 1, RegimeV1: 2, SignalRawV1: 3}


def walk(seed: int, n: int) -> CandleFrame:
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.choice([-0.5, 0.5], size=n // 50 + 1), 50)[:n]
    close = np.round(np.maximum(2000.0 + np.cumsum(drift + rng.normal(0, 3.0, n)), 100.0), 1)
    open_ = np.r_[close[0], close[:-1]]
    high = np.round(np.maximum(open_, close) + rng.exponential(2.0, n), 1)
    low = np.round(np.minimum(open_, close) - rng.exponential(2.0, n), 1)
    vol = np.round(rng.lognormal(2, 0.7, n), 3)
    return CandleFrame.from_columns(
        "SOLUSDT", "5m", T0 + 5 * MIN * np.arange(n), open_, high, low, close, vol
    )


def state(config: PipelineConfig = CFG, strategies: tuple[str, ...] = ()) -> AnalysisState:
    return AnalysisState(venue="demo", symbol="SOLUSDT", tf="5m", config=config,
                         strategies=[create_strategy(s) for s in strategies])  # fmt: skip


@pytest.fixture(scope="module")
def frame() -> CandleFrame:
    return walk(42, 3000)


@pytest.fixture(scope="module")
def per_bar(frame: CandleFrame) -> list[list[Any]]:
    return list(
        run_frame(frame, state(strategies=("smc_retest", "sma_cross", "rsi_reversion", "fib_rsi")))
    )


def test_every_bar_is_in_canonical_order(frame: CandleFrame, per_bar: list[list[Any]]) -> None:
    assert len(per_bar) == len(frame)
    for i, events in enumerate(per_bar):
        assert isinstance(events[0], FeaturesV1)
        assert {e.confirmed_at for e in events} == {int(frame.close_time[i])}
        ranks = [RANK[type(e)] for e in events]
        assert ranks == sorted(ranks)
    topics = {type(e) for evs in per_bar for e in evs}
    assert topics == set(RANK)


def test_smc_events_equal_the_vectorised_pass(frame: CandleFrame, per_bar: list[list[Any]]) -> None:
    mine = [e for evs in per_bar for e in evs if isinstance(e, (SmcEventV1, ZoneV1))]
    assert mine == analyze(frame, CFG.smc, venue="demo").all_events()


def test_features_equal_the_indicator_arrays(frame: CandleFrame, per_bar: list[list[Any]]) -> None:
    arrays = IndicatorSet(CFG.indicators).compute(
        frame.open_time, frame.high, frame.low, frame.close, frame.volume
    )
    for i, events in enumerate(per_bar):
        values = events[0].values
        for name, col in arrays.items():
            want = col[i]
            assert values[name] == (None if math.isnan(want) else want), (i, name)


def test_regime_events_equal_the_batch_function(
    frame: CandleFrame, per_bar: list[list[Any]]
) -> None:
    mine = [e for evs in per_bar for e in evs if isinstance(e, RegimeV1)]
    batch = regime_events(frame.open_time, frame.high, frame.low, frame.close,
                          venue="demo", symbol="SOLUSDT", tf="5m", config=CFG.regime)  # fmt: skip
    assert mine == batch and len(mine) > 5


def test_options_features_off_and_fvg_filter(frame: CandleFrame) -> None:
    lean = [
        e
        for evs in run_frame(frame, state(PipelineConfig(smc=CFG.smc, features=False)), stop=500)
        for e in evs
    ]
    assert lean and not any(isinstance(e, FeaturesV1) for e in lean)

    def gaps(c: PipelineConfig) -> int:
        return sum(
            isinstance(e, ZoneV1) and e.kind == "FVG"
            for evs in run_frame(frame, state(c))
            for e in evs
        )

    every = gaps(PipelineConfig(smc=CFG.smc))
    big = gaps(PipelineConfig(smc=CFG.smc, fvg_min_atr=0.5))
    assert 0 < big < every
    every_bar = PipelineConfig(smc=CFG.smc, regime=CFG.regime, regime_every_bar=True)
    regimes = [
        e
        for evs in run_frame(frame, state(every_bar), stop=200)
        for e in evs
        if isinstance(e, RegimeV1)
    ]
    head = frame.slice(0, 200)
    assert regimes == regime_events(head.open_time, head.high, head.low, head.close, venue="demo",
                                    symbol="SOLUSDT", tf="5m", config=CFG.regime, every_bar=True)  # fmt: skip
    assert len(regimes) > 100  # one per bar once EMA50 + 10-bar slope are warm
    with pytest.raises(ValueError, match="fvg_min_atr"):
        PipelineConfig(fvg_min_atr=-1.0)


def test_a_refused_bar_changes_nothing(frame: CandleFrame) -> None:
    ref, probe = state(strategies=("sma_cross",)), state(strategies=("sma_cross",))
    ot, ct = frame.open_time.tolist(), frame.close_time.tolist()
    o, h, lo, c, v = (frame.open.tolist(), frame.high.tolist(), frame.low.tolist(), frame.close.tolist(),
                      frame.volume.tolist())  # fmt: skip
    bad = [
        (ot[0], ct[0], o[0], min(o[0], c[0]) - 1, lo[0], c[0], v[0]),  # high below the body
        (ot[0], ct[0], o[0], h[0], lo[0], c[0], -1.0),  # negative volume
        (ot[0], ct[0], o[0], h[0], lo[0], math.nan, v[0]),
        (ot[0], ot[0] - 1, o[0], h[0], lo[0], c[0], v[0]),  # closes before it opens
    ]
    for i in range(300):
        if i == 150:
            for b in bad:
                with pytest.raises(ValueError):
                    probe.update(*b)
            with pytest.raises(ValueError, match="time order"):
                probe.update(
                    ot[i - 1], ct[i - 1], o[i - 1], h[i - 1], lo[i - 1], c[i - 1], v[i - 1]
                )
        args = (ot[i], ct[i], o[i], h[i], lo[i], c[i], v[i])
        assert probe.update(*args) == ref.update(*args)
    assert probe.bars_seen == 300 and probe.features == ref.features


def test_update_candle_checks_stream_and_closed_flag(frame: CandleFrame) -> None:
    candles = frame.slice(0, 3).to_candles("demo")
    s = state()
    assert s.update_candle(candles[0])[0].time == candles[0].open_time
    with pytest.raises(ValueError, match="closed candles only"):
        s.update_candle(candles[1].model_copy(update={"closed": False}))
    other = CandleV1.model_validate({**candles[1].model_dump(), "symbol": "BTCUSDT"})
    with pytest.raises(ValueError, match="fed to the analysis of demo:SOLUSDT:5m"):
        s.update_candle(other)
    assert s.bars_seen == 1


def test_progress_callback(frame: CandleFrame) -> None:
    seen: list[int] = []
    list(run_frame(frame, state(PipelineConfig(features=False)), stop=2500, progress=seen.append))
    assert seen == [1000, 2000, 2500]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), data=st.data())
def test_whole_pipeline_prefix_property(seed: int, n: int, data: st.DataObject) -> None:
    f = walk(seed, n)
    small = PipelineConfig(indicators=IndicatorConfig(ema_periods=(5, 20)), smc=SmcConfig(swing_left=2, swing_right=1),
                           regime=RegimeConfig(lookback=30, min_periods=10))  # fmt: skip
    names = ("smc_retest", "sma_cross", "rsi_reversion", "fib_rsi")
    full = [e for evs in run_frame(f, state(small, names)) for e in evs]
    k = data.draw(st.integers(0, n), label="cut")
    cut = int(f.close_time[k - 1]) if k else -1
    assert [e for evs in run_frame(f, state(small, names), stop=k) for e in evs] == [
        e for e in full if e.confirmed_at <= cut
    ]
