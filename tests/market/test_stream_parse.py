"""Kline and mark-price parsing: real payload shapes accepted, every kind of garbage refused with
the right kind, REST rows turned into a clean frame, rejects counted and logged once per kind."""

from __future__ import annotations

import copy
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradeterm.contracts import Timeframe
from tradeterm.market.funding import FundingTracker, parse_mark_price
from tradeterm.market.kline_parse import (
    BadInput,
    RejectLog,
    parse_kline,
    rest_rows_to_frame,
    to_candle,
)

PAYLOADS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "binance_payloads"
T = 1_700_000_040_000 - 1_700_000_040_000 % 60_000

KLINE: dict[str, Any] = {
    "e": "kline", "E": T + 1234, "s": "BTCUSDT",
    "k": {"t": T, "T": T + 59_999, "s": "BTCUSDT", "i": "1m", "f": 100, "L": 200, "o": "0.0010",
          "c": "0.0020", "h": "0.0025", "l": "0.0009", "v": "1000", "n": 100, "x": False,
          "q": "1.0000", "V": "500", "Q": "0.500", "B": "123456"},
}


def mutate(path: str, value: Any) -> dict[str, Any]:
    msg = copy.deepcopy(KLINE)
    node = msg
    *parents, leaf = path.split(".")
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return msg


_DELETE = object()


def test_documented_shape_parses() -> None:
    k = parse_kline(KLINE)
    assert (k.symbol, k.tf, k.open_time, k.close_time, k.event_time) == ("BTCUSDT", Timeframe.M1, T, T + 59_999,
                                                                        T + 1234)
    assert (k.open, k.high, k.low, k.close, k.volume, k.trades, k.closed) == (0.001, 0.0025, 0.0009, 0.002, 1000.0,
                                                                              100, False)
    c = to_candle(parse_kline(mutate("k.x", True)), "binance-spot")
    assert c.closed and c.taker_buy_base == 500.0 and c.quote_volume == 1.0


def _capture(rel: str) -> Any:
    p = PAYLOADS / rel
    if not p.exists():
        pytest.skip(f"shared Binance payload capture {rel} is not available")
    return json.loads(p.read_text())


def test_documented_futures_kline_parses() -> None:
    data = _capture("docs_examples/futures/market_kline_stream_closed.json")
    k = parse_kline(data)
    assert (k.closed, k.open_time, k.close, k.taker_buy_quote) == (True, data["k"]["t"], float(data["k"]["c"]),
                                                                   float(data["k"]["Q"]))


def test_documented_open_kline_placeholder_is_refused() -> None:
    # Binance's own example has low 0.0015 above open 0.0010: no real candle looks like that.
    with pytest.raises(BadInput) as exc:
        parse_kline(_capture("docs_examples/futures/market_kline_stream_open.json"))
    assert exc.value.kind == "bad_value" and "high/low" in exc.value.detail


def test_real_rest_klines_capture_parses_exactly() -> None:
    rows = _capture("spot/rest/klines_BTCUSDT_1m_2021-10-22.json")
    rl = RejectLog("rest")
    f = rest_rows_to_frame(rows, "BTCUSDT", Timeframe.M1, rl)
    assert rl.total == 0 and len(f) == len(rows)
    assert f.open_time.tolist() == [r[0] for r in rows]
    assert f.quote_volume.tolist() == [float(r[7]) for r in rows] and f.trades.tolist() == [r[8] for r in rows]


def test_documented_mark_price_parses() -> None:
    data = _capture("docs_examples/futures/market_mark_price_stream.json")
    w = parse_mark_price(data, "binance-usdm")
    assert (w.rate, w.funding_time, w.interval_hours) == (Decimal(data["r"]), data["T"], 8)


@pytest.mark.parametrize(
    ("path", "value", "kind"),
    [
        ("k.o", "NaN", "bad_value"),
        ("k.h", "inf", "bad_value"),
        ("k.v", "-1", "bad_value"),
        ("k.c", "0", "bad_value"),
        ("k.h", "0.0001", "bad_value"),  # high below open/close
        ("k.V", "2000", "bad_value"),  # taker volume above volume
        ("k.n", -5, "bad_value"),
        ("k.i", "7m", "bad_value"),
        ("k.t", T + 1, "bad_value"),  # off the 1m grid
        ("k.T", T - 5, "bad_value"),
        ("k.o", "abc", "bad_type"),
        ("k.o", None, "bad_type"),
        ("k.o", [1], "bad_type"),
        ("k.t", str(T), "bad_type"),
        ("k.t", float(T), "bad_type"),
        ("k.x", "true", "bad_type"),
        ("k.x", 1, "bad_type"),
        ("E", "now", "bad_type"),
        ("k.s", 5, "bad_type"),
        ("k.c", _DELETE, "bad_type"),
        ("k", "not an object", "bad_type"),
    ],
)
def test_bad_klines_are_refused_by_kind(path: str, value: Any, kind: str) -> None:
    with pytest.raises(BadInput) as exc:
        parse_kline(mutate(path, value))
    assert exc.value.kind == kind


def test_reject_log_counts_every_one_and_logs_each_kind_once(caplog: pytest.LogCaptureFixture) -> None:
    rl = RejectLog("test")
    with caplog.at_level(logging.WARNING, "tradeterm.market"):
        for _ in range(5):
            rl.add("bad_value", "x")
        rl.add("malformed_json", "y")
    assert rl.counts == {"bad_value": 5, "malformed_json": 1} and rl.total == 6
    assert len([r for r in caplog.records if "ignored" in r.getMessage()]) == 2


def test_rest_rows_become_a_sorted_frame_and_bad_rows_are_dropped() -> None:
    def row(t: int, o: str = "10", h: str = "11", lo: str = "9", c: str = "10.5", v: str = "2") -> list[Any]:
        return [t, o, h, lo, c, v, t + 59_999, "21", 7, "1", "10.5", "0"]

    rows = [row(T + 120_000), row(T), row(T + 60_000, v="-3"), row(T + 180_000, h="NaN"), "junk",
            [T + 240_000, "1"], row(T + 7), row(T, c="10.75")]
    rl = RejectLog("rest")
    f = rest_rows_to_frame(rows, "BTCUSDT", Timeframe.M1, rl)
    assert f.open_time.tolist() == [T, T + 120_000]
    assert f.close.tolist() == [10.75, 10.5]  # a repeated bar: the later row wins
    assert f.trades.tolist() == [7, 7] and f.quote_volume.tolist() == [21.0, 21.0]
    assert rl.counts == {"bad_value": 3, "bad_type": 2}


MARK = {"e": "markPriceUpdate", "E": T + 5, "s": "BTCUSDT", "p": "11794.15000000", "ap": "11794.1",
        "i": "11784.62659091", "P": "11784.25641265", "r": "0.00038167", "T": T + 3_600_000}


def test_mark_price_becomes_a_funding_window() -> None:
    w = parse_mark_price(MARK, "binance-usdm", interval_hours=4)
    assert w.rate == Decimal("0.00038167") and w.mark_price == Decimal("11794.15000000")
    assert w.index_price == Decimal("11784.62659091") and w.funding_time == T + 3_600_000
    assert w.observed_at == T + 5 and w.interval_hours == 4 and w.venue == "binance-usdm"
    assert parse_mark_price({**MARK, "i": "0"}, "binance-usdm").index_price is None


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("r", "NaN", "bad_value"), ("r", "abc", "bad_type"), ("p", "-1", "bad_value"), ("T", 0, "bad_value"),
    ("T", "soon", "bad_type"), ("p", None, "bad_type"), ("s", None, "bad_type"),
])
def test_bad_mark_prices_are_refused(field: str, value: Any, kind: str) -> None:
    with pytest.raises(BadInput) as exc:
        parse_mark_price({**MARK, field: value}, "binance-usdm")
    assert exc.value.kind == kind


def test_funding_tracker_keeps_settlement_changes_and_a_sample_per_interval() -> None:
    tr = FundingTracker("binance-usdm", persist_every_ms=60_000)
    tr.symbols.add("BTCUSDT")
    tr.intervals["BTCUSDT"] = 1
    kept = []
    for i in range(0, 150_000, 1000):
        ft = T + 3_600_000 if i < 100_000 else T + 7_200_000
        w, keep = tr.on_event({**MARK, "E": T + i, "T": ft})
        assert w.interval_hours == 1
        if keep:
            kept.append(i)
    assert kept == [0, 60_000, 100_000]
    with pytest.raises(BadInput) as exc:
        tr.on_event({**MARK, "E": T})  # older than the newest seen
    assert exc.value.kind == "stale"
    with pytest.raises(BadInput) as exc:
        tr.on_event({**MARK, "s": "ETHUSDT"})
    assert exc.value.kind == "unsubscribed"
