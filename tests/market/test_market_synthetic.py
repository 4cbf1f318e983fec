"""The synthetic market: deterministic, on the exchange grid, and statistically market-like."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from tradeterm.contracts import Timeframe
from tradeterm.market import synthetic
from tradeterm.market.aggregate import bucket_starts
from tradeterm.market.frame import CandleFrame
from tradeterm.market.synthetic import MarketParams, SymbolSpec, SyntheticMarket, symbol_spec

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday
COLS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")


def _same(a: CandleFrame, b: CandleFrame) -> bool:
    return len(a) == len(b) and all(np.array_equal(getattr(a, c), getattr(b, c)) for c in COLS)


def _cat(frames: list[CandleFrame]) -> CandleFrame:
    return CandleFrame.from_columns(frames[0].symbol, frames[0].tf, **{c: np.concatenate([getattr(f, c) for f in frames]) for c in COLS})


@pytest.fixture(scope="module")
def btc() -> CandleFrame:
    return SyntheticMarket("BTCUSDT", seed=7, start_ms=T0).generate(100_000)


def test_symbol_specs_of_the_majors_are_binance_spot_filters() -> None:
    assert symbol_spec("btcusdt") == SymbolSpec(
        "BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal(5), Decimal(60000)
    )
    eth, sol = symbol_spec("ETHUSDT"), symbol_spec("SOLUSDT")
    assert (eth.tick_size, eth.step_size, eth.start_price) == (Decimal("0.01"), Decimal("0.0001"), Decimal(3000))
    assert (sol.tick_size, sol.step_size, sol.start_price) == (Decimal("0.01"), Decimal("0.001"), Decimal(150))
    assert (eth.price_decimals, sol.qty_decimals) == (2, 3)


@pytest.mark.parametrize("name", ["DOGEUSDT", "PEPEUSDT", "ADABTC", "LINKETH", "ARBFDUSD", "WEIRD"])
def test_unknown_symbols_get_a_stable_sane_spec(name: str) -> None:
    spec = symbol_spec(name)
    assert spec == symbol_spec(name.lower())
    assert spec.base_asset + (spec.quote_asset if name != "WEIRD" else "") == name
    assert spec.start_price > 0 and spec.start_price % spec.tick_size == 0
    # 4-5 significant digits of price, one step worth well under a few quote units.
    assert spec.start_price / spec.tick_size >= 1_000
    assert Decimal("1e-8") <= spec.step_size <= 1 and spec.min_qty == spec.step_size
    assert spec.step_size * spec.start_price < 10


def test_same_seed_same_bars_and_seeds_or_symbols_change_them() -> None:
    a = SyntheticMarket("ETHUSDT", seed=3, start_ms=T0).generate(5_000)
    assert _same(a, SyntheticMarket("ETHUSDT", seed=3, start_ms=T0).generate(5_000))
    assert not np.array_equal(a.close, SyntheticMarket("ETHUSDT", seed=4, start_ms=T0).generate(5_000).close)
    # Different symbols under one seed are independent paths, not rescaled copies.
    r_eth = np.diff(np.log(SyntheticMarket("ETHUSDT", seed=3, start_ms=T0).generate(20_000).close))
    r_sol = np.diff(np.log(SyntheticMarket("SOLUSDT", seed=3, start_ms=T0).generate(20_000).close))
    assert abs(np.corrcoef(r_eth, r_sol)[0, 1]) < 0.05


def test_streaming_in_any_chunks_equals_one_batch() -> None:
    batch = SyntheticMarket("BTCUSDT", seed=11, start_ms=T0).generate(100)
    m = SyntheticMarket("BTCUSDT", seed=11, start_ms=T0)
    assert _same(batch, _cat([m.generate(50), m.next_bars(50)]))
    # Across a random-number block boundary and with odd chunk sizes, including empty ones.
    big = SyntheticMarket("BTCUSDT", seed=11, start_ms=T0).generate(70_000)
    m = SyntheticMarket("BTCUSDT", seed=11, start_ms=T0)
    sizes = [1, 0, 999, 30_000, 34_535, 1, 3_000, 1_464]
    assert sum(sizes) == 70_000
    assert _same(big, _cat([m.next_bars(k) for k in sizes if k]))
    m.reset()
    assert _same(big.slice(0, 10), _cat([next(m.stream(5)), next(m.stream(5))]))


def test_big_batches_take_the_fast_kernel_and_match_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic, "_NUMBA_MIN_BARS", 40_000)
    big = SyntheticMarket("SOLUSDT", seed=5, start_ms=T0).generate(80_000)  # numba when installed
    m = SyntheticMarket("SOLUSDT", seed=5, start_ms=T0)
    assert _same(big, _cat([m.next_bars(39_999) for _ in range(2)] + [m.next_bars(2)]))


def test_cursor_and_next_bars_until_follow_the_clock() -> None:
    m = SyntheticMarket("BTCUSDT", seed=1, start_ms=T0, tf="5m")
    assert m.cursor_ms == T0
    got = m.next_bars_until(T0 + 12 * 60_000)  # bars 00:00 and 00:05 have closed, 00:10 has not
    assert list(got.open_time) == [T0, T0 + 300_000]
    assert m.cursor_ms == T0 + 600_000 and m.bars_emitted == 2
    assert len(m.next_bars_until(T0 + 12 * 60_000)) == 0
    with pytest.raises(ValueError, match="not on a 5m boundary"):
        SyntheticMarket("BTCUSDT", seed=1, start_ms=T0 + 60_000, tf="5m")


def test_bars_are_consistent_and_on_the_exchange_grid(btc: CandleFrame) -> None:
    f = btc
    assert f.symbol == "BTCUSDT" and f.tf is Timeframe.M1
    assert np.all(np.diff(f.open_time) == 60_000) and f.open_time[0] == T0
    assert np.all(f.high >= np.maximum(f.open, f.close)) and np.all(f.low <= np.minimum(f.open, f.close))
    assert np.all(f.low > 0) and np.all(f.high > f.low)  # wicks on every bar at 1m BTC vol
    for col, dec in ((f.open, 2), (f.high, 2), (f.low, 2), (f.close, 2), (f.volume, 5), (f.taker_buy_base, 5)):
        assert np.array_equal(col, np.round(col, dec))  # exactly the float a decimal string parses to
    assert np.all(f.volume >= 0.00001) and np.all(f.trades >= 1)
    assert np.all(f.taker_buy_base <= f.volume) and np.all(f.taker_buy_quote <= f.quote_volume)
    vwap = f.quote_volume / f.volume
    assert np.all(vwap >= f.low * (1 - 1e-9)) and np.all(vwap <= f.high * (1 + 1e-9))
    # Open is the previous close, at most one tick off.
    off = np.round((f.open[1:] - f.close[:-1]) / 0.01)
    assert set(np.unique(off)) <= {-1.0, 0.0, 1.0} and np.mean(off == 0) > 0.5
    assert f.open[0] == 60_000 or abs(f.open[0] - 60_000) == pytest.approx(0.01)
    # Every bar is a valid contract event.
    f.slice(0, 50).to_candles("synthetic")


def test_stylised_facts_volatility_clustering_and_fat_tails(btc: CandleFrame) -> None:
    r = np.diff(np.log(btc.close))
    a = np.abs(r - r.mean())
    assert np.corrcoef(a[:-1], a[1:])[0, 1] > 0.05
    excess_kurtosis = np.mean((r - r.mean()) ** 4) / np.var(r) ** 2 - 3
    assert excess_kurtosis > 1
    # Annualised volatility in the BTC-like range the params ask for (0.55).
    ann = np.std(r) * np.sqrt(365 * 24 * 60)
    assert 0.3 < ann < 0.9


def test_volume_follows_volatility_and_the_us_afternoon_is_busier(btc: CandleFrame) -> None:
    r = np.abs(np.diff(np.log(btc.close)))
    assert np.corrcoef(np.log(btc.volume[1:]), r)[0, 1] > 0.2
    hour = (btc.open_time[1:] // 3_600_000) % 24
    weekday = (btc.open_time[1:] // 86_400_000 + 3) % 7
    busy = r[(hour >= 14) & (hour < 17) & (weekday < 5)].mean()
    quiet = r[(hour >= 2) & (hour < 5) & (weekday < 5)].mean()
    assert busy > 1.4 * quiet


def test_regimes_make_trends_and_ranges() -> None:
    """Variance ratio at 4h: trend drift stretches long-horizon moves, range mean reversion
    shrinks them, relative to the same market with both switched off."""

    def variance_ratio(trend_drift: float, range_kappa: float) -> float:
        params = MarketParams(annual_vol=0.55, trend_drift=trend_drift, range_kappa=range_kappa)
        x = np.log(SyntheticMarket("BTCUSDT", seed=9, start_ms=T0, params=params).generate(60_000).close)
        return float(np.var(x[240:] - x[:-240]) / np.var(np.diff(x)) / 240)

    neutral = variance_ratio(0.0, 0.0)
    assert variance_ratio(0.1, 0.0) > 1.1 * neutral
    assert variance_ratio(0.0, 0.01) < 0.85 * neutral
    defaults = MarketParams()
    assert variance_ratio(defaults.trend_drift, defaults.range_kappa) > neutral  # trends dominate the demo


@pytest.mark.parametrize("tf", ["1h", "4h", "1d", "1w", "1M"])
def test_other_timeframes_are_aligned_and_consistent(tf: str) -> None:
    start = Timeframe(tf).bucket_start(T0)
    f = SyntheticMarket("ADABTC", seed=2, start_ms=start, tf=tf).generate(40)
    assert f.tf is Timeframe(tf)
    assert np.array_equal(bucket_starts(f.open_time, tf), f.open_time) and np.all(np.diff(f.open_time) > 0)
    assert np.all(f.high >= np.maximum(f.open, f.close)) and np.all(f.low <= np.minimum(f.open, f.close))
    assert np.array_equal(f.close, np.round(f.close, 8)) and np.all(f.low > 0)
    if tf == "1M":
        assert [int(t) for t in f.open_time[:3]] == [1_704_067_200_000, 1_706_745_600_000, 1_709_251_200_000]


def test_start_price_override_and_bad_params() -> None:
    f = SyntheticMarket("SOLUSDT", seed=1, start_ms=T0, start_price=123.456).generate(3)
    assert abs(f.open[0] - 123.46) < 0.011
    with pytest.raises(ValueError):
        SyntheticMarket("SOLUSDT", seed=1, start_ms=T0, params=MarketParams(garch_alpha=0.5, garch_beta=0.6))
    with pytest.raises(ValueError):
        SyntheticMarket("SOLUSDT", seed=1, start_ms=T0, start_price=0)
