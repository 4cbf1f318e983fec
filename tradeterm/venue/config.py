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
    start_ms: int | None = None         # synthetic market: first bar (default: history ending now)
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(10000)})
    credentials: list[Credential] = field(default_factory=list)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    weight_per_minute: int = 6000
    orders_per_10s: int = 50
    orders_per_day: int = 160_000
    tick_seconds: float = 0.25          # how often a timed replay advances and pushes streams

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
