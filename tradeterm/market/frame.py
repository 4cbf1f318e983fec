"""A columnar batch of candles: the hand-off format between loaders, the venue, the store and
analysis. Numpy columns rather than a list of models because every consumer works on whole
columns (a million pydantic objects cost seconds; a million-row array costs nothing)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tradeterm.contracts import CandleV1, Timeframe

_FLOAT_COLS = ("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_base", "taker_buy_quote")


@dataclass(frozen=True, slots=True)
class CandleFrame:
    """Candles of one (symbol, timeframe), sorted by ``open_time`` ascending, all the same length."""

    symbol: str
    tf: Timeframe
    open_time: np.ndarray  # int64 epoch ms
    open: np.ndarray  # float64
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    quote_volume: np.ndarray
    trades: np.ndarray  # int64
    taker_buy_base: np.ndarray
    taker_buy_quote: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.open_time)
        for f in fields(self):
            if f.name in ("symbol", "tf"):
                continue
            col = getattr(self, f.name)
            if not isinstance(col, np.ndarray) or col.ndim != 1 or len(col) != n:
                raise ValueError(f"CandleFrame column {f.name!r} must be a 1-D array of length {n}")

    def __len__(self) -> int:
        return len(self.open_time)

    @property
    def close_time(self) -> np.ndarray:
        if self.tf is Timeframe.MO1:
            return np.array([self.tf.close_time(int(t)) for t in self.open_time], dtype=np.int64)
        return self.open_time + (self.tf.ms - 1)

    @classmethod
    def from_columns(
        cls,
        symbol: str,
        tf: Timeframe | str,
        open_time: np.ndarray,
        open: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
        quote_volume: np.ndarray | None = None,
        trades: np.ndarray | None = None,
        taker_buy_base: np.ndarray | None = None,
        taker_buy_quote: np.ndarray | None = None,
    ) -> CandleFrame:
        """Build a frame, coercing dtypes and filling optional columns with zeros."""
        n = len(open_time)
        z = np.zeros(n, dtype=np.float64)
        return cls(
            symbol=symbol.upper(),
            tf=Timeframe(tf),
            open_time=np.asarray(open_time, dtype=np.int64),
            open=np.asarray(open, dtype=np.float64),
            high=np.asarray(high, dtype=np.float64),
            low=np.asarray(low, dtype=np.float64),
            close=np.asarray(close, dtype=np.float64),
            volume=np.asarray(volume, dtype=np.float64),
            quote_volume=z.copy() if quote_volume is None else np.asarray(quote_volume, dtype=np.float64),
            trades=np.zeros(n, dtype=np.int64) if trades is None else np.asarray(trades, dtype=np.int64),
            taker_buy_base=z.copy() if taker_buy_base is None else np.asarray(taker_buy_base, dtype=np.float64),
            taker_buy_quote=z.copy() if taker_buy_quote is None else np.asarray(taker_buy_quote, dtype=np.float64),
        )

    def slice(self, start: int, stop: int) -> CandleFrame:
        """Rows [start, stop) as views (no copy)."""
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, col in list(kw.items()):
            if isinstance(col, np.ndarray):
                kw[name] = col[start:stop]
        return CandleFrame(**kw)

    def to_candles(self, venue: str, *, closed: bool = True) -> list[CandleV1]:
        """Materialise as contract events (for the bus and tests; slow for millions of rows)."""
        ct = self.close_time
        return [
            CandleV1(
                venue=venue,
                symbol=self.symbol,
                tf=self.tf,
                open_time=int(self.open_time[i]),
                close_time=int(ct[i]),
                open=float(self.open[i]),
                high=float(self.high[i]),
                low=float(self.low[i]),
                close=float(self.close[i]),
                volume=float(self.volume[i]),
                quote_volume=float(self.quote_volume[i]),
                trades=int(self.trades[i]),
                taker_buy_base=float(self.taker_buy_base[i]),
                taker_buy_quote=float(self.taker_buy_quote[i]),
                closed=closed,
            )
            for i in range(len(self))
        ]

    @classmethod
    def from_candles(cls, candles: list[CandleV1]) -> CandleFrame:
        if not candles:
            raise ValueError("from_candles needs at least one candle")
        first = candles[0]
        cols = {name: np.array([getattr(c, name) for c in candles]) for name in ("open_time", *_FLOAT_COLS, "trades")}
        return cls.from_columns(first.symbol, first.tf, **cols)
