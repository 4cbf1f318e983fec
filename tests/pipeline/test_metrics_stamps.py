"""The latency stamps of closed candles: taken at publish, kept only while a stage can still ask
for them (a minute), bounded in any case."""

from __future__ import annotations

import pytest

from tradeterm.contracts import CandleV1
from tradeterm.pipeline import metrics
from tradeterm.pipeline.metrics import StampingBus

MIN = 60_000


def _candle(i: int, *, closed: bool = True) -> CandleV1:
    t = 1_704_067_200_000 + i * MIN
    return CandleV1(venue="binance-spot", symbol="BTCUSDT", tf="1m", open_time=t, close_time=t + MIN - 1,
                    open=1.0, high=1.0, low=1.0, close=1.0, volume=1.0, closed=closed)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(metrics.time, "perf_counter", lambda: now[0])
    return now


def test_closed_candles_are_stamped_open_ones_not(clock: list[float]) -> None:
    bus = StampingBus()
    assert bus.publish_nowait(_candle(0))
    bus.publish_nowait(_candle(1, closed=False))
    assert bus.published_at("BTCUSDT", "1m", _candle(0).open_time) == 1000.0
    assert bus.published_at("BTCUSDT", "1m", _candle(1).open_time) is None
    assert bus.published_at("ETHUSDT", "1m", _candle(0).open_time) is None


def test_stamps_older_than_a_minute_are_dropped(clock: list[float]) -> None:
    bus = StampingBus()
    for i in range(100):  # 100 candles over 99 s
        bus.publish_nowait(_candle(i))
        clock[0] += 1.0
    kept = sorted(bus.stamps.values())
    assert kept[0] >= clock[0] - 1.0 - metrics._STAMP_TTL_S  # nothing older than the TTL
    assert len(bus.stamps) == 61  # the last minute's candles, all of them
    assert bus.published_at("BTCUSDT", "1m", _candle(99).open_time) == clock[0] - 1.0
    assert bus.published_at("BTCUSDT", "1m", _candle(0).open_time) is None


def test_stamps_are_bounded_within_the_minute_too(clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_STAMPS", 50)
    bus = StampingBus()
    for i in range(200):  # a burst: no time passes
        bus.publish_nowait(_candle(i))
    assert len(bus.stamps) == 50
    assert bus.published_at("BTCUSDT", "1m", _candle(199).open_time) == 1000.0
    assert bus.published_at("BTCUSDT", "1m", _candle(149).open_time) is None
