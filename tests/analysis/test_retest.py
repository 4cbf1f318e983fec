"""The retest analyser: each rule on hand-built scenarios, the no-look-ahead prefix property on
random series, and an independent audit of every signal on a year and a half of real BTC data."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeterm.analysis.indicators import IndicatorConfig
from tradeterm.analysis.indicators import atr as atr_array
from tradeterm.analysis.pipeline import AnalysisState, PipelineConfig, run_frame
from tradeterm.analysis.regime import RegimeConfig
from tradeterm.analysis.retest import WEIGHTS, RetestAnalyser, RetestConfig, rules
from tradeterm.analysis.smc import SmcConfig
from tradeterm.analysis.smc.materialise import Stream
from tradeterm.analysis.strategies.smc_retest import SmcRetest
from tradeterm.contracts import (
    Direction,
    Side,
    SignalRawV1,
    SmcEventKind,
    SmcEventV1,
    Timeframe,
    ZoneKind,
    ZoneState,
    ZoneV1,
)
from tradeterm.market.frame import CandleFrame
from tradeterm.market.loaders import load_klines

T0 = 1_767_225_600_000  # 2026-01-01
MIN = 60_000
STREAM = Stream("demo", "BTCUSDT", Timeframe.M1)
REAL_1H = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "candles"
    / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
)

# Small periods and every filter but the zone logic opened up, so scenarios stay short.
LOOSE = RetestConfig(
    ema_period=5, slope_bars=2, macd_fast=2, macd_slow=4, macd_signal=2, rsi_period=3,
    atr_period=3, volume_period=3, trend_filter=False, rsi_min=0.0, rsi_max=100.0, min_zone_atr=0.0,
)  # fmt: skip


# ------------------------------------------------------------------------------------ rules
def test_weights_sum_to_one() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    assert rules.score(dict.fromkeys(WEIGHTS, 1.0)) == pytest.approx(1.0)


def test_touch_and_rejection_rules() -> None:
    assert rules.touch(low=102.0, close=104.0, top=102.0, bottom=100.0)  # tap on the edge counts
    assert not rules.touch(low=102.01, close=104.0, top=102.0, bottom=100.0)
    assert not rules.touch(low=99.0, close=99.99, top=102.0, bottom=100.0)  # closed through
    out = rules.rejection(
        open_=103.0, high=104.0, low=101.0, close=102.5, top=102.0, wick_ratio=0.4
    )
    assert out.ok and "closed back out" in out.reason  # close above the top
    wick = rules.rejection(
        open_=101.8, high=102.0, low=100.0, close=101.9, top=102.0, wick_ratio=0.4
    )
    assert wick.ok and "wick 90%" in wick.reason  # 1.8 of a 2.0 range is lower wick
    weak = rules.rejection(
        open_=101.5, high=102.0, low=101.0, close=101.2, top=102.0, wick_ratio=0.4
    )
    assert not weak.ok  # closed inside the zone with a 20% wick
    assert out.score > wick.score * 0.5 and 0.0 <= weak.score <= 1.0


def test_trend_rsi_volume_rules() -> None:
    up, macd = rules.trend(0.05, -1.0, -2.0, enabled=True)
    assert up.ok and macd.ok and up.score == pytest.approx(0.5) and macd.score == 0.5
    down, _ = rules.trend(-0.01, 1.0, 0.5, enabled=True)
    assert not down.ok
    _, falling = rules.trend(0.05, -1.0, -0.5, enabled=True)
    assert not falling.ok  # negative and still falling: momentum away from the trade
    off, off_macd = rules.trend(-0.5, -1.0, -0.5, enabled=False)
    assert off.ok and off_macd.ok
    unknown, _ = rules.trend(None, None, None, enabled=True)
    assert not unknown.ok
    bear_words, bear_macd = rules.trend(0.05, 1.0, 0.5, enabled=True, bull=False)
    assert "-0.050" in bear_words.reason and "negative, falling" in bear_macd.reason
    assert rules.rsi_bounce(50.0, 45.0, 35.0, 65.0).score == pytest.approx(1.0)
    assert not rules.rsi_bounce(70.0, 60.0, 35.0, 65.0).ok
    assert not rules.rsi_bounce(34.9, 30.0, 35.0, 65.0).ok
    assert "RSI 40.0 falling" in rules.rsi_bounce(60.0, 55.0, 35.0, 65.0, bull=False).reason
    assert rules.volume(300.0, 100.0, 2.0).ok and not rules.volume(150.0, 100.0, 2.0).ok
    assert rules.volume(150.0, None, 0.0).ok and not rules.volume(150.0, None, 1.0).ok
    assert rules.stop_below(bottom=100.0, low=99.0, atr=4.0, buffer_atr=0.25) == 98.0


# --------------------------------------------------------------------------------- scenarios
def _bar(
    i: int, o: float, h: float, lo: float, c: float, v: float = 10.0
) -> tuple[int, int, float, float, float, float, float]:
    return T0 + i * MIN, T0 + (i + 1) * MIN - 1, o, h, lo, c, v


def _warm(n: int = 12) -> list[tuple[int, int, float, float, float, float, float]]:
    """Quiet bars oscillating around 110, well above the demand zone used below."""
    out = []
    for i in range(n):
        c = 110.0 + (0.5 if i % 2 else -0.5)
        out.append(_bar(i, 110.0, 111.0, 109.0, c))
    return out


def _brk(i: int, kind: SmcEventKind, direction: Direction, level: float = 108.0) -> SmcEventV1:
    return SmcEventV1(
        venue="demo", symbol="BTCUSDT", tf=Timeframe.M1, time=T0 + i * MIN, confirmed_at=T0 + (i + 1) * MIN - 1,
        event_id=f"e{i}{kind}{direction}", kind=kind, direction=direction, price=level, ref_time=T0,
    )  # fmt: skip


def _zone(i: int, direction: Direction = Direction.BULL, top: float = 102.0, bottom: float = 100.0,
          state: ZoneState = ZoneState.ACTIVE, fill: float = 0.0, kind: ZoneKind = ZoneKind.ORDER_BLOCK,
          zid: str = "Z1") -> ZoneV1:  # fmt: skip
    return ZoneV1(
        venue="demo", symbol="BTCUSDT", tf=Timeframe.M1, time=T0, confirmed_at=T0 + (i + 1) * MIN - 1, zone_id=zid,
        kind=kind, direction=direction, top=top, bottom=bottom, state=state, fill_pct=fill,
    )  # fmt: skip


def _run(
    bars: Sequence[tuple[int, int, float, float, float, float, float]],
    events: dict[int, list[Any]],
    config: RetestConfig = LOOSE,
) -> list[SignalRawV1]:
    a = RetestAnalyser(STREAM, config)
    out: list[SignalRawV1] = []
    for i, b in enumerate(bars):
        out.extend(a.update(*b, events=events.get(i, [])))
    return out


def _atr_at(
    bars: Sequence[tuple[int, int, float, float, float, float, float]], period: int = 3
) -> float:
    a = np.array(bars, dtype=np.float64)
    return float(atr_array(a[:, 3], a[:, 4], a[:, 5], period)[-1])


BULL_SETUP = {11: [_brk(11, SmcEventKind.BOS, Direction.BULL), _zone(11)]}


def test_bull_retest_with_close_back_out() -> None:
    bars = [*_warm(), _bar(12, 104.0, 104.5, 101.0, 103.8)]
    [sig] = _run(bars, BULL_SETUP)
    assert sig.side is Side.BUY and sig.strategy == "smc_retest" and sig.zone_id == "Z1"
    assert (sig.time, sig.confirmed_at) == (T0 + 12 * MIN, T0 + 13 * MIN - 1)
    assert sig.entry == Decimal("103.8")
    assert float(sig.stop) == pytest.approx(100.0 - 0.25 * _atr_at(bars), rel=1e-9)
    assert sig.take_profits_r == [Decimal("1.5"), Decimal(2), Decimal(3)] and sig.ttl_bars == 6
    assert 0.0 < sig.score <= 1.0
    assert (
        sig.reasons[0] == "BULL OB retest 100-102 (first touch)"
        and sig.reasons[1] == "after BOS BULL"
    )
    assert sig.signal_id == "demo:BTCUSDT:1m:smc_retest:BUY:" + str(T0 + 12 * MIN)


def test_stop_goes_beyond_a_wick_through_the_zone() -> None:
    bars = [*_warm(), _bar(12, 104.0, 104.5, 99.0, 103.0)]  # wick below the bottom, close back out
    [sig] = _run(bars, BULL_SETUP)
    assert float(sig.stop) == pytest.approx(99.0 - 0.25 * _atr_at(bars), rel=1e-9)


def test_rejection_wick_inside_the_zone() -> None:
    bars = [*_warm(), _bar(12, 101.9, 102.0, 100.2, 101.95)]  # closes inside, 94% lower wick
    [sig] = _run(bars, BULL_SETUP)
    assert "wick 94% of range" in sig.reasons[2]
    no_wick = [*_warm(), _bar(12, 101.9, 102.0, 101.0, 101.2)]
    assert _run(no_wick, BULL_SETUP) == []


def test_close_through_the_zone_is_no_retest() -> None:
    assert _run([*_warm(), _bar(12, 104.0, 104.5, 98.0, 99.5)], BULL_SETUP) == []


def test_needs_a_bos_in_the_zone_direction() -> None:
    bars = [*_warm(), _bar(12, 104.0, 104.5, 101.0, 103.8)]
    choch = {11: [_brk(11, SmcEventKind.CHOCH, Direction.BULL), _zone(11)]}
    assert _run(bars, choch) == []
    assert len(_run(bars, choch, LOOSE.model_copy(update={"allow_choch": True}))) == 1
    assert _run(bars, {11: [_zone(11)]}) == []  # no break at all
    against: dict[int, list[Any]] = {
        11: [_brk(11, SmcEventKind.BOS, Direction.BULL), _zone(11)],
        12: [_brk(12, SmcEventKind.BOS, Direction.BEAR)],
    }
    assert _run(bars, against) == []  # a bearish break confirmed on the retest bar itself


def test_zone_must_exist_before_the_bar_and_be_unmitigated() -> None:
    bars = [*_warm(), _bar(12, 104.0, 104.5, 101.0, 103.8)]
    same_bar: dict[int, list[Any]] = {
        11: [_brk(11, SmcEventKind.BOS, Direction.BULL)],
        12: [_zone(12)],
    }
    assert _run(bars, same_bar) == []
    mitigated_later = dict(BULL_SETUP)
    bars2 = [*_warm(), _bar(12, 110.0, 110.5, 109.5, 110.0), _bar(13, 104.0, 104.5, 101.0, 103.8)]
    mitigated_later[12] = [_zone(12, state=ZoneState.MITIGATED, fill=0.6)]
    assert _run(bars2, mitigated_later) == []
    partial = dict(BULL_SETUP)
    partial[12] = [_zone(12, state=ZoneState.PARTIAL, fill=0.3)]
    [sig] = _run(bars2, partial)
    assert "(first touch)" not in sig.reasons[0]


def test_a_zone_trades_once_and_old_zones_expire() -> None:
    bars = [*_warm(), _bar(12, 104.0, 104.5, 101.0, 103.8), _bar(13, 104.0, 104.5, 101.0, 103.8)]
    assert len(_run(bars, BULL_SETUP)) == 1
    stale = [
        *_warm(),
        *[_bar(12 + k, 110.0, 111.0, 109.0, 110.0) for k in range(5)],
        _bar(17, 104.0, 104.5, 101.0, 103.8),
    ]
    assert len(_run(stale, BULL_SETUP)) == 1
    assert _run(stale, BULL_SETUP, LOOSE.model_copy(update={"max_zone_age": 5})) == []


def test_filters_gate_the_signal() -> None:
    bars = [*_warm(), _bar(12, 104.0, 104.5, 101.0, 103.8)]
    assert _run(bars, BULL_SETUP, LOOSE.model_copy(update={"max_risk_atr": 0.5})) == []
    assert _run(bars, BULL_SETUP, LOOSE.model_copy(update={"min_rel_volume": 1.5})) == []
    loud = [*bars[:-1], _bar(12, 104.0, 104.5, 101.0, 103.8, v=40.0)]
    assert len(_run(loud, BULL_SETUP, LOOSE.model_copy(update={"min_rel_volume": 1.5}))) == 1
    assert _run(bars, BULL_SETUP, LOOSE.model_copy(update={"min_zone_atr": 5.0})) == []
    assert _run(bars, BULL_SETUP, LOOSE.model_copy(update={"zones": "fvg"})) == []
    assert (
        _run(bars, BULL_SETUP, LOOSE.model_copy(update={"rsi_min": 20.0, "rsi_max": 80.0})) == []
    )  # RSI 13.9: crushed
    assert _run(bars, BULL_SETUP, LOOSE.model_copy(update={"min_score": 0.99})) == []
    # the warm-up drifts sideways and the retest bar falls hard: the trend filter refuses it
    assert _run(bars, BULL_SETUP, LOOSE.model_copy(update={"trend_filter": True})) == []


def test_trend_filter_passes_in_an_uptrend() -> None:
    bars = [_bar(i, 100.0 + 2 * i, 101.0 + 2 * i, 99.5 + 2 * i, 100.8 + 2 * i) for i in range(30)]
    bars += [_bar(30, 160.0, 160.5, 156.0, 158.0), _bar(31, 158.0, 158.5, 151.5, 155.0)]  # pullback
    bars += [_bar(32, 154.0, 160.0, 150.5, 159.5)]  # into the zone and back out, strongly
    setup = {
        29: [_brk(29, SmcEventKind.BOS, Direction.BULL, 150.0), _zone(29, top=152.0, bottom=150.0)]
    }
    [sig] = _run(bars, setup, LOOSE.model_copy(update={"trend_filter": True}))
    assert any(r.startswith("EMA slope +") for r in sig.reasons)


def test_bear_retest_mirrors_the_bull_one() -> None:
    warm = [_bar(i, 90.0, 91.0, 89.0, 90.0 + (0.5 if i % 2 else -0.5)) for i in range(12)]
    bars = [*warm, _bar(12, 96.0, 99.0, 95.5, 96.2)]
    setup = {
        11: [
            _brk(11, SmcEventKind.BOS, Direction.BEAR),
            _zone(11, Direction.BEAR, top=100.0, bottom=98.0),
        ]
    }
    [sig] = _run(bars, setup)
    assert sig.side is Side.SELL and sig.entry == Decimal("96.2")
    assert float(sig.stop) == pytest.approx(100.0 + 0.25 * _atr_at(bars), rel=1e-9)
    assert sig.reasons[0].startswith("BEAR OB retest 98-100")


def test_best_of_several_touched_zones_and_confluence() -> None:
    bars = [*_warm(), _bar(12, 104.0, 104.5, 100.5, 103.8)]
    setup = {
        11: [
            _brk(11, SmcEventKind.BOS, Direction.BULL),
            _zone(11, top=102.0, bottom=100.0, kind=ZoneKind.FVG, zid="G"),
            _zone(11, top=103.0, bottom=101.0, zid="OB"),
        ]
    }
    [sig] = _run(bars, setup)
    assert sig.zone_id == "OB" and "2 zones touched" in sig.reasons
    # both were consumed with the signal: a second identical bar gives nothing
    assert len(_run([*bars, _bar(13, 104.0, 104.5, 100.5, 103.8)], setup)) == 1


# ------------------------------------------------------------------------- no look-ahead
def _walk(seed: int, n: int) -> CandleFrame:
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.choice([-0.6, 0.6], size=n // 40 + 1), 40)[:n]
    close = np.round(np.maximum(1000.0 + np.cumsum(drift + rng.normal(0, 2.0, n)), 50.0))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + np.round(rng.exponential(1.5, n))
    low = np.minimum(open_, close) - np.round(rng.exponential(1.5, n))
    vol = np.round(rng.lognormal(2, 0.5, n), 3)
    return CandleFrame.from_columns(
        "BTCUSDT", "1m", T0 + MIN * np.arange(n), open_, high, low, close, vol
    )


SMALL = PipelineConfig(
    smc=SmcConfig(swing_left=2, swing_right=2), regime=RegimeConfig(lookback=50, min_periods=20)
)
FAST_RETEST = RetestConfig(
    ema_period=20, slope_bars=3, macd_fast=3, macd_slow=8, macd_signal=3, rsi_period=5, atr_period=5,
    min_zone_atr=0.0, rsi_min=20.0, rsi_max=80.0,
)  # fmt: skip


def _signals(frame: CandleFrame, stop: int | None = None) -> list[SignalRawV1]:
    state = AnalysisState(
        venue="demo",
        symbol=frame.symbol,
        tf=frame.tf,
        config=SMALL,
        strategies=[SmcRetest(FAST_RETEST)],
    )
    return [
        e for evs in run_frame(frame, state, stop=stop) for e in evs if isinstance(e, SignalRawV1)
    ]


def test_random_walk_gives_retest_signals() -> None:
    """The property test below is only meaningful if these series do produce signals."""
    assert len(_signals(_walk(7, 600))) >= 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(50, 400), data=st.data())
def test_prefix_property(seed: int, n: int, data: st.DataObject) -> None:
    frame = _walk(seed, n)
    full = _signals(frame)
    k = data.draw(st.integers(0, n), label="cut")
    cut = int(frame.close_time[k - 1]) if k else -1
    assert _signals(frame, stop=k) == [s for s in full if s.confirmed_at <= cut]


# ---------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_run() -> tuple[CandleFrame, list[object]]:
    if not REAL_1H.exists():
        pytest.skip(f"real data not available: {REAL_1H}")
    frame = load_klines(REAL_1H)
    state = AnalysisState(venue="binance-um", symbol=frame.symbol, tf=frame.tf, config=PipelineConfig(features=False),
                          strategies=[SmcRetest()])  # fmt: skip
    return frame, [e for evs in run_frame(frame, state) for e in evs]


def test_real_signals_obey_the_rules(real_run: tuple[CandleFrame, list[object]]) -> None:
    """Re-derive each signal's preconditions from the event stream alone: the zone was known and
    unmitigated before the bar, the last break was a BOS its way, the bar touched and rejected it,
    and the stop sits beyond the zone by the ATR buffer."""
    frame, events = real_run
    cfg = RetestConfig()
    atr14 = atr_array(frame.high, frame.low, frame.close, 14)
    row = {int(t): i for i, t in enumerate(frame.open_time)}
    signals = [e for e in events if isinstance(e, SignalRawV1)]
    assert 50 <= len(signals) <= 1000, len(signals)
    assert {s.side for s in signals} == {Side.BUY, Side.SELL}
    by_zone: dict[str, list[ZoneV1]] = {}
    for e in events:
        if isinstance(e, ZoneV1):
            by_zone.setdefault(e.zone_id, []).append(e)
    breaks = [
        e
        for e in events
        if isinstance(e, SmcEventV1) and e.kind in (SmcEventKind.BOS, SmcEventKind.CHOCH)
    ]
    break_conf = [b.confirmed_at for b in breaks]
    for sig in signals:
        i = row[sig.time]
        assert sig.zone_id is not None
        zone_rows = [e for e in by_zone[sig.zone_id] if e.confirmed_at < sig.time]
        assert zone_rows and zone_rows[0].state is ZoneState.ACTIVE
        assert zone_rows[-1].state in (ZoneState.ACTIVE, ZoneState.PARTIAL)
        assert i - row[_bar_of(frame, zone_rows[0].confirmed_at)] <= cfg.max_zone_age
        z = zone_rows[-1]
        last = breaks[bisect.bisect_right(break_conf, sig.confirmed_at) - 1]
        bull = sig.side is Side.BUY
        assert last.kind is SmcEventKind.BOS
        assert last.direction is (Direction.BULL if bull else Direction.BEAR) is z.direction
        o, h, lo, c = frame.open[i], frame.high[i], frame.low[i], frame.close[i]
        assert float(sig.entry) == pytest.approx(c, rel=1e-9)
        if bull:
            assert lo <= z.top and c >= z.bottom
            assert c > z.top or (min(o, c) - lo) / (h - lo) >= cfg.wick_ratio
            assert float(sig.stop) == pytest.approx(
                min(z.bottom, lo) - cfg.atr_buffer * atr14[i], rel=1e-9
            )
        else:
            assert h >= z.bottom and c <= z.top
            assert c < z.bottom or (h - max(o, c)) / (h - lo) >= cfg.wick_ratio
            assert float(sig.stop) == pytest.approx(
                max(z.top, h) + cfg.atr_buffer * atr14[i], rel=1e-9
            )
        assert abs(float(sig.entry - sig.stop)) <= cfg.max_risk_atr * atr14[i] * (1 + 1e-9)


def _bar_of(frame: CandleFrame, confirmed_at: int) -> int:
    return int(frame.open_time[int(np.searchsorted(frame.close_time, confirmed_at))])


def test_real_prefix_property(real_run: tuple[CandleFrame, list[object]]) -> None:
    frame, events = real_run
    for k in (2500, 9100):
        cut = int(frame.close_time[k - 1])
        state = AnalysisState(venue="binance-um", symbol=frame.symbol, tf=frame.tf,
                              config=PipelineConfig(features=False), strategies=[SmcRetest()])  # fmt: skip
        prefix = [e for evs in run_frame(frame, state, stop=k) for e in evs]
        expected = [e for e in events if e.confirmed_at <= cut]  # type: ignore[attr-defined]
        assert prefix == expected
        assert any(isinstance(e, SignalRawV1) for e in prefix)


def test_shared_indicators_give_the_same_signals(
    real_run: tuple[CandleFrame, list[object]],
) -> None:
    """With the pipeline's default indicators the strategy reuses EMA200/MACD/RSI/ATR from the
    features; with other indicator periods it computes its own. Both must agree exactly."""
    frame, events = real_run
    own = SmcRetest()
    state = AnalysisState(venue="binance-um", symbol=frame.symbol, tf=frame.tf, strategies=[own],
                          config=PipelineConfig(features=False, indicators=IndicatorConfig(ema_periods=(20, 50))))  # fmt: skip
    mine = [e for evs in run_frame(frame, state) for e in evs if isinstance(e, SignalRawV1)]
    assert own._analyser is not None and not own._analyser.shared_indicators
    assert mine == [e for e in events if isinstance(e, SignalRawV1)]
    shared = SmcRetest()
    list(
        run_frame(
            frame,
            AnalysisState(
                venue="binance-um", symbol=frame.symbol, tf=frame.tf, strategies=[shared]
            ),
            stop=10,
        )
    )
    assert shared._analyser is not None and shared._analyser.shared_indicators


def test_shared_mode_needs_the_values() -> None:
    a = RetestAnalyser(STREAM, LOOSE, shared_indicators=True)
    with pytest.raises(ValueError, match="pass indicators"):
        a.update(*_bar(0, 1.0, 1.0, 1.0, 1.0))
