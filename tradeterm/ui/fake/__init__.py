"""A deterministic stand-in for the pipeline: ReadModel + Intents over a seeded synthetic market.

Why it exists: the workstation must be buildable, testable and demonstrable without the live
controller. Snapshot tests need every pixel to be the same on every run (seeded candles, a frozen
clock, fixed signals), and benches and demos need something tradable with no network. The fake
therefore sizes and checks brackets with the *real* pure trading functions
(:func:`tradeterm.trading.preview`, filters built from the synthetic symbol specs), so the bracket
panel shows the same rounding and refusals the live pipeline would. Only the "exchange" is
imitated: a placed bracket becomes a working bracket (limit) or a position (market) at once.

Nothing here ever sleeps or reads the wall clock; :meth:`FakePipeline.advance` moves the market
by whole bars for a caller that wants motion (a demo timer, a bench), and tests leave it frozen.

One concern per module:

* :mod:`.market` — seeded 1m history, timeframes, SMC pass and chart bundles (cached);
* :mod:`.filters` — exchange filters of the synthetic symbols, through the real parser;
* :mod:`.guards` — the guard states on the frozen clock;
* :mod:`.book` — the imitated exchange: brackets, orders, positions, equity, activity log;
* :mod:`.seed` — the opening state (a position, a resting entry, signals, log lines);
* :mod:`.readmodel` — snapshot rows (watchlist, signals, chart order lines) as pure functions;
* :mod:`.pipeline` — :class:`FakePipeline`, the ReadModel and Intents tying them together;
* :mod:`.feed` — :class:`FakeFeed`, which makes the fake stream (benches, demos).
"""

from __future__ import annotations

from .book import FakeBook
from .feed import FakeFeed
from .filters import Market, symbol_filters
from .guards import GUARD_NAMES, fake_guards
from .market import BASE_BARS, CHART_BARS, DEFAULT_SYMBOLS, MINUTE, T0, TIMEFRAMES
from .pipeline import FakePipeline

__all__ = [
    "BASE_BARS",
    "CHART_BARS",
    "DEFAULT_SYMBOLS",
    "GUARD_NAMES",
    "MINUTE",
    "T0",
    "TIMEFRAMES",
    "FakeBook",
    "FakeFeed",
    "FakePipeline",
    "Market",
    "fake_guards",
    "symbol_filters",
]
