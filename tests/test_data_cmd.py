"""``tradeterm data fetch|import|export|check`` against a loopback venue and temporary databases,
called the way the CLI calls them."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tradeterm.commands import data
from tradeterm.config import Settings
from tradeterm.contracts import Timeframe
from tradeterm.errors import UserError
from tradeterm.market.synthetic import SyntheticMarket
from tradeterm.store import create_store
from tradeterm.venue.app import VenueServer
from tradeterm.venue.config import VenueConfig

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tradeterm")
    data.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


async def run(argv: list[str], settings: Settings) -> int:
    args = parse(argv)
    return await args.handler(args, settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'default.db'}")


@pytest.fixture
async def venue() -> AsyncIterator[VenueServer]:
    srv = VenueServer(VenueConfig(synthetic=["BTCUSDT"], speed=None, paused=True, history_bars=2500,
                                  start_ms=T0))
    await srv.start()
    srv.venue.step(1)
    yield srv
    await srv.stop()


async def venue_closed(srv: VenueServer, start: int, end: int | None = None) -> list[int]:
    out: list[list] = []
    async with httpx.AsyncClient(base_url=srv.rest_url) as http:
        cursor = start
        while True:
            params = {"symbol": "BTCUSDT", "interval": "1m", "limit": 1000, "startTime": cursor}
            page = (await http.get("/api/v3/klines", params=params)).json()
            out += page
            if len(page) < 1000:
                break
            cursor = page[-1][0] + 1
    rows = out[:-1]  # the last one is forming
    return [r[0] for r in rows if end is None or r[0] < end]


async def stored_times(db: str, tf: str = "1m") -> list[int]:
    async with create_store(db) as store:
        f = await store.fetch_candles("binance-spot", "BTCUSDT", tf)
    return [] if f is None else f.open_time.tolist()


async def test_fetch_pages_into_the_store_resumes_and_fills_holes(venue, settings, tmp_path, capsys) -> None:
    db = f"sqlite:///{tmp_path / 'f.db'}"
    base = ["data", "fetch", "--venue", "binance-spot", "--symbol", "btcusdt", "--tf", "1m", "--since",
            "2024-01-01", "--base-url", venue.rest_url, "--db", db]
    assert await run(base + ["--until", "2024-01-01T10:00"], settings) == 0
    assert await stored_times(db) == await venue_closed(venue, T0, T0 + 600 * 60_000)
    assert "fetched 600 new candle(s)" in capsys.readouterr().out
    # The rest of the history, with a 429 burst in the middle: Retry-After is honoured.
    venue.venue.faults.update({"burst_429": 1})
    assert await run(base, settings) == 0
    want = await venue_closed(venue, T0)
    assert await stored_times(db) == want and len(want) > 2000
    # Punch holes, as an interrupted earlier run or a lost file would; a re-run fetches only them.
    con = sqlite3.connect(tmp_path / "f.db")
    con.execute("DELETE FROM candles WHERE open_time IN (?, ?, ?)", (T0, T0 + 5 * 60_000, T0 + 6 * 60_000))
    con.commit()
    con.close()
    capsys.readouterr()
    assert await run(base, settings) == 0
    assert "fetched 3 new candle(s) in 3 range(s)" in capsys.readouterr().out
    assert await stored_times(db) == want


async def test_fetch_futures_klines(venue, settings, tmp_path, capsys) -> None:
    if getattr(venue.venue, "futures", None) is None:
        pytest.skip("this venue build serves spot only")
    db = f"sqlite:///{tmp_path / 'u.db'}"
    argv = ["data", "fetch", "--venue", "binance-usdm", "--symbol", "BTCUSDT", "--tf", "1h", "--since",
            "2024-01-01", "--base-url", venue.rest_url, "--db", db]
    assert await run(argv, settings) == 0
    async with create_store(db) as store:
        got = await store.fetch_candles("binance-usdm", "BTCUSDT", "1h")
    async with httpx.AsyncClient(base_url=venue.rest_url) as http:
        rows = (await http.get("/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1h",
                                                           "startTime": T0, "limit": 1500})).json()
    assert got is not None and got.open_time.tolist() == [r[0] for r in rows[:-1]]
    assert "binance-usdm BTCUSDT 1h: fetched" in capsys.readouterr().out


async def test_fetch_refuses_bad_input_with_one_line(venue, settings) -> None:
    base = ["data", "fetch", "--venue", "binance-spot", "--since", "2024-01-01", "--base-url", venue.rest_url]
    with pytest.raises(UserError, match="Invalid symbol"):
        await run(base + ["--symbol", "NOPEUSDT", "--tf", "1m"], settings)
    with pytest.raises(UserError, match="not a Binance interval"):
        await run(base + ["--symbol", "BTCUSDT", "--tf", "7m"], settings)
    with pytest.raises(UserError, match="is not a date"):
        await run(["data", "fetch", "--venue", "binance-spot", "--symbol", "BTCUSDT", "--tf", "1m", "--since",
                   "yesterday"], settings)
    with pytest.raises(UserError, match="no 1s klines"):
        await run(["data", "fetch", "--venue", "binance-usdm", "--symbol", "BTCUSDT", "--tf", "1s", "--since",
                   "2024-01-01"], settings)
    with pytest.raises(SystemExit):
        parse(["data", "fetch", "--venue", "kraken", "--symbol", "BTCUSDT", "--tf", "1m", "--since", "2024-01-01"])


def write_binance_csv(path: Path, frame) -> None:
    lines = []
    for i in range(len(frame)):
        t = int(frame.open_time[i])
        lines.append(",".join(str(x) for x in (
            t, frame.open[i], frame.high[i], frame.low[i], frame.close[i], frame.volume[i], t + 59_999,
            frame.quote_volume[i], frame.trades[i], frame.taker_buy_base[i], frame.taker_buy_quote[i], 0)))
    path.write_text("\n".join(lines) + "\n")


async def test_import_export_round_trip_and_check(settings, tmp_path, capsys) -> None:
    frame = SyntheticMarket("BTCUSDT", seed=5, start_ms=T0).generate(3000)
    a = tmp_path / "BTCUSDT-1m-2024-01.csv"
    write_binance_csv(a, frame.slice(0, 1500))
    b = tmp_path / "BTCUSDT-1m-2024-02.csv"
    write_binance_csv(b, frame.slice(1500, 3000))
    assert await run(["data", "import", str(a), str(b)], settings) == 0  # the default database
    out = capsys.readouterr().out
    assert "BTCUSDT-1m-2024-01.csv: 1500 BTCUSDT 1m candle(s)" in out
    default_db = settings.effective_database_url
    assert await stored_times(default_db) == frame.open_time.tolist()

    csv_out, pq_out = tmp_path / "out.csv", tmp_path / "out.parquet"
    assert await run(["data", "export", "--symbol", "BTCUSDT", "--tf", "1m", "--since", "2024-01-01T01:00",
                      "--until", "2024-01-02T00:00", "--out", str(csv_out)], settings) == 0
    assert await run(["data", "export", "--symbol", "BTCUSDT", "--tf", "1m", "--out", str(pq_out)], settings) == 0
    # CSV: readable back by import, bit for bit.
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert await run(["data", "import", str(csv_out), "--symbol", "BTCUSDT", "--tf", "1m", "--db", other],
                     settings) == 0
    async with create_store(other) as store:
        back = await store.fetch_candles("binance-spot", "BTCUSDT", "1m")
    sel = slice(60, 1440)
    for col in ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base",
                "taker_buy_quote"):
        assert np.array_equal(getattr(back, col), getattr(frame, col)[sel]), col
    # Parquet: typed columns, all rows.
    import pyarrow.parquet as pq

    table = pq.read_table(pq_out)
    assert table.num_rows == 3000 and str(table.schema.field("open_time").type) == "int64"
    assert table.column("close").to_numpy().tolist() == frame.close.tolist()
    assert table.column("close_time").to_numpy().tolist() == (frame.open_time + 59_999).tolist()

    capsys.readouterr()
    assert await run(["data", "check", "--symbol", "BTCUSDT", "--tf", "1m"], settings) == 0
    assert "3000 candle(s)" in capsys.readouterr().out
    con = sqlite3.connect(tmp_path / "default.db")
    con.execute("DELETE FROM candles WHERE open_time BETWEEN ? AND ?", (T0 + 100 * 60_000, T0 + 102 * 60_000))
    con.commit()
    con.close()
    assert await run(["data", "check"], settings) == 1  # every stored series
    out = capsys.readouterr().out
    assert "binance-spot BTCUSDT 1m: 2997 candle(s)" in out and "1 gap(s), 3 missing bar(s)" in out


async def test_check_file_reports_duplicates_gaps_and_bad_rows(settings, tmp_path, capsys) -> None:
    frame = SyntheticMarket("BTCUSDT", seed=6, start_ms=T0).generate(50)
    good = tmp_path / "BTCUSDT-1m-2024-01.csv"
    write_binance_csv(good, frame)
    assert await run(["data", "check", str(good)], settings) == 0
    assert ": ok" in capsys.readouterr().out
    lines = good.read_text().splitlines()
    dup = tmp_path / "BTCUSDT-1m-2024-02.csv"
    dup.write_text("\n".join(lines[:10] + lines[9:10] + lines[12:]) + "\n")  # a repeat and a 2-bar gap
    assert await run(["data", "check", str(dup)], settings) == 1
    out = capsys.readouterr().out
    assert "repeats the previous row" in out and "1 gap(s), 2 missing bar(s)" in out
    bad = tmp_path / "BTCUSDT-1m-2024-03.csv"
    cells = lines[3].split(",")
    cells[2] = "-5"
    bad.write_text("\n".join(lines[:3] + [",".join(cells)] + lines[4:]) + "\n")
    assert await run(["data", "check", str(bad)], settings) == 1
    assert "line 4: high -5 is not positive" in capsys.readouterr().out


async def test_export_and_check_refuse_bad_input(settings, tmp_path) -> None:
    with pytest.raises(UserError, match="use a .csv or .parquet"):
        await run(["data", "export", "--symbol", "BTCUSDT", "--tf", "1m", "--out", str(tmp_path / "x.txt")],
                  settings)
    with pytest.raises(UserError, match="no stored binance-spot BTCUSDT 1m candles"):
        await run(["data", "export", "--symbol", "BTCUSDT", "--tf", "1m", "--out", str(tmp_path / "x.csv")],
                  settings)
    with pytest.raises(UserError, match="pass both --symbol and --tf"):
        await run(["data", "check", "--symbol", "BTCUSDT"], settings)
    with pytest.raises(UserError, match="cannot tell the symbol"):
        await run(["data", "import", str(tmp_path / "candles.csv")], settings)


def test_missing_ranges() -> None:
    tf = Timeframe.M1
    m = 60_000
    stored = np.array([2 * m, 3 * m, 7 * m], dtype=np.int64)
    assert data.missing_ranges(stored, tf, 0, 10 * m) == [(0, 2 * m), (4 * m, 7 * m), (8 * m, 10 * m)]
    assert data.missing_ranges(stored, tf, 2 * m, None) == [(4 * m, 7 * m), (8 * m, None)]
    assert data.missing_ranges(np.empty(0, np.int64), tf, 0, 8 * m) == [(0, 8 * m)]
    assert data.parse_time("2024-01-01", "--since") == T0
    assert data.parse_time("2024-01-01T01:30:00+01:00", "--since") == T0 + 30 * 60_000
