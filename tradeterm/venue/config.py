"""Settings of one venue instance (what the CLI flags and test fixtures fill in)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

from tradeterm.contracts import Timeframe
from tradeterm.venue.auth import Credential, generate_hmac_credential
from tradeterm.venue.datasource import DataSource


@dataclass
class VenueConfig:
    """``sources`` are ready data sources; ``synthetic`` symbols and ``data_files`` are turned into
    sources when the venue starts (so a config stays a plain value)."""

    sources: list[DataSource] = field(default_factory=list)
    synthetic: list[str] = field(default_factory=list)
    data_files: list[str] = field(default_factory=list)
    seed: int = 1
    base_tf: Timeframe = Timeframe.M1
    speed: float | None = 60.0          # market seconds per wall second; None = as fast as consumers take it
    paused: bool = False                # start with the replay clock stopped (tests step it)
    history_bars: int = 1000            # bars already in the past when the replay starts
    retain_bars: int = 50_000           # an open-ended source keeps at most this many past bars (memory stays flat)
    start_ms: int | None = None         # synthetic market: first bar (default: history ending now)
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(10000)})
    credentials: list[Credential] = field(default_factory=list)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    weight_per_minute: int = 6000
    orders_per_10s: int = 50
    orders_per_day: int = 160_000
    tick_seconds: float = 0.25          # how often a timed replay advances and pushes streams
    # USD-M futures (served next to spot from the same replay; see futures_venue.py)
    futures: bool = True
    futures_balance: Decimal = Decimal(10000)           # USDT wallet of the futures account
    futures_maker_fee: Decimal = Decimal("0.0002")
    futures_taker_fee: Decimal = Decimal("0.0005")
    mark_premium: Decimal = Decimal(0)                  # mark = last × (1 + premium)
    funding_rate: Decimal = Decimal("0.0001")           # every 8 h where no funding file covers
    funding_files: dict[str, str] = field(default_factory=dict)  # symbol (or "*": all) -> Binance funding CSV
    leverage_tiers_file: str | None = None              # ccxt-format tiers (the captured file)
    default_leverage: int = 20
    futures_weight_per_minute: int = 2400
    futures_orders_per_10s: int = 300
    futures_orders_per_minute: int = 1200
    algo_fill_before_update: bool = True                # child fill before ALGO_UPDATE, as seen live
    listen_key_validity_ms: int = 3_600_000

    def ensure_credentials(self) -> list[Credential]:
        """Generate an HMAC key pair when none was given (printed by the CLI)."""
        if not self.credentials:
            self.credentials.append(generate_hmac_credential())
        return self.credentials

    def synthetic_start_ms(self) -> int:
        if self.start_ms is not None:
            return self.start_ms
        now = int(time.time() * 1000)
        return self.base_tf.bucket_start(now) - self.history_bars * self.base_tf.ms
