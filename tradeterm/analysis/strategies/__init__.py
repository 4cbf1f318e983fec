"""Strategies as plugins: a small protocol, built-ins, and discovery by entry point.

A strategy turns each closed candle (with what the analysis knows at its close) into zero or
more ``signals_raw.v1``. :func:`create_strategy` finds one by name — built-in or installed
under the ``tradeterm.strategies`` entry-point group — and validates its parameters.
Built-ins: ``smc_retest`` (retests of order blocks and gaps after a BOS), ``sma_cross``,
``rsi_reversion`` and ``fib_rsi``.
"""

from __future__ import annotations

from tradeterm.analysis.strategies.base import Bar, Context, RMultiples, Strategy, StrategyParams
from tradeterm.analysis.strategies.registry import (
    BUILTINS,
    ENTRY_POINT_GROUP,
    StrategyError,
    available,
    create_strategy,
    parse_param_pairs,
    strategy_class,
)

__all__ = [
    "BUILTINS",
    "ENTRY_POINT_GROUP",
    "Bar",
    "Context",
    "RMultiples",
    "Strategy",
    "StrategyError",
    "StrategyParams",
    "available",
    "create_strategy",
    "parse_param_pairs",
    "strategy_class",
]
