"""Trading rules of a venue symbol and their exchangeInfo rendering.

One :class:`SymbolRules` feeds both the filters (validation) and ``GET /api/v3/exchangeInfo``, so
what clients read is exactly what the venue enforces. Shapes follow the 2024-09 live snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

_Q8 = Decimal("0.00000001")
KNOWN_QUOTES = ("USDT", "USDC", "FDUSD", "TUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "USD", "DAI")
ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
               "TAKE_PROFIT_LIMIT"]
STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]


def f8(x: Decimal | float | str) -> str:
    """Binance spot number format: fixed point with 8 decimals ("0.00100000")."""
    d = x if isinstance(x, Decimal) else Decimal(str(x))
    return f"{d.quantize(_Q8):f}"


def floor_to(x: Decimal, step: Decimal) -> Decimal:
    return (x / step).to_integral_value(ROUND_FLOOR) * step if step > 0 else x


def ceil_to(x: Decimal, step: Decimal) -> Decimal:
    return (x / step).to_integral_value(ROUND_CEILING) * step if step > 0 else x


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """Everything the venue enforces for one symbol (Decimal throughout)."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    min_price: Decimal = Decimal(0)
    max_price: Decimal = Decimal(0)
    max_qty: Decimal = Decimal(9000000)
    max_notional: Decimal = Decimal(9000000)
    market_max_qty: Decimal = Decimal(0)
    percent_up: Decimal = Decimal(5)
    percent_down: Decimal = Decimal("0.2")
    avg_price_mins: int = 5
    max_num_orders: int = 200
    max_num_algo_orders: int = 5
    base_precision: int = 8
    quote_precision: int = 8
    order_types: list[str] = field(default_factory=lambda: list(ORDER_TYPES))

    def exchange_info(self) -> dict[str, Any]:
        """The per-symbol object of exchangeInfo, keys and types as in the live capture."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base_asset,
            "baseAssetPrecision": self.base_precision,
            "quoteAsset": self.quote_asset,
            "quotePrecision": self.quote_precision,
            "quoteAssetPrecision": self.quote_precision,
            "baseCommissionPrecision": self.base_precision,
            "quoteCommissionPrecision": self.quote_precision,
            "orderTypes": list(self.order_types),
            "icebergAllowed": False,
            "ocoAllowed": True,
            "otoAllowed": True,
            "opoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": False,
            "pegInstructionsAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": self.filters(),
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": list(STP_MODES),
        }

    def filters(self) -> list[dict[str, Any]]:
        return [
            {"filterType": "PRICE_FILTER", "minPrice": f8(self.min_price), "maxPrice": f8(self.max_price),
             "tickSize": f8(self.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": f8(self.min_qty), "maxQty": f8(self.max_qty),
             "stepSize": f8(self.step_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": f8(0), "maxQty": f8(self.market_max_qty),
             "stepSize": f8(0)},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": str(self.percent_up),
             "bidMultiplierDown": str(self.percent_down), "askMultiplierUp": str(self.percent_up),
             "askMultiplierDown": str(self.percent_down), "avgPriceMins": self.avg_price_mins},
            {"filterType": "NOTIONAL", "minNotional": f8(self.min_notional), "applyMinToMarket": True,
             "maxNotional": f8(self.max_notional), "applyMaxToMarket": False,
             "avgPriceMins": self.avg_price_mins},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": self.max_num_orders},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": self.max_num_algo_orders},
        ]


def split_symbol(symbol: str) -> tuple[str, str]:
    """BTCUSDT -> (BTC, USDT) by the longest known quote suffix; why: CSV files carry no assets."""
    s = symbol.upper()
    for q in sorted(KNOWN_QUOTES, key=len, reverse=True):
        if s.endswith(q) and len(s) > len(q):
            return s[: -len(q)], q
    raise ValueError(f"cannot tell base and quote assets of {symbol!r}")


def rules_from_spec(spec: Any) -> SymbolRules:
    """Adapt ``tradeterm.market.synthetic.SymbolSpec`` (duck-typed: it may land after this module)."""
    return SymbolRules(
        symbol=spec.symbol.upper(), base_asset=spec.base_asset, quote_asset=spec.quote_asset,
        tick_size=Decimal(str(spec.tick_size)), step_size=Decimal(str(spec.step_size)),
        min_qty=Decimal(str(spec.min_qty)), min_notional=Decimal(str(spec.min_notional)),
        min_price=Decimal(str(spec.tick_size)),
        max_price=Decimal(str(spec.tick_size)) * Decimal(10) ** 10,
    )


def infer_rules(symbol: str, close: np.ndarray) -> SymbolRules:
    """Rules for a symbol known only from candles: tick from the price magnitude (≈5 significant
    figures like Binance's majors), step so that one step is worth about a tenth of a quote unit."""
    base, quote = split_symbol(symbol)
    ref = float(np.median(close)) if len(close) else 1.0
    ref = max(ref, 1e-8)
    tick_exp = int(np.floor(np.log10(ref))) - 5
    tick = Decimal(1).scaleb(max(min(tick_exp, 0), -8))
    step_exp = int(np.floor(np.log10(0.1 / ref)))
    step = Decimal(1).scaleb(max(min(step_exp, 0), -8))
    return SymbolRules(symbol=symbol.upper(), base_asset=base, quote_asset=quote, tick_size=tick,
                       step_size=step, min_qty=step, min_notional=Decimal(5), min_price=tick,
                       max_price=tick * Decimal(10) ** 10)
