"""Exposure guard: cap how much can be lost at once.

Open risk is the sum, in R, of what every open position and resting entry loses if its stop is
hit. Capping it (and the number of positions) keeps one correlated move from costing more than
a few R; a new entry is refused when it would take open risk past the cap, not only once the
cap is already exceeded. No end time: the block lifts when a position closes.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.analysis.guards.base import (
    ExposureSnapshot,
    GuardInputs,
    GuardState,
    Memo,
    block,
    missing,
    safe,
)


class ExposureGuardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_open_risk_r: Decimal = Field(default=Decimal(3), gt=0)
    max_positions: int = Field(default=3, ge=1)
    new_trade_r: Decimal = Field(
        default=Decimal(1), gt=0, description="risk of the entry being considered"
    )
    fail_closed: bool = True


class ExposureGuard:
    def __init__(self, config: ExposureGuardConfig | None = None, name: str = "exposure") -> None:
        self.config = config or ExposureGuardConfig()
        self.name = name
        self._memo = Memo()

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState:
        x = inputs.exposure
        hit = self._memo.get(x, now_ms)
        if hit is None:
            hit = self._memo.put(x, 0, None, self._judge(x))  # no time dependence at all
        return hit

    def _judge(self, x: ExposureSnapshot | None) -> GuardState:
        cfg = self.config
        if x is None:
            return missing(self.name, "position data", cfg.fail_closed)
        reasons = []
        if x.open_positions >= cfg.max_positions:
            reasons.append(f"{x.open_positions} open positions (max {cfg.max_positions})")
        if x.open_risk_r + cfg.new_trade_r > cfg.max_open_risk_r:
            reasons.append(
                f"open risk {x.open_risk_r:f}R + {cfg.new_trade_r:f}R would exceed {cfg.max_open_risk_r:f}R"
            )
        if reasons:
            return block(self.name, "; ".join(reasons))
        return safe(
            self.name,
            f"open risk {x.open_risk_r:f}R of {cfg.max_open_risk_r:f}R, {x.open_positions}/{cfg.max_positions} positions",
        )
