"""Parameters of the retest analyser (they are also the ``smc_retest`` strategy's parameters)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tradeterm.analysis.strategies.base import StrategyParams


class RetestConfig(StrategyParams):
    """See :mod:`tradeterm.analysis.retest.rules` for what each threshold means in a setup.

    ``zones``: which zones can be retested (order blocks, fair value gaps, or both).
    ``allow_choch``: also accept a zone whose side last broke structure with a CHOCH (a fresh
    reversal) rather than only a BOS (a confirmed trend).
    ``max_zone_age`` (bars) and ``max_zones`` (per side, newest kept): old and far zones are not
    what a trader watches, and a bounded set keeps the per-bar cost flat.
    ``rsi_min``/``rsi_max`` are the band for a BUY; a SELL uses the mirrored band
    ``100 - rsi_max .. 100 - rsi_min`` (the same band when it is symmetric around 50).
    """

    zones: Literal["ob", "fvg", "both"] = "both"
    allow_choch: bool = False
    max_zone_age: int = Field(default=300, ge=1, le=100_000)
    max_zones: int = Field(default=10, ge=1, le=1000)
    min_zone_atr: float = Field(default=0.1, ge=0.0)
    wick_ratio: float = Field(default=0.4, gt=0.0, le=1.0)
    trend_filter: bool = True
    ema_period: int = Field(default=200, ge=2, le=100_000)
    slope_bars: int = Field(default=10, ge=1, le=10_000)
    macd_fast: int = Field(default=12, ge=2, le=100_000)
    macd_slow: int = Field(default=26, ge=2, le=100_000)
    macd_signal: int = Field(default=9, ge=1, le=100_000)
    rsi_period: int = Field(default=14, ge=2, le=100_000)
    rsi_min: float = Field(default=35.0, ge=0.0, le=100.0)
    rsi_max: float = Field(default=65.0, ge=0.0, le=100.0)
    volume_period: int = Field(default=20, ge=1, le=100_000)
    min_rel_volume: float = Field(default=0.0, ge=0.0)
    atr_period: int = Field(default=14, ge=1, le=100_000)
    atr_buffer: float = Field(default=0.25, ge=0.0)
    max_risk_atr: float = Field(default=4.0, gt=0.0)
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _coherent(self) -> RetestConfig:
        if self.rsi_min >= self.rsi_max:
            raise ValueError(f"rsi_min ({self.rsi_min}) must be below rsi_max ({self.rsi_max})")
        if self.macd_fast >= self.macd_slow:
            raise ValueError(
                f"macd_fast ({self.macd_fast}) must be below macd_slow ({self.macd_slow})"
            )
        return self
