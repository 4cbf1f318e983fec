"""Test data for the trading tests: the real exchangeInfo snapshots, read in place from
../shared/data (never copied into the repo), and small hand-made filters whose numbers are easy
to compute with by hand."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from tradeterm.trading.filters import SymbolFilters

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance_payloads"
SPOT_FULL = DATA / "spot" / "rest" / "exchangeInfo_full_2024-09-08.json.gz"
USDM_FULL = DATA / "futures" / "rest" / "exchangeInfo_full_2025-03-06.json.gz"
SPOT_LEGACY = DATA / "spot" / "rest" / "exchangeInfo_BTCUSDT_ETHUSDT_2021-10-22.json"

T0 = 1_709_294_400_000  # 2024-03-01T12:00:00Z


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():  # fail, never skip: these files are the ground truth for the filters
        raise FileNotFoundError(
            f"shared test data not found: {path} (expected ../shared beside the repo)"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        return list(json.load(fh)["symbols"])


@cache
def spot_symbols() -> tuple[dict[str, Any], ...]:
    return tuple(_load(SPOT_FULL))


@cache
def usdm_symbols() -> tuple[dict[str, Any], ...]:
    return tuple(_load(USDM_FULL))


@cache
def legacy_spot_symbols() -> tuple[dict[str, Any], ...]:
    return tuple(_load(SPOT_LEGACY))


def raw_symbol(symbols: tuple[dict[str, Any], ...], name: str) -> dict[str, Any]:
    return next(s for s in symbols if s["symbol"] == name)


def make_spot(
    *,
    tick: str = "0.01",
    step: str = "0.0001",
    min_qty: str = "0.0001",
    max_qty: str = "9000",
    min_notional: str = "5",
    max_notional: str = "9000000",
    symbol: str = "BTCUSDT",
    max_algo: int = 5,
) -> SymbolFilters:
    """A spot symbol in exchangeInfo form, so the tests also go through the parser."""
    return SymbolFilters.from_exchange_info(
        {
            "symbol": symbol,
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
            "baseAssetPrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": tick,
                    "maxPrice": "1000000",
                    "tickSize": tick,
                },
                {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": max_qty, "stepSize": step},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "0", "maxQty": "100", "stepSize": "0"},
                {
                    "filterType": "NOTIONAL",
                    "minNotional": min_notional,
                    "applyMinToMarket": True,
                    "maxNotional": max_notional,
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": "5",
                    "bidMultiplierDown": "0.2",
                    "askMultiplierUp": "5",
                    "askMultiplierDown": "0.2",
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": max_algo},
            ],
        }
    )


def make_usdm(
    *,
    tick: str = "0.10",
    step: str = "0.001",
    min_qty: str = "0.001",
    notional: str = "100",
    max_algo: int = 10,
) -> SymbolFilters:
    return SymbolFilters.from_exchange_info(
        {
            "symbol": "BTCUSDT",
            "contractType": "PERPETUAL",
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "maintMarginPercent": "2.5000",
            "orderTypes": [
                "LIMIT",
                "MARKET",
                "STOP",
                "STOP_MARKET",
                "TAKE_PROFIT",
                "TAKE_PROFIT_MARKET",
                "TRAILING_STOP_MARKET",
            ],
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "261.10",
                    "maxPrice": "809484",
                    "tickSize": tick,
                },
                {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "1000", "stepSize": step},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": min_qty,
                    "maxQty": "120",
                    "stepSize": step,
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": max_algo},
                {"filterType": "MIN_NOTIONAL", "notional": notional},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.5000",
                    "multiplierDown": "0.5000",
                    "multiplierDecimal": "4",
                },
            ],
        }
    )


def D(text: str | int) -> Decimal:
    return Decimal(str(text))
