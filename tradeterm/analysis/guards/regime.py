"""Regime guard: stand aside when volatility is EXTREME.

In the top few percent of its own recent volatility a market gaps through stops and fills
entries far from their price; sizing in R assumes the stop holds, so the cheapest protection is
not to enter. The block ends when the regime changes, which no clock can predict: ``until_ms``
is ``None``. A regime reading older than ``max_age_ms`` counts as missing, so a stalled feed
does not keep an old "calm" verdict alive.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.analysis.guards.base import (
    GuardInputs,
    GuardState,
    Memo,
    block,
    fmt_ms,
    missing,
    safe,
)
from tradeterm.contracts import Volatility


class RegimeGuardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    block_levels: frozenset[Volatility] = frozenset({Volatility.EXTREME})
    max_age_ms: int | None = Field(default=None, gt=0)
    fail_closed: bool = False


class RegimeGuard:
    def __init__(self, config: RegimeGuardConfig | None = None, name: str = "regime") -> None:
        self.config = config or RegimeGuardConfig()
        self.name = name
        self._memo = Memo()

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState:
        r = inputs.regime
        hit = self._memo.get(r, now_ms)
        if hit is not None:
            return hit
        cfg = self.config
        if r is None:
            return self._memo.put(
                None, now_ms, None, missing(self.name, "regime reading yet", cfg.fail_closed)
            )
        expires = None if cfg.max_age_ms is None else r.confirmed_at + cfg.max_age_ms + 1
        if expires is not None and now_ms >= expires:
            stale = f"fresh regime reading (the last one is from {fmt_ms(r.confirmed_at)})"
            return self._memo.put(r, now_ms, None, missing(self.name, stale, cfg.fail_closed))
        text = f"volatility {r.volatility.value} (ATR percentile {r.atr_percentile:.1f}), trend {r.trend.value}"
        state = (
            block(self.name, text) if r.volatility in cfg.block_levels else safe(self.name, text)
        )
        return self._memo.put(r, now_ms, expires, state)
