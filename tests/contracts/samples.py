"""Good sample payloads for every v1 contract, in wire form (ISO times, decimal strings)."""

from __future__ import annotations

from typing import Any

T0 = "2024-03-01T12:00:00.000Z"
T1 = "2024-03-01T12:14:59.999Z"
T2 = "2024-03-01T13:00:00.000Z"

GOOD: dict[str, dict[str, Any]] = {
    "candles.v1": {
        "venue": "binance-spot", "symbol": "BTCUSDT", "tf": "15m", "open_time": T0, "close_time": T1,
        "open": 62000.5, "high": 62100.0, "low": 61950.25, "close": 62050.0, "volume": 12.5,
        "quote_volume": 775000.0, "trades": 1234, "taker_buy_base": 6.0, "taker_buy_quote": 372000.0,
        "closed": True,
    },
    "features.v1": {
        "venue": "binance-spot", "symbol": "BTCUSDT", "tf": "15m", "time": T0, "confirmed_at": T1,
        "values": {"ema_20": 62010.25, "rsi_14": 55.5, "ema_200": None},
    },
    "smc_events.v1": {
        "venue": "binance-spot", "symbol": "BTCUSDT", "tf": "15m", "time": T0, "confirmed_at": T2,
        "event_id": "swing-h-1709294400000", "kind": "SWING_HIGH", "direction": "BEAR",
        "price": 62100.0, "label": "HH",
    },
    "zones.v1": {
        "venue": "binance-spot", "symbol": "BTCUSDT", "tf": "15m", "time": T0, "confirmed_at": T2,
        "zone_id": "ob-1709294400000", "kind": "ORDER_BLOCK", "direction": "BULL",
        "top": 62000.0, "bottom": 61900.0, "state": "PARTIAL", "fill_pct": 0.4,
    },
    "signals_raw.v1": {
        "venue": "binance-spot", "symbol": "BTCUSDT", "tf": "15m", "time": T0, "confirmed_at": T1,
        "signal_id": "smc-retest-1", "strategy": "smc_retest", "side": "BUY", "entry": "62000.00",
        "stop": "61800.00", "take_profits_r": ["1.5", "2", "3"], "score": 0.72, "ttl_bars": 8,
        "zone_id": "ob-1709294400000", "reasons": ["rejection wick", "EMA200 rising"],
    },
    "regime.v1": {
        "venue": "binance-spot", "symbol": "BTCUSDT", "tf": "15m", "time": T0, "confirmed_at": T1,
        "volatility": "HIGH", "trend": "UP", "atr_percentile": 88.5, "ema_slope": 0.0012,
    },
    "news_window.v1": {
        "event_id": "fomc-2024-03", "title": "FOMC rate decision", "currency": "USD", "impact": "HIGH",
        "event_time": T2, "block_from": T0, "block_until": "2024-03-01T14:00:00.000Z", "source": "calendar.toml",
    },
    "funding_window.v1": {
        "venue": "binance-usdm", "symbol": "BTCUSDT", "observed_at": T0, "funding_time": "2024-03-01T16:00:00.000Z",
        "rate": "0.00010000", "mark_price": "62010.5", "interval_hours": 8,
        "block_from": "2024-03-01T15:50:00.000Z", "block_until": "2024-03-01T16:00:00.000Z",
    },
    "decision.v1": {
        "decision_id": "d-000001", "signal_id": "smc-retest-1", "venue": "binance-spot", "symbol": "BTCUSDT",
        "side": "BUY", "status": "APPROVED", "order_type": "LIMIT", "entry": "62000.00", "stop": "61800.00",
        "quantity": "0.50000",
        "take_profits": [
            {"price": "62300.00", "quantity": "0.20000", "r_multiple": "1.5"},
            {"price": "62400.00", "quantity": "0.15000", "r_multiple": "2"},
            {"price": "62600.00", "quantity": "0.15000", "r_multiple": "3"},
        ],
        "risk_amount": "100.00", "leverage": 1, "reasons": [], "created_at": T0, "expires_at": T2,
    },
    "order_update.v1": {
        "venue": "binance-spot", "symbol": "BTCUSDT", "client_order_id": "tt-d-000001-E", "exchange_order_id": "12345",
        "decision_id": "d-000001", "leg": "ENTRY", "side": "BUY", "order_type": "LIMIT", "status": "PARTIALLY_FILLED",
        "price": "62000.00", "orig_qty": "0.50000", "filled_qty": "0.20000", "avg_price": "62000.00",
        "last_fill_qty": "0.20000", "last_fill_price": "62000.00", "fee": "0.00020000", "fee_asset": "BTC",
        "event_time": T1, "sequence": 2,
    },
}

# (topic, field path, bad value, words the error must contain)
BAD: list[tuple[str, str, Any, str]] = [
    ("candles.v1", "high", 61000.0, "high"),
    ("candles.v1", "open_time", 1709294400, "open_time"),  # seconds, not ms
    ("candles.v1", "tf", "7m", "tf"),
    ("candles.v1", "volume", -1.0, "volume"),
    ("candles.v1", "close", float("nan"), "close"),
    ("candles.v1", "symbol", "BTC/USDT", "symbol"),
    ("features.v1", "confirmed_at", "2024-03-01T11:00:00.000Z", "look-ahead"),
    ("features.v1", "values", {"bad name!": 1.0}, "values"),
    ("smc_events.v1", "kind", "SWING_SIDEWAYS", "kind"),
    ("smc_events.v1", "open_time", 1, "open_time"),  # unknown field
    ("zones.v1", "bottom", 63000.0, "below bottom"),
    ("zones.v1", "fill_pct", 1.5, "fill_pct"),
    ("signals_raw.v1", "stop", "62500.00", "stop below the entry"),
    ("signals_raw.v1", "score", 2, "score"),
    ("regime.v1", "volatility", "MEDIUM", "volatility"),
    ("news_window.v1", "block_until", "2024-03-01T12:30:00.000Z", "block window"),
    ("news_window.v1", "event_time", "2024-03-01 13:00:00", "UTC"),
    ("funding_window.v1", "rate", "abc", "rate"),
    ("decision.v1", "quantity", "0.40000", "add up"),
    ("decision.v1", "stop", "62100.00", "stop below the entry"),
    ("decision.v1", "decision_id", "has spaces", "decision_id"),
    ("order_update.v1", "filled_qty", "0.60000", "exceeds orig_qty"),
    ("order_update.v1", "client_order_id", "x" * 40, "client_order_id"),
    ("order_update.v1", "status", "DONE", "status"),
]
