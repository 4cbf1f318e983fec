"""Strategy plugins: discovery and parameters, each built-in checked against an independent
re-derivation of its rule, and the no-look-ahead prefix property per strategy (random series
with hypothesis, and the real 1h BTC file)."""

from __future__ import annotations

import bisect
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeterm.analysis.indicators import atr, rsi, sma
from tradeterm.analysis.pipeline import AnalysisState, PipelineConfig, run_frame
from tradeterm.analysis.regime import RegimeConfig
from tradeterm.analysis.smc import SmcConfig
from tradeterm.analysis.strategies import (
    BUILTINS,
    ENTRY_POINT_GROUP,
    Context,
    StrategyError,
    StrategyParams,
    available,
    create_strategy,
    parse_param_pairs,
    registry,
    strategy_class,
)
from tradeterm.analysis.strategies.signals import make_signal
from tradeterm.contracts import Side, SignalRawV1, SmcEventKind, SmcEventV1
from tradeterm.market.frame import CandleFrame
from tradeterm.market.loaders import load_klines

T0 = 1_767_225_600_000
MIN = 60_000
REAL_1H = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "candles"
    / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
)
SMALL = PipelineConfig(
    smc=SmcConfig(swing_left=2, swing_right=2), regime=RegimeConfig(lookback=50, min_periods=20)
)
FAST: dict[str, dict[str, Any]] = {
    "smc_retest": {
        "ema_period": 20, "slope_bars": 3, "macd_fast": 3, "macd_slow": 8, "macd_signal": 3,
        "rsi_period": 5, "atr_period": 5, "min_zone_atr": 0.0, "rsi_min": 20.0, "rsi_max": 80.0,
    },
    "sma_cross": {"fast": 5, "slow": 12, "atr_period": 5},
    "rsi_reversion": {"period": 5, "atr_period": 5},
    "fib_rsi": {"rsi_period": 5, "atr_period": 5, "min_leg_atr": 1.0},
}  # fmt: skip


def walk(seed: int, n: int) -> CandleFrame:
    """Trending stretches with noise on a whole-number grid (ties are common, as in real data)."""
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.choice([-0.6, 0.6], size=n // 40 + 1), 40)[:n]
    close = np.round(np.maximum(1000.0 + np.cumsum(drift + rng.normal(0, 2.0, n)), 50.0))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + np.round(rng.exponential(1.5, n))
    low = np.minimum(open_, close) - np.round(rng.exponential(1.5, n))
    vol = np.round(rng.lognormal(2, 0.5, n), 3)
    return CandleFrame.from_columns(
        "ETHUSDT", "1m", T0 + MIN * np.arange(n), open_, high, low, close, vol
    )


def run(frame: CandleFrame, names: list[str], params: dict[str, dict[str, Any]] | None = None,
        config: PipelineConfig = SMALL, stop: int | None = None, venue: str = "demo") -> list[Any]:  # fmt: skip
    strategies = [create_strategy(n, (params or {}).get(n, {})) for n in names]
    state = AnalysisState(
        venue=venue, symbol=frame.symbol, tf=frame.tf, config=config, strategies=strategies
    )
    return [e for evs in run_frame(frame, state, stop=stop) for e in evs]


def signals(events: list[Any], name: str | None = None) -> list[SignalRawV1]:
    return [
        e for e in events if isinstance(e, SignalRawV1) and (name is None or e.strategy == name)
    ]


# --------------------------------------------------------------------------------- registry
def test_builtins_are_available_and_valid() -> None:
    names = list(available())
    assert names[:4] == ["smc_retest", "sma_cross", "rsi_reversion", "fib_rsi"]
    for name in BUILTINS:
        cls = strategy_class(name)
        assert cls.name == name and issubclass(cls.Params, StrategyParams)
        assert create_strategy(name).params == cls.Params()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "params", "words"),
    [
        ("sma_cross", {"fast": "ten"}, "parameter 'fast': Input should be a valid integer"),
        ("sma_cross", {"fast": 60}, "fast (60) must be below slow (50)"),
        ("sma_cross", {"fsat": 5}, "unknown parameter 'fsat' (known: take_profits_r"),
        (
            "smc_retest",
            {"atr_buffer": -1},
            "parameter 'atr_buffer': Input should be greater than or equal to 0",
        ),
        (
            "smc_retest",
            {"take_profits_r": "2,1"},
            "parameter 'take_profits_r': take-profit R multiples must be strictly ascending",
        ),
        ("smc_retest", {"take_profits_r": "1,-2"}, "parameter 'take_profits_r'"),
        ("smc_retest", {"zones": "all"}, "parameter 'zones'"),
        ("rsi_reversion", {"oversold": 80}, "oversold (80.0) must be below overbought (70.0)"),
        ("fib_rsi", {"entry_to": 0.3}, "need entry_from < entry_to < stop_fib"),
        ("nope", {}, "unknown strategy 'nope' (available: smc_retest, sma_cross"),
    ],
)
def test_bad_parameters_name_the_parameter(name: str, params: dict[str, Any], words: str) -> None:
    with pytest.raises(StrategyError) as info:
        create_strategy(name, params)
    assert words in str(info.value)
    assert str(info.value).startswith(f"strategy {name!r}") or name == "nope"


def test_parameters_from_command_line_text() -> None:
    s = create_strategy(
        "smc_retest",
        parse_param_pairs(["take_profits_r=1, 2.5", "trend_filter=false", "ttl_bars=3"]),
    )
    params: Any = getattr(s, "params")  # noqa: B009 - the protocol does not promise .params
    assert (
        params.take_profits_r == (1.0, 2.5)
        and params.trend_filter is False
        and params.ttl_bars == 3
    )
    for bad, words in ((["fast"], "key=value"), (["=3"], "key=value"), (["a=1", "a=2"], "twice")):
        with pytest.raises(StrategyError, match=words):
            parse_param_pairs(bad)


class EchoParams(StrategyParams):
    every: int = 10


class Echo:
    """A plugin as a third party would write it: buys every ``every`` bars, 1% stop."""

    name: ClassVar[str] = "echo"
    Params: ClassVar[type[EchoParams]] = EchoParams

    def __init__(self, params: EchoParams) -> None:
        self.params = params

    def on_bar(self, ctx: Context) -> list[SignalRawV1]:
        b = ctx.bar
        if b.index % self.params.every:
            return []
        sig = make_signal(ctx.stream, self.name, Side.BUY, time=b.open_time, confirmed_at=b.close_time,
                          entry=b.close, stop=b.close * 0.99, take_profits_r=(1.0,), score=0.5, ttl_bars=1)  # fmt: skip
        return [sig] if sig else []


class NoParams:
    name = "noparams"

    def on_bar(self, ctx: Context) -> list[SignalRawV1]:
        return []


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, pairs: list[tuple[str, str]]) -> None:
    eps = [EntryPoint(name=n, value=v, group=ENTRY_POINT_GROUP) for n, v in pairs]
    monkeypatch.setattr(
        registry, "entry_points", lambda group: eps if group == ENTRY_POINT_GROUP else []
    )


def test_plugins_are_discovered_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(
        monkeypatch,
        [
            ("echo", f"{__name__}:Echo"),
            ("sma_cross", f"{__name__}:Echo"),  # cannot replace a built-in
            (
                "smc_retest",
                "tradeterm.analysis.strategies.smc_retest:SmcRetest",
            ),  # the pyproject line
            ("broken", "no_such_module_xyz:Thing"),
            ("noparams", f"{__name__}:NoParams"),
            ("twice", f"{__name__}:Echo"),
            ("twice", f"{__name__}:NoParams"),
        ],
    )
    assert {"echo", "broken", "noparams", "twice"} <= set(available())
    assert strategy_class("sma_cross").__name__ == "SmaCross"
    echo = create_strategy("echo", {"every": "5"})
    events = run(walk(1, 30), [], stop=None)  # no strategies: nothing but analysis events
    assert not signals(events)
    state = AnalysisState(venue="demo", symbol="ETHUSDT", tf="1m", config=SMALL, strategies=[echo])
    sigs = [e for evs in run_frame(walk(1, 30), state) for e in evs if isinstance(e, SignalRawV1)]
    assert [s.time for s in sigs] == [T0 + i * MIN for i in (0, 5, 10, 15, 20, 25)]
    with pytest.raises(
        StrategyError, match="'broken' failed to load from 'no_such_module_xyz:Thing'"
    ):
        create_strategy("broken")
    with pytest.raises(StrategyError, match="no pydantic Params model"):
        create_strategy("noparams")
    with pytest.raises(StrategyError, match="registered twice"):
        create_strategy("twice")
    with pytest.raises(StrategyError, match="its name attribute is 'echo', not 'misnamed'"):
        _fake_entry_points(monkeypatch, [("misnamed", f"{__name__}:Echo")])
        create_strategy("misnamed")


# -------------------------------------------------------------------- independent re-derivation
def test_sma_cross_matches_a_vectorised_crossing() -> None:
    f = walk(3, 800)
    got = signals(run(f, ["sma_cross"], FAST))
    fast, slow, a = sma(f.close, 5), sma(f.close, 12), atr(f.high, f.low, f.close, 5)
    gap = fast - slow
    want = []
    for i in range(1, len(f)):
        if np.isnan(gap[i - 1]) or np.isnan(a[i]):
            continue
        if gap[i - 1] <= 0 < gap[i]:
            want.append((i, Side.BUY, f.close[i] - 2.0 * a[i]))
        elif gap[i - 1] >= 0 > gap[i]:
            want.append((i, Side.SELL, f.close[i] + 2.0 * a[i]))
    assert len(want) > 10
    assert [(s.time, s.side) for s in got] == [(T0 + i * MIN, side) for i, side, _ in want]
    for s, (i, _, stop) in zip(got, want, strict=True):
        assert s.entry == Decimal(format(f.close[i], ".10g"))
        assert float(s.stop) == pytest.approx(stop, rel=1e-9)
        assert 0.0 <= s.score <= 1.0 and s.take_profits_r == [
            Decimal("1.5"),
            Decimal(2),
            Decimal(3),
        ]


def test_rsi_reversion_matches_a_vectorised_rule() -> None:
    f = walk(5, 800)
    got = signals(run(f, ["rsi_reversion"], FAST))
    r, a = rsi(f.close, 5), atr(f.high, f.low, f.close, 5)
    want = []
    for i in range(1, len(f)):
        if np.isnan(r[i - 1]) or np.isnan(a[i]):
            continue
        for bull, beyond, back in (
            (True, r[i - 1] < 30, r[i] >= 30),
            (False, r[i - 1] > 70, r[i] <= 70),
        ):
            if not (beyond and back):
                continue
            j = i - 1  # the excursion: the run of bars beyond the threshold just before i
            while (
                j - 1 >= 0
                and not np.isnan(r[j - 1])
                and ((r[j - 1] < 30) if bull else (r[j - 1] > 70))
            ):
                j -= 1
            if bull:
                extreme, depth = min(f.low[j : i + 1].min(), f.low[i]), 30 - r[j:i].min()
                want.append((i, Side.BUY, extreme - a[i], min(1.0, depth / 10)))
            else:
                extreme, depth = f.high[j : i + 1].max(), r[j:i].max() - 70
                want.append((i, Side.SELL, extreme + a[i], min(1.0, depth / 10)))
    assert len(want) > 10
    assert [(s.time, s.side) for s in got] == [(T0 + i * MIN, side) for i, side, _, _ in want]
    for s, (_, _, stop, depth) in zip(got, want, strict=True):
        assert float(s.stop) == pytest.approx(stop, rel=1e-9)
        assert s.score in (pytest.approx(depth, abs=1e-4), pytest.approx(depth / 2, abs=1e-4))
        assert s.take_profits_r == [Decimal(1), Decimal("1.5"), Decimal(2)] and s.ttl_bars == 3


def _audit_fib(frame: CandleFrame, events: list[Any], p: dict[str, Any]) -> int:
    """Re-derive every fib_rsi signal from the swing events and indicator arrays."""
    ef, et, sf = p.get("entry_from", 0.5), p.get("entry_to", 0.786), p.get("stop_fib", 1.0)
    rp, ap, lvl, look = (
        p.get("rsi_period", 14),
        p.get("atr_period", 14),
        p.get("rsi_level", 45.0),
        p.get("rsi_lookback", 3),
    )
    r, a = rsi(frame.close, rp), atr(frame.high, frame.low, frame.close, ap)
    swings = [
        e
        for e in events
        if isinstance(e, SmcEventV1) and e.kind in (SmcEventKind.SWING_HIGH, SmcEventKind.SWING_LOW)
    ]
    conf = [s.confirmed_at for s in swings]
    row = {int(t): i for i, t in enumerate(frame.open_time)}
    legs = set()
    got = signals(events, "fib_rsi")
    for sig in got:
        i = row[sig.time]
        known = swings[: bisect.bisect_right(conf, sig.confirmed_at)]
        hi = next(s for s in reversed(known) if s.kind is SmcEventKind.SWING_HIGH)
        lo = next(s for s in reversed(known) if s.kind is SmcEventKind.SWING_LOW)
        bull = sig.side is Side.BUY
        assert bull == (hi.time > lo.time)
        assert (lo.time, hi.time) not in legs  # each leg trades once
        legs.add((lo.time, hi.time))
        size = hi.price - lo.price
        window = r[max(0, i - look + 1) : i + 1]
        if bull:
            assert frame.low[i] <= hi.price - ef * size and frame.close[i] >= hi.price - et * size
            assert window.min() <= lvl and r[i] > r[i - 1]
            assert float(sig.stop) == pytest.approx(hi.price - sf * size - 0.25 * a[i], rel=1e-9)
        else:
            assert frame.high[i] >= lo.price + ef * size and frame.close[i] <= lo.price + et * size
            assert window.max() >= 100 - lvl and r[i] < r[i - 1]
            assert float(sig.stop) == pytest.approx(lo.price + sf * size + 0.25 * a[i], rel=1e-9)
    return len(got)


def test_fib_rsi_signals_follow_the_rule_on_random_series() -> None:
    total = 0
    for seed in range(4):
        f = walk(seed, 700)
        total += _audit_fib(f, run(f, ["fib_rsi"], FAST), FAST["fib_rsi"])
    assert total > 10


# --------------------------------------------------------------------------- no look-ahead
def test_every_strategy_signals_on_random_series() -> None:
    """The property test below is vacuous unless these series do produce signals."""
    events = run(walk(11, 600), list(FAST), FAST)
    for name in FAST:
        assert len(signals(events, name)) >= 2, name


@pytest.mark.parametrize("name", list(FAST))
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(30, 350), data=st.data())
def test_prefix_property_per_strategy(name: str, seed: int, n: int, data: st.DataObject) -> None:
    f = walk(seed, n)
    full = run(f, [name], FAST)
    k = data.draw(st.integers(0, n), label="cut")
    cut = int(f.close_time[k - 1]) if k else -1
    assert run(f, [name], FAST, stop=k) == [e for e in full if e.confirmed_at <= cut]


@pytest.fixture(scope="module")
def real() -> tuple[CandleFrame, list[Any]]:
    if not REAL_1H.exists():
        pytest.skip(f"real data not available: {REAL_1H}")
    f = load_klines(REAL_1H)
    return f, run(f, list(BUILTINS), config=PipelineConfig(features=False), venue="binance-um")


@pytest.fixture(scope="module")
def real_prefixes(real: tuple[CandleFrame, list[Any]]) -> dict[int, list[Any]]:
    f, _ = real
    return {k: run(f, list(BUILTINS), config=PipelineConfig(features=False), stop=k, venue="binance-um")
            for k in (1234, 7777)}  # fmt: skip


@pytest.mark.parametrize("name", list(BUILTINS))
def test_real_prefix_property_per_strategy(
    name: str, real: tuple[CandleFrame, list[Any]], real_prefixes: dict[int, list[Any]]
) -> None:
    f, full = real
    assert len(signals(full, name)) >= 50
    for k, prefix in real_prefixes.items():
        cut = int(f.close_time[k - 1])
        mine = signals(prefix, name)
        assert mine, f"{name} has no signal in the first {k} bars: the check would be vacuous"
        assert mine == [s for s in signals(full, name) if s.confirmed_at <= cut]


def test_real_fib_rsi_audit(real: tuple[CandleFrame, list[Any]]) -> None:
    f, events = real
    assert _audit_fib(f, events, {}) >= 50


def test_real_signals_are_well_formed(real: tuple[CandleFrame, list[Any]]) -> None:
    _, events = real
    seen = set()
    for s in signals(events):
        assert s.signal_id not in seen
        seen.add(s.signal_id)
        assert s.confirmed_at == s.time + 3_600_000 - 1
        assert (s.side is Side.BUY) == (s.stop < s.entry)
        assert 0.0 <= s.score <= 1.0 and s.ttl_bars >= 1 and s.reasons
