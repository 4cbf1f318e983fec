"""What the bracket panel and ``tradeterm orders bracket --dry-run`` show before sending.

Built from the same :func:`plan_bracket` as the decision, so every figure is of the rounded
orders that would really go out: quantity, notional, risk in quote (with and without fees),
R:R per target on the rounded prices, commission at maker and taker rates, margin and, on
USD-M, the isolated liquidation estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import DecisionV1, OrderType
from tradeterm.trading.decision import Guards, Source, plan_bracket, plan_to_decision
from tradeterm.trading.exits import exit_shape
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.killswitch import KillSwitch
from tradeterm.trading.risk import AccountSnapshot, RiskConfig


@dataclass(frozen=True, slots=True)
class TargetPreview:
    index: int
    r_multiple: Decimal  # as planned (the level asked for)
    price: Decimal  # rounded
    quantity: Decimal
    reward_to_risk: Decimal  # |target − entry| / |entry − stop| on the rounded prices
    profit: Decimal  # gross, in quote


@dataclass(frozen=True, slots=True)
class FeeEstimate:
    entry_maker: Decimal
    entry_taker: Decimal
    exit_at_stop: Decimal  # a stop fills as taker
    exit_at_targets: Decimal  # spot LIMIT_MAKER targets pay maker; USD-M LIMIT targets: taker (a gap may take)

    @property
    def worst_round_trip(self) -> Decimal:
        """Taker in, stopped out: the commission added to a full 1R loss."""
        return self.entry_taker + self.exit_at_stop


@dataclass(frozen=True, slots=True)
class Preview:
    ok: bool
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    rounding: tuple[str, ...]
    side: Side
    order_type: OrderType
    entry: Decimal | None
    entry_estimate: Decimal | None
    stop: Decimal
    quantity: Decimal
    notional: Decimal
    risk_amount: Decimal  # 1R as configured
    risk_quote: Decimal  # quantity × |entry − stop| (≤ 1R)
    risk_quote_with_fees: Decimal
    targets: tuple[TargetPreview, ...]
    fees: FeeEstimate
    leverage: int
    margin: Decimal  # notional / leverage (spot: the quote spent)
    liquidation_price: Decimal | None
    decision: DecisionV1


def preview(
    source: Source,
    account: AccountSnapshot,
    filters: SymbolFilters,
    risk: RiskConfig,
    now_ms: int,
    *,
    guards: Guards = True,
    market_price: Decimal | None = None,
    killswitch: KillSwitch | None = None,
) -> Preview:
    """Figures of the bracket as it would be sent; a refused plan still shows what it can."""
    plan = plan_bracket(
        source,
        account,
        filters,
        risk,
        guards,
        now_ms,
        market_price=market_price,
        killswitch=killswitch,
    )
    qty = plan.quantity
    entry = plan.entry_estimate or Decimal(0)
    distance = abs(entry - plan.stop) if plan.entry_estimate is not None else Decimal(0)
    notional = qty * entry
    fees = risk.fees
    tp_rate = (
        fees.maker
        if exit_shape(filters.market).take_profit_type is OrderType.LIMIT_MAKER
        else fees.taker
    )
    targets = tuple(
        TargetPreview(
            index=leg.index,
            r_multiple=leg.r_multiple,
            price=leg.price,
            quantity=leg.quantity,
            reward_to_risk=abs(leg.price - entry) / distance if distance else Decimal(0),
            profit=leg.quantity * abs(leg.price - entry),
        )
        for leg in plan.legs
    )
    estimate = FeeEstimate(
        entry_maker=notional * fees.maker,
        entry_taker=notional * fees.taker,
        exit_at_stop=qty * plan.stop * fees.taker,
        exit_at_targets=sum((t.quantity * t.price * tp_rate for t in targets), Decimal(0)),
    )
    risk_quote = qty * distance
    return Preview(
        ok=plan.approved,
        reasons=plan.reasons,
        notes=plan.notes,
        rounding=plan.rounding,
        side=plan.side,
        order_type=plan.order_type,
        entry=plan.entry,
        entry_estimate=plan.entry_estimate,
        stop=plan.stop,
        quantity=qty,
        notional=notional,
        risk_amount=plan.risk_amount,
        risk_quote=risk_quote,
        risk_quote_with_fees=risk_quote + estimate.worst_round_trip,
        targets=targets,
        fees=estimate,
        leverage=plan.leverage,
        margin=notional / plan.leverage,
        liquidation_price=plan.liquidation_price,
        decision=plan_to_decision(plan),
    )
