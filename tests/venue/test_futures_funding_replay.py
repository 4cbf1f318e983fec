"""The real 2025-2026 BTCUSDT funding file replayed over a held position: the venue pays exactly
the sum of rate × notional at each settlement, notional = position size × mark price at that
instant (the 1h bar's open: settlements fall on bar boundaries, premium 0). Skipped when the
shared data is not present (the repo does not carry it)."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tradeterm.venue.config import VenueConfig
from tradeterm.venue.datasource import file_source
from tradeterm.venue.futures_engine import OrderSpec
from tradeterm.venue.venue import Venue

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CANDLES = DATA / "candles" / "binance_um_BTCUSDT_1h_20250101-20260731.csv"
FUNDING = DATA / "funding" / "binance_um_BTCUSDT_funding_20250101-20260731.csv"


@pytest.mark.skipif(not (CANDLES.exists() and FUNDING.exists()), reason="shared data not available")
def test_real_funding_file_over_a_held_short() -> None:
    cfg = VenueConfig(sources=[file_source(CANDLES, symbol="BTCUSDT")], speed=None, paused=True, history_bars=0,
                      funding_files={"BTCUSDT": str(FUNDING)}, futures_balance=Decimal(100000))
    venue = Venue(cfg)
    fm = venue.futures
    assert fm is not None
    qty = Decimal("0.01")
    fm.engine.set_leverage("BTCUSDT", 5)
    fm.engine.place_order(OrderSpec("BTCUSDT", "SELL", "MARKET", qty), venue.market_ms)
    t0 = venue.market_ms
    se = venue.series["BTCUSDT"]
    end = se.last_close
    venue.clock.advance_to(end)
    venue.sync()

    opens = {}
    with open(CANDLES) as f:
        for row in csv.DictReader(f):
            opens[int(row["openTime"])] = Decimal(row["open"])
    expected = Decimal(0)
    n = 0
    with open(FUNDING) as f:
        for row in csv.DictReader(f):
            t = int(row["fundingTime"]) // 1000 * 1000
            if t0 < t <= end:
                fee = (qty * opens[t] * Decimal(row["fundingRate"])).quantize(Decimal("0.00000001"), ROUND_HALF_UP)
                expected += fee  # a short receives a positive rate
                n += 1
    paid = [i for i in fm.engine.income if i.type == "FUNDING_FEE"]
    assert len(paid) == n == 1730
    assert sum(i.amount for i in paid) == expected
    assert fm.engine.position("BTCUSDT").amt == -qty
