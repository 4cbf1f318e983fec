"""Each guard flipped on synthetic schedules, with exact until-times; the board folding them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from tradeterm.analysis.guards import (
    DrawdownGuard,
    DrawdownGuardConfig,
    EquitySnapshot,
    EquityTracker,
    ExposureGuard,
    ExposureGuardConfig,
    ExposureSnapshot,
    FundingGuard,
    FundingGuardConfig,
    GuardBoard,
    GuardInputs,
    GuardStatus,
    NewsGuard,
    NewsGuardConfig,
    NewsSchedule,
    RegimeGuard,
    RegimeGuardConfig,
    SessionGuard,
    SessionGuardConfig,
    default_board,
)
from tradeterm.analysis.guards.calendar import CalendarEvent
from tradeterm.analysis.guards.session import utc_ms
from tradeterm.contracts import FundingWindowV1, Impact, RegimeV1, Timeframe, Trend, Volatility

MIN = 60_000
HOUR = 60 * MIN
SAFE, BLOCK = GuardStatus.SAFE, GuardStatus.BLOCK


# ------------------------------------------------------------------------------------- news
def _events() -> list[CalendarEvent]:
    return [
        CalendarEvent("US CPI", utc_ms(2026, 1, 13, 13, 30), Impact.HIGH, "USD"),
        CalendarEvent("US retail sales", utc_ms(2026, 1, 13, 14, 0), Impact.HIGH, "USD"),
        CalendarEvent("ECB speech", utc_ms(2026, 1, 13, 9, 0), Impact.MEDIUM, "EUR"),
        CalendarEvent("BoJ decision", utc_ms(2026, 1, 14, 3, 0), Impact.HIGH, "JPY"),
    ]


def test_news_windows_filter_by_impact_and_currency() -> None:
    guard = NewsGuard(NewsGuardConfig(minutes_before=15, minutes_after=45, currencies=("usd",)))
    windows = guard.windows(_events(), source="cal.toml")
    assert [w.title for w in windows] == ["US CPI", "US retail sales"]
    cpi = windows[0]
    assert (cpi.block_from, cpi.event_time, cpi.block_until) == (
        utc_ms(2026, 1, 13, 13, 15),
        utc_ms(2026, 1, 13, 13, 30),
        utc_ms(2026, 1, 13, 14, 15),
    )
    assert cpi.source == "cal.toml" and cpi.impact is Impact.HIGH
    medium = NewsGuard(NewsGuardConfig(min_impact=Impact.MEDIUM)).windows(_events())
    assert "ECB speech" in [w.title for w in medium]


def test_news_guard_flips_and_merges_overlapping_windows() -> None:
    guard = NewsGuard(NewsGuardConfig(minutes_before=30, minutes_after=30))
    sched = NewsSchedule(guard.windows(_events()))
    inputs = GuardInputs(news=sched)
    # CPI 13:30 blocks 13:00-14:00, retail 14:00 blocks 13:30-14:30: one block 13:00-14:30
    before = guard.evaluate(inputs, utc_ms(2026, 1, 13, 12, 59))
    assert before.status is SAFE and before.until_ms == utc_ms(2026, 1, 13, 13, 0)
    assert "US CPI" in before.reason
    start = guard.evaluate(inputs, utc_ms(2026, 1, 13, 13, 0))
    assert start.status is BLOCK and start.until_ms == utc_ms(2026, 1, 13, 14, 30)
    assert "US CPI" in start.reason and "retail" not in start.reason
    both = guard.evaluate(inputs, utc_ms(2026, 1, 13, 13, 45))
    assert both.status is BLOCK and "US CPI" in both.reason and "retail" in both.reason
    last_ms = guard.evaluate(inputs, utc_ms(2026, 1, 13, 14, 30) - 1)
    assert last_ms.status is BLOCK
    after = guard.evaluate(inputs, utc_ms(2026, 1, 13, 14, 30))  # end is exclusive
    assert after.status is SAFE and after.until_ms == utc_ms(2026, 1, 14, 2, 30)
    end = guard.evaluate(inputs, utc_ms(2026, 1, 15))
    assert end.status is SAFE and end.until_ms is None
    # a plain sequence of windows works too and agrees with the schedule
    assert guard.evaluate(GuardInputs(news=sched.windows), utc_ms(2026, 1, 13, 13, 45)) == both


def test_news_guard_without_calendar() -> None:
    assert NewsGuard().evaluate(GuardInputs(), 0).status is SAFE
    closed = NewsGuard(NewsGuardConfig(fail_closed=True)).evaluate(
        GuardInputs(), utc_ms(2026, 1, 1)
    )
    assert closed.status is BLOCK and "calendar" in closed.reason


# ---------------------------------------------------------------------------------- funding
def _funding(t: int, rate: str = "0.0001", **kw: Any) -> FundingWindowV1:
    return FundingWindowV1(
        venue="binance-um",
        symbol="BTCUSDT",
        observed_at=t - 8 * HOUR,
        funding_time=t,
        rate=Decimal(rate),
        **kw,
    )


def test_funding_guard_blocks_before_settlement() -> None:
    ft = utc_ms(2026, 1, 13, 16)
    guard = FundingGuard(FundingGuardConfig(minutes_before=15, minutes_after=5))
    inputs = GuardInputs(funding=_funding(ft))
    early = guard.evaluate(inputs, ft - 15 * MIN - 1)
    assert early.status is SAFE and early.until_ms == ft - 15 * MIN
    on = guard.evaluate(inputs, ft - 15 * MIN)
    assert (
        on.status is BLOCK
        and on.until_ms == ft + 5 * MIN
        and on.reason == "funding settlement at 2026-01-13 16:00Z"
    )
    assert guard.evaluate(inputs, ft + 5 * MIN - 1).status is BLOCK
    after = guard.evaluate(inputs, ft + 5 * MIN)
    # the window is stale now: the schedule rolls to the next 8-hour settlement
    assert after.status is SAFE and after.until_ms == ft + 8 * HOUR - 15 * MIN


def test_funding_guard_blocks_extreme_rate_until_settlement() -> None:
    ft = utc_ms(2026, 1, 13, 16)
    guard = FundingGuard(FundingGuardConfig(max_abs_rate=Decimal("0.0005")))
    high = guard.evaluate(GuardInputs(funding=_funding(ft, "-0.0012")), ft - 3 * HOUR)
    assert high.status is BLOCK and high.until_ms == ft and "0.1200%" in high.reason
    ok = guard.evaluate(GuardInputs(funding=_funding(ft, "0.0005")), ft - 3 * HOUR)  # at the limit
    assert ok.status is SAFE


def test_funding_guard_honours_published_window() -> None:
    ft = utc_ms(2026, 1, 13, 16)
    w = _funding(ft, block_from=ft - HOUR, block_until=ft + 10 * MIN)
    state = FundingGuard().evaluate(GuardInputs(funding=w), ft - 50 * MIN)
    assert state.status is BLOCK and state.until_ms == ft + 10 * MIN


def test_funding_guard_missing_data() -> None:
    assert FundingGuard().evaluate(GuardInputs(), 0).status is SAFE
    assert (
        FundingGuard(FundingGuardConfig(fail_closed=True)).evaluate(GuardInputs(), 0).status
        is BLOCK
    )


# ---------------------------------------------------------------------------------- session
NY = "America/New_York"


def test_session_hours_in_a_time_zone() -> None:
    g = SessionGuard(SessionGuardConfig(tz=NY, hours=("08:00-17:00",)))
    # 2026-01-13 is EST (UTC-5): 08:00 local = 13:00 UTC
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 13, 12, 59))
    assert s.status is BLOCK and s.until_ms == utc_ms(2026, 1, 13, 13) and NY in s.reason
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 13, 13))
    assert s.status is SAFE and s.until_ms == utc_ms(2026, 1, 13, 22)


def test_session_dst_spring_forward() -> None:
    g = SessionGuard(SessionGuardConfig(tz=NY, hours=("08:00-17:00",)))
    # Saturday 7 March 2026, EST: opens 13:00 UTC. Sunday 8 March, clocks go forward at 07:00 UTC:
    # 08:00 EDT is 12:00 UTC, one hour earlier in UTC than the day before.
    sat = g.evaluate(GuardInputs(), utc_ms(2026, 3, 7, 6))
    assert sat.status is BLOCK and sat.until_ms == utc_ms(2026, 3, 7, 13)
    sun = g.evaluate(GuardInputs(), utc_ms(2026, 3, 8, 6))
    assert sun.status is BLOCK and sun.until_ms == utc_ms(2026, 3, 8, 12)
    open_ = g.evaluate(GuardInputs(), utc_ms(2026, 3, 8, 12))
    assert open_.status is SAFE and open_.until_ms == utc_ms(2026, 3, 8, 21)


def test_session_range_inside_the_spring_gap_starts_when_the_clock_jumps() -> None:
    # 02:30 does not exist on 8 March 2026 in New York: the wall clock jumps from 01:59:59 EST
    # (06:59:59 UTC) to 03:00 EDT, past 02:30, at 07:00 UTC.
    g = SessionGuard(SessionGuardConfig(tz=NY, hours=("02:30-04:00",)))
    s = g.evaluate(GuardInputs(), utc_ms(2026, 3, 8, 6, 30))
    assert s.status is BLOCK and s.until_ms == utc_ms(2026, 3, 8, 7)
    s = g.evaluate(GuardInputs(), utc_ms(2026, 3, 8, 7))
    assert s.status is SAFE and s.until_ms == utc_ms(2026, 3, 8, 8)  # 04:00 EDT


def test_session_fall_back_repeats_the_hour() -> None:
    # 1 November 2026: 01:00-02:00 happens twice (EDT 05:00-06:00 UTC, then EST 06:00-07:00 UTC)
    g = SessionGuard(SessionGuardConfig(tz=NY, hours=("01:30-02:00",)))
    first = g.evaluate(GuardInputs(), utc_ms(2026, 11, 1, 5, 30))
    assert first.status is SAFE and first.until_ms == utc_ms(2026, 11, 1, 6)
    between = g.evaluate(GuardInputs(), utc_ms(2026, 11, 1, 6))
    assert between.status is BLOCK and between.until_ms == utc_ms(2026, 11, 1, 6, 30)
    second = g.evaluate(GuardInputs(), utc_ms(2026, 11, 1, 6, 30))
    assert second.status is SAFE and second.until_ms == utc_ms(2026, 11, 1, 7)


def test_session_kill_zones_and_weekends() -> None:
    cfg = SessionGuardConfig(
        tz="Europe/London",
        hours=("07:00-20:00",),
        kill_zones={"London open": "07:00-10:00", "New York open": "12:00-15:00"},
        allow_weekends=False,
    )
    g = SessionGuard(cfg)
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 13, 8))  # GMT = UTC in January
    assert s.status is SAFE and "London open" in s.reason and s.until_ms == utc_ms(2026, 1, 13, 10)
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 13, 10))
    assert s.status is BLOCK and "kill zones" in s.reason and s.until_ms == utc_ms(2026, 1, 13, 12)
    # Friday 16 Jan 15:00 → next allowed is Monday 19 Jan 07:00
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 16, 15))
    assert s.status is BLOCK and s.until_ms == utc_ms(2026, 1, 19, 7)
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 17, 8))
    assert (
        s.status is BLOCK
        and "weekend (Saturday" in s.reason
        and s.until_ms == utc_ms(2026, 1, 19, 7)
    )


def test_session_wrapping_range() -> None:
    g = SessionGuard(SessionGuardConfig(tz="UTC", hours=("22:00-02:00",)))
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 13, 23))
    assert s.status is SAFE and s.until_ms == utc_ms(2026, 1, 14, 2)
    s = g.evaluate(GuardInputs(), utc_ms(2026, 1, 14, 2))
    assert s.status is BLOCK and s.until_ms == utc_ms(2026, 1, 14, 22)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("tz", "Mars/Olympus", "unknown time zone"),
        ("hours", ("8-17",), "must look like"),
        ("hours", ("25:00-26:00",), "impossible"),
        ("hours", ("09:00-09:00",), "empty"),
        ("kill_zones", {"x": "10:00-9:0"}, "must look like"),
    ],
)
def test_session_config_errors(field: str, value: Any, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        SessionGuardConfig(**{field: value})


# ----------------------------------------------------------------------------------- regime
def _regime(vol: Volatility, t: int = utc_ms(2026, 1, 13)) -> RegimeV1:
    return RegimeV1(
        venue="binance-um", symbol="BTCUSDT", tf=Timeframe.H1, time=t, confirmed_at=t + HOUR - 1,
        volatility=vol, trend=Trend.UP, atr_percentile=97.5 if vol is Volatility.EXTREME else 50.0, ema_slope=0.1,
    )  # fmt: skip


def test_regime_guard() -> None:
    g = RegimeGuard()
    now = utc_ms(2026, 1, 13, 2)
    s = g.evaluate(GuardInputs(regime=_regime(Volatility.EXTREME)), now)
    assert s.status is BLOCK and s.until_ms is None and "EXTREME" in s.reason
    for vol in (Volatility.LOW, Volatility.NORMAL, Volatility.HIGH):
        assert g.evaluate(GuardInputs(regime=_regime(vol)), now).status is SAFE
    strict = RegimeGuard(
        RegimeGuardConfig(block_levels=frozenset({Volatility.HIGH, Volatility.EXTREME}))
    )
    assert strict.evaluate(GuardInputs(regime=_regime(Volatility.HIGH)), now).status is BLOCK
    aged = RegimeGuard(RegimeGuardConfig(max_age_ms=2 * HOUR, fail_closed=True))
    assert aged.evaluate(GuardInputs(regime=_regime(Volatility.NORMAL)), now).status is SAFE
    stale = aged.evaluate(GuardInputs(regime=_regime(Volatility.NORMAL)), now + 2 * HOUR)
    assert stale.status is BLOCK and "fresh" in stale.reason
    assert g.evaluate(GuardInputs(), now).status is SAFE


# --------------------------------------------------------------------------------- drawdown
def _eq(equity: str, peak: str, day: str) -> GuardInputs:
    return GuardInputs(equity=EquitySnapshot(Decimal(equity), Decimal(peak), Decimal(day)))


def test_drawdown_guard_daily_limit_blocks_until_next_day() -> None:
    g = DrawdownGuard(DrawdownGuardConfig(daily_loss_limit=Decimal("0.03"), day_tz="UTC"))
    now = utc_ms(2026, 1, 13, 15)
    assert g.evaluate(_eq("9701", "10000", "10000"), now).status is SAFE
    s = g.evaluate(_eq("9700", "10000", "10000"), now)  # exactly 3%
    assert (
        s.status is BLOCK and s.until_ms == utc_ms(2026, 1, 14) and "daily loss 3.00%" in s.reason
    )
    ny = DrawdownGuard(DrawdownGuardConfig(day_tz=NY, day_start_hour=17))
    s = ny.evaluate(_eq("9200", "10000", "9500"), utc_ms(2026, 1, 13, 15))  # 10:00 EST
    assert s.until_ms == utc_ms(2026, 1, 13, 22)  # 17:00 EST


def test_drawdown_guard_max_drawdown_has_no_end_time() -> None:
    g = DrawdownGuard(DrawdownGuardConfig(max_drawdown=Decimal("0.10")))
    s = g.evaluate(_eq("9000", "10000", "9000"), utc_ms(2026, 1, 13))
    assert s.status is BLOCK and s.until_ms is None and "manual reset" in s.reason
    both = g.evaluate(_eq("8500", "10000", "9000"), utc_ms(2026, 1, 13))
    assert both.until_ms is None and "daily loss" in both.reason
    assert g.evaluate(GuardInputs(), 0).status is BLOCK  # fails closed by default


def test_equity_tracker_peak_and_day_start() -> None:
    tr = EquityTracker(DrawdownGuardConfig(day_tz="UTC"))
    s = tr.update(utc_ms(2026, 1, 13, 1), Decimal(10000))
    s = tr.update(utc_ms(2026, 1, 13, 5), Decimal(10500))
    s = tr.update(utc_ms(2026, 1, 13, 9), Decimal(10100))
    assert (s.peak_equity, s.day_start_equity) == (Decimal(10500), Decimal(10000))
    s = tr.update(utc_ms(2026, 1, 14, 0), Decimal(10050))
    assert (s.peak_equity, s.day_start_equity) == (Decimal(10500), Decimal(10050))
    with pytest.raises(ValueError, match="older"):
        tr.update(utc_ms(2026, 1, 13), Decimal(1))
    tr.reset_peak(Decimal(10050))
    assert tr.update(utc_ms(2026, 1, 14, 1), Decimal(10000)).peak_equity == Decimal(10050)


# --------------------------------------------------------------------------------- exposure
def test_exposure_guard() -> None:
    g = ExposureGuard(ExposureGuardConfig(max_open_risk_r=Decimal(3), max_positions=2))
    ok = g.evaluate(GuardInputs(exposure=ExposureSnapshot(Decimal(2), 1)), 0)
    assert ok.status is SAFE
    risk = g.evaluate(GuardInputs(exposure=ExposureSnapshot(Decimal("2.5"), 1)), 0)
    assert risk.status is BLOCK and "exceed 3R" in risk.reason and risk.until_ms is None
    count = g.evaluate(GuardInputs(exposure=ExposureSnapshot(Decimal(0), 2)), 0)
    assert count.status is BLOCK and "2 open positions" in count.reason


# ------------------------------------------------------------------------------------ board
def test_board_folds_states() -> None:
    ft = utc_ms(2026, 1, 13, 16)
    news = NewsGuard()
    windows = news.windows([CalendarEvent("FOMC", ft + 2 * HOUR, Impact.HIGH)])
    board = GuardBoard([news, FundingGuard(), RegimeGuard(), ExposureGuard()])
    calm = GuardInputs(
        news=windows, funding=_funding(ft), regime=_regime(Volatility.NORMAL),
        exposure=ExposureSnapshot(Decimal(0), 0),
    )  # fmt: skip
    s = board.evaluate(calm, ft - 3 * HOUR)
    assert s.status is SAFE and not s.reasons
    assert s.until_ms == ft - 15 * MIN  # the earliest scheduled block (funding before news)
    s = board.evaluate(calm, ft - 10 * MIN)
    assert s.status is BLOCK and s.until_ms == ft and s.reasons[0].startswith("funding: ")
    stormy = GuardInputs(news=windows, funding=_funding(ft), regime=_regime(Volatility.EXTREME))
    s = board.evaluate(stormy, ft + 2 * HOUR)
    assert s.blocked and s.until_ms is None  # regime and exposure blocks have no end time
    assert {r.split(":")[0] for r in s.reasons} == {"news", "regime", "exposure"}
    assert s.get("news").until_ms == ft + 2 * HOUR + 30 * MIN
    with pytest.raises(KeyError, match="session"):
        s.get("session")
    with pytest.raises(ValueError, match="unique"):
        GuardBoard([NewsGuard(), NewsGuard()])
    assert [g.name for g in default_board().evaluate(GuardInputs(), ft).guards] == [
        "news", "funding", "session", "regime", "drawdown", "exposure", "heartbeat",
    ]  # fmt: skip


# -------------------------------------------------------------------------- memoisation
def _every_guard() -> list[object]:
    return [
        NewsGuard(NewsGuardConfig(minutes_before=20, minutes_after=40)),
        FundingGuard(
            FundingGuardConfig(minutes_before=15, minutes_after=5, max_abs_rate=Decimal("0.0003"))
        ),
        SessionGuard(
            SessionGuardConfig(
                tz=NY,
                hours=("02:00-16:00",),
                kill_zones={"L": "02:00-05:00", "NY": "07:00-11:00"},
                allow_weekends=False,
            )
        ),
        RegimeGuard(RegimeGuardConfig(max_age_ms=3 * HOUR)),
        DrawdownGuard(DrawdownGuardConfig(day_tz=NY, day_start_hour=17)),
        ExposureGuard(),
    ]


def test_memoised_answers_equal_fresh_ones() -> None:
    """Guards remember their last answer over the span it holds; whatever order instants come in
    (forwards like a feed, or jumping back like a UI scrubbing history), the answer must be what
    a brand-new guard says."""
    rng = np.random.default_rng(3)
    start = utc_ms(2026, 3, 5)  # spans the US spring-forward weekend
    news = NewsSchedule(NewsGuard(NewsGuardConfig(minutes_before=20, minutes_after=40)).windows(
        [CalendarEvent(f"e{i}", start + int(h * HOUR), Impact.HIGH) for i, h in enumerate((5.5, 6, 30, 31.25, 80))]
    ))  # fmt: skip
    fundings = [
        _funding(start + k * 8 * HOUR, rate)
        for k, rate in enumerate(["0.0001", "0.0004", "-0.0001"] * 4)
    ]
    regimes = [
        _regime(v, start + k * HOUR)
        for k, v in enumerate([Volatility.NORMAL, Volatility.EXTREME] * 3)
    ]
    equities = [
        EquitySnapshot(Decimal(e), Decimal(10000), Decimal(d))
        for e, d in (("9800", "10000"), ("9650", "9990"))
    ]
    expos = [ExposureSnapshot(Decimal(r), n) for r, n in (("1", 1), ("2.5", 2))]
    forwards = sorted(int(x) for x in rng.integers(start, start + 6 * 86_400_000, 400))
    jumps = [int(x) for x in rng.integers(start, start + 6 * 86_400_000, 200)]
    for instants in (forwards, jumps):
        memo = GuardBoard(_every_guard())  # type: ignore[arg-type]
        for j, t in enumerate(instants):
            inputs = GuardInputs(
                news=news, funding=fundings[j // 40 % len(fundings)], regime=regimes[j // 80 % len(regimes)],
                equity=equities[j // 150 % 2], exposure=expos[j // 120 % 2],
            )  # fmt: skip
            fresh = GuardBoard(_every_guard()).evaluate(inputs, t)  # type: ignore[arg-type]
            assert memo.evaluate(inputs, t) == fresh, (j, t)


def test_session_timeline_stays_exact_across_rebuilds() -> None:
    cfg = SessionGuardConfig(tz="Europe/London", hours=("08:00-16:30",), allow_weekends=False)
    g = SessionGuard(cfg)
    for t in range(utc_ms(2026, 3, 2, 9), utc_ms(2026, 5, 1), 3 * HOUR + 13 * MIN):
        assert g.evaluate(GuardInputs(), t) == SessionGuard(cfg).evaluate(GuardInputs(), t), t
