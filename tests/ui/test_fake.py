"""The deterministic fake pipeline: replay windows, no look-ahead, streaming, sweeps in the chart."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tradeterm.analysis.smc import codes
from tradeterm.ui.fake import CHART_BARS, MINUTE, FakeFeed, FakePipeline
from tradeterm.ui.fake.market import chart_parts

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def test_frozen_snapshot_is_stable_and_versioned() -> None:
    fake = FakePipeline()
    first = fake.snapshot()
    assert fake.snapshot() is first  # nothing moved: the same object
    fake.advance(0)
    assert fake.snapshot().version == first.version + 1


def test_rewound_chart_keeps_a_full_window_of_closed_bars() -> None:
    fake = FakePipeline()
    fake.rewind(5_000)
    for tf in ("1m", "5m", "1h"):
        fake.select("BTCUSDT", tf)
        chart = fake.snapshot().chart
        assert chart is not None and len(chart) == CHART_BARS, tf
        closes = chart.frame.open_time + chart.frame.tf.ms
        assert int(closes[-1]) <= fake.now_ms  # only bars closed by "now"
        assert int(closes[-1]) > fake.now_ms - chart.frame.tf.ms  # ... and the latest of them


def test_replayed_smc_never_sees_the_future() -> None:
    """The chart of a rewound fake is analysed on the cut alone: no swing, break or sweep
    confirmed after its last bar (the house rule of no look-ahead holds in the fake too)."""
    fake = FakePipeline(("SOLUSDT",))
    fake.rewind(100)
    chart = fake.snapshot().chart
    assert chart is not None and chart.breaks is not None and chart.swings is not None
    last = len(chart) - 1
    assert int(chart.breaks.conf.max(initial=0)) <= last
    assert int(chart.swings.conf.max(initial=0)) <= last
    full, _, _ = chart_parts("SOLUSDT", fake.seed, fake.bars, "1m")
    assert chart.frame.open_time[-1] < full.open_time[-1]


def test_chart_carries_liquidity_sweeps_with_breaks() -> None:
    fake = FakePipeline()
    fake.select("ETHUSDT", "1m")
    breaks = fake.snapshot().chart.breaks  # type: ignore[union-attr]
    assert breaks is not None
    kinds = set(np.unique(breaks.kind).tolist())
    assert codes.SWEEP in kinds and kinds <= {codes.BOS, codes.CHOCH, codes.SWEEP}
    sweep = np.flatnonzero(breaks.kind == codes.SWEEP)[0]
    assert 0 <= breaks.ref_bar[sweep] < breaks.bar[sweep]  # the pool's swing, then the sweep


def test_feed_streams_and_starts_over_at_the_end() -> None:
    fake = FakePipeline(SYMBOLS)
    feed = FakeFeed(fake, interval=0, bars_per_tick=2, rewind=3)
    start = fake.now_ms
    feed.step()  # nothing hidden yet: rewind 3, reveal 2
    assert feed.replays == 1 and fake.hidden == 1 and fake.now_ms == start - MINUTE
    before = fake.snapshot().watchlist
    feed.step()
    assert fake.hidden == 0 and fake.now_ms == start
    assert fake.snapshot().watchlist != before  # every symbol moved
    feed.step()
    assert feed.replays == 2 and feed.ticks == 3


def test_feed_runs_on_the_loop_until_stopped() -> None:
    async def run() -> int:
        fake = FakePipeline(SYMBOLS)
        feed = FakeFeed(fake, interval=0, rewind=1_000)
        feed.start()
        for _ in range(10):
            await asyncio.sleep(0)
        await feed.stop()
        ticks = feed.ticks
        await asyncio.sleep(0)
        assert feed.ticks == ticks  # stopped means stopped
        return ticks

    assert asyncio.run(run()) >= 5


def test_feed_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="interval"):
        FakeFeed(FakePipeline(SYMBOLS), interval=-1)
    with pytest.raises(ValueError, match="bars_per_tick"):
        FakeFeed(FakePipeline(SYMBOLS), bars_per_tick=0)
