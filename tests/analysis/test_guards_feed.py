"""The feed guard: a stale market feed blocks new entries (pure: it is given the update times)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from tradeterm.analysis.guards import (
    FeedFreshness,
    FeedGuard,
    FeedGuardConfig,
    GuardBoard,
    GuardInputs,
    SeriesFreshness,
    default_board,
)

T0 = 1_767_225_600_000  # 2026-01-01
M1, M15 = 60_000, 900_000


def _feed(update_1m: int | None, close_1m: int | None, update_15m: int | None = None,
          close_15m: int | None = None) -> FeedFreshness:
    return FeedFreshness("BTCUSDT", (
        SeriesFreshness("1m", M1, T0, update_1m, close_1m),
        SeriesFreshness("15m", M15, T0, update_15m if update_15m is not None else update_1m, close_15m),
    ))


def test_fresh_feed_is_safe_until_it_would_turn_stale() -> None:
    g = FeedGuard(FeedGuardConfig(stale_after_ms=30_000, stale_bars=3))
    now = T0 + 100_000
    s = g.evaluate(GuardInputs(feed=_feed(now - 1_000, now - 20_000, now - 1_000, T0 + 90_000)), now)
    assert not s.blocked and "fresh" in s.reason
    assert s.until_ms == now - 1_000 + 30_000 + 1  # the first instant without an update is too late


def test_no_update_for_too_long_blocks_with_the_series_and_age() -> None:
    g = FeedGuard(FeedGuardConfig(stale_after_ms=30_000))
    now = T0 + 200_000
    s = g.evaluate(GuardInputs(feed=_feed(now - 45_000, now - 45_000, now - 1_000, now - 60_000)), now)
    assert s.blocked and s.until_ms is None
    assert s.reason == "BTCUSDT feed stale: 1m no update for 45 s (limit 30 s)"


def test_updates_without_closes_block_after_n_bars() -> None:
    """A socket that keeps updating a candle that never closes is stale too."""
    g = FeedGuard(FeedGuardConfig(stale_after_ms=30_000, stale_bars=3))
    now = T0 + 10 * M1
    s = g.evaluate(GuardInputs(feed=_feed(now - 500, now - 3 * M1 - 1, now - 500, now - M15)), now)
    assert s.blocked and "1m no closed candle for 3 min (3 bars = 3 min)" in s.reason
    assert "15m" not in s.reason  # 1 bar of 15m without a close is normal


def test_a_series_that_never_updated_is_judged_from_when_watching_began() -> None:
    g = FeedGuard(FeedGuardConfig(stale_after_ms=30_000))
    assert not g.evaluate(GuardInputs(feed=_feed(None, None)), T0 + 29_000).blocked
    assert g.evaluate(GuardInputs(feed=_feed(None, None)), T0 + 31_000).blocked


def test_no_feed_data_is_safe_unless_fail_closed() -> None:
    assert not FeedGuard().evaluate(GuardInputs(), T0).blocked
    assert FeedGuard().evaluate(GuardInputs(), T0).reason == "no feed data"
    closed = FeedGuard(FeedGuardConfig(fail_closed=True)).evaluate(GuardInputs(), T0)
    assert closed.blocked and "configured to block" in closed.reason


def test_board_blocks_on_a_stale_feed_and_says_why() -> None:
    board = default_board()
    assert [g.name for g in board.guards][-1] == "heartbeat"
    now = T0 + 600_000
    state = GuardBoard([FeedGuard()]).evaluate(GuardInputs(feed=_feed(now - 120_000, now - 120_000)), now)
    assert state.blocked and state.reasons[0].startswith("heartbeat: BTCUSDT feed stale")


@pytest.mark.parametrize("field,value", [("stale_after_ms", 0), ("stale_bars", 0), ("surprise", 1)])
def test_bad_config_is_refused(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        FeedGuardConfig(**{field: value})


def test_memoised_answers_equal_fresh_ones() -> None:
    rng = np.random.default_rng(5)
    feeds = [_feed(T0 + int(u), T0 + int(c)) for u, c in rng.integers(0, 400_000, (6, 2))]
    memo = FeedGuard()
    for j, t in enumerate(int(x) for x in rng.integers(T0, T0 + 800_000, 600)):
        f = feeds[j // 100]
        assert memo.evaluate(GuardInputs(feed=f), t) == FeedGuard().evaluate(GuardInputs(feed=f), t), (j, t)
