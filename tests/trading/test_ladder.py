from __future__ import annotations

from decimal import Decimal

import pytest

from tests.trading.helpers import D, make_spot, make_usdm
from tradeterm.contracts.base import Side
from tradeterm.trading.decimals import is_multiple
from tradeterm.trading.fees import FeeRates
from tradeterm.trading.ladder import (
    DEFAULT_LADDER,
    LadderSpec,
    atr_trail_stop,
    break_even_stop,
    build_ladder,
)

SPOT = make_spot(step="0.0001", min_qty="0.0001", min_notional="5")


def legs_of(result) -> list[tuple[Decimal, Decimal, Decimal]]:
    return [(leg.r_multiple, leg.price, leg.quantity) for leg in result.legs]


def test_default_ladder_long() -> None:
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.5"), DEFAULT_LADDER, SPOT)
    assert r.ok and r.notes == ()
    assert legs_of(r) == [
        (D("1.5"), D(62300), D("0.2")),  # 62000 + 1.5 x 200, 40 %
        (D(2), D(62400), D("0.15")),
        (D(3), D(62600), D("0.15")),
    ]
    assert [leg.index for leg in r.legs] == [1, 2, 3]


def test_default_ladder_short_and_target_rounding() -> None:
    r = build_ladder(Side.SELL, D(62000), D(62200), D("0.5"), DEFAULT_LADDER, SPOT)
    assert [leg.price for leg in r.legs] == [D(61700), D(61600), D(61400)]
    # Targets round toward the entry: long down, short up (tick 0.01).
    long = build_ladder(Side.BUY, D(100), D("99.93"), D(10), LadderSpec.parse(["1.5R:100"]), SPOT)
    short = build_ladder(
        Side.SELL, D(100), D("100.07"), D(10), LadderSpec.parse(["1.5R:100"]), SPOT
    )
    assert long.legs[0].price == D("100.10")  # 100.105 down
    assert short.legs[0].price == D("99.90")  # 99.895 up


@pytest.mark.parametrize("units", [1, 3, 7, 10, 99, 1001, 123457])
def test_splits_add_up_exactly_on_the_step(units: int) -> None:
    qty = D("0.0001") * units
    f = make_spot(step="0.0001", min_qty="0.0001", min_notional="0")
    r = build_ladder(Side.BUY, D(62000), D(61800), qty, DEFAULT_LADDER, f)
    assert r.ok
    assert sum(leg.quantity for leg in r.legs) == qty
    assert all(is_multiple(leg.quantity, D("0.0001")) and leg.quantity > 0 for leg in r.legs)


def test_odd_quantity_goes_to_the_largest_remainder() -> None:
    # 7 steps at 40/30/30 = 2.8/2.1/2.1 -> 3/2/2.
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.0007"), DEFAULT_LADDER, SPOT)
    assert [leg.quantity for leg in r.legs] == [D("0.0003"), D("0.0002"), D("0.0002")]


def test_slice_below_min_notional_is_merged_into_its_neighbour() -> None:
    # min notional 10. 0.0005 at 40/30/30 = 2/1.5/1.5 steps -> 2/2/1. The 0.0001 slice at
    # 62600 is worth 6.26 < 10: merged into TP2.
    f = make_spot(step="0.0001", min_qty="0.0001", min_notional="10")
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.0005"), DEFAULT_LADDER, f)
    assert r.ok
    assert legs_of(r) == [(D("1.5"), D(62300), D("0.0002")), (D(2), D(62400), D("0.0003"))]
    assert r.notes == (
        "TP3 (3R) 0.0001 cannot stand alone (notional 6.26 below NOTIONAL minimum 10); merged into TP2",
    )


def test_spot_slice_is_also_checked_at_its_stop() -> None:
    # Each spot slice is an OCO: 0.0002 at the 1.5R target (62300) is worth 12.46 >= 10, but its
    # stop-limit at 61800 x 0.995 = 61491 is worth 12.2982 < 12.3 (min notional 12.3).
    f = make_spot(step="0.0001", min_qty="0.0001", min_notional="12.3")
    r = build_ladder(
        Side.BUY, D(62000), D(61800), D("0.0004"), LadderSpec.parse(["1.5R:50", "2R:50"]), f
    )
    assert legs_of(r) == [(D("1.5"), D(62300), D("0.0004"))]
    assert "notional 12.2982 below NOTIONAL minimum 12.3" in r.notes[0]


def test_a_small_first_slice_merges_forward() -> None:
    f = make_spot(step="0.0001", min_qty="0.0001", min_notional="10")
    r = build_ladder(
        Side.BUY, D(62000), D(61800), D("0.0010"), LadderSpec.parse(["1R:10", "2R:45", "3R:45"]), f
    )
    assert [(leg.r_multiple, leg.quantity) for leg in r.legs] == [
        (D(2), D("0.0006")),
        (D(3), D("0.0004")),
    ]
    assert [leg.index for leg in r.legs] == [1, 2]  # renumbered: the first remaining target is TP1
    assert "TP1 (1R) 0.0001 cannot stand alone" in r.notes[0] and "merged into TP2" in r.notes[0]


def test_zero_share_is_dropped_and_small_slices_fold_back() -> None:
    f = make_spot(step="0.0001", min_qty="0.0001", min_notional="10")
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.0002"), DEFAULT_LADDER, f)
    # 2 steps at 40/30/30 = 0.8/0.6/0.6 -> 1/1/0; TP3 gets nothing, TP2 is too small -> into TP1.
    assert legs_of(r) == [(D("1.5"), D(62300), D("0.0002"))]
    assert r.notes[0] == "TP3 (3R) dropped: its share rounds to 0"
    assert "merged into TP1" in r.notes[1]


def test_single_slice_that_cannot_stand_alone_fails() -> None:
    f = make_spot(step="0.0001", min_qty="0.0001", min_notional="10")
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.0001"), DEFAULT_LADDER, f)
    assert not r.ok and r.legs == ()
    assert r.failure is not None and "Filter failure: NOTIONAL" in r.failure


def test_targets_that_round_onto_the_entry_are_dropped() -> None:
    # Tick 0.5, risk 0.5: 0.5R = 100.25 -> 100.0 and 0.8R = 100.4 -> 100.0 sit on the entry.
    f = make_spot(tick="0.5", step="0.01", min_qty="0.01", min_notional="1")
    spec = LadderSpec.parse(["0.5R:40", "0.8R:30", "3R:30"])
    r = build_ladder(Side.BUY, D(100), D("99.5"), D(10), spec, f)
    assert legs_of(r) == [(D(3), D("101.5"), D(10))]
    assert len(r.notes) == 2 and all("not beyond the entry" in n for n in r.notes)
    none_left = build_ladder(Side.BUY, D(100), D("99.5"), D(10), LadderSpec.parse(["0.5R:100"]), f)
    assert not none_left.ok and "no take-profit level survives" in (none_left.failure or "")


def test_target_outside_the_price_filter_is_dropped() -> None:
    # USD-M minPrice 261.10: a short from 300 with its stop at 315 has 3R at 255.
    f = make_usdm(notional="5")
    r = build_ladder(Side.SELL, D(300), D(315), D(3), DEFAULT_LADDER, f)
    assert [leg.r_multiple for leg in r.legs] == [D("1.5"), D(2)]
    assert sum(leg.quantity for leg in r.legs) == 3
    assert "minPrice" in r.notes[0] and "moved to TP2" in r.notes[0]


def test_algo_order_limit_merges_the_last_slices() -> None:
    f = make_spot(step="0.0001", min_qty="0.0001", min_notional="5", max_algo=2)
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.5"), DEFAULT_LADDER, f)
    assert legs_of(r) == [(D("1.5"), D(62300), D("0.2")), (D(2), D(62400), D("0.3"))]
    assert "MAX_NUM_ALGO_ORDERS 2" in r.notes[0]


def test_futures_reduce_only_slices_are_exempt_from_min_notional() -> None:
    # 0.003 BTC at 62000 = 186 USDT (entry passes MIN_NOTIONAL 100); slices of 0.001 = 62 USDT each
    # are reduce-only TAKE_PROFIT_MARKET orders, which Binance exempts.
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.003"), DEFAULT_LADDER, make_usdm())
    assert [leg.quantity for leg in r.legs] == [D("0.001")] * 3


def test_empty_ladder_means_stop_only() -> None:
    r = build_ladder(Side.BUY, D(62000), D(61800), D("0.5"), LadderSpec(levels=()), SPOT)
    assert r.ok and r.legs == ()


def test_break_even_stop_by_hand() -> None:
    fees = FeeRates(maker=D("0.0002"), taker=D("0.001"))
    # Long: 62000 x 1.001 / 0.999 = 62124.1241... -> up to the tick: 62124.13.
    assert break_even_stop(Side.BUY, D(62000), fees, SPOT) == D("62124.13")
    # Short: 62000 x 0.999 / 1.001 = 61876.1238... -> down: 61876.12.
    assert break_even_stop(Side.SELL, D(62000), fees, SPOT) == D("61876.12")
    # A maker entry is cheaper: 62000 x 1.0002 / 0.999 = 62074.4744... -> 62074.48.
    assert break_even_stop(Side.BUY, D(62000), fees, SPOT, entry_rate=fees.maker) == D("62074.48")
    # Stopped out there, the remaining quantity does not lose money after both commissions.
    p, q, e = D("62124.13"), D("0.3"), D(62000)
    assert p * q * (1 - fees.taker) - e * q * (1 + fees.taker) >= 0


def test_atr_trail() -> None:
    # Long: highest 63000 - 2 x 200 = 62600 tightens a 61800 stop.
    assert atr_trail_stop(Side.BUY, D(61800), D(63000), D(200), D(2), SPOT) == D(62600)
    assert (
        atr_trail_stop(Side.BUY, D(61800), D(63000), D(200), D(10), SPOT) is None
    )  # 61000 would loosen
    assert (
        atr_trail_stop(Side.BUY, D(61800), D(63000), D(200), D(2), SPOT, last_price=D(62500))
        is None
    )
    # Short: lowest 61000 + 2 x 100.0025 = 61200.005 -> rounds down (toward the entry side rule).
    assert atr_trail_stop(Side.SELL, D(62200), D(61000), D("100.0025"), D(2), SPOT) == D("61200.00")
    assert atr_trail_stop(Side.SELL, D(61100), D(61000), D(100), D(2), SPOT) is None
    assert atr_trail_stop(Side.BUY, D(61800), D(63000), D(0), D(2), SPOT) is None


def test_ladder_spec_parsing() -> None:
    spec = LadderSpec.parse("3R:30, 1.5r:40%, 2R:30")
    assert str(spec) == "1.5R:40, 2R:30, 3R:30"  # sorted by R
    assert LadderSpec.equal([D(1), D(2), D(3)]).levels[0].percent == 34
    for bad, words in [
        (["1.5R:40", "2R:30"], "add up to 70%"),
        (["1.5:40"], "must look like '1.5R:40'"),
        (["xR:40"], "R multiple 'x' is not a number"),
        (["2R:x"], "percent 'x' is not a number"),
        (["0R:100"], "R multiple must be above 0"),
        (["2R:0", "3R:100"], "percent must be above 0"),
        (["2R:50", "2R:50"], "repeat an R multiple"),
    ]:
        with pytest.raises(ValueError, match=words):
            LadderSpec.parse(bad)
