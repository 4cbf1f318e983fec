"""Evidence that our aggregation reproduces Binance's own bars, on real files from ../shared/data.

These are the checks that let us keep one base series and derive every other interval.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tradeterm.contracts import Timeframe
from tradeterm.market.aggregate import Aggregator, aggregate
from tradeterm.market.frame import CandleFrame
from tradeterm.market.loaders import check_frame, load_klines

CANDLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "candles"
pytestmark = pytest.mark.skipif(not CANDLES.is_dir(), reason="shared data folder not present")

OHLCV = ("open_time", "open", "high", "low", "close", "volume")
# The spot files were saved from the REST API during the 07:05 5m bar of 2026-01-26.
SPOT_CAPTURED = int(datetime(2026, 1, 26, 7, 6, tzinfo=UTC).timestamp() * 1000)


def _assert_ohlcv_equal(got: CandleFrame, want: CandleFrame) -> None:
    assert len(got) == len(want)
    for col in OHLCV:
        a, b = getattr(got, col), getattr(want, col)
        bad = np.flatnonzero(a != b)
        assert len(bad) == 0, f"{col} differs at {len(bad)} rows, first open_time {got.open_time[bad[0]]}: {a[bad[0]]} != {b[bad[0]]}"


def _common(got: CandleFrame, want: CandleFrame) -> tuple[CandleFrame, CandleFrame]:
    """Both frames restricted to the open times they share."""
    _, ia, ib = np.intersect1d(got.open_time, want.open_time, return_indices=True)

    def take(f: CandleFrame, idx: np.ndarray) -> CandleFrame:
        cols = {c: getattr(f, c)[idx] for c in (*OHLCV, "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")}
        return CandleFrame.from_columns(f.symbol, f.tf, **cols)

    return take(got, ia), take(want, ib)


@pytest.fixture(scope="module")
def um_1h() -> CandleFrame:
    return load_klines(CANDLES / "binance_um_BTCUSDT_1h_20250101-20260731.csv")


def test_usdm_1h_to_4h_equals_binance_4h_row_for_row(um_1h: CandleFrame) -> None:
    want = load_klines(CANDLES / "binance_um_BTCUSDT_4h_20250101-20260731.csv")
    got = aggregate(um_1h, Timeframe.H4)
    assert (um_1h.symbol, um_1h.tf, len(um_1h)) == ("BTCUSDT", Timeframe.H1, 13_848)
    assert (got.tf, len(want)) == (Timeframe.H4, 3_462)
    _assert_ohlcv_equal(got, want)
    assert np.array_equal(got.trades, want.trades)
    for col in ("quote_volume", "taker_buy_base", "taker_buy_quote"):
        np.testing.assert_allclose(getattr(got, col), getattr(want, col), rtol=1e-9, atol=0, err_msg=col)


def test_usdm_1h_to_4h_incremental_equals_vectorised(um_1h: CandleFrame) -> None:
    part = um_1h.slice(0, 2_000)
    vec = aggregate(part, Timeframe.H4)
    inc = Aggregator(Timeframe.H4).push_frame(part)
    for col in (*OHLCV, "quote_volume", "trades", "taker_buy_base", "taker_buy_quote"):
        assert np.array_equal(getattr(inc, col), getattr(vec, col)), col


def test_usdm_5m_json_to_15m_equals_derived_15m() -> None:
    five = load_klines(CANDLES / "binance_um_BTCUSDT_5m_20230102-20230209.json")
    want = load_klines(CANDLES / "binance_um_BTCUSDT_15m_20230102-20230209_DERIVED_from_5m.csv")
    assert (five.tf, len(five), want.tf, len(want)) == (Timeframe.M5, 10_999, Timeframe.M15, 3_666)
    got = aggregate(five, Timeframe.M15)
    # The 5m data ends at 21:15, inside the 21:15 quarter: that partial bucket is dropped.
    _assert_ohlcv_equal(got, want)


def test_spot_15m_to_1h_matches_spot_1h_on_fully_covered_hours() -> None:
    m15 = load_klines(CANDLES / "binance_spot_BTCUSDT_15m_20260121-20260126.csv", drop_unfinished=True, now_ms=SPOT_CAPTURED)
    h1 = load_klines(CANDLES / "binance_spot_BTCUSDT_1h_20260105-20260126.csv", drop_unfinished=True, now_ms=SPOT_CAPTURED)
    assert (len(m15), len(h1)) == (499, 499)  # the open 07:00 bars are gone
    got = aggregate(m15, Timeframe.H1)
    # 15m data starts at 02:15, so the 02:00 hour is partial and must not be emitted.
    assert got.open_time[0] == m15.open_time[0] + 45 * 60_000
    assert got.open_time[-1] == h1.open_time[-1]
    a, b = _common(got, h1)
    assert len(a) == len(got) == 124
    _assert_ohlcv_equal(a, b)


@pytest.mark.parametrize(
    ("base", "target", "ref"),
    [
        ("binance_spot_BTCUSDT_5m_20260124-20260126.csv", "15m", "binance_spot_BTCUSDT_15m_20260121-20260126.csv"),
        ("binance_spot_BTCUSDT_15m_20260121-20260126.csv", "4h", "binance_spot_BTCUSDT_4h_20251104-20260126.csv"),
        ("binance_spot_BTCUSDT_1h_20260105-20260126.csv", "4h", "binance_spot_BTCUSDT_4h_20251104-20260126.csv"),
    ],
)
def test_spot_aggregates_match_native_spot_bars(base: str, target: str, ref: str) -> None:
    src = load_klines(CANDLES / base, drop_unfinished=True, now_ms=SPOT_CAPTURED)
    want = load_klines(CANDLES / ref, drop_unfinished=True, now_ms=SPOT_CAPTURED)
    got = aggregate(src, target)
    a, b = _common(got, want)
    assert len(a) == len(got) > 20
    _assert_ohlcv_equal(a, b)


def test_binanceus_1m_rolls_up_consistently_across_a_week_boundary() -> None:
    m1 = load_klines(CANDLES / "binanceus_BTCUSDT_1m_20230301-20230321.csv")
    assert check_frame(m1).ok and len(m1) == 30_240
    via_hours = aggregate(aggregate(m1, Timeframe.H1), Timeframe.D1)
    direct = aggregate(m1, Timeframe.D1)
    _assert_ohlcv_equal(via_hours, direct)
    weeks = aggregate(m1, Timeframe.W1)
    # 2023-03-01 is a Wednesday: only the full Monday-to-Sunday weeks of 6 and 13 March remain.
    assert [datetime.fromtimestamp(t / 1000, tz=UTC).strftime("%a %d") for t in weeks.open_time] == ["Mon 06", "Mon 13"]
    assert weeks.volume[0] == pytest.approx(m1.volume[(m1.open_time >= weeks.open_time[0]) & (m1.open_time < weeks.open_time[1])].sum(), rel=1e-12)
