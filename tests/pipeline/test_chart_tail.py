"""The chart's overlays extended by the open candle equal the batch indicators over the frame.

The controller caches the indicator series of the closed candles and, at each tick of the open
candle, only appends the open candle's values (:class:`ClosedSeries`). The chart must show the
same numbers as before, when every tick reran :func:`indicator_series` over the whole frame:
EMA and VWAP bit for bit, Bollinger to ~1e-15 (the batch loop keeps a running sum). Real candles
from /work/shared/data and synthetic ones, short frames (warm-up NaNs), day boundaries (VWAP
sessions), zero volume, NaN inputs and revised closed candles.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradeterm.analysis.indicators import _jit
from tradeterm.analysis.indicators.volume import DAY_MS
from tradeterm.market.frame import CandleFrame
from tradeterm.pipeline.chartdata import ClosedSeries, Series, chart_data, indicator_series

CANDLES = Path(__file__).parents[2] / ".." / "shared" / "data" / "candles"
REAL = [
    ("binance_um_BTCUSDT_1h_20250101-20260731.csv", "1h"),
    ("binance_um_BTCUSDT_4h_20250101-20260731.csv", "4h"),
    ("binance_um_BTCUSDT_15m_20230102-20230209_DERIVED_from_5m.csv", "15m"),
    ("binance_spot_BTCUSDT_5m_20260124-20260126.csv", "5m"),
    ("binance_spot_BTCUSDT_15m_20260121-20260126.csv", "15m"),
    ("binanceus_BTCUSDT_1m_20230301-20230321.csv", "1m"),  # thin venue: zero-volume minutes
]
BB_RTOL = 1e-12


@pytest.fixture(params=["python", "numba"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The batch side on either kernel path (they give the same bits)."""
    monkeypatch.setattr(_jit, "force_engine", request.param)
    return str(request.param)


def _ms(text: str) -> int:
    if text.isdigit():
        return int(text)
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def load(name: str, tf: str, rows: int = 3000) -> CandleFrame:
    path = CANDLES / name
    if not path.exists():
        pytest.skip("shared candle data not present")
    with path.open() as f:
        reader = csv.DictReader(f)
        data = [r for _, r in zip(range(rows), reader, strict=False)]
    t = "openTime" if "openTime" in data[0] else "open_time"
    cols = {
        k: np.array([float(r[k]) for r in data]) for k in ("open", "high", "low", "close", "volume")
    }
    times = np.array([_ms(r[t]) for r in data], dtype=np.int64)
    return CandleFrame.from_columns("BTCUSDT", tf, times, **cols)


def synthetic(
    n: int, seed: int, start: int = 1_704_067_200_000, tf_ms: int = 60_000
) -> CandleFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.001, n)) * close
    volume = rng.exponential(5.0, n)
    volume[rng.random(n) < 0.05] = 0.0  # some bars without trades
    return CandleFrame.from_columns(
        "BTCUSDT",
        "1m" if tf_ms == 60_000 else "1h",
        start + tf_ms * np.arange(n, dtype=np.int64),
        open_,
        np.maximum(open_, close) + spread,
        np.minimum(open_, close) - spread,
        close,
        volume,
    )


def assert_same(got: tuple[Series, ...], want: tuple[Series, ...]) -> None:
    assert [(s.name, s.group, s.role) for s in got] == [(s.name, s.group, s.role) for s in want]
    for g, w in zip(got, want, strict=True):
        assert g.values.shape == w.values.shape
        if g.group == "bb":
            np.testing.assert_allclose(g.values, w.values, rtol=BB_RTOL, atol=0, equal_nan=True)
            assert np.array_equal(g.values[:-1], w.values[:-1], equal_nan=True)  # closed: cached
        else:
            np.testing.assert_array_equal(g.values, w.values, err_msg=g.name)  # exact, NaN == NaN


def check(frame: CandleFrame) -> None:
    """Extend the closed part by the last candle and compare with the batch over the frame."""
    base = ClosedSeries.of(frame.slice(0, len(frame) - 1))
    assert_same(base.extend(frame), indicator_series(frame))


def windows(frame: CandleFrame, length: int, count: int) -> Iterator[CandleFrame]:
    for end in np.linspace(length, len(frame), count).astype(int):
        yield frame.slice(int(end) - length, int(end))


@pytest.mark.parametrize(("name", "tf"), REAL)
def test_real_frames(engine: str, name: str, tf: str) -> None:
    frame = load(name, tf)
    for length in (400, 201, 200, 199, 60, 21, 20, 19, 3):
        for w in windows(frame, min(length, len(frame)), 7):
            check(w)


@pytest.mark.parametrize("seed", range(4))
def test_synthetic_frames_of_every_length(engine: str, seed: int) -> None:
    frame = synthetic(260, seed)
    for n in range(2, 261):
        check(frame.slice(0, n))


def test_open_candle_ticks(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One closed base, many ticks of the open candle: each equals the batch over the frame,
    and none of them reruns the batch indicators."""
    from tradeterm.pipeline import chartdata

    frame = synthetic(401, 7)
    base = ClosedSeries.of(frame.slice(0, 400))
    batch = chartdata.indicator_series
    calls: list[int] = []

    def counting(f: CandleFrame) -> tuple[Series, ...]:
        calls.append(len(f))
        return batch(f)

    monkeypatch.setattr(chartdata, "indicator_series", counting)
    rng = np.random.default_rng(3)
    high, low, close, vol = (float(frame.open[-1]),) * 3 + (0.0,)
    for _ in range(50):
        close = close * (1 + rng.normal(0, 0.001))
        high, low, vol = max(high, close), min(low, close), vol + float(rng.exponential(0.5))
        moved = _with_last(frame, high=high, low=low, close=close, volume=vol)
        assert_same(base.extend(moved), batch(moved))
    assert calls == []


def _with_last(frame: CandleFrame, **values: float) -> CandleFrame:
    cols: dict[str, Any] = {
        c: getattr(frame, c).copy() for c in ("open_time", "open", "high", "low", "close", "volume")
    }
    for k, v in values.items():
        cols[k][-1] = v
    return CandleFrame.from_columns(frame.symbol, frame.tf, **cols)


@pytest.mark.parametrize("last_closed_offset", [-1, 0, 1, 5])
def test_vwap_session_boundary(engine: str, last_closed_offset: int) -> None:
    """The open candle starts a new day (its VWAP restarts), or the day began a few bars ago."""
    day = 1_704_067_200_000 + 3 * DAY_MS  # a midnight UTC
    n = 300
    first_of_day = n - 2 - last_closed_offset  # -1: the open candle; 0: the last closed one
    frame = synthetic(n, 11, start=day - first_of_day * 60_000)
    opened = int(frame.open_time[-1])
    assert int(frame.open_time[first_of_day]) == day
    check(frame)
    check(_with_last(frame, volume=0.0))  # no trade yet in the new session: NaN
    vwap = ClosedSeries.of(frame.slice(0, n - 1)).extend(_with_last(frame, volume=0.0))[-1]
    if last_closed_offset == -1:  # the open candle is the session's first: undefined
        assert opened % DAY_MS == 0 and np.isnan(vwap.values[-1])


def test_hourly_frames_cross_many_sessions(engine: str) -> None:
    frame = synthetic(500, 5, tf_ms=3_600_000)
    for n in (30, 47, 48, 49, 200, 500):
        check(frame.slice(0, n))


def test_nan_and_odd_inputs_fall_back_to_the_batch(engine: str) -> None:
    frame = synthetic(300, 2)
    check(_with_last(frame, close=float("nan")))
    check(_with_last(frame, volume=float("nan")))
    cols = {
        c: getattr(frame, c).copy() for c in ("open_time", "open", "high", "low", "close", "volume")
    }
    cols["close"][250] = np.nan  # poisons EMA/BB from there on
    poisoned = CandleFrame.from_columns("BTCUSDT", "1m", **cols)
    check(poisoned)
    cols["close"][:10] = np.nan  # leading NaNs are skipped by the batch loops
    cols["close"][250] = 101.0
    check(CandleFrame.from_columns("BTCUSDT", "1m", **cols))


def test_a_revised_closed_candle_is_not_extended(engine: str) -> None:
    frame = synthetic(300, 4)
    base = ClosedSeries.of(frame.slice(0, 299))
    revised = _with_last(frame.slice(0, 299), close=float(frame.close[298]) * 1.01)
    revised = CandleFrame.from_columns(
        "BTCUSDT",
        "1m",
        np.append(revised.open_time, frame.open_time[-1]),
        np.append(revised.open, frame.open[-1]),
        np.append(revised.high, frame.high[-1]),
        np.append(revised.low, frame.low[-1]),
        np.append(revised.close, frame.close[-1]),
        np.append(revised.volume, frame.volume[-1]),
    )
    assert not base.matches(revised)
    assert_same(base.extend(revised), indicator_series(revised))
    assert not base.matches(frame.slice(0, 299))  # no open candle
    assert not base.matches(frame.slice(1, 300))  # shifted window


# ---------------------------------------------------------------------- the controller's cache


class _Controller:
    """Just enough of a PipelineController for ``_chart``: frames come from a list."""

    def __init__(self, frame: CandleFrame) -> None:
        from tradeterm.pipeline.controller import PipelineController

        self.current = frame
        self._chart_cache = None
        self._chart_structure = None
        self._chart = PipelineController._chart.__get__(self)  # type: ignore[attr-defined]
        self._chart_base = PipelineController._chart_base.__get__(self)  # type: ignore[attr-defined]

    def frame(self, symbol: str, tf: str, bars: int = 400, market: str = "spot") -> CandleFrame:
        return self.current


def test_controller_chart_matches_a_full_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    import tradeterm.analysis.smc as smc_pkg
    from tradeterm.analysis.smc import SmcConfig

    analyze = smc_pkg.analyze
    runs: list[int] = []

    def counting(closed: CandleFrame, *a: Any, **kw: Any) -> Any:
        runs.append(len(closed))
        return analyze(closed, *a, **kw)

    monkeypatch.setattr(smc_pkg, "analyze", counting)
    history = synthetic(700, 9)
    c = _Controller(history.slice(0, 400))
    rng = np.random.default_rng(1)
    for end in range(400, 420):  # 20 closed candles, each with a few ticks of the open one
        frame = history.slice(end - 400, end)
        for tick in range(4):
            c.current = (
                frame
                if tick == 0
                else _with_last(
                    frame,
                    close=float(frame.close[-1]) * (1 + rng.normal(0, 0.001)),
                    volume=float(frame.volume[-1]) + tick,
                )
            )
            got = c._chart("BTCUSDT", "1m")
            again = c._chart("BTCUSDT", "1m")
            assert again is got  # nothing moved: the same bundle (the widget's identity check)
            closed = c.current.slice(0, 399)
            want = chart_data(
                c.current,
                smc=analyze(closed, SmcConfig(), venue="binance-spot", symbol="BTCUSDT", tf="1m"),
            )
            assert_same(got.series, want.series)
            assert got.frame is c.current
            assert got.decimals == want.decimals  # cached per closed candle, not re-inferred
            for part in ("swings", "breaks", "zones"):
                g, w = getattr(got, part), getattr(want, part)
                for f in g.__dataclass_fields__:
                    np.testing.assert_array_equal(getattr(g, f), getattr(w, f))
    assert runs == [399] * 20  # one SMC pass per closed candle, none per tick


def test_controller_chart_decimals_follow_an_open_candle_off_the_grid() -> None:
    """The decimals are inferred once per closed candle; an open candle whose price needs more
    of them (not on the closed candles' grid) still gets every digit shown."""
    from tradeterm.pipeline.chartdata import infer_decimals

    history = synthetic(300, 5)
    cols = [np.round(getattr(history, n), 2) for n in ("open", "high", "low", "close")]
    frame = CandleFrame.from_columns("BTCUSDT", "1m", history.open_time, *cols, history.volume)
    c = _Controller(frame)
    assert c._chart("BTCUSDT", "1m").decimals == 2
    off = float(frame.close[-1]) + 0.00123
    c.current = _with_last(frame, close=off, high=max(off, float(frame.high[-1])))
    got = c._chart("BTCUSDT", "1m")
    assert got.decimals == infer_decimals(c.current) == 5
