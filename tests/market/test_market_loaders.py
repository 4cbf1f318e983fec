"""Loaders: every format we claim to read, and a one-line error naming file and row for bad input."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tradeterm.contracts import Timeframe
from tradeterm.errors import UserError
from tradeterm.market.frame import CandleFrame
from tradeterm.market.loaders import check_frame, infer_name, load_klines

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CANDLES = DATA / "candles"
ADA = CANDLES / "binance_vision_format" / "ADABTC-1m-2021-11-27.csv"
needs_data = pytest.mark.skipif(not CANDLES.is_dir(), reason="shared data folder not present")
COLS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _same(a: CandleFrame, b: CandleFrame) -> None:
    assert (a.symbol, a.tf, len(a)) == (b.symbol, b.tf, len(b))
    for c in COLS:
        assert np.array_equal(getattr(a, c), getattr(b, c)), c


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


SIMPLE_HEADER = "open_time,open,high,low,close,volume\n"


def _simple_rows(n: int, start: int = T0, step: int = 3_600_000) -> list[str]:
    return [f"{start + i * step},{100 + i},{102 + i},{99 + i},{101 + i},{1.5 + i}" for i in range(n)]


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("BTCUSDT-1m-2024-01.csv", ("BTCUSDT", Timeframe.M1)),
        ("ETHUSDT-1M-2024-01.zip", ("ETHUSDT", Timeframe.MO1)),
        ("ADABTC-1m-2021-11-27.csv", ("ADABTC", Timeframe.M1)),
        ("binance_um_BTCUSDT_1h_20250101-20260731.csv", ("BTCUSDT", Timeframe.H1)),
        ("binance_um_BTCUSDT_15m_20230102-20230209_DERIVED_from_5m.csv", ("BTCUSDT", Timeframe.M15)),
        ("binanceus_BTCUSDT_1m_20230301-20230321.csv", ("BTCUSDT", Timeframe.M1)),
        ("XRP_USDT_USDT-1h-futures.json.gz", ("XRPUSDT", Timeframe.H1)),
        ("data.csv", (None, None)),
    ],
)
def test_symbol_and_timeframe_from_file_names(name: str, want: tuple[str | None, Timeframe | None]) -> None:
    assert infer_name(name) == want


# ----------------------------------------------------------------------------- formats
@needs_data
def test_binance_vision_headerless_csv() -> None:
    f = load_klines(ADA)
    assert (f.symbol, f.tf, len(f)) == ("ADABTC", Timeframe.M1, 10)
    assert f.open_time[0] == 1637971200000 and f.open[0] == 0.00002853 and f.volume[0] == 36304.2
    assert f.quote_volume[0] == 1.03547608 and f.trades[0] == 79
    assert f.taker_buy_base[0] == 19523.0 and f.taker_buy_quote[0] == 0.55694227
    assert check_frame(f).ok


@needs_data
def test_zipped_csv_equals_plain(tmp_path: Path) -> None:
    z = tmp_path / "ADABTC-1m-2021-11-27.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(ADA, ADA.name)
    _same(load_klines(z), load_klines(ADA))


@needs_data
def test_microsecond_timestamps_of_2025_spot_archives(tmp_path: Path) -> None:
    rows = [line.split(",") for line in ADA.read_text().splitlines()]
    for r in rows:
        r[0] = str(int(r[0]) * 1000)  # open time in µs
        r[6] = str(int(r[6]) * 1000 + 999)  # close time: last µs of the bar
    p = _write(tmp_path / "ADABTC-1m-2025-01-01.csv", "\n".join(",".join(r) for r in rows) + "\n")
    _same(load_klines(p), load_klines(ADA))
    # With a name that says nothing, the timeframe still comes out of the µs close times.
    q = _write(tmp_path / "sample.csv", p.read_text())
    assert load_klines(q, symbol="ADABTC").tf is Timeframe.M1


@needs_data
def test_binance_csv_with_header_and_12_columns() -> None:
    f = load_klines(CANDLES / "binance_um_BTCUSDT_4h_20250101-20260731.csv")
    assert (f.symbol, f.tf, len(f)) == ("BTCUSDT", Timeframe.H4, 3_462)
    assert (f.open[0], f.high[0], f.low[0], f.close[0]) == (93548.8, 94449.2, 93460.2, 93810.0)
    assert (f.volume[0], f.quote_volume[0], f.trades[0]) == (13962.019, 1311013770.8959, 294085)


@needs_data
def test_simple_csvs_with_naive_and_offset_times() -> None:
    spot = load_klines(CANDLES / "binance_spot_BTCUSDT_15m_20260121-20260126.csv")
    assert (spot.tf, len(spot), spot.open_time[0]) == (Timeframe.M15, 500, 1768961700000)  # 2026-01-21 02:15 UTC
    assert spot.quote_volume[0] == 0 and spot.trades[0] == 0  # absent columns are zeros
    us = load_klines(CANDLES / "binanceus_BTCUSDT_1m_20230301-20230321.csv")
    assert (us.tf, len(us), us.open_time[0], us.open_time[-1]) == (Timeframe.M1, 30_240, 1677628800000, 1677628800000 + 30_239 * 60_000)


@needs_data
def test_pandas_columns_json_and_rest_klines_json_and_gzipped_lists() -> None:
    five = load_klines(CANDLES / "binance_um_BTCUSDT_5m_20230102-20230209.json")
    assert (five.symbol, five.tf, len(five), five.open_time[0]) == ("BTCUSDT", Timeframe.M5, 10_999, 1672677900000)
    rest = load_klines(DATA / "binance_payloads" / "spot" / "rest" / "klines_BTCUSDT_1m_2021-10-22.json", symbol="BTCUSDT")
    assert (rest.tf, len(rest), rest.open[0], rest.trades[0]) == (Timeframe.M1, 10, 60685.22, 617)
    xrp = load_klines(CANDLES / "freqtrade_format" / "futures" / "XRP_USDT_USDT-1h-futures.json.gz")
    assert (xrp.symbol, xrp.tf, len(xrp)) == ("XRPUSDT", Timeframe.H1, 100)


def test_records_json_iso_offsets_and_timeframe_from_spacing(tmp_path: Path) -> None:
    records = [
        {"timestamp": "2024-01-01T02:00:00+02:00", "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume": 10},
        {"timestamp": "2024-01-01T00:05:00Z", "open": 1.5, "high": 2, "low": 1, "close": 1.2, "volume": 0},
        {"timestamp": "2024-01-01T00:10:00", "open": 1.2, "high": 1.3, "low": 1.1, "close": 1.3, "volume": 3},
    ]
    f = load_klines(_write(tmp_path / "x.json", json.dumps(records)), symbol="abcusdt")
    assert (f.symbol, f.tf) == ("ABCUSDT", Timeframe.M5)
    assert list(f.open_time) == [T0, T0 + 300_000, T0 + 600_000]


def test_epoch_seconds_and_explicit_timeframe(tmp_path: Path) -> None:
    rows = [f"{T0 // 1000 + i * 86_400},1,1,1,1,1" for i in range(3)]
    f = load_klines(_write(tmp_path / "d.csv", SIMPLE_HEADER + "\n".join(rows)), symbol="X", tf="1d")
    assert f.tf is Timeframe.D1 and f.open_time[0] == T0


def test_sorting_dedup_and_conflict_policies(tmp_path: Path) -> None:
    r = _simple_rows(4)
    p = _write(tmp_path / "BTCUSDT-1h-2024-01.csv", SIMPLE_HEADER + "\n".join([r[2], r[0], r[1], r[1], r[3]]))
    f = load_klines(p)
    assert list(f.open_time) == [T0 + i * 3_600_000 for i in range(4)] and list(f.open) == [100, 101, 102, 103]
    with pytest.raises(UserError) as e:
        load_klines(p, strict=True)
    assert str(e.value) == (
        "BTCUSDT-1h-2024-01.csv line 3: open time 2024-01-01 00:00:00 UTC is before the previous row's 2024-01-01 02:00:00 UTC"
    )
    conflict = r[1].replace(",102,", ",102.5,")
    q = _write(tmp_path / "BTCUSDT-1h-2024-02.csv", SIMPLE_HEADER + "\n".join([r[0], r[1], r[2], conflict]))
    with pytest.raises(UserError) as e:
        load_klines(q)
    assert str(e.value) == (
        "BTCUSDT-1h-2024-02.csv line 5: open time 2024-01-01 01:00:00 UTC appears again with different values "
        "(first at line 3); pass on_conflict='last' or 'first' to choose"
    )
    assert load_klines(q, on_conflict="last").close[1] == 102.5
    assert load_klines(q, on_conflict="first").close[1] == 102


def test_drop_unfinished_uses_close_time_against_now(tmp_path: Path) -> None:
    p = _write(tmp_path / "BTCUSDT-1h-2024-01.csv", SIMPLE_HEADER + "\n".join(_simple_rows(3)))
    assert len(load_klines(p, drop_unfinished=True, now_ms=T0 + 2 * 3_600_000 + 5)) == 2
    assert len(load_klines(p, drop_unfinished=True, now_ms=T0 + 3 * 3_600_000)) == 3  # last closed at …:59.999
    assert len(load_klines(p, drop_unfinished=True)) == 3  # the wall clock is long past 2024


# ----------------------------------------------------------------------------- bad input
BAD_CASES = [
    ("wrong_count.csv", "1704067200000,1,1,1,1,1,1704067259999,1,1,1,1,0\n1704067260000,1,1,1,1,1,1704067319999,1,1,1,0\n",
     "wrong_count.csv line 2: expected 12 columns, found 11"),
    ("seven.csv", "1704067200000,1,1,1,1,1,7\n", "seven.csv line 1: expected 12 columns (Binance kline layout) or a header row, found 7"),
    ("nonnum.csv", SIMPLE_HEADER + "1704067200000,1,2,0.5,abc,3\n", "nonnum.csv line 2: close 'abc' is not a number"),
    ("data.csv", SIMPLE_HEADER + "\n".join(_simple_rows(15, step=60_000)) + "\n1704068100000,11,10,12,11,1\n",
     "data.csv line 17: high 10 below low 12"),
    ("wick.csv", SIMPLE_HEADER + "1704067200000,10,11,9.5,11.5,1\n", "wick.csv line 2: high 11 below close 11.5"),
    ("neg.csv", SIMPLE_HEADER + "1704067200000,10,11,9,10,-1\n", "neg.csv line 2: volume -1 is negative"),
    ("nan.csv", SIMPLE_HEADER + "1704067200000,10,nan,9,10,1\n", "nan.csv line 2: high is nan"),
    ("time.csv", SIMPLE_HEADER + "yesterday,10,11,9,10,1\n", "time.csv line 2: open time 'yesterday' is not a time (epoch s/ms/µs or ISO 8601)"),
    ("nohigh.csv", "open_time,open,hi,low,close,volume\n1704067200000,1,1,1,1,1\n",
     "nohigh.csv: no 'high' column (columns: open_time, open, hi, low, close, volume)"),
    ("empty.csv", SIMPLE_HEADER, "empty.csv: no candles in the file"),
    ("odd.csv", SIMPLE_HEADER + "1704067200000,1,1,1,1,1\n1704067620000,1,1,1,1,1\n",
     "odd.csv: open times are 420000 ms apart, which is no Binance interval; pass tf="),
    ("bad.json", '{"open": [1, 2]}', "bad.json: JSON is neither a list of klines nor a pandas-style table"),
    ("short.json", "[[1704067200000, 1, 1, 1]]", "short.json item 0: expected 12 fields (Binance kline) or 6 (time, OHLCV), found 4"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_files_say_file_line_and_problem(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(UserError) as e:
        load_klines(_write(tmp_path / name, text), symbol="BTCUSDT")
    assert str(e.value) == message


def test_more_refusals(tmp_path: Path) -> None:
    p = _write(tmp_path / "data.csv", SIMPLE_HEADER + "\n".join(_simple_rows(3)))
    with pytest.raises(UserError, match=r"^data.csv: cannot tell the symbol from the file name; pass symbol=$"):
        load_klines(p)
    with pytest.raises(UserError, match=r"^data.csv line 3: open time 2024-01-01 01:00:00 UTC is not on a 4h boundary"):
        load_klines(p, symbol="BTCUSDT", tf="4h")
    with pytest.raises(UserError, match=r"nope.csv: no such file$"):
        load_klines(tmp_path / "nope.csv")
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.csv", "x")
        zf.writestr("b.csv", "y")
    with pytest.raises(UserError, match=r"^two.zip: expected one file inside the zip, found 2$"):
        load_klines(z, symbol="X")
    g = tmp_path / "bad.csv.gz"
    g.write_bytes(gzip.compress((SIMPLE_HEADER + "1704067200000,1,1,1,x,1\n").encode()))
    with pytest.raises(UserError, match=r"^bad.csv.gz line 2: close 'x' is not a number$"):
        load_klines(g, symbol="X")
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("BTCUSDT-1m-2024-01.csv", "1704067200000,1,1,2,1,1,1704067259999,1,1,1,1,0\n")
    with pytest.raises(UserError, match=r"^inner.zip:BTCUSDT-1m-2024-01.csv line 1: high 1 below low 2$"):
        load_klines(inner, symbol="BTCUSDT", tf="1m")


@needs_data
def test_feather_is_refused_with_advice() -> None:
    with pytest.raises(UserError, match="feather files are not supported"):
        load_klines(CANDLES / "freqtrade_format" / "XRP_ETH-5m.feather")


# ----------------------------------------------------------------------------- check_frame
def test_check_frame_reports_every_kind_of_problem() -> None:
    h = 3_600_000
    t = np.array([T0, T0 + h, T0 + 4 * h, T0 + 4 * h, T0 + 3 * h, T0 + 5 * h + 1, T0 + 9 * h])
    o = np.array([10.0, 10, 10, 10, 10, 10, 10])
    hi = np.array([11.0, 11, 11, 11, 9, 11, 11])  # row 4: high below open
    lo = np.array([9.0, 9, 9, 9, 8, np.nan, 9])  # row 5: NaN
    f = CandleFrame.from_columns("BTCUSDT", "1h", t, o, hi, lo, o, np.ones(7))
    rep = check_frame(f)
    assert not rep.ok and rep.rows == 7 and (rep.first_open, rep.last_open) == (T0, T0 + 9 * h)
    assert rep.duplicates == [T0 + 4 * h]
    assert rep.non_monotonic == [3, 4]
    assert rep.misaligned == [5]
    assert rep.ohlc_violations == [4] and rep.bad_values == [5]
    # On-grid open times: 0, 1, 3, 4, 9 h → holes [2h, 3h) and [5h, 9h): 1 + 4 bars missing.
    assert rep.gaps == [(T0 + 2 * h, T0 + 3 * h), (T0 + 5 * h, T0 + 9 * h)]
    assert rep.missing_bars == 5
    assert rep.summary()[0].startswith("2 gap(s), 5 missing bar(s): 2024-01-01 02:00:00 UTC → 2024-01-01 03:00:00 UTC")
    assert len(rep.summary()) == 6


@needs_data
def test_check_frame_finds_the_quiet_minutes_missing_from_binance_archives() -> None:
    f = load_klines(CANDLES / "freqtrade_format" / "futures" / "XRP_USDT_USDT-1h-futures.json.gz")
    assert check_frame(f).ok
    day = load_klines(CANDLES / "binance_vision_format" / "ADABTC-1m-2021-11-28.csv")
    assert check_frame(day).ok and len(day) == 11


def test_headerless_six_columns_and_pandas_csv_with_index(tmp_path: Path) -> None:
    rows = [f"2024-01-01 0{i}:00:00,{10 + i},{12 + i},{9 + i},{11 + i},{i}" for i in range(3)]
    f = load_klines(_write(tmp_path / "ETHUSDT-1h-2024-01.csv", "\n".join(rows) + "\n"))
    assert (f.symbol, f.tf, list(f.open_time), list(f.close)) == ("ETHUSDT", Timeframe.H1, [T0, T0 + 3_600_000, T0 + 7_200_000], [11, 12, 13])
    pandas_csv = ",date,Open,High,Low,Close,Volume\n" + "\n".join(f"{i},{r}" for i, r in enumerate(rows))
    _same(load_klines(_write(tmp_path / "ETHUSDT-1h-2024-02.csv", pandas_csv)), f)
