"""Market-data REST over a real loopback socket: shapes against captured Binance payloads,
kline window semantics, every interval from the base timeframe, weight headers."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tests.venue.conftest import T0, payload, same_shape
from tradeterm.contracts import Timeframe


async def test_ping_time_and_weight_headers(venue_env) -> None:
    _srv, c = await venue_env()
    r = await c.http.get("/api/v3/ping")
    assert r.status_code == 200 and r.json() == payload("spot/rest/ping.json")
    assert r.headers["x-mbx-used-weight-1m"] == "1"
    r = await c.http.get("/api/v3/time")
    assert not same_shape(r.json(), payload("spot/rest/time_2021-10-10.json"))
    assert r.headers["x-mbx-used-weight-1m"] == "2"
    assert "x-mbx-order-count-10s" in r.headers and "x-mbx-order-count-1d" in r.headers


async def test_exchange_info_matches_the_live_snapshot(venue_env) -> None:
    _srv, c = await venue_env()
    ours = (await c.http.get("/api/v3/exchangeInfo", params={"symbol": "BTCUSDT"})).json()
    live = payload("spot/rest/exchangeInfo_full_2024-09-08.json.gz")
    live_btc = next(s for s in live["symbols"] if s["symbol"] == "BTCUSDT")
    # Fields Binance added after the 2024 capture are documented in the 2026 docs example.
    newer = set(payload("docs_examples/spot/rest_exchange_info_response.json")["symbols"][0])
    assert not same_shape({k: v for k, v in ours.items() if k != "symbols"},
                          {k: v for k, v in live.items() if k != "symbols"})
    sym = ours["symbols"][0]
    assert not same_shape({k: v for k, v in sym.items() if k != "filters"},
                          {k: v for k, v in live_btc.items() if k != "filters"}, ignore_extra=newer)
    live_filters = {f["filterType"]: f for f in live_btc["filters"]}
    ours_filters = {f["filterType"]: f for f in sym["filters"]}
    for ft in ("PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL", "PERCENT_PRICE_BY_SIDE",
               "MAX_NUM_ORDERS", "MAX_NUM_ALGO_ORDERS"):
        assert not same_shape(ours_filters[ft], live_filters[ft]), ft
    assert ours_filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    r = await c.http.get("/api/v3/exchangeInfo", params={"symbol": "NOPEUSDT"})
    assert r.status_code == 400 and r.json() == {"code": -1121, "msg": "Invalid symbol."}


async def test_klines_shape_and_window_semantics(venue_env) -> None:
    bars = [(100 + i, 101 + i, 99 + i, 100.5 + i) for i in range(20)]
    srv, c = await venue_env(bars)
    srv.venue.step(4)  # one bar and a third into the replay
    live = payload("spot/rest/klines_BTCUSDT_1m_2021-10-22.json")
    rows = (await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"})).json()
    assert not same_shape(rows, live)
    # 5 history bars + 1 closed replay bar + the forming one; the forming one is last and partial.
    assert len(rows) == 7 and rows[-1][0] == T0 + 6 * 60_000 and rows[-1][6] == T0 + 7 * 60_000 - 1
    assert rows[-1][1] == "101.00000000" and Decimal(rows[-1][5]) < Decimal(10)  # a third of the volume
    assert rows[-2][4] == "100.50000000"
    r = await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 2})
    assert [x[0] for x in r.json()] == [T0 + 5 * 60_000, T0 + 6 * 60_000]
    r = await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "startTime": T0 + 1,
                                                   "limit": 2})
    assert [x[0] for x in r.json()] == [T0 + 60_000, T0 + 120_000]  # first bar opening at/after startTime
    r = await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "endTime": T0 + 125_000,
                                                   "limit": 2})
    assert [x[0] for x in r.json()] == [T0 + 60_000, T0 + 120_000]
    r = await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "startTime": T0 + 10**9})
    assert r.json() == []  # the future has no bars


async def test_every_interval_is_served_from_the_base_timeframe(venue_env) -> None:
    bars = [(100 + i % 7, 102 + i % 7, 98 + i % 5, 101 + i % 3) for i in range(200)]
    srv, c = await venue_env(bars)
    srv.venue.step_bars(150)
    base = (await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1000})).json()
    for iv in ("3m", "5m", "15m", "30m", "1h"):
        tf = Timeframe(iv)
        rows = (await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": iv})).json()
        for row in rows[:-1]:
            members = [b for b in base if row[0] <= b[0] < row[0] + tf.ms]
            assert row[1] == members[0][1] and row[4] == members[-1][4]
            assert float(row[2]) == max(float(b[2]) for b in members)
            assert float(row[3]) == min(float(b[3]) for b in members)
            assert abs(float(row[5]) - sum(float(b[5]) for b in members)) < 1e-6
            assert row[6] == row[0] + tf.ms - 1
    r = await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1s"})
    assert r.status_code == 400 and r.json() == {"code": -1120, "msg": "Invalid interval."}
    r = await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "7m"})
    assert r.json()["code"] == -1120
    r = await c.http.get("/api/v3/klines", params={"symbol": "BTCUSDT"})
    assert r.json() == {"code": -1102, "msg": "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."}


async def test_tickers_depth_avg_price_shapes(venue_env) -> None:
    _srv, c = await venue_env()
    cases = [("/api/v3/ticker/price", "spot/rest/tickerPrice_BTCUSDT_2021-10-22.json", set()),
             ("/api/v3/ticker/bookTicker", "spot/rest/bookTicker_BTCUSDT_2021-10-22.json", set()),
             ("/api/v3/depth", "spot/rest/depth_BTCUSDT_2021-10-22.json", set()),
             # closeTime was added to avgPrice in 2023, after this capture.
             ("/api/v3/avgPrice", "spot/rest/avgPrice_BTCUSDT_2021-10-22.json", {"closeTime"})]
    for path, ref, extra in cases:
        r = await c.http.get(path, params={"symbol": "BTCUSDT"})
        assert r.status_code == 200, path
        assert not same_shape(r.json(), payload(ref), ignore_extra=extra), path
    d = (await c.http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5})).json()
    bids = [Decimal(p) for p, _ in d["bids"]]
    asks = [Decimal(p) for p, _ in d["asks"]]
    assert len(bids) == len(asks) == 5 and bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    allp = (await c.http.get("/api/v3/ticker/price")).json()
    assert isinstance(allp, list) and allp[0]["symbol"] == "BTCUSDT"
    t = (await c.http.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})).json()
    assert {"priceChange", "lastPrice", "volume", "openTime", "closeTime", "count"} <= set(t)
    assert np.isclose(float(t["lastPrice"]), 100)
