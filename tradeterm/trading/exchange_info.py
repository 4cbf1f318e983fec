"""Parse one ``symbols[]`` element of spot or USD-M ``exchangeInfo`` into filter fields.

Numbers arrive as strings ("0.01000000") and become Decimals untouched. Filters that are not
enforced here (ICEBERG_PARTS, TRAILING_DELTA, …) are listed by name rather than dropped
silently, so a reader can see what goes unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradeterm.trading.filter_types import (
    LotSizeFilter,
    Market,
    NotionalFilter,
    PercentPriceFilter,
    PriceFilter,
)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def infer_market(entry: Mapping[str, Any]) -> Market:
    """Only futures entries carry ``contractType``/``marginAsset``."""
    return Market.USDM if "contractType" in entry or "marginAsset" in entry else Market.SPOT


def _notional(f: Mapping[str, Any]) -> NotionalFilter:
    if f["filterType"] == "NOTIONAL":
        return NotionalFilter(
            filter_type="NOTIONAL",
            min_notional=_dec(f.get("minNotional", 0)),
            max_notional=_dec(f.get("maxNotional", 0)),
            apply_min_to_market=bool(f.get("applyMinToMarket", True)),
            apply_max_to_market=bool(f.get("applyMaxToMarket", False)),
            avg_price_mins=_opt_int(f.get("avgPriceMins")),
        )
    if "notional" in f:  # USD-M spelling; reduce-only orders are exempt (-4164)
        return NotionalFilter(
            filter_type="MIN_NOTIONAL",
            min_notional=_dec(f["notional"]),
            reduce_only_exempt=True,
        )
    return NotionalFilter(  # legacy spot
        filter_type="MIN_NOTIONAL",
        min_notional=_dec(f["minNotional"]),
        apply_min_to_market=bool(f.get("applyToMarket", True)),
        avg_price_mins=_opt_int(f.get("avgPriceMins")),
    )


def _percent(f: Mapping[str, Any], market: Market) -> PercentPriceFilter:
    if f["filterType"] == "PERCENT_PRICE_BY_SIDE":
        return PercentPriceFilter(
            filter_type="PERCENT_PRICE_BY_SIDE",
            bid_up=_dec(f["bidMultiplierUp"]),
            bid_down=_dec(f["bidMultiplierDown"]),
            ask_up=_dec(f["askMultiplierUp"]),
            ask_down=_dec(f["askMultiplierDown"]),
            avg_price_mins=_opt_int(f.get("avgPriceMins")),
        )
    up, down = _dec(f["multiplierUp"]), _dec(f["multiplierDown"])
    if market is Market.USDM:  # vs mark price: BUY bounded above, SELL below
        return PercentPriceFilter(
            filter_type="PERCENT_PRICE",
            bid_up=up,
            bid_down=None,
            ask_up=None,
            ask_down=down,
            multiplier_decimal=_opt_int(f.get("multiplierDecimal")),
        )
    return PercentPriceFilter(  # legacy spot: both sides, both bounds
        filter_type="PERCENT_PRICE",
        bid_up=up,
        bid_down=down,
        ask_up=up,
        ask_down=down,
        avg_price_mins=_opt_int(f.get("avgPriceMins")),
    )


def _lot(f: Mapping[str, Any]) -> LotSizeFilter:
    return LotSizeFilter(
        min_qty=_dec(f["minQty"]), max_qty=_dec(f["maxQty"]), step_size=_dec(f["stepSize"])
    )


def symbol_fields(entry: Mapping[str, Any], market: Market | None = None) -> dict[str, Any]:
    """The keyword arguments of ``SymbolFilters`` for one exchangeInfo symbol."""
    market = market or infer_market(entry)
    out: dict[str, Any] = {
        "notional_filters": [],
        "percent_price_filters": [],
        "unenforced_filters": [],
    }
    for f in entry.get("filters", ()):
        kind = f.get("filterType")
        if kind == "PRICE_FILTER":
            out["price_filter"] = PriceFilter(
                min_price=_dec(f["minPrice"]),
                max_price=_dec(f["maxPrice"]),
                tick_size=_dec(f["tickSize"]),
            )
        elif kind == "LOT_SIZE":
            out["lot_size"] = _lot(f)
        elif kind == "MARKET_LOT_SIZE":
            out["market_lot_size"] = _lot(f)
        elif kind in ("NOTIONAL", "MIN_NOTIONAL"):
            out["notional_filters"].append(_notional(f))
        elif kind in ("PERCENT_PRICE", "PERCENT_PRICE_BY_SIDE"):
            out["percent_price_filters"].append(_percent(f, market))
        elif kind == "MAX_NUM_ORDERS":
            out["max_num_orders"] = int(f.get("maxNumOrders", f.get("limit", 0))) or None
        elif kind == "MAX_NUM_ALGO_ORDERS":
            out["max_num_algo_orders"] = int(f.get("maxNumAlgoOrders", f.get("limit", 0))) or None
        elif kind:
            out["unenforced_filters"].append(str(kind))
    mmp = entry.get("maintMarginPercent")
    return {
        **{k: tuple(v) if isinstance(v, list) else v for k, v in out.items()},
        "symbol": str(entry["symbol"]),
        "market": market,
        "status": str(entry.get("status", "TRADING")),
        "base_asset": entry.get("baseAsset"),
        "quote_asset": entry.get("quoteAsset"),
        "base_asset_precision": _opt_int(entry.get("baseAssetPrecision")),
        "quote_precision": _opt_int(entry.get("quoteAssetPrecision", entry.get("quotePrecision"))),
        "price_precision": _opt_int(entry.get("pricePrecision")),
        "quantity_precision": _opt_int(entry.get("quantityPrecision")),
        "order_types": tuple(entry.get("orderTypes", ())),
        "maint_margin_rate": _dec(mmp) / 100 if mmp is not None else None,
    }
