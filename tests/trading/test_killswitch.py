from __future__ import annotations

from decimal import Decimal

import pytest

from tradeterm.trading.killswitch import (
    DrawdownGuard,
    ErrorRateWindow,
    KillSwitch,
    TripSource,
    check_guards,
)

T0 = 1_709_294_400_000


def test_trip_refuse_reset() -> None:
    ks = KillSwitch()
    assert ks.refusal() is None
    assert ks.trip_now(TripSource.KEY, "operator pressed K", T0) is True
    assert (
        ks.trip_now(TripSource.ERROR_RATE, "later alarm", T0 + 5) is False
    )  # already tripped: first cause kept
    assert (
        ks.refusal() == "kill switch tripped (KEY: operator pressed K) at 2024-03-01T12:00:00.000Z"
    )
    assert [h.source for h in ks.history] == [TripSource.KEY, TripSource.ERROR_RATE]
    again = KillSwitch.from_dict(ks.to_dict())
    assert again == ks and again.refusal() == ks.refusal()
    assert ks.reset("alice", T0 + 10) is True and ks.refusal() is None
    assert (ks.reset_by, ks.reset_at_ms) == ("alice", T0 + 10)
    assert ks.reset("alice", T0 + 11) is False


def test_error_rate_window() -> None:
    w = ErrorRateWindow(window_ms=60_000, max_errors=3, max_ratio=0.5)
    for i in range(4):
        w.record(T0 + i, error=False)
    w.record(T0 + 10, error=True)
    w.record(T0 + 20, error=True)
    assert not w.exceeded(T0 + 30)  # 2 errors
    w.record(T0 + 30, error=True)
    assert not w.exceeded(T0 + 30)  # 3 errors of 7 = 43 % < 50 %
    w.record(T0 + 40, error=True)
    assert w.exceeded(T0 + 40)  # 4 of 8
    # A minute later the early successes and errors have left the window.
    assert w.counts(T0 + 60_011) == (3, 3)
    assert not w.exceeded(T0 + 60_041)
    assert w.counts(T0 + 60_041) == (0, 0)


def test_error_rate_window_validates() -> None:
    with pytest.raises(ValueError):
        ErrorRateWindow(window_ms=0, max_errors=1)


def test_drawdown_guard_and_check_guards() -> None:
    ks = KillSwitch()
    dd = DrawdownGuard(max_drawdown_pct=Decimal(5))
    assert not check_guards(ks, T0, drawdown=dd, equity=Decimal(10_000))
    assert not check_guards(ks, T0, drawdown=dd, equity=Decimal(10_500))  # new peak
    assert not check_guards(ks, T0, drawdown=dd, equity=Decimal(10_000))  # 4.76 %
    assert check_guards(ks, T0 + 1, drawdown=dd, equity=Decimal(9_975))  # exactly 5 %
    assert ks.trip is not None and ks.trip.source is TripSource.DRAWDOWN
    assert ks.trip.reason == "drawdown 5% from peak 10500 reached the 5% limit"
    errors = ErrorRateWindow(window_ms=1000, max_errors=1)
    errors.record(T0, error=True)
    assert not check_guards(ks, T0 + 2, errors=errors)  # already tripped: no second reaction
    assert ks.history[-1].source is TripSource.ERROR_RATE
