"""Retests of order blocks and fair value gaps after a break of structure, as trade signals.

:class:`RetestAnalyser` is the incremental engine (one closed candle plus its SMC events in,
``signals_raw.v1`` out); :mod:`.rules` documents and implements what makes a retest worth
trading; :class:`RetestConfig` holds the thresholds (it doubles as the ``smc_retest``
strategy's parameters).
"""

from __future__ import annotations

from tradeterm.analysis.retest.analyser import RetestAnalyser
from tradeterm.analysis.retest.config import RetestConfig
from tradeterm.analysis.retest.rules import WEIGHTS

__all__ = ["WEIGHTS", "RetestAnalyser", "RetestConfig"]
