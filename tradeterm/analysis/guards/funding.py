"""Funding guard: no new perpetual entries just before a funding settlement, or while the rate
is extreme.

Entering minutes before settlement pays (or receives) a full interval's funding for a few
minutes of exposure, and the minutes around settlement are when funding-arbitrage flows move
price. An extreme rate (|rate| above a threshold) means a crowded side that tends to unwind
violently, so the guard stands aside until the settlement resets it.

Schedule: if the window was published with ``block_from``/``block_until`` those are used as
given; otherwise the block is ``[funding_time - minutes_before, funding_time + minutes_after)``.
A window whose ``funding_time`` has passed is rolled forward by whole ``interval_hours`` (the
settlement clock is fixed) while its rate is kept until a newer window arrives.
"""

from __future__ import annotations

from decimal import Decimal

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
from tradeterm.contracts import FundingWindowV1

_MINUTE = 60_000
_HOUR = 60 * _MINUTE


class FundingGuardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    minutes_before: int = Field(default=15, ge=0, le=24 * 60)
    minutes_after: int = Field(default=0, ge=0, le=24 * 60)
    max_abs_rate: Decimal = Field(
        default=Decimal("0.001"), gt=0, description="0.001 = 0.1% per interval"
    )
    fail_closed: bool = False


class FundingGuard:
    def __init__(self, config: FundingGuardConfig | None = None, name: str = "funding") -> None:
        self.config = config or FundingGuardConfig()
        self.name = name
        self._memo = Memo()

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState:
        w = inputs.funding
        hit = self._memo.get(w, now_ms)
        if hit is not None:
            return hit
        if w is None:
            return self._memo.put(
                None, now_ms, None, missing(self.name, "funding data", self.config.fail_closed)
            )
        cfg = self.config
        after = cfg.minutes_after * _MINUTE
        funding_time = _current_settlement(w, now_ms, after)
        if w.block_from is not None and w.block_until is not None and w.block_until > now_ms:
            start, end = w.block_from, w.block_until
        else:
            start, end = funding_time - cfg.minutes_before * _MINUTE, funding_time + after
        reasons: list[str] = []
        untils: list[int] = []
        if start <= now_ms < end:
            reasons.append(f"funding settlement at {fmt_ms(funding_time)}")
            untils.append(end)
        if abs(w.rate) > cfg.max_abs_rate:
            reasons.append(
                f"|funding rate| {_pct(w.rate)} above {_pct(cfg.max_abs_rate)} until settlement at {fmt_ms(funding_time)}"
            )
            untils.append(funding_time)
        # nothing above changes before the next of these instants
        hi = min(t for t in (start, end, funding_time, funding_time + after) if t > now_ms)
        if reasons:
            return self._memo.put(w, now_ms, hi, block(self.name, "; ".join(reasons), max(untils)))
        state = safe(
            self.name, f"funding {_pct(w.rate)}, next settlement {fmt_ms(funding_time)}", start
        )
        return self._memo.put(w, now_ms, hi, state)


def _current_settlement(w: FundingWindowV1, now_ms: int, after_ms: int) -> int:
    """The first settlement whose block has not ended yet (``now < settlement + after``): a
    stale window must not make the guard think settlement is long past, and the minutes just
    after a settlement still belong to it."""
    t = w.funding_time
    if t + after_ms <= now_ms:
        step = w.interval_hours * _HOUR
        t += ((now_ms - t - after_ms) // step + 1) * step
    return t


def _pct(rate: Decimal) -> str:
    return f"{rate * 100:.4f}%"
