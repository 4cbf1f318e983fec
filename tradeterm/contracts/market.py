"""Market-data contracts: closed and open candles, funding windows."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from tradeterm.contracts.base import Contract, EpochMs, FiniteFloat, Money, Symbol, Venue
from tradeterm.contracts.timeframe import Timeframe


class CandleV1(Contract):
    """One kline. ``closed`` is Binance's ``k.x``: only closed candles drive analysis."""

    TOPIC: ClassVar[str] = "candles.v1"

    venue: Venue
    symbol: Symbol
    tf: Timeframe
    open_time: EpochMs
    close_time: EpochMs
    open: FiniteFloat = Field(gt=0)
    high: FiniteFloat = Field(gt=0)
    low: FiniteFloat = Field(gt=0)
    close: FiniteFloat = Field(gt=0)
    volume: FiniteFloat = Field(ge=0)
    quote_volume: FiniteFloat = Field(default=0.0, ge=0)
    trades: int = Field(default=0, ge=0)
    taker_buy_base: FiniteFloat = Field(default=0.0, ge=0)
    taker_buy_quote: FiniteFloat = Field(default=0.0, ge=0)
    closed: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> CandleV1:
        if self.high < max(self.open, self.close, self.low):
            raise ValueError(f"high {self.high} is below open/close/low")
        if self.low > min(self.open, self.close):
            raise ValueError(f"low {self.low} is above open/close")
        if self.close_time <= self.open_time:
            raise ValueError("close_time must be after open_time")
        if self.taker_buy_base > self.volume * (1 + 1e-9):
            raise ValueError("taker_buy_base exceeds volume")
        return self


class FundingWindowV1(Contract):
    """Funding state of a perpetual: feeds the funding guard."""

    TOPIC: ClassVar[str] = "funding_window.v1"

    venue: Venue
    symbol: Symbol
    observed_at: EpochMs
    funding_time: EpochMs = Field(description="next funding settlement")
    rate: Money = Field(description="funding rate for the next settlement, e.g. 0.0001")
    mark_price: Money | None = Field(default=None, gt=0)
    index_price: Money | None = Field(default=None, gt=0)
    interval_hours: int = Field(default=8, ge=1, le=24)
    block_from: EpochMs | None = None
    block_until: EpochMs | None = None

    @model_validator(mode="after")
    def _window(self) -> FundingWindowV1:
        if (self.block_from is None) != (self.block_until is None):
            raise ValueError("block_from and block_until go together")
        if self.block_from is not None and self.block_until is not None and self.block_until < self.block_from:
            raise ValueError("block_until is before block_from")
        return self
