"""Sizing by hand: every expected number below is worked out in the comment next to it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.trading.helpers import D, make_spot, make_usdm
from tradeterm.contracts.base import Side
from tradeterm.trading.fees import FeeRates
from tradeterm.trading.risk import RiskAmount
from tradeterm.trading.sizing import liquidation_price, loss_per_unit, size_position

SPOT = make_spot(step="0.00001", min_qty="0.00001")
RICH = D(1_000_000)


def test_one_r_is_one_percent_or_a_fixed_amount() -> None:
    assert RiskAmount.parse("1%").amount(D(10_000)) == 100
    assert RiskAmount.parse(" 0.5 % ").amount(D(10_000)) == 50
    assert RiskAmount.parse("50").amount(D(10_000)) == 50
    assert RiskAmount.parse(D(25)).amount(D(1)) == 25
    assert str(RiskAmount.parse("1%")) == "1%"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("-1%", "above zero"),
        ("0", "above zero"),
        ("abc", "percent of equity like '1%'"),
        ("150%", "whole equity"),
        ("", "percent"),
    ],
)
def test_bad_risk_text(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RiskAmount.parse(text)


def test_hand_case_half_a_btc() -> None:
    # equity 10,000 USDT, 1R = 1% = 100; entry 62000, stop 61800: 100 / 200 = 0.5 BTC.
    r = size_position(
        entry=D(62000),
        stop=D(61800),
        risk_amount=D(100),
        available=RICH,
        filters=SPOT,
        step=D("0.00001"),
    )
    assert r.raw_quantity == D("0.5")
    assert r.quantity == D("0.50000") and r.actual_risk == D(100) and r.notional == D(31000)
    assert r.caps == ()


def test_fees_in_risk() -> None:
    # Loss per unit with taker 0.1 % both ways: 200 + 62000*0.001 + 61800*0.001 = 323.8;
    # 100 / 323.8 = 0.3088326...; down to 0.00001 -> 0.30883.
    fees = FeeRates(maker=D("0.001"), taker=D("0.001"))
    assert loss_per_unit(D(62000), D(61800), fees) == D("323.8")
    r = size_position(
        entry=D(62000),
        stop=D(61800),
        risk_amount=D(100),
        available=RICH,
        filters=SPOT,
        step=D("0.00001"),
        fees=fees,
        include_fees_in_risk=True,
    )
    assert r.quantity == D("0.30883")
    assert r.actual_risk <= 100


def test_capped_by_available_balance_on_spot() -> None:
    # 10,000 USDT free; a unit costs 62000 + 0.1 % commission = 62062: 0.161129... -> 0.16112.
    r = size_position(
        entry=D(62000),
        stop=D(61800),
        risk_amount=D(100),
        available=D(10_000),
        filters=SPOT,
        step=D("0.00001"),
        fees=FeeRates(),
    )
    assert r.quantity == D("0.16112")
    assert r.caps == ("size capped by available 10000: 0.16112 instead of 0.5",)


def test_capped_by_leverage_times_margin() -> None:
    # USD-M, 1,000 USDT margin at 10x: a unit needs 62000/10 + 62 = 6262 -> 0.15969 -> step 0.001: 0.159.
    usdm = make_usdm()
    r = size_position(
        entry=D(62000),
        stop=D(61800),
        risk_amount=D(100),
        available=D(1000),
        filters=usdm,
        step=D("0.001"),
        leverage=10,
        fees=FeeRates(),
    )
    assert r.quantity == D("0.159")
    assert "x 10 leverage" in r.caps[0]
    # At 20x a unit needs 3100 + 62 = 3162: 1000 / 3162 -> 0.316, still under the 0.5 the risk allows.
    r20 = size_position(
        entry=D(62000),
        stop=D(61800),
        risk_amount=D(100),
        available=D(1000),
        filters=usdm,
        step=D("0.001"),
        leverage=20,
        fees=FeeRates(),
    )
    assert r20.quantity == D("0.316")


def test_capped_by_max_notional_and_max_qty() -> None:
    # max notional 5,000: 5000 / 62000 = 0.0806451... -> 0.08064.
    r = size_position(
        entry=D(62000),
        stop=D(61800),
        risk_amount=D(100),
        available=RICH,
        filters=SPOT,
        step=D("0.00001"),
        max_notional=D(5000),
    )
    assert r.quantity == D("0.08064") and r.caps == (
        "size capped by max notional 5000: 0.08064 instead of 0.5",
    )
    small_max = make_spot(step="0.00001", min_qty="0.00001", max_qty="0.3")
    r = size_position(
        entry=D(62000),
        stop=D(61800),
        risk_amount=D(100),
        available=RICH,
        filters=small_max,
        step=D("0.00001"),
    )
    assert r.quantity == D("0.3") and "maxQty 0.3" in r.caps[0]


def test_short_is_symmetric() -> None:
    # Short at 100 with the stop at 105: 50 / 5 = 10 units.
    r = size_position(
        entry=D(100),
        stop=D(105),
        risk_amount=D(50),
        available=RICH,
        filters=SPOT,
        step=D("0.00001"),
    )
    assert r.quantity == D(10)


def test_zero_distance_refused() -> None:
    with pytest.raises(ValueError, match="stop distance is zero"):
        size_position(
            entry=D(100),
            stop=D(100),
            risk_amount=D(50),
            available=RICH,
            filters=SPOT,
            step=D("0.00001"),
        )


def test_liquidation_price_by_hand() -> None:
    # Long 62000 at 10x, MMR 0.4 %: 62000 * (1 - 0.1) / (1 - 0.004) = 55800 / 0.996 = 56024.0963855...
    q = Decimal("0.0001")
    assert liquidation_price(Side.BUY, D(62000), 10, D("0.004")).quantize(q) == D("56024.0964")
    # Short: 62000 * 1.1 / 1.004 = 68200 / 1.004 = 67928.2868525...
    assert liquidation_price(Side.SELL, D(62000), 10, D("0.004")).quantize(q) == D("67928.2869")
    # A long at 1x cannot be liquidated; a short at 1x at twice the price (less the maintenance).
    assert liquidation_price(Side.BUY, D(62000), 1, D("0.004")) == 0
    assert liquidation_price(Side.SELL, D(100), 1, D(0)) == 200
    # The bracket's maintenance amount (cum) per unit moves a long's liquidation down.
    assert liquidation_price(Side.BUY, D(100), 2, D(0), cum_per_unit=D(5)) == 45
