"""REST paging against the venue (a forming bar is never taken for a closed one; pages join
without gap or repeat) and the sequencer (stream + backfill merged into one ordered,
duplicate-free, gapless sequence whatever the interleaving)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.market.backfill import KlinePager, fetch_latest, fetch_range, start_for_bars
from tradeterm.market.rest import RestClient
from tradeterm.market.sequencer import Sequencer
from tradeterm.market.spec import SPOT
from tradeterm.venue.app import VenueServer
from tradeterm.venue.config import VenueConfig

MIN = 60_000


@pytest.fixture
async def venue() -> AsyncIterator[VenueServer]:
    srv = VenueServer(VenueConfig(synthetic=["BTCUSDT"], speed=None, paused=True, history_bars=120))
    await srv.start()
    srv.venue.step(1)  # a third into the current bar: it is forming
    yield srv
    await srv.stop()


async def venue_rows(srv: VenueServer, tf: str = "1m") -> list[list]:
    """Every kline the venue serves now (independent of the code under test)."""
    async with httpx.AsyncClient(base_url=srv.rest_url) as http:
        r = await http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": tf, "limit": 1000,
                                                     "startTime": 0})
    return r.json()


async def test_pages_join_exactly_and_the_forming_bar_stays_provisional(venue: VenueServer) -> None:
    rows = await venue_rows(venue)
    forming = rows[-1]
    async with RestClient(venue.rest_url, SPOT) as rest:
        pages = []
        pager = KlinePager(rest, "BTCUSDT", Timeframe.M1, rows[3][0] - 17, page_size=7)  # off-grid start
        async for page in pager:
            pages.append(page)
    got = np.concatenate([p.open_time for p in pages])
    assert got.tolist() == [r[0] for r in rows[3:-1]]  # the first whole bar at or after start .. the last closed
    assert np.concatenate([p.close for p in pages]).tolist() == [float(r[4]) for r in rows[3:-1]]
    assert pager.provisional.open_time.tolist() == [forming[0]]
    assert pager.complete_until == forming[0]
    assert pager.requests >= -(-(len(rows) - 3) // 7) and max(len(p) for p in pages) <= 7


async def test_an_end_bound_needs_no_clock(venue: VenueServer) -> None:
    rows = await venue_rows(venue)
    async with RestClient(venue.rest_url, SPOT) as rest:
        closed, pager = await fetch_range(rest, "BTCUSDT", Timeframe.M1, rows[10][0], rows[20][0])
        assert closed.open_time.tolist() == [r[0] for r in rows[10:20]]
        assert len(pager.provisional) == 0 and pager.complete_until == rows[20][0]
        # Up to the forming bar: it is the bound's own bar, so the last closed one is proven.
        closed, pager = await fetch_range(rest, "BTCUSDT", Timeframe.M1, rows[-5][0], rows[-1][0])
        assert closed.open_time.tolist() == [r[0] for r in rows[-5:-1]] and len(pager.provisional) == 0


async def test_latest_bars_in_one_request_or_paged(venue: VenueServer) -> None:
    rows = await venue_rows(venue)
    async with RestClient(venue.rest_url, SPOT) as rest:
        closed, prov = await fetch_latest(rest, "BTCUSDT", Timeframe.M1, 30)
        assert rest.requests == 1
    assert closed.open_time.tolist() == [r[0] for r in rows[-31:-1]] and prov.open_time[0] == rows[-1][0]
    small = replace(SPOT, max_klines=8)
    async with RestClient(venue.rest_url, small) as rest:
        closed, prov = await fetch_latest(rest, "BTCUSDT", Timeframe.M1, 30)
        assert rest.requests > 4
    assert closed.open_time.tolist() == [r[0] for r in rows[-31:-1]] and prov.open_time[0] == rows[-1][0]


async def test_a_higher_timeframe_forming_bar_is_provisional_too(venue: VenueServer) -> None:
    rows = await venue_rows(venue, "15m")
    async with RestClient(venue.rest_url, SPOT) as rest:
        closed, prov = await fetch_latest(rest, "BTCUSDT", Timeframe.M15, 3)
    assert prov.open_time.tolist() == [rows[-1][0]] and closed.open_time.tolist() == [r[0] for r in rows[-4:-1]]


def test_start_for_bars_counts_calendar_months() -> None:
    jan_2024 = 1_704_067_200_000
    assert start_for_bars(Timeframe.MO1, jan_2024, 2) == 1_698_796_800_000  # 2023-11-01
    assert start_for_bars(Timeframe.H1, 10 * 3_600_000, 3) == 7 * 3_600_000


# ---------------------------------------------------------------------------- the sequencer
T0 = 1_700_000_000_000 - 1_700_000_000_000 % MIN


def candle(i: int, close: float = 100.0) -> CandleV1:
    t = T0 + i * MIN
    return CandleV1(venue="binance-spot", symbol="BTCUSDT", tf="1m", open_time=t, close_time=t + MIN - 1,
                    open=100.0, high=max(101.0, close), low=min(99.0, close), close=close, volume=1.0)


def test_sequencer_holds_live_closes_until_history_is_loaded() -> None:
    seq = Sequencer(Timeframe.M1)
    assert seq.offer(candle(9)) == [] and seq.offer(candle(10)) == [] and not seq.gap
    out = seq.start(T0 + 10 * MIN)  # history covered bars < 10
    assert [c.open_time for c in out] == [T0 + 10 * MIN] and seq.duplicates == 1
    assert seq.offer(candle(12)) == [] and seq.gap  # 11 is missing: backfill wanted
    out = seq.fill([candle(11), candle(12, close=55.0)], complete_until=T0 + 13 * MIN)
    assert [c.open_time for c in out] == [T0 + 11 * MIN, T0 + 12 * MIN]
    assert out[1].close == 100.0  # the first closed version wins: a closed candle is final
    assert not seq.gap and seq.next_open == T0 + 13 * MIN


def test_sequencer_steps_over_a_hole_in_the_exchanges_own_data() -> None:
    seq = Sequencer(Timeframe.M1)
    seq.start(T0)
    seq.offer(candle(0))
    assert seq.offer(candle(5)) == [] and seq.gap
    out = seq.fill([candle(1), candle(4)], complete_until=T0 + 5 * MIN)  # 2 and 3 never existed
    assert [c.open_time for c in out] == [T0 + MIN, T0 + 4 * MIN, T0 + 5 * MIN]
    assert seq.holes == [(T0 + 2 * MIN, T0 + 4 * MIN)] and not seq.gap


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1), history=st.integers(0, 10))
def test_any_interleaving_releases_the_series_exactly_once_in_order(n: int, seed: int, history: int) -> None:
    """Live closes lost, repeated, reordered, backfills at random moments returning the truth up
    to a random "now": the released sequence is always exactly the bars after the history."""
    rnd = random.Random(seed)
    truth = [candle(i, close=100.0 + i) for i in range(history + n)]
    seq = Sequencer(Timeframe.M1)
    out: list[CandleV1] = []
    started = False
    now = 0  # bars closed at the exchange so far

    def backfill() -> None:
        if started:
            start = (seq.next_open - T0) // MIN  # type: ignore[operator]
            # REST knows every bar closed so far; the bar forming now proves them complete.
            out.extend(seq.fill(truth[start:now], complete_until=T0 + now * MIN))

    while now < len(truth) or not started:
        r = rnd.random()
        if now < len(truth) and r < 0.5:
            c = truth[now]
            now += 1
            for _ in range(rnd.choice([0, 1, 1, 1, 2])):  # lost, delivered, or delivered twice
                out.extend(seq.offer(c))
        elif r < 0.6 and now > 0:
            out.extend(seq.offer(truth[rnd.randrange(now)]))  # a late repeat of an old close
        elif not started and now >= history:
            out.extend(seq.start(T0 + history * MIN))
            started = True
        elif r < 0.8:
            backfill()
    backfill()  # the backfill after the next reconnect, or after the next close shows the gap
    assert [c.open_time for c in out] == [c.open_time for c in truth[history:]]
    assert [c.close for c in out] == [c.close for c in truth[history:]]
