"""Analysis contracts. Every derived event carries the bar time it refers to *and* the time it
became known (``confirmed_at``): that pair is what keeps backtests free of look-ahead."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from tradeterm.contracts.base import (
    Contract,
    Direction,
    EpochMs,
    FiniteFloat,
    PositiveMoney,
    Side,
    Symbol,
    Venue,
)
from tradeterm.contracts.timeframe import Timeframe


class _Derived(Contract):
    venue: Venue
    symbol: Symbol
    tf: Timeframe
    time: EpochMs = Field(description="open time of the bar the event refers to")
    confirmed_at: EpochMs = Field(description="close time of the bar at which it became known")

    @model_validator(mode="after")
    def _no_look_ahead(self):  # type: ignore[no-untyped-def]
        if self.confirmed_at < self.time:
            raise ValueError("confirmed_at is before the time the event refers to (look-ahead)")
        return self


class FeaturesV1(_Derived):
    """Indicator values at one closed bar; ``None`` while an indicator is warming up."""

    TOPIC: ClassVar[str] = "features.v1"

    values: dict[str, FiniteFloat | None] = Field(min_length=1, examples=[{"ema_20": 42000.5, "rsi_14": 55.2}])

    @field_validator("values")
    @classmethod
    def _names(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        for name in v:
            if not name or not name.replace("_", "").replace(".", "").isalnum():
                raise ValueError(f"feature name {name!r} must be letters, digits, '_' or '.'")
        return v


class SmcEventKind(StrEnum):
    SWING_HIGH = "SWING_HIGH"
    SWING_LOW = "SWING_LOW"
    BOS = "BOS"
    CHOCH = "CHOCH"
    LIQUIDITY_SWEEP = "LIQUIDITY_SWEEP"


class SwingLabel(StrEnum):
    HH = "HH"
    HL = "HL"
    LH = "LH"
    LL = "LL"


class SmcEventV1(_Derived):
    """A market-structure fact: a confirmed swing, a break of structure, a sweep."""

    TOPIC: ClassVar[str] = "smc_events.v1"

    event_id: str = Field(min_length=1, max_length=128)
    kind: SmcEventKind
    direction: Direction
    price: FiniteFloat = Field(gt=0)
    label: SwingLabel | None = None
    ref_time: EpochMs | None = Field(default=None, description="bar of the swing that was broken/swept")

    @model_validator(mode="after")
    def _label_only_on_swings(self) -> SmcEventV1:
        if self.label is not None and self.kind not in (SmcEventKind.SWING_HIGH, SmcEventKind.SWING_LOW):
            raise ValueError("label (HH/HL/LH/LL) is only for swing events")
        return self


class ZoneKind(StrEnum):
    ORDER_BLOCK = "ORDER_BLOCK"
    FVG = "FVG"
    LIQUIDITY = "LIQUIDITY"


class ZoneState(StrEnum):
    ACTIVE = "ACTIVE"
    PARTIAL = "PARTIAL"
    MITIGATED = "MITIGATED"
    INVALIDATED = "INVALIDATED"


class ZoneV1(_Derived):
    """A price zone (order block, FVG, liquidity pool). A change of state is a *new* event with
    the same ``zone_id`` and a later ``confirmed_at``; old events are never rewritten."""

    TOPIC: ClassVar[str] = "zones.v1"

    zone_id: str = Field(min_length=1, max_length=128)
    kind: ZoneKind
    direction: Direction
    top: FiniteFloat = Field(gt=0)
    bottom: FiniteFloat = Field(gt=0)
    state: ZoneState = ZoneState.ACTIVE
    fill_pct: FiniteFloat = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ZoneV1:
        if self.top < self.bottom:
            raise ValueError(f"zone top {self.top} is below bottom {self.bottom}")
        return self


class SignalRawV1(_Derived):
    """A trade idea from a strategy, before risk and guards decide on it."""

    TOPIC: ClassVar[str] = "signals_raw.v1"

    signal_id: str = Field(min_length=1, max_length=128)
    strategy: str = Field(min_length=1, max_length=64)
    side: Side
    entry: PositiveMoney
    stop: PositiveMoney
    take_profits_r: list[Decimal] = Field(default_factory=lambda: [Decimal("1.5"), Decimal(2), Decimal(3)])
    score: FiniteFloat = Field(ge=0, le=1)
    ttl_bars: int = Field(ge=1, le=10_000)
    zone_id: str | None = None
    reasons: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _stop_side(self) -> SignalRawV1:
        if self.side is Side.BUY and self.stop >= self.entry:
            raise ValueError("a BUY signal needs its stop below the entry")
        if self.side is Side.SELL and self.stop <= self.entry:
            raise ValueError("a SELL signal needs its stop above the entry")
        if any(r <= 0 for r in self.take_profits_r):
            raise ValueError("take_profits_r must be positive R multiples")
        return self


class Volatility(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    EXTREME = "EXTREME"


class Trend(StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    FLAT = "FLAT"


class RegimeV1(_Derived):
    TOPIC: ClassVar[str] = "regime.v1"

    volatility: Volatility
    trend: Trend
    atr_percentile: FiniteFloat = Field(ge=0, le=100)
    ema_slope: FiniteFloat
