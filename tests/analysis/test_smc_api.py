"""The SMC API surface: config validation, input checks, plain-column input, engine misuse."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tradeterm.analysis.smc import SmcConfig, SmcEngine, analyze
from tradeterm.contracts import CandleV1

try:
    from smc_helpers import MIN, T0, frame, run_engine
except ImportError:  # tests/analysis collected as a package
    from tests.analysis.smc_helpers import MIN, T0, frame, run_engine

BARS = [
    (10.0, 10.5, 9.5, 10.0),
    (10.0, 12.0, 9.8, 11.5),
    (11.5, 11.8, 11.0, 11.2),
    (11.2, 12.6, 11.0, 12.4),
] * 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"swing_left": 0}, "swing_left must be between 1 and 1000"),
        ({"swing_left": 2.0}, "swing_left must be an int"),
        ({"swing_left": True}, "swing_left must be an int"),
        ({"swing_right": -1}, "swing_right must be between 0 and 1000"),
        ({"swing_right": 5000}, "swing_right must be between 0 and 1000"),
        ({"break_on": "open"}, "break_on must be one of 'close', 'wick'"),
        ({"ob_zone": "full"}, "ob_zone must be one of 'wick', 'body'"),
        ({"ob_mitigated_at": 0.0}, "ob_mitigated_at must be in (0, 1]"),
        ({"fvg_mitigated_at": 1.5}, "fvg_mitigated_at must be in (0, 1]"),
        ({"fvg_mitigated_at": float("nan")}, "fvg_mitigated_at must be finite"),
        ({"fvg_min_size": -1.0}, "fvg_min_size must be >= 0"),
        ({"fvg_min_size": "1"}, "fvg_min_size must be a number"),
        ({"liquidity_tolerance": float("inf")}, "liquidity_tolerance must be finite"),
        ({"liquidity_tolerance_unit": "pct"}, "liquidity_tolerance_unit must be one of"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        SmcConfig(**kwargs)  # type: ignore[arg-type]


def test_config_is_frozen_and_hashable() -> None:
    cfg = SmcConfig()
    with pytest.raises(AttributeError):
        cfg.swing_left = 3  # type: ignore[misc]
    assert hash(cfg) == hash(SmcConfig()) and cfg == SmcConfig()


def test_mapping_input_equals_frame_input() -> None:
    f = frame(BARS)
    cols = {
        "open_time": f.open_time.tolist(),
        "open": f.open,
        "high": f.high,
        "low": f.low,
        "close": f.close,
    }
    a = analyze(f, SmcConfig(swing_left=1, swing_right=1))
    b = analyze(cols, SmcConfig(swing_left=1, swing_right=1), symbol="BTCUSDT", tf="1m")
    assert a.all_events() == b.all_events() and len(a.all_events()) > 0
    with pytest.raises(ValueError, match="needs symbol= and tf="):
        analyze(cols)
    with pytest.raises(ValueError, match=r"needs columns \['close'\]"):
        analyze({k: v for k, v in cols.items() if k != "close"}, symbol="BTCUSDT", tf="1m")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["high"].__setitem__(3, np.nan), "high must be finite and > 0 \\(bar 3"),
        (lambda c: c["low"].__setitem__(2, 0.0), "low must be finite and > 0"),
        (lambda c: c["high"].__setitem__(1, 11.0), "bar 1 is not a candle"),
        (
            lambda c: c["open_time"].__setitem__(4, c["open_time"][3]),
            "strictly increasing \\(bar 4",
        ),
        (lambda c: c.__setitem__("close", c["close"][:-1]), "column 'close' has shape"),
    ],
)
def test_bad_input_is_refused(mutate: object, message: str) -> None:
    f = frame(BARS)
    cols = {
        "open_time": f.open_time.copy(),
        "open": f.open.copy(),
        "high": f.high.copy(),
        "low": f.low.copy(),
        "close": f.close.copy(),
    }
    mutate(cols)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        analyze(cols, symbol="BTCUSDT", tf="1m")


def test_bad_thresholds_and_stream_are_refused() -> None:
    f = frame(BARS)
    with pytest.raises(ValueError, match="one value per bar"):
        analyze(f, fvg_min_size=np.zeros(3))
    with pytest.raises(ValueError, match="liquidity_tolerance must be >= 0"):
        analyze(f, liquidity_tolerance=-1.0)
    with pytest.raises(ValueError, match="bad stream"):
        analyze(f, venue="Not A Venue!")
    with pytest.raises(ValueError, match="CandleFrame or a mapping"):
        analyze([1, 2, 3])  # type: ignore[arg-type]


def test_empty_and_tiny_series() -> None:
    for n in range(3):
        res = analyze(frame(BARS[:n]))
        assert len(res.structure) == 0 and len(res.zones) == 0 and res.all_events() == []
        assert len(res.active_zones()) == 0 and res.swings.bar.shape == (0,)
    res = analyze(frame(BARS[:3]))  # three candles are enough for a gap, not for a default swing
    assert len(res.structure) == 0 and res.zones.kind.tolist() == [1]


def test_materialised_events_match_the_tables() -> None:
    res = analyze(frame(BARS), SmcConfig(swing_left=1, swing_right=1))
    ev, zs = res.events(), res.zone_events()
    assert [e.price for e in ev] == res.structure.price.tolist()
    assert [e.confirmed_at for e in ev] == (T0 + MIN * (res.structure.conf + 1) - 1).tolist()
    assert [(z.top, z.bottom, z.fill_pct) for z in zs] == list(
        zip(res.zones.top.tolist(), res.zones.bottom.tolist(), res.zones.fill.tolist())
    )
    assert len({z.zone_id for z in zs}) == len(set(res.zones.zone.tolist()))


def candle(i: int, o: float, h: float, lo: float, c: float, **kw: object) -> CandleV1:
    return CandleV1(
        venue="binance-spot",
        symbol="BTCUSDT",
        tf="1m",
        open_time=T0 + MIN * i,
        close_time=T0 + MIN * (i + 1) - 1,
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=1.0,
        **kw,
    )  # type: ignore[arg-type]


def test_engine_update_with_candles_matches_push() -> None:
    cfg = SmcConfig(swing_left=1, swing_right=1)
    eng = SmcEngine(cfg)
    via_update = [e for i, b in enumerate(BARS) for e in eng.update(candle(i, *b))]
    f = frame(BARS)
    res = analyze(f, cfg, venue="binance-spot")
    assert via_update == res.all_events() and eng.bars_seen == len(BARS)
    pushed, _ = run_engine(f, cfg, venue="binance-spot")
    assert pushed == via_update


def test_engine_refuses_misuse_and_stays_consistent() -> None:
    cfg = SmcConfig(swing_left=1, swing_right=1)
    eng = SmcEngine(cfg)
    with pytest.raises(ValueError, match="needs symbol= and tf="):
        eng.push(T0, T0 + MIN - 1, 10.0, 10.5, 9.5, 10.0)
    with pytest.raises(ValueError, match="closed candle"):
        eng.update(candle(0, *BARS[0], closed=False))
    out = eng.update(candle(0, *BARS[0]))
    with pytest.raises(ValueError, match="time order"):
        eng.update(candle(0, *BARS[0]))
    other = CandleV1(
        venue="binance-spot",
        symbol="ETHUSDT",
        tf="1m",
        open_time=T0 + MIN,
        close_time=T0 + 2 * MIN - 1,
        open=10,
        high=11,
        low=9,
        close=10,
        volume=1,
    )
    with pytest.raises(ValueError, match="fed to the engine of binance-spot:BTCUSDT:1m"):
        eng.update(other)
    with pytest.raises(ValueError, match="not a candle"):
        eng.push(T0 + MIN, T0 + 2 * MIN - 1, 10.0, 9.9, 9.5, 10.0)
    with pytest.raises(ValueError, match="fvg_min_size must be >= 0"):
        eng.push(T0 + MIN, T0 + 2 * MIN - 1, *BARS[1], fvg_min_size=-1.0)
    # refused bars changed nothing: the rest of the series gives the batch result
    out += [e for i, b in enumerate(BARS[1:], 1) for e in eng.update(candle(i, *b))]
    assert out == analyze(frame(BARS), cfg, venue="binance-spot").all_events()


def test_small_runs_need_no_numba() -> None:
    """The TUI imports the package at start and charts a few thousand bars: no numba for that."""
    code = (
        "import sys, numpy as np\n"
        "import tradeterm.analysis.smc as s\n"
        "from tradeterm.market.frame import CandleFrame\n"
        "n = 3000; c = 100 + np.cumsum(np.sin(np.arange(n) / 7.0))\n"
        "f = CandleFrame.from_columns('BTCUSDT', '1m', 1_700_000_000_000 + 60_000 * np.arange(n),"
        " c, c + 0.5, c - 0.5, c, np.ones(n))\n"
        "r = s.analyze(f); assert len(r.structure) > 0\n"
        "s.SmcEngine(symbol='BTCUSDT', tf='1m')\n"
        "assert 'numba' not in sys.modules, 'numba imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_numba_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    f = frame(BARS)
    monkeypatch.setenv("TRADETERM_NO_NUMBA", "1")
    with pytest.raises(ValueError, match="needs numba"):
        analyze(f, jit=True)
    assert len(analyze(f, SmcConfig(swing_left=1, swing_right=1)).all_events()) > 0
