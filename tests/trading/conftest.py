"""Fixtures over the real snapshots (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.trading.helpers import raw_symbol, spot_symbols, usdm_symbols
from tradeterm.trading.filters import SymbolFilters


@pytest.fixture(scope="session")
def spot_btc() -> SymbolFilters:
    """Spot BTCUSDT 2024-09: tick 0.01, step 0.00001, minQty 0.00001, NOTIONAL min 5."""
    return SymbolFilters.from_exchange_info(raw_symbol(spot_symbols(), "BTCUSDT"))


@pytest.fixture(scope="session")
def usdm_btc() -> SymbolFilters:
    """USD-M BTCUSDT 2025-03: tick 0.10, step 0.001, MIN_NOTIONAL 100, maint 2.5 %."""
    return SymbolFilters.from_exchange_info(raw_symbol(usdm_symbols(), "BTCUSDT"))
