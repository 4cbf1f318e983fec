"""Turning Binance kline payloads (stream events and REST rows) into trusted numbers, fast.

The stream path runs for every message (tens of thousands a second across many symbols), so it
validates with plain ``float``/``math.isfinite`` checks on a decoded dict and builds nothing
heavier than a slotted :class:`Kline`. Only a *closed* kline becomes a pydantic
:class:`~tradeterm.contracts.CandleV1` (:func:`to_candle`), because only closed candles travel
the bus durably and reach the store.

Every problem is a :class:`BadInput` with a short ``kind`` (``malformed_json``, ``bad_type``,
``bad_value`` …). :class:`RejectLog` counts them per kind and logs each kind once, so a venue
that sends garbage fills neither the store nor the log.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.market.frame import CandleFrame

__all__ = [
    "BadInput",
    "Kline",
    "RejectLog",
    "check_ohlcv",
    "parse_kline",
    "rest_rows_to_frame",
    "to_candle",
]

log = logging.getLogger("tradeterm.market")

INTERVALS: dict[str, Timeframe] = {tf.value: tf for tf in Timeframe}
# (length, offset) of fixed-length intervals, so the grid check needs no enum property lookups;
# weeks start on Monday (epoch + 4 days), months are checked by the calendar.
_GRID: dict[str, tuple[int, int]] = {
    tf.value: (tf.ms, 4 * 86_400_000 if tf is Timeframe.W1 else 0) for tf in Timeframe if tf is not Timeframe.MO1
}
_isfinite = math.isfinite


class BadInput(ValueError):
    """A message or row that must not be used; ``kind`` is the counter it is filed under."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class RejectLog:
    """Counts rejected input per kind and logs the first of each kind (with its detail) only:
    one broken field repeated every 250 ms must not drown the log, but must not go unseen."""

    def __init__(self, source: str, logger: logging.Logger = log) -> None:
        self.source = source
        self.counts: dict[str, int] = {}
        self._log = logger

    def add(self, kind: str, detail: str) -> None:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        if n == 1:
            self._log.warning("%s: ignored %s input (%s); further ones are only counted", self.source, kind, detail[:200])

    def reject(self, err: BadInput) -> None:
        self.add(err.kind, err.detail)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(slots=True)
class Kline:
    """One validated kline update (open or closed), in engine units (epoch ms, float64)."""

    symbol: str
    tf: Timeframe
    event_time: int
    open_time: int
    close_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int
    taker_buy_base: float
    taker_buy_quote: float
    closed: bool


def check_ohlcv(o: float, h: float, lo: float, c: float, v: float, q: float, vb: float, qb: float) -> str | None:
    """Why these numbers cannot be a candle, or ``None`` if they can (the same rules as CandleV1)."""
    if not (_isfinite(o) and _isfinite(h) and _isfinite(lo) and _isfinite(c)):
        return "price is NaN or infinite"
    if not (_isfinite(v) and _isfinite(q) and _isfinite(vb) and _isfinite(qb)):
        return "volume is NaN or infinite"
    if o <= 0 or h <= 0 or lo <= 0 or c <= 0:
        return "price is zero or negative"
    if v < 0 or q < 0 or vb < 0 or qb < 0:
        return "volume is negative"
    if h < o or h < c or h < lo or lo > o or lo > c:
        return f"high/low {h}/{lo} do not contain open/close {o}/{c}"
    if vb > v * (1 + 1e-9):
        return "taker buy volume exceeds volume"
    return None


def _int(x: Any, name: str) -> int:
    if type(x) is int:
        return x
    raise BadInput("bad_type", f"{name} must be an integer, got {type(x).__name__}")


def parse_kline(data: dict[str, Any]) -> Kline:
    """Validate a ``{"e": "kline", …}`` event (the ``data`` of a combined frame).

    Binance sends prices and volumes as strings; numbers are accepted too (they are what a
    careless relay produces). Times must be integers: a float or string time is a bug upstream.
    """
    try:
        k = data["k"]
        sym = k["s"]
        interval = k["i"]
        t = k["t"]
        ct = k["T"]
        closed = k["x"]
        ev = data["E"]
        o = float(k["o"])
        h = float(k["h"])
        lo = float(k["l"])
        c = float(k["c"])
        v = float(k["v"])
        q = float(k.get("q", 0.0))
        vb = float(k.get("V", 0.0))
        qb = float(k.get("Q", 0.0))
        n = k.get("n", 0)
    except KeyError as e:
        raise BadInput("bad_type", f"kline field {e.args[0]!r} is missing") from None
    except (TypeError, ValueError) as e:
        raise BadInput("bad_type", f"kline field is not a number ({e})") from None
    if type(t) is not int or type(ct) is not int or type(ev) is not int or type(n) is not int:
        raise BadInput("bad_type", "kline times and trade count must be integers")
    if type(closed) is not bool:
        raise BadInput("bad_type", f"k.x must be true or false, got {closed!r}")
    if type(sym) is not str or type(interval) is not str:
        raise BadInput("bad_type", "k.s and k.i must be strings")
    tf = INTERVALS.get(interval)
    if tf is None:
        raise BadInput("bad_value", f"unknown interval {interval!r}")
    problem = check_ohlcv(o, h, lo, c, v, q, vb, qb)
    if problem is not None:
        raise BadInput("bad_value", f"{sym} {interval} {t}: {problem}")
    if n < 0:
        raise BadInput("bad_value", f"{sym} {interval} {t}: negative trade count")
    grid = _GRID.get(interval)
    off_grid = (t - grid[1]) % grid[0] != 0 if grid is not None else tf.bucket_start(t) != t
    if ct <= t or off_grid:
        raise BadInput("bad_value", f"{sym} {interval}: open time {t} is not on the {interval} grid or ends before it starts")
    return Kline(sym, tf, ev, t, ct, o, h, lo, c, v, q, n, vb, qb, closed)


def to_candle(k: Kline, venue: str) -> CandleV1:
    """The contract event for a kline (validated by pydantic: this is the durable path)."""
    return CandleV1(
        venue=venue,
        symbol=k.symbol,
        tf=k.tf,
        open_time=k.open_time,
        close_time=k.close_time,
        open=k.open,
        high=k.high,
        low=k.low,
        close=k.close,
        volume=k.volume,
        quote_volume=k.quote_volume,
        trades=k.trades,
        taker_buy_base=k.taker_buy_base,
        taker_buy_quote=k.taker_buy_quote,
        closed=k.closed,
    )


def rest_rows_to_frame(
    rows: list[Any], symbol: str, tf: Timeframe, rejects: RejectLog | None = None
) -> CandleFrame:
    """REST ``/klines`` rows → a frame sorted by open time, with bad rows dropped (and counted).

    A row is ``[openTime, o, h, l, c, v, closeTime, q, n, V, Q, ignore]``. Rows for one page are
    few (≤ 1500), so a per-row Python check is cheap next to the HTTP round trip, and it names
    the exact problem, which a vectorised check would not.
    """
    ts: list[int] = []
    vals: list[tuple[float, ...]] = []
    trades: list[int] = []
    for row in rows:
        try:
            if not isinstance(row, list) or len(row) < 11:
                raise BadInput("bad_type", f"kline row is not a list of 11+ fields: {str(row)[:80]}")
            t, n = row[0], row[8]
            if type(t) is not int or type(n) is not int or type(row[6]) is not int:
                raise BadInput("bad_type", f"kline row times/trades are not integers: {str(row)[:80]}")
            try:
                o, h, lo, c, v = (float(x) for x in row[1:6])
                q, vb, qb = float(row[7]), float(row[9]), float(row[10])
            except (TypeError, ValueError):
                raise BadInput("bad_type", f"kline row has a non-numeric value: {str(row)[:80]}") from None
            problem = check_ohlcv(o, h, lo, c, v, q, vb, qb)
            if problem is not None:
                raise BadInput("bad_value", f"{symbol} {tf.value} {t}: {problem}")
            if tf.bucket_start(t) != t or n < 0:
                raise BadInput("bad_value", f"{symbol} {tf.value}: row at {t} is off the grid or has negative trades")
        except BadInput as err:
            if rejects is not None:
                rejects.reject(err)
            continue
        ts.append(t)
        vals.append((o, h, lo, c, v, q, vb, qb))
        trades.append(n)
    if not ts:
        return CandleFrame.from_columns(symbol, tf, *(np.empty(0) for _ in range(6)))
    t_arr = np.asarray(ts, dtype=np.int64)
    a = np.asarray(vals, dtype=np.float64)
    n_arr = np.asarray(trades, dtype=np.int64)
    order = np.argsort(t_arr, kind="stable")
    t_sorted = t_arr[order]
    keep = order[np.r_[t_sorted[1:] != t_sorted[:-1], True]]  # a repeated row: the last one wins
    return CandleFrame.from_columns(
        symbol, tf, t_arr[keep], a[keep, 0], a[keep, 1], a[keep, 2], a[keep, 3], a[keep, 4],
        quote_volume=a[keep, 5], trades=n_arr[keep], taker_buy_base=a[keep, 6], taker_buy_quote=a[keep, 7],
    )
