"""Aggregation: UTC boundaries, completeness rules, and the live form agreeing with the batch form."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeterm.contracts import Timeframe
from tradeterm.market.aggregate import Aggregator, aggregate, bucket_starts, gapped_buckets
from tradeterm.market.frame import CandleFrame
from tradeterm.market.synthetic import SyntheticMarket

COLS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
MIN = 60_000
DAY = 86_400_000


def ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp() * 1000)


def _assert_same(a: CandleFrame, b: CandleFrame, *, exact_quote: bool = True) -> None:
    """Prices, base volumes and counts exactly; quote volumes (sums of ~1e7 with 8 decimals, more
    digits than a double holds) exactly or, across different summation orders, to 1e-12."""
    assert (a.tf, len(a)) == (b.tf, len(b))
    for c in COLS:
        if not exact_quote and c in ("quote_volume", "taker_buy_quote"):
            np.testing.assert_allclose(getattr(a, c), getattr(b, c), rtol=1e-12, atol=0, err_msg=c)
        else:
            assert np.array_equal(getattr(a, c), getattr(b, c)), c


def _take(f: CandleFrame, keep: np.ndarray) -> CandleFrame:
    return CandleFrame.from_columns(f.symbol, f.tf, **{c: getattr(f, c)[keep] for c in COLS})


# One long 1m path, sliced by hypothesis; building it once keeps the property tests fast.
_BASE = SyntheticMarket("BTCUSDT", seed=21, start_ms=ms(2024, 1, 1)).generate(6 * 24 * 60)


@st.composite
def minute_frames(draw: st.DrawFn) -> CandleFrame:
    start = draw(st.integers(0, len(_BASE) - 2))
    n = draw(st.integers(1, min(600, len(_BASE) - start)))
    f = _BASE.slice(start, start + n)
    holes = draw(st.lists(st.integers(0, n - 1), max_size=12))
    keep = np.ones(n, dtype=bool)
    keep[holes] = False
    if not keep.any():
        keep[0] = True
    return _take(f, keep)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minute_frames(), st.booleans())
def test_aggregating_in_steps_equals_aggregating_at_once(x: CandleFrame, drop_partial: bool) -> None:
    direct = aggregate(x, Timeframe.M15, drop_partial=drop_partial)
    stepped = aggregate(aggregate(x, Timeframe.M5, drop_partial=drop_partial), Timeframe.M15, drop_partial=drop_partial)
    _assert_same(stepped, direct, exact_quote=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minute_frames(), st.sampled_from([Timeframe.M5, Timeframe.M15, Timeframe.H1]), st.booleans())
def test_incremental_aggregator_equals_vectorised(x: CandleFrame, tf: Timeframe, drop_partial: bool) -> None:
    agg = Aggregator(tf, drop_partial=drop_partial)
    emitted = agg.push_frame(x)
    want = aggregate(x, tf, drop_partial=drop_partial)
    # The live form cannot know the last bucket is over until its last base bar arrives; until
    # then it holds that bucket as .partial, while the batch form may emit it (drop_partial=False).
    last_t = int(x.open_time[-1])
    last_bucket = tf.bucket_start(last_t)
    finished = last_t + MIN == tf.bucket_end(last_bucket)
    expected = want
    if not finished:
        if len(want) and want.open_time[-1] == last_bucket:
            expected = want.slice(0, len(want) - 1)
        held = agg.partial
        assert held is not None and held.open_time == last_bucket and held.close == x.close[-1]
    _assert_same(emitted, expected)


def test_every_bucket_rule_matches_timeframe_bucket_start() -> None:
    t = np.arange(ms(2019, 12, 25), ms(2024, 3, 5), 3_600_000 * 7 + MIN * 13, dtype=np.int64)
    for tf in Timeframe:
        want = np.array([tf.bucket_start(int(v)) for v in t], dtype=np.int64)
        assert np.array_equal(bucket_starts(t, tf), want), tf


def test_weeks_start_monday_and_months_are_calendar_months() -> None:
    f = SyntheticMarket("ETHUSDT", seed=1, start_ms=ms(2024, 1, 26), tf="1h").generate(24 * 70)  # to 2024-04-05
    weeks = aggregate(f, Timeframe.W1)
    assert all(datetime.fromtimestamp(t / 1000, tz=UTC).weekday() == 0 for t in weeks.open_time)
    assert weeks.open_time[0] == ms(2024, 1, 29)  # the week of Friday 26 Jan is partial
    months = aggregate(f, Timeframe.MO1)
    assert list(months.open_time) == [ms(2024, 2, 1), ms(2024, 3, 1)]  # January and April partial
    feb = (f.open_time >= ms(2024, 2, 1)) & (f.open_time < ms(2024, 3, 1))
    assert feb.sum() == 29 * 24  # leap year
    assert months.open[0] == f.open[feb][0] and months.close[0] == f.close[feb][-1]
    assert months.high[0] == f.high[feb].max() and months.low[0] == f.low[feb].min()
    assert months.trades[0] == f.trades[feb].sum()
    assert months.volume[0] == pytest.approx(f.volume[feb].sum(), rel=1e-12)
    assert months.close_time[0] == ms(2024, 3, 1) - 1
    kept = aggregate(f, Timeframe.MO1, drop_partial=False)
    assert list(kept.open_time) == [ms(2024, 1, 1), ms(2024, 2, 1), ms(2024, 3, 1), ms(2024, 4, 1)]


def test_three_day_buckets_count_from_the_epoch() -> None:
    f = SyntheticMarket("BTCUSDT", seed=1, start_ms=ms(2024, 1, 1), tf="1d").generate(30)
    d3 = aggregate(f, Timeframe.D3)
    assert np.all(d3.open_time % (3 * DAY) == 0)
    # 2024-01-01 is day 19723 of the epoch; its bucket began on day 19722 (2023-12-31) and is
    # partial here, so the first full one is day 19725 = 2024-01-03.
    assert d3.open_time[0] == ms(2024, 1, 3)
    assert np.all(np.diff(d3.open_time) == 3 * DAY)


def test_inner_gaps_are_kept_and_reported_edges_are_dropped() -> None:
    f = _BASE.slice(7, 7 + 60)  # 00:07 … 01:06
    keep = np.ones(len(f), dtype=bool)
    keep[[10, 11]] = False  # 00:17 and 00:18 missing
    g = _take(f, keep)
    out = aggregate(g, Timeframe.M15)
    start = int(_BASE.open_time[0])
    # 00:00 starts at 00:07 (partial), 01:00 ends at 01:06 (partial): only 00:15, 00:30, 00:45 remain.
    assert list(out.open_time) == [start + 15 * MIN, start + 30 * MIN, start + 45 * MIN]
    assert list(gapped_buckets(g, Timeframe.M15)) == [start + 15 * MIN]
    assert list(aggregate(g, Timeframe.M15, drop_gapped=True).open_time) == [start + 30 * MIN, start + 45 * MIN]
    gap_bar = (g.open_time >= start + 15 * MIN) & (g.open_time < start + 30 * MIN)
    assert out.volume[0] == pytest.approx(g.volume[gap_bar].sum(), rel=1e-12) and gap_bar.sum() == 13
    assert len(aggregate(g, Timeframe.M15, drop_partial=False)) == 5


def test_incompatible_or_unsorted_input_is_refused() -> None:
    f = _BASE.slice(0, 30)
    assert aggregate(f, Timeframe.M1) is f
    with pytest.raises(ValueError, match="cannot aggregate 1m bars into 1s"):
        aggregate(f, Timeframe.S1)
    three = SyntheticMarket("BTCUSDT", seed=1, start_ms=0, tf="3m").generate(10)
    with pytest.raises(ValueError, match="do not align"):
        aggregate(three, Timeframe.M5)
    d3 = SyntheticMarket("BTCUSDT", seed=1, start_ms=0, tf="3d").generate(10)
    with pytest.raises(ValueError, match="do not align"):
        aggregate(d3, Timeframe.W1)
    shuffled = _take(f, np.r_[1, 0, np.arange(2, 30)])
    with pytest.raises(ValueError, match="strictly increasing"):
        aggregate(shuffled, Timeframe.M5)
    assert len(aggregate(f.slice(0, 0), Timeframe.H1)) == 0


def test_live_aggregator_with_candle_events() -> None:
    base = _BASE.slice(0, 12)  # 00:00 … 00:11
    candles = base.to_candles("demo")
    agg = Aggregator("5m")
    out = [bar for c in candles[:5] for bar in agg.push(c)]
    assert len(out) == 1 and out[0].open_time == base.open_time[0] and out[0].closed
    assert out[0].venue == "demo" and out[0].tf is Timeframe.M5 and out[0].close_time == base.open_time[0] + 5 * MIN - 1
    assert agg.push(candles[4]) == []  # a repeated closed bar (reconnect) is harmless
    agg.push(candles[5])
    assert agg.partial is not None and agg.partial.close == candles[5].close and not agg.partial.closed
    live = candles[6].model_copy(update={"closed": False, "high": candles[6].high + 1000})
    preview = agg.partial_with(live)
    assert preview is not None and preview.high == candles[6].high + 1000 and preview.open == candles[5].open
    with pytest.raises(ValueError, match="in order"):
        agg.push(candles[3])
    with pytest.raises(ValueError, match="closed candles only"):
        agg.push(live)
    # A gap that swallows the end of a bucket: the bucket is emitted when a later bar arrives.
    done = agg.push(candles[11])
    assert [b.open_time for b in done] == [base.open_time[5]]
    assert done[0].close == candles[5].close and done[0].volume == candles[5].volume
