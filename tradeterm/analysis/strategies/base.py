"""The strategy plugin contract: what a strategy receives per closed candle and what it returns.

A strategy is a class with a ``name``, a pydantic ``Params`` model and ``on_bar(ctx) -> list of
SignalRawV1``. It is constructed once per stream with validated parameters and then fed every
closed candle in order. The :class:`Context` it receives holds only what is known at that bar's
close (the bar itself, indicator values, the SMC events the bar confirmed, the regime), so a
strategy that uses nothing else cannot look ahead; the prefix-property tests hold every built-in
to that.

Parameters are pydantic models with ``extra="forbid"``: a misspelt parameter is an error naming
it, not a silently ignored default. Sequence parameters also accept ``"1.5,2,3"`` so they can be
given as ``--param take_profits_r=1.5,2,3`` on the command line.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveFloat, field_validator

from tradeterm.analysis.indicators import IndicatorConfig
from tradeterm.analysis.regime import RegimeReading
from tradeterm.analysis.smc.materialise import Stream
from tradeterm.contracts import SignalRawV1, SmcEventV1, ZoneV1


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


RMultiples = Annotated[
    tuple[PositiveFloat, ...],
    BeforeValidator(_split_commas),
    Field(min_length=1, max_length=10),
]
"""Take-profit ladder in R, ascending; ``"1.5,2,3"`` is accepted for command lines."""


class StrategyParams(BaseModel):
    """Base of every strategy's parameters: frozen, strict about unknown names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    take_profits_r: RMultiples = (1.5, 2.0, 3.0)
    ttl_bars: int = Field(default=6, ge=1, le=10_000)

    @field_validator("take_profits_r")
    @classmethod
    def _ascending(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError(f"take-profit R multiples must be strictly ascending, got {list(v)}")
        return v


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed candle; ``index`` counts bars since the stream started (0-based)."""

    index: int
    open_time: int
    close_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Context:
    """What a strategy may read at the close of ``bar``: nothing from later bars exists here.

    ``indicators`` is the configuration that produced ``features`` (``None`` if unknown), so a
    strategy can reuse a value instead of recomputing it when the periods match its own.
    """

    stream: Stream
    bar: Bar
    features: Mapping[str, float | None]
    smc_events: Sequence[SmcEventV1]
    zone_events: Sequence[ZoneV1]
    regime: RegimeReading | None
    indicators: IndicatorConfig | None = None


@runtime_checkable
class Strategy(Protocol):
    """A trading idea generator, one instance per stream (it may keep state between bars)."""

    name: ClassVar[str]
    Params: ClassVar[type[StrategyParams]]

    def on_bar(self, ctx: Context) -> list[SignalRawV1]: ...
