"""From a signal or a manual ticket to a sized, filter-rounded bracket, or a refusal that says why.

:func:`plan_bracket` does the work once and both :func:`decide` (the DecisionV1 the broker acts
on) and :func:`~tradeterm.trading.preview.preview` (what the bracket panel shows) read its
result, so the preview a trader approves is exactly what is sent. A plan collects *every*
reason it refuses rather than stopping at the first, so one look tells the whole story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError

from tradeterm.contracts.analysis import SignalRawV1
from tradeterm.contracts.base import Side, ms_to_iso
from tradeterm.contracts.trading import DecisionStatus, DecisionV1, OrderType, TakeProfitLeg
from tradeterm.trading.decimals import fmt
from tradeterm.trading.exits import exit_shape, validate_stop
from tradeterm.trading.filters import (
    FilterViolation,
    Market,
    PriceRole,
    SymbolFilters,
    price_direction,
)
from tradeterm.trading.ids import decision_id_for_signal, decision_id_for_ticket
from tradeterm.trading.killswitch import KillSwitch
from tradeterm.trading.ladder import (
    LadderLevel,
    LadderSpec,
    PlannedLeg,
    bracket_quantity_step,
    build_ladder,
    plain_error,
)
from tradeterm.trading.risk import AccountSnapshot, RiskAmount, RiskConfig
from tradeterm.trading.sizing import SizeResult, liquidation_price, size_position
from tradeterm.trading.ticket import ManualTicket

Guards = bool | Sequence[str]
"""True = all guards SAFE; False = blocked (no detail); a list = the BLOCK reasons (empty = SAFE)."""

Source = SignalRawV1 | ManualTicket


@dataclass(frozen=True, slots=True)
class BracketPlan:
    decision_id: str
    signal_id: str | None
    venue: str
    symbol: str
    side: Side
    order_type: OrderType
    entry: Decimal | None  # the LIMIT price sent (None for MARKET)
    entry_estimate: Decimal | None  # the price sizing used: the limit, or the market price
    stop: Decimal
    quantity: Decimal
    legs: tuple[PlannedLeg, ...]
    risk_amount: Decimal
    leverage: int
    size: SizeResult | None
    liquidation_price: Decimal | None
    expires_at: int | None
    created_at: int
    rounding: tuple[str, ...]
    notes: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def approved(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class _Request:
    """The common shape of a signal and a ticket once defaults are applied."""

    decision_id: str
    signal_id: str | None
    venue: str
    symbol: str
    side: Side
    entry: Decimal | None
    stop: Decimal
    ladder: LadderSpec
    risk: RiskAmount
    leverage: int
    expires_at: int | None
    notes: tuple[str, ...]
    problems: tuple[str, ...]


def _signal_ladder(rs: Sequence[Decimal], config: LadderSpec) -> tuple[LadderSpec, str | None]:
    """A signal names R levels only: the config's splits apply when the counts match."""
    levels = sorted(rs)
    if not levels:
        return LadderSpec(levels=()), None
    if len(levels) == len(config.levels):
        spec = LadderSpec(
            levels=tuple(
                LadderLevel(r_multiple=r, percent=lv.percent)
                for r, lv in zip(levels, config.levels)
            )
        )
        return spec, None
    note = f"signal names {len(levels)} take-profit levels, the ladder config {len(config.levels)}: equal splits"
    return LadderSpec.equal(levels), note


def _request(source: Source, risk: RiskConfig, now_ms: int) -> _Request:
    if isinstance(source, SignalRawV1):
        problems: list[str] = []
        notes: list[str] = []
        try:
            ladder, note = _signal_ladder(source.take_profits_r, risk.ladder)
            if note:
                notes.append(note)
        except ValidationError as exc:
            ladder = LadderSpec(levels=())
            problems.append(f"signal take profits: {plain_error(exc)}")
        return _Request(
            decision_id=decision_id_for_signal(source.venue, source.symbol, source.signal_id),
            signal_id=source.signal_id,
            venue=source.venue,
            symbol=source.symbol,
            side=source.side,
            entry=source.entry,
            stop=source.stop,
            ladder=ladder,
            risk=risk.risk,
            leverage=risk.leverage,
            expires_at=source.confirmed_at + source.ttl_bars * source.tf.ms,
            notes=tuple(notes),
            problems=tuple(problems),
        )
    key = source.key() if source.ticket_id else f"{source.key()}@{now_ms}"
    return _Request(
        decision_id=decision_id_for_ticket(source.venue, source.symbol, key),
        signal_id=None,
        venue=source.venue,
        symbol=source.symbol,
        side=source.side,
        entry=source.entry,
        stop=source.stop,
        ladder=source.take_profits if source.take_profits is not None else risk.ladder,
        risk=source.risk if source.risk is not None else risk.risk,
        leverage=source.leverage if source.leverage is not None else risk.leverage,
        expires_at=now_ms + source.ttl_ms if source.ttl_ms else None,
        notes=(),
        problems=(),
    )


def _guard_reasons(guards: Guards) -> list[str]:
    if guards is True:
        return []
    if guards is False:
        return ["guard BLOCK"]
    out = []
    for g in guards:
        text = str(g).strip()
        out.append(text if text.lower().startswith("guard") else f"guard BLOCK: {text}")
    return out


def _violation_reason(what: str, v: FilterViolation) -> str:
    return f"{what}: {v.detail} after rounding ({v.message})"


def plan_bracket(
    source: Source,
    account: AccountSnapshot,
    filters: SymbolFilters,
    risk: RiskConfig,
    guards: Guards,
    now_ms: int,
    *,
    market_price: Decimal | None = None,
    killswitch: KillSwitch | None = None,
) -> BracketPlan:
    """Size, round and check a bracket; ``reasons`` is empty when it may be sent.

    ``market_price`` (last or mark price) values a MARKET entry and is the reference for
    PERCENT_PRICE checks; without it a LIMIT entry is planned but its price band is unchecked.
    """
    req = _request(source, risk, now_ms)
    reasons: list[str] = list(req.problems)
    notes: list[str] = list(req.notes)
    rounding: list[str] = []
    side = req.side
    long = side is Side.BUY

    if killswitch is not None and (refusal := killswitch.refusal()):
        reasons.append(refusal)
    reasons += _guard_reasons(guards)
    if req.symbol != filters.symbol:
        reasons.append(f"the filters are for {filters.symbol}, not {req.symbol}")
    if filters.status != "TRADING":
        reasons.append(f"{filters.symbol} is {filters.status}, not TRADING")
    if req.expires_at is not None and req.expires_at <= now_ms:
        reasons.append(f"signal expired at {ms_to_iso(req.expires_at)}")

    market_entry = req.entry is None
    order_type = OrderType.MARKET if market_entry else OrderType.LIMIT
    leverage = req.leverage
    if filters.market is Market.SPOT and leverage > 1:
        notes.append(f"leverage {leverage}x ignored on spot")
        leverage = 1

    def plan(
        entry: Decimal | None,
        estimate: Decimal | None,
        stop: Decimal,
        *,
        quantity: Decimal = Decimal(0),
        legs: tuple[PlannedLeg, ...] = (),
        risk_amount: Decimal = Decimal(0),
        size: SizeResult | None = None,
        liq: Decimal | None = None,
    ) -> BracketPlan:
        return BracketPlan(
            decision_id=req.decision_id,
            signal_id=req.signal_id,
            venue=req.venue,
            symbol=req.symbol,
            side=side,
            order_type=order_type,
            entry=entry,
            entry_estimate=estimate,
            stop=stop,
            quantity=quantity,
            legs=legs,
            risk_amount=risk_amount,
            leverage=leverage,
            size=size,
            liquidation_price=liq,
            expires_at=req.expires_at,
            created_at=now_ms,
            rounding=tuple(rounding),
            notes=tuple(notes),
            reasons=tuple(reasons),
        )

    # Prices, rounded by the house rules.
    tick = filters.tick_size
    if market_entry:
        entry = None
        if market_price is None or market_price <= 0:
            reasons.append("a market entry needs the current market price to be sized")
            return plan(None, None, req.stop)
        estimate = market_price
    else:
        assert req.entry is not None
        entry = filters.round_entry(side, req.entry)
        if entry != req.entry:
            rounding.append(
                f"entry {fmt(req.entry)} -> {fmt(entry)} ({price_direction(PriceRole.ENTRY, side)} to tick {fmt(tick)})"
            )
        if entry <= 0:
            reasons.append(f"entry {fmt(req.entry)} rounds to {fmt(entry)} at tick {fmt(tick)}")
            return plan(req.entry, None, req.stop)
        estimate = entry
    stop = filters.round_stop(side, req.stop)
    if stop != req.stop:
        rounding.append(
            f"stop {fmt(req.stop)} -> {fmt(stop)} ({price_direction(PriceRole.STOP, side)} to tick {fmt(tick)}, toward the entry)"
        )
    if stop <= 0:
        reasons.append(f"stop {fmt(req.stop)} rounds to {fmt(stop)} at tick {fmt(tick)}")
        return plan(entry, estimate, req.stop)
    if stop == estimate:
        reasons.append(f"stop distance is zero (entry {fmt(estimate)}, stop {fmt(stop)})")
        return plan(entry, estimate, stop)
    if long and stop > estimate:
        reasons.append(
            f"a buy needs its stop below the entry: stop {fmt(stop)}, entry {fmt(estimate)}"
        )
        return plan(entry, estimate, stop)
    if not long and stop < estimate:
        reasons.append(
            f"a sell needs its stop above the entry: stop {fmt(stop)}, entry {fmt(estimate)}"
        )
        return plan(entry, estimate, stop)

    # Size.
    risk_amount = req.risk.amount(account.equity)
    if risk_amount <= 0:
        reasons.append(f"1R is zero ({req.risk} of equity {fmt(account.equity)})")
        return plan(entry, estimate, stop)
    step = bracket_quantity_step(filters, market_entry=market_entry)
    size = size_position(
        entry=estimate,
        stop=stop,
        risk_amount=risk_amount,
        available=account.available,
        filters=filters,
        step=step,
        leverage=leverage,
        max_notional=risk.max_notional,
        fees=risk.fees,
        include_fees_in_risk=risk.include_fees_in_risk,
        market_order=market_entry,
    )
    notes.extend(size.caps)
    qty = size.quantity
    if qty <= 0:
        if size.caps:  # risk alone would buy something: a cap (balance, maxQty, …) took it to 0
            reasons.append(f"quantity is 0: {size.caps[0]}")
        else:
            reasons.append(
                f"quantity rounds to 0 at step {fmt(step)} (1R {fmt(risk_amount)} / loss per unit "
                f"{fmt(size.loss_per_unit)} = {fmt(size.raw_quantity.quantize(Decimal('1E-12')))})"
            )
        return plan(entry, estimate, stop, risk_amount=risk_amount, size=size)
    entry_violations = filters.validate(entry, qty, side, order_type, market_price)
    reasons += [_violation_reason("entry", v) for v in entry_violations]

    # Exits.
    legs: tuple[PlannedLeg, ...] = ()
    if not entry_violations:
        ladder = build_ladder(
            side,
            estimate,
            stop,
            qty,
            req.ladder,
            filters,
            reference=estimate,
            stop_slippage=risk.stop_limit_slippage,
            market_entry=market_entry,
        )
        notes.extend(ladder.notes)
        if not ladder.ok:
            reasons.append(f"take profits: {ladder.failure}")
        legs = ladder.legs
        if not exit_shape(filters.market).oco_per_leg or (
            ladder.ok and not legs
        ):  # else checked per slice
            stop_violations = validate_stop(
                filters, side, stop, qty, estimate, risk.stop_limit_slippage
            )
            reasons += [_violation_reason("stop", v) for v in stop_violations]

    # Margin (USD-M): the stop must sit before liquidation.
    liq = None
    if filters.market is Market.USDM:
        mmr = (
            risk.maintenance_margin_rate
            if risk.maintenance_margin_rate is not None
            else filters.maint_margin_rate
        )
        if mmr is not None:
            liq = filters.round_stop(side, liquidation_price(side, estimate, leverage, mmr))
            if (long and liq >= stop) or (not long and liq <= stop):
                reasons.append(
                    f"stop {fmt(stop)} is beyond the liquidation price {fmt(liq)} at {leverage}x "
                    f"(isolated, maintenance margin {fmt(mmr * 100)}%)"
                )
    return plan(
        entry, estimate, stop, quantity=qty, legs=legs, risk_amount=risk_amount, size=size, liq=liq
    )


def plan_to_decision(plan: BracketPlan) -> DecisionV1:
    """The contract the bus carries; a refused plan carries no quantity and no legs."""
    approved = plan.approved
    return DecisionV1(
        decision_id=plan.decision_id,
        signal_id=plan.signal_id,
        venue=plan.venue,
        symbol=plan.symbol,
        side=plan.side,
        status=DecisionStatus.APPROVED if approved else DecisionStatus.REJECTED,
        order_type=plan.order_type,
        entry=plan.entry,
        stop=plan.stop,
        quantity=plan.quantity if approved else Decimal(0),
        take_profits=[
            TakeProfitLeg(price=leg.price, quantity=leg.quantity, r_multiple=leg.r_multiple)
            for leg in plan.legs
        ]
        if approved
        else [],
        risk_amount=plan.risk_amount,
        leverage=plan.leverage,
        reasons=list(plan.notes) if approved else list(plan.reasons),
        created_at=plan.created_at,
        expires_at=plan.expires_at,
    )


def decide(
    source: Source,
    account: AccountSnapshot,
    filters: SymbolFilters,
    risk: RiskConfig,
    guards: Guards,
    now_ms: int,
    *,
    market_price: Decimal | None = None,
    killswitch: KillSwitch | None = None,
) -> DecisionV1:
    """APPROVED with rounded legs, or REJECTED with every reason; never an exception for a
    refusal. A decision that cannot satisfy the filters is refused here, never sent."""
    return plan_to_decision(
        plan_bracket(
            source,
            account,
            filters,
            risk,
            guards,
            now_ms,
            market_price=market_price,
            killswitch=killswitch,
        )
    )
