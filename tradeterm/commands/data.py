"""``tradeterm data fetch|import|export|check``: candle history, in and out of the store.

* ``fetch`` pages REST klines into the store. It fetches only what the store lacks between
  ``--since`` and ``--until`` (the hole before the first stored bar, holes between stored bars,
  the tail after the last one), and stores each page as it arrives — so an interrupted fetch
  resumes where it stopped, and a re-run costs one request. Bars are stored only once proven
  closed (see :mod:`tradeterm.market.backfill`): the forming bar is never written.
* ``import`` reads Binance public-data kline files (and the other shapes ``load_klines`` knows).
* ``export`` writes CSV in Binance's 12-column kline layout (with a header, readable back by
  ``import``) or Parquet with typed columns.
* ``check`` reports gaps, duplicates and bad rows of a stored series (all of them by default) or
  of a file; exit code 1 when something is wrong, so scripts can gate on it.

Progress bars are drawn on a terminal only; a pipe or a log gets the summary lines alone.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tradeterm.contracts import Timeframe, ms_to_iso
from tradeterm.errors import UserError
from tradeterm.market.backfill import KlinePager
from tradeterm.market.frame import CandleFrame
from tradeterm.market.kline_parse import RejectLog
from tradeterm.market.loaders import check_frame, infer_name, load_klines
from tradeterm.market.rest import RestClient, RestError
from tradeterm.market.spec import SPECS, spec_for

_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume", "trades",
            "taker_buy_base", "taker_buy_quote", "ignore")
_EXPORT_CHUNK_BARS = 100_000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("data", help="candle history: fetch from Binance, import, export, check")
    sub = parser.add_subparsers(dest="data_command", metavar="{fetch,import,export,check}", required=True)

    p = sub.add_parser("fetch", help="page REST klines into the store (resumes; fills holes)",
                       description="Page REST klines into the store. Only bars missing from the store are "
                       "fetched, so an interrupted fetch resumes where it stopped.")
    _venue_arg(p, required=True)
    p.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    p.add_argument("--tf", required=True, help="kline interval, e.g. 1m, 15m, 1h")
    p.add_argument("--since", required=True, help="UTC date or time (2024-01-01, 2024-01-01T12:00) or epoch ms")
    p.add_argument("--until", help="exclusive end, same forms as --since (default: now)")
    p.add_argument("--base-url", help="REST base URL, e.g. http://127.0.0.1:PORT for `tradeterm venue`")
    _db_arg(p)
    p.set_defaults(handler=fetch_command)

    p = sub.add_parser("import", help="read Binance kline CSVs (or other kline files) into the store")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _venue_arg(p, required=False)
    p.add_argument("--symbol", help="symbol, when the file name does not say it")
    p.add_argument("--tf", help="interval, when the file name does not say it")
    _db_arg(p)
    p.set_defaults(handler=import_command)

    p = sub.add_parser("export", help="write a stored series to CSV or Parquet")
    _venue_arg(p, required=False)
    p.add_argument("--symbol", required=True)
    p.add_argument("--tf", required=True)
    p.add_argument("--since", help="first open time to include")
    p.add_argument("--until", help="exclusive end")
    p.add_argument("--out", required=True, type=Path, help="FILE.csv or FILE.parquet")
    _db_arg(p)
    p.set_defaults(handler=export_command)

    p = sub.add_parser("check", help="report gaps, duplicates and bad rows (stored series or a file)")
    p.add_argument("file", nargs="?", type=Path, metavar="FILE", help="check this file instead of the store")
    _venue_arg(p, required=False)
    p.add_argument("--symbol")
    p.add_argument("--tf")
    _db_arg(p)
    p.set_defaults(handler=check_command)


def _venue_arg(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--venue", choices=list(SPECS), required=required,
                   default=None if required else "binance-spot", help="market (default: binance-spot)")


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="database URL (default: settings.database_url or the data dir)")


# ------------------------------------------------------------------------------------------ helpers
def parse_time(text: str, flag: str) -> int:
    """Epoch ms from ``2024-01-01``, ``2024-01-01T12:30[:00][Z|+hh:mm]`` or digits (epoch ms); naive is UTC."""
    s = text.strip()
    if s.isdigit():
        return int(s)
    try:
        dt = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
    except ValueError:
        raise UserError(f"{flag} {text!r} is not a date (use 2024-01-01, 2024-01-01T12:00 or epoch ms)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def _tf(text: str | None) -> Timeframe | None:
    if text is None:
        return None
    try:
        return Timeframe(text)
    except ValueError:
        raise UserError(f"--tf {text!r} is not a Binance interval ({', '.join(t.value for t in Timeframe)})") from None


def _symbol(text: str | None) -> str | None:
    if text is None:
        return None
    s = text.strip().upper()
    if not (2 <= len(s) <= 20 and s.isalnum()):
        raise UserError(f"--symbol {text!r} is not a symbol like BTCUSDT")
    return s


def _db_url(args: argparse.Namespace, settings: Any) -> str:
    url = getattr(args, "db", None) or settings.effective_database_url
    return str(url)


def _fmt(ms: int) -> str:
    return ms_to_iso(ms).replace("T", " ").replace(".000Z", " UTC")


@contextmanager
def _progress(description: str, total: int | None) -> Iterator[tuple[Progress, Any]]:
    console = Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=console, disable=not console.is_terminal, transient=False)
    with progress:
        yield progress, progress.add_task(description, total=total)


def _open_store(url: str) -> Any:
    from tradeterm.store import create_store

    return create_store(url)


# ------------------------------------------------------------------------------------------ fetch
def missing_ranges(stored: np.ndarray, tf: Timeframe, since: int, until: int | None) -> list[tuple[int, int | None]]:
    """Half-open ranges of open times in ``[since, until)`` with no stored bar: what to fetch."""
    out: list[tuple[int, int | None]] = []
    cursor = since
    for t in stored.tolist():
        if t > cursor:
            out.append((cursor, t))
        cursor = max(cursor, tf.bucket_end(t))
    if until is None or cursor < until:
        out.append((cursor, until))
    return out


async def fetch_command(args: argparse.Namespace, settings: Any) -> int:
    spec = spec_for(args.venue)
    symbol, tf = _symbol(args.symbol), _tf(args.tf)
    assert symbol is not None and tf is not None
    spec.check_interval(tf)
    since = tf.bucket_start(parse_time(args.since, "--since"))
    until = parse_time(args.until, "--until") if args.until else None
    if until is not None and until <= since:
        raise UserError("--until must be after --since")
    endpoints = settings.endpoints
    base = args.base_url or (endpoints.spot_rest_url if spec.venue == "binance-spot" else endpoints.usdm_rest_url)
    if not base or not base.startswith(("http://", "https://")):
        raise UserError(f"--base-url {base!r} must be an http(s):// URL")
    rejects = RejectLog(f"{spec.venue} REST")
    async with _open_store(_db_url(args, settings)) as store:
        have = await store.fetch_candles(spec.venue, symbol, tf, since, until, closed_only=True)
        stored = have.open_time if have is not None else np.empty(0, dtype=np.int64)
        todo = missing_ranges(stored, tf, since, until)
        now = int(time.time() * 1000)
        est = sum(max(0, ((b if b is not None else now) - a) // tf.ms) for a, b in todo)
        written = 0
        last_open: int | None = None
        async with RestClient(base, spec) as rest:
            with _progress(f"{symbol} {tf.value}", est or None) as (progress, task):
                for start, end in todo:
                    pager = KlinePager(rest, symbol, tf, start, end, rejects=rejects)
                    try:
                        async for page in pager:
                            written += await store.upsert_candles(page, spec.venue)
                            last_open = int(page.open_time[-1])
                            progress.advance(task, len(page))
                    except RestError as e:
                        raise UserError(f"{spec.venue} {symbol} {tf.value}: {e}") from None
        total = await store.candle_count(spec.venue, symbol, tf, since, until)
    span = f"{_fmt(since)} → {_fmt(until) if until else 'now'}"
    print(f"{spec.venue} {symbol} {tf.value}: fetched {written} new candle(s) in {len(todo)} range(s); "
          f"{total} stored for {span}" + (f"; newest {_fmt(last_open)}" if last_open is not None else ""))
    if rejects.total:
        print(f"skipped {rejects.total} malformed row(s) from the exchange: {rejects.counts}")
    return 0


# ------------------------------------------------------------------------------------------ import
async def import_command(args: argparse.Namespace, settings: Any) -> int:
    sym_flag, tf_flag = _symbol(args.symbol), _tf(args.tf)
    frames: list[tuple[Path, CandleFrame]] = []
    for path in args.files:
        name_sym, _ = infer_name(path)
        if sym_flag is None and name_sym is None:
            raise UserError(f"{path}: cannot tell the symbol from the file name; pass --symbol")
        frames.append((path, load_klines(path, symbol=sym_flag, tf=tf_flag)))
    async with _open_store(_db_url(args, settings)) as store:
        with _progress("import", sum(len(f) for _, f in frames)) as (progress, task):
            for path, frame in frames:
                n = await store.upsert_candles(frame, args.venue)
                progress.advance(task, len(frame))
                report = check_frame(frame)
                note = "" if report.ok else f" ({'; '.join(report.summary())})"
                first, last = frame.open_time[0], frame.open_time[-1]
                print(f"{path.name}: {len(frame)} {frame.symbol} {frame.tf.value} candle(s), {_fmt(int(first))} → "
                      f"{_fmt(int(last))}, {n} new or changed in the store{note}")
    return 0


# ------------------------------------------------------------------------------------------ export
async def export_command(args: argparse.Namespace, settings: Any) -> int:
    symbol, tf = _symbol(args.symbol), _tf(args.tf)
    assert symbol is not None and tf is not None
    out: Path = args.out
    kind = out.suffix.lower()
    if kind not in (".csv", ".parquet"):
        raise UserError(f"--out {out}: use a .csv or .parquet file name")
    since = parse_time(args.since, "--since") if args.since else None
    until = parse_time(args.until, "--until") if args.until else None
    async with _open_store(_db_url(args, settings)) as store:
        total = await store.candle_count(args.venue, symbol, tf, since, until)
        if total == 0:
            raise UserError(f"no stored {args.venue} {symbol} {tf.value} candles in that range "
                            f"(fetch or import them first)")
        writer = _CsvWriter(out) if kind == ".csv" else _ParquetWriter(out)
        rows = 0
        first = last = None
        try:
            with _progress(f"export {symbol} {tf.value}", total) as (progress, task):
                cursor = since if since is not None else 0
                while True:
                    frame = await store.fetch_candles(args.venue, symbol, tf, cursor, until, _EXPORT_CHUNK_BARS,
                                                      closed_only=True)
                    if frame is None or len(frame) == 0:
                        break
                    writer.write(frame)
                    rows += len(frame)
                    first = first if first is not None else int(frame.open_time[0])
                    last = int(frame.open_time[-1])
                    progress.advance(task, len(frame))
                    if len(frame) < _EXPORT_CHUNK_BARS:
                        break
                    cursor = last + 1
        finally:
            writer.close()
    assert first is not None and last is not None
    print(f"wrote {rows} {symbol} {tf.value} candle(s), {_fmt(first)} → {_fmt(last)}, to {out}")
    return 0


class _CsvWriter:
    """Binance's kline layout with a header; floats as their shortest exact repr."""

    def __init__(self, path: Path) -> None:
        try:
            self._fh = path.open("w", newline="")
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror}") from None
        self._w = csv.writer(self._fh)
        self._w.writerow(_COLUMNS)

    def write(self, f: CandleFrame) -> None:
        cols = [f.open_time.tolist(), f.open.tolist(), f.high.tolist(), f.low.tolist(), f.close.tolist(),
                f.volume.tolist(), f.close_time.tolist(), f.quote_volume.tolist(), f.trades.tolist(),
                f.taker_buy_base.tolist(), f.taker_buy_quote.tolist(), [0] * len(f)]
        self._w.writerows(zip(*cols))

    def close(self) -> None:
        self._fh.close()


class _ParquetWriter:
    def __init__(self, path: Path) -> None:
        try:
            import pyarrow as pa  # type: ignore[import-untyped]
            import pyarrow.parquet as pq  # type: ignore[import-untyped]
        except ImportError:
            raise UserError("Parquet export needs pyarrow (pip install pyarrow); or export to .csv") from None
        self._pa = pa
        self._schema = pa.schema([("open_time", pa.int64()), ("open", pa.float64()), ("high", pa.float64()),
                                  ("low", pa.float64()), ("close", pa.float64()), ("volume", pa.float64()),
                                  ("close_time", pa.int64()), ("quote_volume", pa.float64()),
                                  ("trades", pa.int64()), ("taker_buy_base", pa.float64()),
                                  ("taker_buy_quote", pa.float64())])
        try:
            self._w = pq.ParquetWriter(str(path), self._schema)
        except OSError as e:
            raise UserError(f"cannot write {path}: {e}") from None

    def write(self, f: CandleFrame) -> None:
        arrays = [getattr(f, name) for name in self._schema.names]
        self._w.write_table(self._pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        self._w.close()


# ------------------------------------------------------------------------------------------ check
async def check_command(args: argparse.Namespace, settings: Any) -> int:
    if args.file is not None:
        return _check_file(args.file, _symbol(args.symbol), _tf(args.tf))
    symbol, tf = _symbol(args.symbol), _tf(args.tf)
    if (symbol is None) != (tf is None):
        raise UserError("pass both --symbol and --tf (or neither, to check every stored series, or a FILE)")
    bad = 0
    async with _open_store(_db_url(args, settings)) as store:
        if symbol is not None and tf is not None:
            series = [(args.venue, symbol, tf.value)]
        else:
            series = [(v, s, t) for v, s, t, n, _, _ in await store.list_series() if n]
            if not series:
                print("the store holds no candles")
                return 0
        for venue, sym, tfs in series:
            frame = await store.fetch_candles(venue, sym, tfs)
            if frame is None:
                raise UserError(f"no stored {venue} {sym} {tfs} candles")
            report = check_frame(frame)
            findings = report.summary()
            head = (f"{venue} {sym} {tfs}: {report.rows} candle(s), {_fmt(report.first_open or 0)} → "
                    f"{_fmt(report.last_open or 0)}")
            print(head + (": ok" if not findings else ""))
            for line in findings:
                print(f"  {line}")
            bad += bool(findings)
    return 1 if bad else 0


def _check_file(path: Path, symbol: str | None, tf: Timeframe | None) -> int:
    findings: list[str] = []
    try:
        load_klines(path, symbol=symbol, tf=tf, strict=True)
    except UserError as e:
        findings.append(str(e))
    try:
        frame = load_klines(path, symbol=symbol, tf=tf, on_conflict="last")
    except UserError as e:
        if not findings or str(e) != findings[0]:
            findings.append(str(e))
        print(f"{path}: unreadable")
        for line in findings:
            print(f"  {line}")
        return 1
    report = check_frame(frame)
    findings += report.summary()
    print(f"{path}: {report.rows} {frame.symbol} {frame.tf.value} candle(s), {_fmt(report.first_open or 0)} → "
          f"{_fmt(report.last_open or 0)}" + (": ok" if not findings else ""))
    for line in findings:
        print(f"  {line}")
    return 1 if findings else 0

