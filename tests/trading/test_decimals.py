from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeterm.trading.decimals import (
    floor_quotient_to_step,
    fmt,
    is_multiple,
    lcm_step,
    round_to_step,
    split_exact,
    to_decimal,
)


def test_round_to_step_both_directions_and_step_form() -> None:
    assert str(round_to_step(Decimal("0.123456"), Decimal("0.00100000"), "down")) == "0.123"
    assert str(round_to_step(Decimal("0.123456"), Decimal("0.00100000"), "up")) == "0.124"
    assert round_to_step(Decimal("62000.129"), Decimal("0.01"), "down") == Decimal("62000.12")
    assert round_to_step(Decimal("62000.121"), Decimal("0.01"), "up") == Decimal("62000.13")
    assert round_to_step(Decimal("62000.12"), Decimal("0.01"), "up") == Decimal(
        "62000.12"
    )  # already on tick
    assert round_to_step(Decimal(123), Decimal(10), "down") == 120
    assert round_to_step(Decimal("0.7"), Decimal("0.25"), "down") == Decimal("0.5")
    assert round_to_step(Decimal("1.2345"), Decimal(0), "down") == Decimal("1.2345")  # rule off


def test_big_magnitudes_stay_exact() -> None:
    # 19 integer digits and 8 decimals: beyond the 28-digit context for quotients and products.
    q = Decimal("92233720368.54775807123")
    assert round_to_step(q, Decimal("0.00000001"), "down") == Decimal("92233720368.54775807")
    assert is_multiple(Decimal("92233720368.54775807"), Decimal("0.00000001"))
    assert not is_multiple(Decimal("92233720368.547758071"), Decimal("0.00000001"))


def test_floor_quotient_never_rounds_up_onto_a_step() -> None:
    # 100 / 200.0000000000000000000000000001 is a hair under 0.5: a 28-digit division says 0.5.
    d = Decimal("200.0000000000000000000000000001")
    assert Decimal(100) / d == Decimal("0.5")
    assert floor_quotient_to_step(Decimal(100), d, Decimal("0.00001")) == Decimal("0.49999")
    assert floor_quotient_to_step(Decimal(100), Decimal(200), Decimal("0.00001")) == Decimal(
        "0.50000"
    )


def test_lcm_step() -> None:
    assert lcm_step(Decimal("0.001"), Decimal("0.0025")) == Decimal("0.005")
    assert lcm_step(Decimal("0.001"), Decimal(0)) == Decimal("0.001")


@settings(max_examples=150, deadline=None)
@given(
    units=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=6),
    step_exp=st.integers(min_value=-8, max_value=2),
)
def test_split_exact_sums_and_stays_on_step(units: int, weights: list[int], step_exp: int) -> None:
    step = Decimal(1).scaleb(step_exp)
    total = units * step
    parts = split_exact(total, [Decimal(w) for w in weights], step)
    assert sum(parts) == total
    assert all(is_multiple(p, step) and p >= 0 for p in parts)
    wsum = sum(weights)
    for p, w in zip(parts, weights):
        assert abs(p - total * w / wsum) < step  # within one step of the exact share


def test_split_exact_largest_remainder() -> None:
    # 7 steps at 40/30/30 -> exact 2.8/2.1/2.1 -> floors 2/2/2, the leftover step goes to 0.8.
    assert split_exact(
        Decimal("0.0007"), [Decimal(40), Decimal(30), Decimal(30)], Decimal("0.0001")
    ) == [Decimal("0.0003"), Decimal("0.0002"), Decimal("0.0002")]
    with pytest.raises(ValueError, match="not a multiple"):
        split_exact(Decimal("0.00015"), [Decimal(1)], Decimal("0.0001"))


def test_to_decimal_and_fmt() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(" 1_000.5 ") == Decimal("1000.5")
    for bad in ("abc", float("nan"), True, None):
        with pytest.raises(ValueError):
            to_decimal(bad)  # type: ignore[arg-type]
    assert fmt(Decimal("5.00000000")) == "5"
    assert fmt(Decimal("1E+2")) == "100"
    assert fmt(Decimal("0E-8")) == "0"
