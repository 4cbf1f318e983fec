"""Exchange filters for the fake's synthetic symbols.

Why: the bracket panel must show the same rounding and refusals as the live pipeline, so the
fake feeds the *real* filter parser (:meth:`SymbolFilters.from_exchange_info`) with the same
exchangeInfo entries the built-in venue serves, rather than inventing its own filter objects.
"""

from __future__ import annotations

from typing import Literal

from tradeterm.market.synthetic import SymbolSpec
from tradeterm.trading import SymbolFilters

Market = Literal["spot", "usdm"]


def symbol_filters(spec: SymbolSpec, market: Market) -> SymbolFilters:
    """Exchange filters for a synthetic symbol, in exchangeInfo form so the real parser reads them
    (the same numbers the built-in venue serves)."""
    tick, step = str(spec.tick_size), str(spec.step_size)
    price = {
        "filterType": "PRICE_FILTER",
        "minPrice": tick,
        "maxPrice": "10000000",
        "tickSize": tick,
    }
    lot = {
        "filterType": "LOT_SIZE",
        "minQty": str(spec.min_qty),
        "maxQty": "90000",
        "stepSize": step,
    }
    common = {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base_asset,
        "quoteAsset": spec.quote_asset,
    }
    if market == "usdm":
        return SymbolFilters.from_exchange_info(
            {
                **common,
                "contractType": "PERPETUAL",
                "marginAsset": spec.quote_asset,
                "pricePrecision": spec.price_decimals,
                "quantityPrecision": spec.qty_decimals,
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
                    price,
                    lot,
                    {**lot, "filterType": "MARKET_LOT_SIZE"},
                    {"filterType": "MIN_NOTIONAL", "notional": str(spec.min_notional)},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                ],
            }
        )
    return SymbolFilters.from_exchange_info(
        {
            **common,
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
                price,
                lot,
                {
                    "filterType": "NOTIONAL",
                    "minNotional": str(spec.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
            ],
        }
    )
