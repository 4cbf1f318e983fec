"""Read candle files people actually have into a :class:`CandleFrame`, or fail with one line saying
which file, which line and what is wrong.

Accepted, detected from the content rather than the extension:

* Binance kline CSVs (data.binance.vision and most downloaders): 12 columns, with or without a
  header, plain, ``.zip`` with one member, or ``.gz``. Since 2025 spot archives carry
  **microsecond** open/close times; every time column is read by magnitude (s, ms or µs).
* Simple OHLCV CSVs with a header (``open_time,open,high,low,close,volume``), the time as epoch
  ms or ISO-8601 text (naive text is UTC).
* pandas JSON in "columns" (``{"date": {"0": ms, …}, "open": {…}}``) or "records" orientation.
* A JSON array of Binance kline arrays (the REST ``/klines`` body) or of ``[ms, o, h, l, c, v]``.

Symbol and timeframe come from the file name when it follows a known pattern
(``BTCUSDT-1m-2024-01.csv``, ``binance_um_BTCUSDT_1h_….csv``, ``XRP_USDT_USDT-5m-futures.json.gz``),
from ``symbol=``/``tf=``, and the timeframe otherwise from close times or the spacing of open times.
No pandas: the csv module and numpy are plenty and keep the install small.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson

from tradeterm.contracts import Timeframe
from tradeterm.errors import UserError
from tradeterm.market.aggregate import bucket_starts
from tradeterm.market.frame import CandleFrame

__all__ = ["CheckReport", "check_frame", "infer_name", "load_klines"]

_BINANCE_COLS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time",
    "quote_volume", "trades", "taker_buy_base", "taker_buy_quote", "ignore",
)
_SHORT_COLS = ("open_time", "open", "high", "low", "close", "volume")
_FLOAT_COLS = ("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_base", "taker_buy_quote")

# Header spellings seen in the wild, compared lower-case with "_", " " and "-" removed.
_ALIASES: dict[str, str] = {
    **{k: "open_time" for k in ("opentime", "date", "time", "timestamp", "datetime", "t", "kline_open_time")},
    **{k: "open" for k in ("open", "o")},
    **{k: "high" for k in ("high", "h")},
    **{k: "low" for k in ("low", "l")},
    **{k: "close" for k in ("close", "c")},
    **{k: "volume" for k in ("volume", "v", "vol", "basevolume", "baseassetvolume")},
    **{k: "close_time" for k in ("closetime",)},
    **{k: "quote_volume" for k in ("quotevolume", "quoteassetvolume", "quoteav", "q")},
    **{k: "trades" for k in ("trades", "count", "numberoftrades", "tradecount", "n")},
    **{k: "taker_buy_base" for k in ("takerbuybase", "takerbuybasevolume", "takerbuybaseassetvolume", "takerbuyvolume", "tbbav")},
    **{k: "taker_buy_quote" for k in ("takerbuyquote", "takerbuyquotevolume", "takerbuyquoteassetvolume", "tbqav")},
}

_TF_RE = "|".join(sorted((re.escape(t.value) for t in Timeframe), key=len, reverse=True))
_NAME_PATTERNS = (
    # data.binance.vision: BTCUSDT-1m-2024-01.csv / BTCUSDT-1m-2024-01-15.zip
    re.compile(rf"^(?P<sym>[A-Z0-9]+)-(?P<tf>{_TF_RE})-\d{{4}}-\d{{2}}(?:-\d{{2}})?(?:\.|$)"),
    # freqtrade: XRP_USDT-1m.json, XRP_USDT_USDT-5m-futures.feather
    re.compile(rf"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)(?:_[A-Z0-9]+)?-(?P<tf>{_TF_RE})(?:[-.]|$)"),
    # this project's shared data: binance_um_BTCUSDT_1h_2025…, binanceus_BTCUSDT_1m_…
    re.compile(rf"(?:^|_)(?P<sym>[A-Z0-9]{{5,}})_(?P<tf>{_TF_RE})(?:_|\.|$)"),
)

_US_THRESHOLD = 10**14  # ms reach 1e14 only in the year 5138; µs passed it in 1973
_S_THRESHOLD = 10**11  # seconds reach 1e11 in the year 5138; ms passed it in 1973


def infer_name(path: str | Path) -> tuple[str | None, Timeframe | None]:
    """(symbol, timeframe) from a file name, or ``None`` for what the name does not say."""
    name = Path(path).name
    for pat in _NAME_PATTERNS:
        m = pat.search(name)
        if m:
            g = m.groupdict()
            sym = g.get("sym") or f"{g['base']}{g['quote']}"
            return sym.upper(), Timeframe(g["tf"])
    return None, None


# --------------------------------------------------------------------------- reading raw rows
@dataclass(slots=True)
class _Raw:
    """Columns of raw cells plus how to name a row in an error message."""

    name: str
    cols: dict[str, list[Any]]
    where: Callable[[int], str]

    def fail(self, i: int, problem: str) -> UserError:
        return UserError(f"{self.name} {self.where(i)}: {problem}")


def _read_text(path: Path) -> tuple[str, str]:
    """(display name, text), unwrapping .zip (one member) and .gz."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    name = path.name
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = [m for m in zf.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
                if len(members) != 1:
                    raise UserError(f"{name}: expected one file inside the zip, found {len(members)}")
                data = zf.read(members[0])
                name = f"{name}:{members[0].filename}"
        except zipfile.BadZipFile as e:
            raise UserError(f"{name}: broken zip file ({e})") from None
    elif data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise UserError(f"{name}: broken gzip file ({e})") from None
    if data[:6] == b"ARROW1" or data[:4] == b"FEA1":
        raise UserError(f"{name}: feather files are not supported; convert it to CSV first")
    try:
        return name, data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{name}: not a text file (byte {e.start} is not UTF-8)") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _canonical(header: Sequence[str]) -> list[str]:
    out = []
    for h in header:
        key = re.sub(r"[\s_\-]", "", h.strip().lower())
        out.append(_ALIASES.get(key, f"?{h.strip()}"))
    return out


def _csv_rows(name: str, text: str) -> _Raw:
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    for row in reader:
        if not any(row) or (len(row) == 1 and not row[0].strip()):
            continue
        if header is None and not rows and not any(_is_number(c) for c in row[1:]):
            header = row
            continue
        rows.append(row)
        lines.append(reader.line_num)
    if header is not None:
        names = _canonical(header)
        width = len(header)
    else:
        width = len(rows[0]) if rows else 0
        if rows and width not in (12, 6):
            raise UserError(
                f"{name} line {lines[0]}: expected 12 columns (Binance kline layout) or a header row, found {width}"
            )
        names = list(_BINANCE_COLS) if width == 12 else list(_SHORT_COLS)
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise UserError(f"{name} line {line}: expected {width} columns, found {len(row)}")
    cols = {n: [r[j] for r in rows] for j, n in enumerate(names) if not n.startswith("?") and n != "ignore"}
    _require(name, cols, header)
    return _Raw(name, cols, lambda i: f"line {lines[i]}")


def _require(name: str, cols: dict[str, list[Any]], header: Sequence[str] | None) -> None:
    for need in _SHORT_COLS:
        if need not in cols:
            found = ", ".join(str(h) for h in header) if header else "none"
            raise UserError(f"{name}: no {need!r} column (columns: {found})")


def _json_rows(name: str, text: str) -> _Raw:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise UserError(f"{name}: not valid JSON ({e})") from None
    if isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
        # pandas orient="columns": {column: {index: value}}
        names = _canonical(list(doc))
        keys = sorted(next(iter(doc.values())).keys(), key=lambda k: (len(k), k))
        try:
            cols = {n: [doc[h][k] for k in keys] for n, h in zip(names, doc) if not n.startswith("?") and n != "ignore"}
        except KeyError as e:
            raise UserError(f"{name}: index {e.args[0]} is missing from some columns") from None
        _require(name, cols, list(doc))
        return _Raw(name, cols, lambda i: f"index {keys[i]}")
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        header = list(doc[0])
        names = _canonical(header)
        try:
            cols = {n: [r[h] for r in doc] for n, h in zip(names, header) if not n.startswith("?") and n != "ignore"}
        except KeyError as e:
            raise UserError(f"{name}: some records lack the {e.args[0]!r} field") from None
        _require(name, cols, header)
        return _Raw(name, cols, lambda i: f"item {i}")
    if isinstance(doc, list) and all(isinstance(r, list) for r in doc):
        width = len(doc[0]) if doc else 0
        if doc and width not in (12, 6):
            raise UserError(f"{name} item 0: expected 12 fields (Binance kline) or 6 (time, OHLCV), found {width}")
        for i, r in enumerate(doc):
            if len(r) != width:
                raise UserError(f"{name} item {i}: expected {width} fields, found {len(r)}")
        layout = _BINANCE_COLS if width == 12 else _SHORT_COLS
        cols = {n: [r[j] for r in doc] for j, n in enumerate(layout) if n != "ignore"}
        return _Raw(name, cols, lambda i: f"item {i}")
    raise UserError(f"{name}: JSON is neither a list of klines nor a pandas-style table")


# --------------------------------------------------------------------------- parsing cells
def _fmt_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_num(x: float) -> str:
    return np.format_float_positional(x, trim="-") if math.isfinite(x) else str(x)


def _epoch_to_ms(v: np.ndarray) -> np.ndarray:
    """Integer epoch values in s, ms or µs → ms, decided per value by magnitude."""
    v = v.astype(np.int64)
    a = np.abs(v)
    return np.where(a >= _US_THRESHOLD, v // 1000, np.where(a < _S_THRESHOLD, v * 1000, v))


_ISO_UTC_SUFFIXES = ("+00:00", "Z", "+0000")


def _parse_time_cell(cell: Any) -> tuple[int, bool] | None:
    """(value, is_epoch): epoch numbers keep their unit for the magnitude rule, ISO text is ms."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        return (int(cell), True) if math.isfinite(cell) and float(cell).is_integer() else None
    s = str(cell).strip()
    if re.fullmatch(r"-?\d+(\.0*)?", s):
        return int(s.split(".")[0]), True
    try:
        dt = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # Integer arithmetic: .timestamp() goes through a float and can be off by a microsecond.
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000, False


def _fast_times(cells: list[Any]) -> np.ndarray | None:
    """Vectorised parse for the two common shapes (all epoch integers / all naive-or-UTC ISO
    text); ``None`` sends the caller to the per-cell path, which also names a bad cell."""
    try:
        if all(type(x) is int for x in cells[:100]):
            return _epoch_to_ms(np.array(cells, dtype=np.int64))
        if isinstance(cells[0], str) and cells[0].strip().lstrip("-").isdigit():
            return _epoch_to_ms(np.array(cells, dtype=np.int64))
    except (ValueError, TypeError, OverflowError):
        return None
    if not (isinstance(cells[0], str) and len(cells[0]) >= 10 and cells[0][4] == "-"):
        return None
    suffix = next((x for x in _ISO_UTC_SUFFIXES if cells[0].endswith(x)), "")
    if suffix and not all(x.endswith(suffix) for x in cells):
        return None
    texts = [x[: len(x) - len(suffix)] for x in cells] if suffix else cells
    if any("+" in x or x.endswith("Z") or x.count("-") > 2 for x in texts):
        return None  # other offsets: the per-cell path applies them
    try:
        return np.array(texts, dtype="datetime64[ms]").astype(np.int64)
    except ValueError:
        return None


def _parse_times(raw: _Raw, col: str) -> np.ndarray:
    """Epoch ms from epoch numbers (s, ms or µs by magnitude) or ISO-8601 text (naive = UTC)."""
    cells = raw.cols[col]
    fast = _fast_times(cells) if cells else None
    if fast is not None:
        return fast
    out = np.empty(len(cells), dtype=np.int64)
    epoch = np.zeros(len(cells), dtype=np.bool_)
    label = col.replace("_", " ")
    for i, cell in enumerate(cells):
        parsed = _parse_time_cell(cell)
        if parsed is None:
            raise raw.fail(i, f"{label} {cell!r} is not a time (epoch s/ms/µs or ISO 8601)")
        out[i], epoch[i] = parsed
    return np.where(epoch, _epoch_to_ms(out), out)


def _parse_floats(raw: _Raw, col: str) -> np.ndarray:
    cells = raw.cols[col]
    try:
        return np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
    except (ValueError, TypeError):
        pass
    for i, cell in enumerate(cells):
        try:
            if isinstance(cell, bool) or cell is None:
                raise ValueError
            float(cell)
        except (ValueError, TypeError):
            raise raw.fail(i, f"{col.replace('_', ' ')} {cell!r} is not a number") from None
    raise raw.fail(0, f"{col} column cannot be read as numbers")  # unreachable in practice


def _parse_ints(raw: _Raw, col: str) -> np.ndarray:
    f = _parse_floats(raw, col)
    bad = np.flatnonzero(~np.isfinite(f) | (f != np.floor(f)) | (f < 0))
    if len(bad):
        raise raw.fail(int(bad[0]), f"{col} {raw.cols[col][bad[0]]!r} is not a whole number >= 0")
    return f.astype(np.int64)


# --------------------------------------------------------------------------- validation
def _validate_rows(raw: _Raw, c: dict[str, np.ndarray]) -> None:
    """Reject the first row a chart or a backtest could not trust, naming it."""
    o, h, lo, cl = c["open"], c["high"], c["low"], c["close"]
    checks: list[tuple[np.ndarray, Callable[[int], str]]] = []

    def said(template: str, *cols: np.ndarray) -> Callable[[int], str]:
        return lambda i: template.format(*(_fmt_num(float(col[i])) for col in cols))

    for name in _FLOAT_COLS:
        if name in c:
            checks.append((~np.isfinite(c[name]), said(name.replace("_", " ") + " is {}", c[name])))
    for name in ("open", "high", "low", "close"):
        checks.append((c[name] <= 0, said(name + " {} is not positive", c[name])))
    for name in ("volume", "quote_volume", "taker_buy_base", "taker_buy_quote"):
        if name in c:
            checks.append((c[name] < 0, said(name.replace("_", " ") + " {} is negative", c[name])))
    body_top, body_bottom = np.maximum(o, cl), np.minimum(o, cl)
    checks += [
        (h < lo, said("high {} below low {}", h, lo)),
        (h < body_top, lambda i: f"high {_fmt_num(h[i])} below {'open' if o[i] > cl[i] else 'close'} {_fmt_num(body_top[i])}"),
        (lo > body_bottom, lambda i: f"low {_fmt_num(lo[i])} above {'open' if o[i] < cl[i] else 'close'} {_fmt_num(body_bottom[i])}"),
    ]
    if "taker_buy_base" in c:
        checks.append((c["taker_buy_base"] > c["volume"] * (1 + 1e-9), said("taker buy base {} exceeds volume {}", c["taker_buy_base"], c["volume"])))
    first_bad: tuple[int, str] | None = None
    for mask, msg in checks:
        with np.errstate(invalid="ignore"):
            idx = np.flatnonzero(mask)
        if len(idx) and (first_bad is None or idx[0] < first_bad[0]):
            first_bad = (int(idx[0]), msg(int(idx[0])))
    if first_bad is not None:
        raise raw.fail(*first_bad)


def _order_rows(
    raw: _Raw, t: np.ndarray, c: dict[str, np.ndarray], *, strict: bool, on_conflict: str
) -> np.ndarray:
    """Row indices in time order with duplicates resolved (a stable, deterministic choice)."""
    n = len(t)
    if strict and n > 1:
        back = np.flatnonzero(t[1:] <= t[:-1])
        if len(back):
            i = int(back[0]) + 1
            what = "repeats" if t[i] == t[i - 1] else "is before"
            raise raw.fail(i, f"open time {_fmt_time(int(t[i]))} {what} the previous row's {_fmt_time(int(t[i - 1]))}")
    order = np.argsort(t, kind="stable")
    ts = t[order]
    starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]])
    if len(starts) == n:
        return order
    values = np.column_stack([c[k] for k in c])
    ends = np.r_[starts[1:], n]
    keep = np.zeros(n, dtype=np.bool_)
    for a, b in zip(starts, ends):
        group = order[a:b]  # file order within the group, thanks to the stable sort
        if b - a == 1:
            keep[a] = True
            continue
        differing = [int(r) for r in group[1:] if not np.array_equal(values[r], values[group[0]], equal_nan=True)]
        if not differing or on_conflict == "first":
            keep[a] = True
        elif on_conflict == "last":
            keep[b - 1] = True
        else:
            raise raw.fail(
                differing[0],
                f"open time {_fmt_time(int(ts[a]))} appears again with different values "
                f"(first at {raw.where(int(group[0]))}); pass on_conflict='last' or 'first' to choose",
            )
    return order[keep]


def _infer_tf(raw: _Raw, t: np.ndarray, close_ms: np.ndarray | None) -> Timeframe:
    by_ms = {tf.ms: tf for tf in Timeframe if tf is not Timeframe.MO1}
    if close_ms is not None and len(t):
        span = int(np.median(close_ms - t)) + 1
        if span in by_ms:
            return by_ms[span]
        if 28 * 86_400_000 <= span <= 31 * 86_400_000:
            return Timeframe.MO1
    if len(t) >= 2:
        step = int(np.median(np.diff(t)))
        if step in by_ms:
            return by_ms[step]
        if 28 * 86_400_000 <= step <= 31 * 86_400_000:
            return Timeframe.MO1
        raise UserError(f"{raw.name}: open times are {step} ms apart, which is no Binance interval; pass tf=")
    raise UserError(f"{raw.name}: cannot tell the timeframe from one row; pass tf=")


def load_klines(
    path: str | Path,
    *,
    symbol: str | None = None,
    tf: Timeframe | str | None = None,
    drop_unfinished: bool = False,
    now_ms: int | None = None,
    on_conflict: Literal["error", "first", "last"] = "error",
    strict: bool = False,
) -> CandleFrame:
    """Read one candle file (see the module docstring for formats) into a sorted frame.

    ``symbol``/``tf`` override what the file name says. Rows come back sorted by open time; an
    exact duplicate row is dropped, a conflicting one is an error unless ``on_conflict`` picks
    one. ``strict`` makes out-of-order or repeated rows an error instead (for files that should be
    pristine, like exchange archives). ``drop_unfinished`` drops trailing bars whose close time is
    not yet past ``now_ms`` (default: the wall clock) — files saved from the REST API end with the
    still-open bar. Every problem raises :class:`UserError` naming the file and the row.
    """
    if on_conflict not in ("error", "first", "last"):
        raise ValueError(f"on_conflict must be 'error', 'first' or 'last', not {on_conflict!r}")
    p = Path(path)
    name, text = _read_text(p)
    stripped = text.lstrip()
    raw = _json_rows(name, text) if stripped[:1] in ("{", "[") else _csv_rows(name, text)
    if not raw.cols["open_time"]:
        raise UserError(f"{name}: no candles in the file")

    name_sym, name_tf = infer_name(p)
    sym = (symbol or name_sym or "").upper()
    if not sym:
        raise UserError(f"{name}: cannot tell the symbol from the file name; pass symbol=")

    t = _parse_times(raw, "open_time")
    close_ms = _parse_times(raw, "close_time") if "close_time" in raw.cols else None
    c: dict[str, np.ndarray] = {k: _parse_floats(raw, k) for k in _FLOAT_COLS if k in raw.cols}
    trades = _parse_ints(raw, "trades") if "trades" in raw.cols else None
    _validate_rows(raw, c)
    all_cols = dict(c)
    if trades is not None:
        all_cols["trades"] = trades.astype(np.float64)
    order = _order_rows(raw, t, all_cols, strict=strict, on_conflict=on_conflict)

    timeframe = Timeframe(tf) if tf is not None else name_tf or _infer_tf(raw, t, close_ms)
    t_sorted = t[order]
    off = np.flatnonzero(bucket_starts(t_sorted, timeframe) != t_sorted)
    if len(off):
        i = int(order[off[0]])
        raise raw.fail(i, f"open time {_fmt_time(int(t[i]))} is not on a {timeframe.value} boundary (UTC); wrong tf?")

    frame = CandleFrame.from_columns(
        sym,
        timeframe,
        t_sorted,
        open=c["open"][order],
        high=c["high"][order],
        low=c["low"][order],
        close=c["close"][order],
        volume=c["volume"][order],
        quote_volume=c["quote_volume"][order] if "quote_volume" in c else None,
        trades=trades[order] if trades is not None else None,
        taker_buy_base=c["taker_buy_base"][order] if "taker_buy_base" in c else None,
        taker_buy_quote=c["taker_buy_quote"][order] if "taker_buy_quote" in c else None,
    )
    if drop_unfinished:
        now = int(datetime.now(tz=UTC).timestamp() * 1000) if now_ms is None else int(now_ms)
        finished = int(np.searchsorted(frame.close_time, now, side="left"))  # close_time < now
        frame = frame.slice(0, finished)
    return frame


# --------------------------------------------------------------------------- checking a frame
@dataclass(frozen=True, slots=True)
class CheckReport:
    """What is wrong with a series, for ``tradeterm data check`` and for deciding whether to trust
    an aggregate. Gaps are half-open ``[from, to)`` ranges of missing open times."""

    symbol: str
    tf: Timeframe
    rows: int
    first_open: int | None
    last_open: int | None
    gaps: list[tuple[int, int]] = field(default_factory=list)
    missing_bars: int = 0
    duplicates: list[int] = field(default_factory=list)  # open times seen more than once
    non_monotonic: list[int] = field(default_factory=list)  # row indices going back in time
    misaligned: list[int] = field(default_factory=list)  # row indices off the tf grid
    ohlc_violations: list[int] = field(default_factory=list)  # row indices
    bad_values: list[int] = field(default_factory=list)  # row indices with NaN/inf/negative/zero price

    @property
    def ok(self) -> bool:
        return not (
            self.gaps or self.duplicates or self.non_monotonic or self.misaligned or self.ohlc_violations or self.bad_values
        )

    def summary(self) -> list[str]:
        """One human line per finding (empty when the series is clean)."""
        out = []
        if self.gaps:
            first = ", ".join(f"{_fmt_time(a)} → {_fmt_time(b)}" for a, b in self.gaps[:3])
            more = f" (+{len(self.gaps) - 3} more)" if len(self.gaps) > 3 else ""
            out.append(f"{len(self.gaps)} gap(s), {self.missing_bars} missing bar(s): {first}{more}")
        for label, items in (
            ("duplicate open time(s)", self.duplicates),
            ("row(s) out of time order", self.non_monotonic),
            (f"row(s) off the {self.tf.value} grid", self.misaligned),
            ("row(s) with inconsistent OHLC", self.ohlc_violations),
            ("row(s) with NaN, infinite, negative or zero values", self.bad_values),
        ):
            if items:
                out.append(f"{len(items)} {label}")
        return out


def check_frame(frame: CandleFrame) -> CheckReport:
    """Inspect a frame without changing it; works on frames from anywhere, sorted or not."""
    t = frame.open_time
    n = len(t)
    tf = frame.tf
    non_mono = (np.flatnonzero(t[1:] <= t[:-1]) + 1).tolist() if n > 1 else []
    misaligned = np.flatnonzero(bucket_starts(t, tf) != t).tolist()
    uniq, counts = np.unique(t, return_counts=True)
    duplicates = uniq[counts > 1].tolist()
    ts = uniq[bucket_starts(uniq, tf) == uniq]  # gaps are measured on the grid; off-grid rows are reported apart
    gaps: list[tuple[int, int]] = []
    missing = 0
    if len(ts) > 1:
        if tf is Timeframe.MO1:
            nxt = np.array([tf.bucket_end(int(x)) for x in ts[:-1]], dtype=np.int64)
            for a, b in zip(nxt[nxt < ts[1:]], ts[1:][nxt < ts[1:]]):
                gaps.append((int(a), int(b)))
                k, x = 0, int(a)
                while x < b:
                    k, x = k + 1, tf.bucket_end(x)
                missing += k
        else:
            nxt = ts[:-1] + tf.ms
            holes = np.flatnonzero(nxt < ts[1:])
            gaps = [(int(nxt[i]), int(ts[i + 1])) for i in holes]
            missing = int(sum(-(-(b - a) // tf.ms) for a, b in gaps))
    o, h, lo, c = frame.open, frame.high, frame.low, frame.close
    with np.errstate(invalid="ignore"):
        ohlc = (h < lo) | (h < np.maximum(o, c)) | (lo > np.minimum(o, c))
        vals = np.zeros(n, dtype=np.bool_)
        for col in (o, h, lo, c):
            vals |= ~np.isfinite(col) | (col <= 0)
        for col in (frame.volume, frame.quote_volume, frame.taker_buy_base, frame.taker_buy_quote):
            vals |= ~np.isfinite(col) | (col < 0)
    return CheckReport(
        symbol=frame.symbol,
        tf=tf,
        rows=n,
        first_open=int(t.min()) if n else None,
        last_open=int(t.max()) if n else None,
        gaps=gaps,
        missing_bars=missing,
        duplicates=duplicates,
        non_monotonic=non_mono,
        misaligned=misaligned,
        ohlc_violations=np.flatnonzero(ohlc & ~vals).tolist(),
        bad_values=np.flatnonzero(vals).tolist(),
    )
