"""USD-M contract rules: filters, leverage brackets and their exchangeInfo rendering.

A futures contract trades on the same replayed candles as the spot symbol of that name (one
data set drives both markets), so tick and step come from the series' spot rules, which match the
data's price scale; what is futures-only (minimum notional, percent-price band, brackets,
liquidation fee, trigger protection) comes from a small built-in table taken from the real
2024-10 tiers and 2025-03 exchangeInfo, or from the captured tier file when one is configured."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeterm.venue.symbols import SymbolRules

D = Decimal


@dataclass(frozen=True, slots=True)
class Bracket:
    """One notional tier: leverage cap and maintenance margin rate (``cum`` = maintenance amount)."""

    bracket: int
    initial_leverage: int
    notional_floor: Decimal
    notional_cap: Decimal
    mmr: Decimal
    cum: Decimal

    def json(self) -> dict[str, Any]:
        return {"bracket": self.bracket, "initialLeverage": self.initial_leverage,
                "notionalCap": int(self.notional_cap), "notionalFloor": int(self.notional_floor),
                "maintMarginRatio": float(self.mmr), "cum": float(self.cum)}


def _tiers(rows: list[tuple[int, int, int, str, str]]) -> tuple[Bracket, ...]:
    return tuple(Bracket(i + 1, lev, D(lo), D(hi), D(mmr), D(cum)) for i, (lo, hi, lev, mmr, cum) in enumerate(rows))


# First tiers of the real 2024-10 brackets (freqtrade's capture); the default is a typical alt.
BUILTIN_BRACKETS: dict[str, tuple[Bracket, ...]] = {
    "BTCUSDT": _tiers([(0, 50_000, 125, "0.004", "0"), (50_000, 600_000, 100, "0.005", "50"),
                       (600_000, 3_000_000, 75, "0.0065", "950"), (3_000_000, 12_000_000, 50, "0.01", "11450"),
                       (12_000_000, 70_000_000, 25, "0.02", "131450"),
                       (70_000_000, 100_000_000, 20, "0.025", "481450"),
                       (100_000_000, 230_000_000, 10, "0.05", "2981450"),
                       (230_000_000, 480_000_000, 5, "0.1", "14481450")]),
    "ETHUSDT": _tiers([(0, 50_000, 125, "0.004", "0"), (50_000, 600_000, 100, "0.005", "50"),
                       (600_000, 3_000_000, 75, "0.0065", "950"), (3_000_000, 12_000_000, 50, "0.01", "11450"),
                       (12_000_000, 50_000_000, 25, "0.02", "131450"),
                       (50_000_000, 65_000_000, 20, "0.025", "381450"),
                       (65_000_000, 150_000_000, 10, "0.05", "2006450")]),
    "SOLUSDT": _tiers([(0, 20_000, 100, "0.005", "0"), (20_000, 100_000, 75, "0.0065", "30"),
                       (100_000, 800_000, 50, "0.01", "380"), (800_000, 4_000_000, 25, "0.02", "8380"),
                       (4_000_000, 8_000_000, 20, "0.025", "28380"), (8_000_000, 40_000_000, 10, "0.05", "228380")]),
    "*": _tiers([(0, 5_000, 50, "0.01", "0"), (5_000, 25_000, 25, "0.025", "75"), (25_000, 100_000, 20, "0.05", "700"),
                 (100_000, 250_000, 10, "0.1", "5700"), (250_000, 1_000_000, 5, "0.125", "11950"),
                 (1_000_000, 3_000_000, 2, "0.25", "136950"), (3_000_000, 5_000_000, 1, "0.5", "886950")]),
}

# minNotional, PERCENT_PRICE up/down, triggerProtect, liquidationFee (2025-03 exchangeInfo).
BUILTIN_CONTRACT: dict[str, tuple[str, str, str, str, str]] = {
    "BTCUSDT": ("100", "1.5000", "0.5000", "0.0500", "0.020000"),
    "ETHUSDT": ("20", "1.1000", "0.9000", "0.0500", "0.020000"),
    "SOLUSDT": ("5", "1.1000", "0.9000", "0.0500", "0.020000"),
    "*": ("5", "1.1500", "0.8500", "0.1000", "0.015000"),
}


def load_ccxt_tiers(path: str | Path) -> dict[str, tuple[Bracket, ...]]:
    """Brackets from ccxt's ``fetch_leverage_tiers`` layout (the captured file), linear
    perpetuals only: ``"BTC/USDT:USDT"`` becomes ``BTCUSDT``."""
    p = Path(path)
    if p.suffix == ".gz":
        with gzip.open(p) as f:
            raw = f.read()
    else:
        raw = p.read_bytes()
    out: dict[str, tuple[Bracket, ...]] = {}
    for market, tiers in json.loads(raw).items():
        if "-" in market or ":" not in market:
            continue
        base_quote, settle = market.split(":")
        base, quote = base_quote.split("/")
        if quote != settle:
            continue
        out[base + quote] = tuple(Bracket(int(t["info"]["bracket"]), int(t["info"]["initialLeverage"]),
                                          D(t["info"]["notionalFloor"]), D(t["info"]["notionalCap"]),
                                          D(t["info"]["maintMarginRatio"]), D(t["info"]["cum"])) for t in tiers)
    return out


def _decimals(step: Decimal) -> int:
    exp = step.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


@dataclass(frozen=True, slots=True)
class FuturesRules:
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_price: Decimal
    max_price: Decimal
    min_notional: Decimal
    multiplier_up: Decimal
    multiplier_down: Decimal
    trigger_protect: Decimal
    liquidation_fee: Decimal
    brackets: tuple[Bracket, ...]
    max_num_orders: int = 200
    max_num_algo_orders: int = 10
    order_types: list[str] = field(default_factory=lambda: ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                                                            "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"])

    @property
    def price_precision(self) -> int:
        return _decimals(self.tick_size)

    @property
    def quantity_precision(self) -> int:
        return _decimals(self.step_size)

    @property
    def max_leverage(self) -> int:
        return self.brackets[0].initial_leverage

    def bracket_for(self, notional: Decimal) -> Bracket:
        for b in self.brackets:
            if notional < b.notional_cap:
                return b
        return self.brackets[-1]

    def max_notional_for(self, leverage: int) -> Decimal:
        """The largest position notional this leverage allows (``maxNotionalValue``)."""
        caps = [b.notional_cap for b in self.brackets if b.initial_leverage >= leverage]
        return max(caps) if caps else D(0)

    def exchange_info(self) -> dict[str, Any]:
        """A ``symbols[]`` element with the keys and types of the 2025-03 live capture."""
        return {
            "symbol": self.symbol, "pair": self.symbol, "contractType": "PERPETUAL", "deliveryDate": 4133404802000,
            "onboardDate": 1569398400000, "status": "TRADING", "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "baseAsset": self.base_asset, "quoteAsset": self.quote_asset,
            "marginAsset": self.quote_asset, "pricePrecision": self.price_precision,
            "quantityPrecision": self.quantity_precision, "baseAssetPrecision": 8, "quotePrecision": 8,
            "underlyingType": "COIN", "underlyingSubType": [], "triggerProtect": f"{self.trigger_protect:.4f}",
            "liquidationFee": f"{self.liquidation_fee:.6f}", "marketTakeBound": "0.30", "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": fmt(self.min_price), "maxPrice": fmt(self.max_price),
                 "tickSize": fmt(self.tick_size)},
                {"filterType": "LOT_SIZE", "minQty": fmt(self.min_qty), "maxQty": fmt(self.max_qty),
                 "stepSize": fmt(self.step_size)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(self.min_qty), "maxQty": fmt(self.market_max_qty),
                 "stepSize": fmt(self.step_size)},
                {"filterType": "MAX_NUM_ORDERS", "limit": self.max_num_orders},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": self.max_num_algo_orders},
                {"filterType": "MIN_NOTIONAL", "notional": fmt(self.min_notional)},
                {"filterType": "PERCENT_PRICE", "multiplierUp": f"{self.multiplier_up:.4f}",
                 "multiplierDown": f"{self.multiplier_down:.4f}", "multiplierDecimal": "4"},
            ],
            "orderTypes": list(self.order_types), "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }


def fmt(x: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros ("0.001", "100")."""
    s = f"{x.normalize():f}"
    return s


def futures_rules(spot: SymbolRules, brackets: dict[str, tuple[Bracket, ...]] | None = None) -> FuturesRules:
    """Contract rules for a replayed symbol (see the module docstring for where each comes from)."""
    table = {**BUILTIN_BRACKETS, **(brackets or {})}
    tiers = table.get(spot.symbol, BUILTIN_BRACKETS["*"])
    mn, up, down, protect, liq = BUILTIN_CONTRACT.get(spot.symbol, BUILTIN_CONTRACT["*"])
    max_price = spot.max_price if spot.max_price > 0 else spot.tick_size * D(10) ** 9
    return FuturesRules(
        symbol=spot.symbol, base_asset=spot.base_asset, quote_asset=spot.quote_asset, tick_size=spot.tick_size,
        step_size=spot.step_size, min_qty=spot.min_qty, max_qty=spot.max_qty, market_max_qty=spot.max_qty,
        min_price=spot.min_price if spot.min_price > 0 else spot.tick_size, max_price=max_price,
        min_notional=D(mn), multiplier_up=D(up), multiplier_down=D(down), trigger_protect=D(protect),
        liquidation_fee=D(liq), brackets=tiers)
