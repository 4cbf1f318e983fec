"""Where replayed candles come from: the seeded synthetic market, Binance kline files, the store.

A source hands over base-timeframe candles as a :class:`CandleFrame`; an open-ended source (the
synthetic market) can be asked for more, so a venue can run for days without pre-generating them.
The market-package modules are imported lazily: they are optional at import time of the venue."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from tradeterm.contracts import Timeframe
from tradeterm.errors import UserError
from tradeterm.market.frame import CandleFrame
from tradeterm.venue.symbols import SymbolRules, infer_rules


class DataSource(Protocol):
    """Base-timeframe candles for one symbol."""

    @property
    def symbol(self) -> str: ...

    @property
    def tf(self) -> Timeframe: ...

    def initial(self) -> CandleFrame: ...

    def extend(self, n: int) -> CandleFrame | None:
        """The next ``n`` bars after the last one handed out, or None for a finite source."""

    def rules(self) -> SymbolRules: ...


@dataclass
class FrameSource:
    """A finite, already-loaded frame (files, the store, tests)."""

    frame: CandleFrame
    symbol_rules: SymbolRules | None = None

    @property
    def symbol(self) -> str:
        return self.frame.symbol

    @property
    def tf(self) -> Timeframe:
        return self.frame.tf

    def initial(self) -> CandleFrame:
        return self.frame

    def extend(self, n: int) -> CandleFrame | None:
        return None

    def rules(self) -> SymbolRules:
        if self.symbol_rules is not None:
            return self.symbol_rules
        spec_rules = _rules_from_synthetic_spec(self.symbol)
        return spec_rules or infer_rules(self.symbol, self.frame.close)


class SyntheticSource:
    """The seeded synthetic market, continued on demand."""

    def __init__(self, symbol: str, *, seed: int, start_ms: int, tf: Timeframe = Timeframe.M1,
                 history: int = 1000) -> None:
        from tradeterm.market.synthetic import SyntheticMarket

        self.symbol = symbol.upper()
        self.tf = tf
        self._history = history
        self._market = SyntheticMarket(self.symbol, seed=seed, start_ms=start_ms, tf=tf)

    def initial(self) -> CandleFrame:
        return self._market.generate(self._history + 500)

    def extend(self, n: int) -> CandleFrame | None:
        return self._market.generate(n)

    def rules(self) -> SymbolRules:
        rules = _rules_from_synthetic_spec(self.symbol)
        if rules is None:
            raise UserError(f"no synthetic market is defined for {self.symbol}")
        return rules


def _rules_from_synthetic_spec(symbol: str) -> SymbolRules | None:
    try:
        from tradeterm.market.synthetic import symbol_spec
    except ImportError:
        return None
    from tradeterm.venue.symbols import rules_from_spec

    try:
        return rules_from_spec(symbol_spec(symbol))
    except (KeyError, ValueError, LookupError):
        return None


def file_source(path: str | Path, symbol: str | None = None, tf: Timeframe | None = None) -> FrameSource:
    """A Binance kline file (CSV/zip/JSON) through the market loaders."""
    from tradeterm.market.loaders import load_klines

    p = Path(path)
    if not p.exists():
        raise UserError(f"--data file not found: {p}")
    frame = load_klines(p, symbol=symbol, tf=tf)
    if len(frame) == 0:
        raise UserError(f"--data file has no candles: {p}")
    if not np.all(np.diff(frame.open_time) > 0):
        raise UserError(f"--data file candles are not in ascending time order: {p}")
    return FrameSource(frame)


async def store_source(store_url: str, venue: str, symbol: str, tf: Timeframe) -> FrameSource:
    """Candles already in the tradeterm store (source (c)): closed candles only, since a forming
    candle in the store would be replayed as if it had closed."""
    from tradeterm.store import create_store

    async with create_store(store_url) as store:
        frame = await store.fetch_candles(venue, symbol, tf, closed_only=True)
    if frame is None or len(frame) == 0:
        raise UserError(f"the store holds no {symbol} {tf} candles for venue {venue!r}")
    return FrameSource(frame)
