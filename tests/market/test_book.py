"""Candle book: ring mechanics (O(1) append, contiguous zero-copy views across wrap-around),
the update rules (closed is final, stale open updates lose, older bars in place or inserted),
and derived timeframes agreeing with ``aggregate`` of the base series."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeterm.contracts import Timeframe
from tradeterm.market.aggregate import aggregate
from tradeterm.market.book import Applied, CandleBook, CandleRing
from tradeterm.market.frame import CandleFrame
from tradeterm.market.synthetic import SyntheticMarket

MIN = 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % (60 * MIN)  # an hour boundary


def bar(ring: CandleRing, i: int, price: float = 100.0, *, closed: bool = True, e: int | None = None) -> Applied:
    t = T0 + i * MIN
    return ring.update(t, price, price + 1, price - 1, price + 0.5, 10.0 + i, closed, t if e is None else e)


def test_append_and_wrap_keep_views_contiguous_and_zero_copy() -> None:
    ring = CandleRing(4)
    for i in range(11):
        assert bar(ring, i, 100.0 + i) is Applied.APPENDED
    v = ring.view()
    assert len(v) == 4
    assert v.open_time.tolist() == [T0 + i * MIN for i in range(7, 11)]
    assert v.open.tolist() == [107.0, 108.0, 109.0, 110.0]
    assert v.open.flags.c_contiguous and np.shares_memory(v.open, ring._o)
    with pytest.raises(ValueError):
        v.close[0] = 1.0  # consumers cannot corrupt the book
    # A live view: the next append shows through the same memory region after the ring moves on.
    bar(ring, 11, 111.0)
    assert ring.view().open.tolist() == [108.0, 109.0, 110.0, 111.0]


def test_closed_is_final_and_stale_open_updates_lose() -> None:
    ring = CandleRing(10)
    t = T0
    assert ring.update(t, 100, 101, 99, 100, 1, False, 1000) is Applied.APPENDED
    assert ring.update(t, 100, 102, 99, 101, 2, False, 3000) is Applied.UPDATED
    assert ring.update(t, 100, 101.5, 99, 100.5, 1.5, False, 2000) is Applied.IGNORED_STALE
    assert ring.row(t) == (100.0, 102.0, 99.0, 101.0, 2.0, False)
    assert ring.update(t, 100, 103, 98, 102, 3, True, 4000) is Applied.UPDATED
    # A repeated close, a late open update and a "close" with other values all leave it alone.
    assert ring.update(t, 100, 103, 98, 102, 3, True, 4000) is Applied.IGNORED_FINAL
    assert ring.update(t, 100, 104, 97, 103, 4, False, 9000) is Applied.IGNORED_FINAL
    assert ring.update(t, 100, 110, 90, 105, 9, True, 9000) is Applied.IGNORED_FINAL
    assert ring.row(t) == (100.0, 103.0, 98.0, 102.0, 3.0, True)


def test_older_bars_update_in_place_or_insert_in_order() -> None:
    ring = CandleRing(10)
    bar(ring, 0)
    bar(ring, 1, closed=False, e=5)
    bar(ring, 3)  # bar 1 lost its close, bar 2 is missing
    assert bar(ring, 1, 200.0, closed=True) is Applied.CHANGED_OLDER
    assert ring.row(T0 + MIN)[3] == 200.5
    assert bar(ring, 2, 300.0) is Applied.INSERTED
    v = ring.view()
    assert v.open_time.tolist() == [T0 + i * MIN for i in range(4)]
    assert v.open.tolist() == [100.0, 200.0, 300.0, 100.0]
    assert v.closed.all()
    assert bar(ring, 2, 999.0) is Applied.IGNORED_FINAL
    assert ring.last_open_time == T0 + 3 * MIN
    assert bar(ring, 4) is Applied.APPENDED  # the fast path still works after an insert


def test_full_ring_refuses_bars_older_than_its_window() -> None:
    ring = CandleRing(3)
    for i in range(5, 8):
        bar(ring, i)
    assert bar(ring, 1) is Applied.OUT_OF_WINDOW
    assert ring.view().open_time.tolist() == [T0 + i * MIN for i in range(5, 8)]


def test_merge_follows_the_same_rules_as_update() -> None:
    ring = CandleRing(100)
    bar(ring, 0)
    bar(ring, 1, closed=False, e=T0 + 10 * MIN)
    t = np.array([T0, T0 + MIN, T0 + 2 * MIN], dtype=np.int64)
    p = np.array([500.0, 600.0, 700.0])
    taken = ring.merge(t, p, p + 1, p - 1, p, np.ones(3), np.array([True, False, True]), np.zeros(3, np.int64))
    # bar 0 was closed (kept); bar 1 open with a newer event time (kept); bar 2 is new.
    assert taken == 1
    assert ring.view().open.tolist() == [100.0, 100.0, 700.0]
    taken = ring.merge(t[1:2], p[1:2], p[1:2] + 1, p[1:2] - 1, p[1:2], np.ones(1), np.array([True]),
                       np.zeros(1, np.int64))
    assert taken == 1 and ring.row(T0 + MIN) == (600.0, 601.0, 599.0, 600.0, 1.0, True)


def _updates(frame: CandleFrame, per_bar: int) -> list[tuple[int, float, float, float, float, float, bool, int]]:
    """A kline stream for a frame: ``per_bar`` growing open updates per bar, then its close."""
    out = []
    for i in range(len(frame)):
        t = int(frame.open_time[i])
        o, h, lo, c, v = (float(getattr(frame, n)[i]) for n in ("open", "high", "low", "close", "volume"))
        for k in range(1, per_bar + 1):
            f = k / (per_bar + 1)
            cur = o + (c - o) * f
            out.append((t, o, max(o, cur), min(o, cur), cur, v * f, False, t + k))
        out.append((t, o, h, lo, c, v, True, t + MIN - 1))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(5, 200),
    start=st.integers(0, 59),
    capacity=st.integers(40, 300),
    tf=st.sampled_from([Timeframe.M5, Timeframe.M15, Timeframe.H1]),
    stop_mid=st.integers(0, 2),
)
def test_derived_rows_equal_aggregate_of_the_base(n: int, start: int, capacity: int, tf: Timeframe,
                                                  stop_mid: int) -> None:
    frame = SyntheticMarket("BTCUSDT", seed=n, start_ms=T0 + start * MIN).generate(n)
    book = CandleBook(capacity)
    base = book.series("binance-spot", "BTCUSDT", "1m")
    book.derive("binance-spot", "BTCUSDT", "1m", tf)
    ups = _updates(frame, 2)
    ups = ups[: len(ups) - stop_mid]  # end mid-bar sometimes: the forming bucket includes an open bar
    for u in ups:
        base.apply(*u)
    bv = base.ring.view()
    want = aggregate(CandleFrame.from_columns("BTCUSDT", "1m", bv.open_time, bv.open, bv.high, bv.low, bv.close,
                                              bv.volume), tf, drop_partial=False)
    dv = book.view("binance-spot", "BTCUSDT", tf)
    # Every bucket the ring saw from its start equals the batch aggregate of the base ring.
    first_whole = tf.bucket_start(int(bv.open_time[0]))
    first_whole = first_whole if first_whole == bv.open_time[0] else tf.bucket_end(first_whole)
    sel = want.open_time >= first_whole
    got = {int(t): i for i, t in enumerate(dv.open_time)}
    for j in np.flatnonzero(sel):
        i = got[int(want.open_time[j])]
        assert dv.open[i] == want.open[j] and dv.high[i] == want.high[j] and dv.low[i] == want.low[j]
        assert dv.close[i] == want.close[j]
        assert dv.volume[i] == pytest.approx(want.volume[j], rel=1e-12, abs=1e-8)  # aggregate rounds to 8 dp
    assert not dv.closed.any()  # only the ingest's aggregator closes derived bars


def test_derived_bucket_recomputed_after_a_backfill_insert() -> None:
    frame = SyntheticMarket("BTCUSDT", seed=3, start_ms=T0).generate(30)
    book = CandleBook(100)
    base = book.series("binance-spot", "BTCUSDT", "1m")
    d = book.derive("binance-spot", "BTCUSDT", "1m", "15m")
    rows = _updates(frame, 0)
    for i, u in enumerate(rows):
        if i not in (3, 4, 20):  # three closes lost in a dropped connection
            base.apply(*u)
    for i in (20, 3, 4):  # the backfill brings them, out of order
        base.apply(*rows[i])
    want = aggregate(frame, "15m", drop_partial=False)
    dv = book.view("binance-spot", "BTCUSDT", "15m")
    assert dv.open_time.tolist() == want.open_time.tolist()
    assert dv.high.tolist() == want.high.tolist() and dv.low.tolist() == want.low.tolist()
    assert dv.open.tolist() == want.open.tolist() and dv.close.tolist() == want.close.tolist()
    # The authoritative close of bucket 0 wins over the forming row and is final.
    d.close_bar(int(want.open_time[0]), 1.0, 2.0, 0.5, 1.5, 3.0)
    base.apply(*rows[5])  # a late repeat of a base bar in bucket 0 must not reopen it
    book.view("binance-spot", "BTCUSDT", "15m")
    assert d.ring.row(int(want.open_time[0])) == (1.0, 2.0, 0.5, 1.5, 3.0, True)


def test_book_keys_derive_rules_and_drop() -> None:
    book = CandleBook(10)
    book.series("binance-spot", "btcusdt", "1m")
    book.derive("binance-spot", "BTCUSDT", "1m", "1h")
    assert book.ring("binance-spot", "BTCUSDT", "1h") is not None
    with pytest.raises(ValueError):
        book.derive("binance-spot", "BTCUSDT", "1m", Timeframe.MO1)  # months are streamed, not derived
    with pytest.raises(ValueError):
        book.series("binance-spot", "BTCUSDT", "1h")  # already derived: cannot also be streamed
    with pytest.raises(ValueError):
        book.derive("binance-spot", "ETHUSDT", "1h", "3m")  # 3m is no whole number of hours
    book.drop("binance-spot", "BTCUSDT", "1m")
    assert book.ring("binance-spot", "BTCUSDT", "1h") is None
    assert len(book.view("binance-spot", "BTCUSDT", "1m")) == 0
