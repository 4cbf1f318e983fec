"""The three data sources: the seeded synthetic market (deterministic, continued on demand),
Binance kline files, and candles from the store; several symbols on one clock."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tests.venue.conftest import make_frame
from tests.venue.test_cli import DATA
from tradeterm.contracts import Timeframe
from tradeterm.venue.clock import ReplayClock, parse_speed
from tradeterm.venue.config import VenueConfig
from tradeterm.venue.datasource import file_source, store_source
from tradeterm.venue.venue import Venue


def test_speed_parsing_and_replay_clock() -> None:
    assert parse_speed("max") is None and parse_speed("60") == 60.0
    wall = [100.0]
    clock = ReplayClock(1_000_000, 60.0, monotonic=lambda: wall[0])
    wall[0] += 2.0
    assert clock.now_ms() == 1_000_000 + 120_000  # 2 wall seconds = 2 market minutes
    clock.pause()
    wall[0] += 10
    assert clock.now_ms() == 1_120_000
    clock.resume()
    wall[0] += 1
    assert clock.now_ms() == 1_180_000
    m = ReplayClock(5, None, monotonic=lambda: wall[0])
    wall[0] += 100
    assert m.now_ms() == 5  # max speed only moves when stepped
    m.advance_to(50)
    m.advance_to(10)
    assert m.now_ms() == 50


def test_synthetic_market_is_seeded_and_extends_itself() -> None:
    def run(seed: int) -> list:
        v = Venue(VenueConfig(synthetic=["BTCUSDT", "ETHUSDT"], seed=seed, speed=None, paused=True,
                              history_bars=50, start_ms=1_700_000_040_000 - 1_700_000_040_000 % 60_000))
        n0 = len(v.series["BTCUSDT"])
        v.step_bars(n0)  # past the pre-generated bars: the source must continue
        assert len(v.series["BTCUSDT"]) > n0
        return [v.last_price("BTCUSDT"), v.last_price("ETHUSDT"), v.market_ms]

    assert run(1) == run(1) and run(1) != run(2)


def test_open_ended_source_keeps_a_bounded_history() -> None:
    """A synthetic market left running drops its oldest bars past ``retain_bars``; what stays
    (prices, the forming bar, klines, avgPrice) is exactly what an untrimmed replay serves."""
    start = 1_700_000_040_000 - 1_700_000_040_000 % 60_000

    def venue(retain: int) -> Venue:
        return Venue(VenueConfig(synthetic=["BTCUSDT"], seed=3, speed=None, paused=True, history_bars=50,
                                 start_ms=start, retain_bars=retain, futures=False))

    small, big = venue(600), venue(1_000_000)
    for _ in range(12):
        small.step_bars(200)
        big.step_bars(200)
        se, full = small.series["BTCUSDT"], big.series["BTCUSDT"]
        assert se.index_at(small.market_ms) < 660 + 500  # retain, 10 % slack, one extension (500 bars)
        assert small.last_price("BTCUSDT") == big.last_price("BTCUSDT")
        t = small.market_ms
        assert se.klines(Timeframe.M5, t, None, None, 50) == full.klines(Timeframe.M5, t, None, None, 50)
        assert se.avg_price(t, 5) == full.avg_price(t, 5)
        i, j = se.index_at(t), full.index_at(t)
        assert se.bar(i, t) == full.bar(j, t)
    assert len(big.series["BTCUSDT"]) > 2400  # the untrimmed one did grow
    assert int(se.open_time[0]) > int(full.open_time[0])  # and the trimmed one did drop bars


def test_kline_file_source_replays_real_data() -> None:
    src = file_source(DATA)
    v = Venue(VenueConfig(sources=[src], speed=None, paused=True, history_bars=100))
    assert v.series["BTCUSDT"].tf is Timeframe.M15
    assert v.market_ms == int(src.frame.open_time[100])
    assert v.last_price("BTCUSDT") == Decimal(repr(float(src.frame.open[100])))
    v.step_bars(1)
    assert v.last_price("BTCUSDT") == Decimal(repr(float(src.frame.open[101])))
    bars = v.series["BTCUSDT"].klines(Timeframe.H1, v.market_ms, None, None, 10)
    assert bars[-1].closed is False and all(b.closed for b in bars[:-1])


async def test_store_source(tmp_path) -> None:
    from tradeterm.store import create_store

    url = f"sqlite:///{tmp_path / 'venue.db'}"
    frame = make_frame("SOLUSDT", [(20 + i, 21 + i, 19 + i, 20.5 + i) for i in range(30)])
    async with create_store(url) as store:
        await store.upsert_candles(frame, "binance")
    src = await store_source(url, "binance", "SOLUSDT", Timeframe.M1)
    assert np.array_equal(src.frame.close, frame.close)
    v = Venue(VenueConfig(sources=[src], speed=None, paused=True, history_bars=10))
    assert v.last_price("SOLUSDT") == Decimal(30)
