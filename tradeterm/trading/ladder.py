"""Take-profit ladders in R multiples, and the stop adjustments that follow the targets.

A ladder is a list of ``(R multiple, percent of the position)``. Turning it into orders is where
exchanges bite: each slice must be a step multiple, each must pass min quantity and min notional
(on spot at the stop price too, since each slice is its own OCO), and the slices must add up to
the position exactly or a remainder is left unprotected or an exit over-sells. Slices that cannot
stand alone are merged into a neighbour; levels whose price the filters refuse are dropped and
their quantity moved; every such change is reported as a note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tradeterm.contracts.base import Side
from tradeterm.trading.decimals import fmt, lcm_step, split_exact, to_decimal
from tradeterm.trading.exits import exit_shape, validate_stop, validate_take_profit
from tradeterm.trading.fees import FeeRates, break_even_price
from tradeterm.trading.filters import FilterViolation, PriceRole, SymbolFilters, price_direction


def plain_error(exc: ValidationError) -> str:
    """The first validation message without pydantic's framing, for a person to read."""
    err = exc.errors()[0]
    msg = str(err.get("msg", exc))
    msg = msg.removeprefix("Value error, ")
    loc = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
    return msg if not loc or loc in msg or err.get("type") == "value_error" else f"{loc}: {msg}"


_PRICE_FILTERS = ("PRICE_FILTER", "PERCENT_PRICE", "PERCENT_PRICE_BY_SIDE")


class LadderLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    r_multiple: Decimal = Field(gt=0)
    percent: Decimal = Field(gt=0, le=100)

    def __str__(self) -> str:
        return f"{fmt(self.r_multiple)}R:{fmt(self.percent)}"


class LadderSpec(BaseModel):
    """Levels sorted by R; percents add up to exactly 100 (or no levels: stop only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: tuple[LadderLevel, ...]

    @field_validator("levels")
    @classmethod
    def _coherent(cls, levels: tuple[LadderLevel, ...]) -> tuple[LadderLevel, ...]:
        if not levels:
            return levels
        rs = [lv.r_multiple for lv in levels]
        if len(set(rs)) != len(rs):
            raise ValueError(
                f"take-profit levels repeat an R multiple: {', '.join(map(str, levels))}"
            )
        total = sum((lv.percent for lv in levels), Decimal(0))
        if total != 100:
            raise ValueError(
                f"take-profit splits add up to {fmt(total)}%; they must add up to 100%"
            )
        return tuple(sorted(levels, key=lambda lv: lv.r_multiple))

    @classmethod
    def parse(cls, items: Sequence[str] | str) -> LadderSpec:
        """Parse ``["1.5R:40", "2R:30", "3R:30"]`` (or one comma-separated string).

        Errors name the item and what is wrong with it, because this text comes from a person
        at a keyboard (CLI ``--tp`` or the bracket panel).
        """
        if isinstance(items, str):
            items = [p for p in items.split(",") if p.strip()]
        levels = tuple(parse_level(item) for item in items)
        try:
            return cls(levels=levels)
        except ValidationError as exc:
            raise ValueError(plain_error(exc)) from None

    @classmethod
    def equal(cls, r_multiples: Sequence[Decimal]) -> LadderSpec:
        """Whole-percent equal splits (34/33/33): what a signal gets when it names only R levels."""
        if not r_multiples:
            return cls(levels=())
        parts = split_exact(Decimal(100), [Decimal(1)] * len(r_multiples), Decimal(1))
        return cls(
            levels=tuple(LadderLevel(r_multiple=r, percent=p) for r, p in zip(r_multiples, parts))
        )

    def __str__(self) -> str:
        return ", ".join(map(str, self.levels)) or "(no take profits)"


DEFAULT_LADDER = LadderSpec(
    levels=(
        LadderLevel(r_multiple=Decimal("1.5"), percent=Decimal(40)),
        LadderLevel(r_multiple=Decimal(2), percent=Decimal(30)),
        LadderLevel(r_multiple=Decimal(3), percent=Decimal(30)),
    )
)

_LEVEL_RE = re.compile(r"^\s*(?P<r>[^:]*?)\s*[rR]\s*:\s*(?P<pct>[^%]*?)\s*%?\s*$")


def parse_level(item: str) -> LadderLevel:
    """One ``"<R>R:<percent>"`` item, e.g. ``"1.5R:40"`` or ``"2r:30%"``."""
    if not isinstance(item, str):
        raise ValueError(f"take profit {item!r} must be text like '1.5R:40'")  # noqa: TRY004 (pydantic)
    m = _LEVEL_RE.match(item)
    if m is None:
        raise ValueError(
            f"take profit {item!r} must look like '1.5R:40' (R multiple, 'R:', percent of the position)"
        )
    try:
        r = to_decimal(m["r"], name="R multiple")
    except ValueError:
        raise ValueError(f"take profit {item!r}: R multiple {m['r']!r} is not a number") from None
    try:
        pct = to_decimal(m["pct"], name="percent")
    except ValueError:
        raise ValueError(f"take profit {item!r}: percent {m['pct']!r} is not a number") from None
    if r <= 0:
        raise ValueError(f"take profit {item!r}: R multiple must be above 0")
    if not 0 < pct <= 100:
        raise ValueError(f"take profit {item!r}: percent must be above 0 and at most 100")
    return LadderLevel(r_multiple=r, percent=pct)


@dataclass(frozen=True, slots=True)
class PlannedLeg:
    index: int
    r_multiple: Decimal
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class LadderResult:
    legs: tuple[PlannedLeg, ...]
    notes: tuple[str, ...]
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def bracket_quantity_step(filters: SymbolFilters, *, market_entry: bool) -> Decimal:
    """One grid the entry and every exit slice sit on, so slices of the entry are valid orders."""
    shape = exit_shape(filters.market)
    step = filters.quantity_step(market_order=market_entry)
    step = lcm_step(
        step, filters.quantity_step(market_order=filters.is_market_like(shape.take_profit_type))
    )
    return lcm_step(
        step, filters.quantity_step(market_order=filters.is_market_like(shape.stop_type))
    )


def target_price(
    position_side: Side, entry: Decimal, stop: Decimal, r_multiple: Decimal, filters: SymbolFilters
) -> Decimal:
    """``entry + R·(entry − stop)``, rounded toward the entry (closer, more likely to fill)."""
    raw = entry + r_multiple * (entry - stop)
    return filters.round_price(raw, price_direction(PriceRole.TARGET, position_side))


def build_ladder(
    position_side: Side,
    entry: Decimal,
    stop: Decimal,
    quantity: Decimal,
    spec: LadderSpec,
    filters: SymbolFilters,
    *,
    reference: Decimal | None = None,
    stop_slippage: Decimal = Decimal("0.005"),
    market_entry: bool = False,
) -> LadderResult:
    """Slices of ``quantity`` at the spec's R levels that the exchange will accept.

    ``quantity`` must be on :func:`bracket_quantity_step`. ``reference`` (default: the entry)
    is the price PERCENT_PRICE bands are measured from when the exits are placed.
    """
    if not spec.levels:
        return LadderResult(legs=(), notes=())
    step = bracket_quantity_step(filters, market_entry=market_entry)
    parts = split_exact(quantity, [lv.percent for lv in spec.levels], step)
    legs = [
        PlannedLeg(
            i + 1,
            lv.r_multiple,
            target_price(position_side, entry, stop, lv.r_multiple, filters),
            q,
        )
        for i, (lv, q) in enumerate(zip(spec.levels, parts))
    ]
    return fit_legs(
        position_side,
        entry,
        stop,
        legs,
        filters,
        reference=reference or entry,
        stop_slippage=stop_slippage,
    )


def _merge(legs: list[PlannedLeg], i: int) -> tuple[list[PlannedLeg], PlannedLeg]:
    """Move leg ``i``'s quantity to the previous leg (banks it earlier), or the next if first."""
    j = i - 1 if i > 0 else i + 1
    target = legs[j]
    merged = PlannedLeg(
        target.index, target.r_multiple, target.price, target.quantity + legs[i].quantity
    )
    out = list(legs)
    out[j] = merged
    del out[i]
    return out, merged


def fit_legs(
    position_side: Side,
    entry: Decimal,
    stop: Decimal,
    legs: Sequence[PlannedLeg],
    filters: SymbolFilters,
    *,
    reference: Decimal,
    stop_slippage: Decimal,
) -> LadderResult:
    """Drop levels with unusable prices, merge slices too small to stand alone, respect order
    counts; the quantities keep their exact sum. Legs are renumbered 1..n at the end."""
    notes: list[str] = [
        f"TP{leg.index} ({fmt(leg.r_multiple)}R) dropped: its share rounds to 0"
        for leg in legs
        if leg.quantity <= 0
    ]
    work = [leg for leg in legs if leg.quantity > 0]
    total = sum((leg.quantity for leg in legs), Decimal(0))
    long = position_side is Side.BUY
    shape = exit_shape(filters.market)
    # The same slice is checked in step 1 and again in step 2 (and the stop of an unchanged
    # quantity after every merge): each distinct check runs once per call. Callers get copies.
    tp_checks: dict[tuple[Decimal, Decimal], list[FilterViolation]] = {}
    stop_checks: dict[Decimal, list[FilterViolation]] = {}

    def check_tp(price: Decimal, qty: Decimal) -> list[FilterViolation]:
        key = (price, qty)
        if key not in tp_checks:
            tp_checks[key] = validate_take_profit(filters, position_side, price, qty, reference)
        return list(tp_checks[key])

    def check_stop(qty: Decimal) -> list[FilterViolation]:
        if qty not in stop_checks:
            stop_checks[qty] = validate_stop(
                filters, position_side, stop, qty, reference, stop_slippage
            )
        return list(stop_checks[qty])

    # 1. Prices: a target that rounds onto/through the entry, or that the price rules refuse.
    i = 0
    while i < len(work):
        leg = work[i]
        why: str | None = None
        if (leg.price <= entry) if long else (leg.price >= entry):
            why = f"price {fmt(leg.price)} is not beyond the entry {fmt(entry)} after rounding"
        else:
            bad = [v for v in check_tp(leg.price, leg.quantity) if v.filter in _PRICE_FILTERS]
            why = str(bad[0]) if bad else None
        if why is None:
            i += 1
            continue
        if len(work) == 1:
            return LadderResult(
                (), tuple(notes), f"no take-profit level survives the filters: TP{leg.index} {why}"
            )
        work, into = _merge(work, i)
        notes.append(
            f"TP{leg.index} ({fmt(leg.r_multiple)}R) dropped: {why}; its {fmt(leg.quantity)} moved to TP{into.index}"
        )

    # 2. Quantities: each slice as its own order(s); "too small" is cured by merging. The last
    #    failing slice goes first, so small slices fold toward the earlier targets.
    while True:
        failing: tuple[int, FilterViolation] | None = None
        for i, leg in reversed(list(enumerate(work))):
            found = check_tp(leg.price, leg.quantity)
            if shape.oco_per_leg:
                found += check_stop(leg.quantity)
            hard = [v for v in found if not v.is_minimum]
            if hard:
                return LadderResult(
                    (), tuple(notes), f"TP{leg.index} ({fmt(leg.r_multiple)}R): {hard[0]}"
                )
            if found:
                failing = (i, found[0])
                break
        if failing is None:
            break
        i, violation = failing
        leg = work[i]
        if len(work) == 1:
            return LadderResult((), tuple(notes), f"exit of {fmt(leg.quantity)}: {violation}")
        work, into = _merge(work, i)
        notes.append(
            f"TP{leg.index} ({fmt(leg.r_multiple)}R) {fmt(leg.quantity)} cannot stand alone "
            f"({violation.detail}); merged into TP{into.index}"
        )

    # 3. Order counts per symbol (open orders of other brackets are not known here).
    def counts(n: int) -> tuple[int, int]:
        algo = n if shape.oco_per_leg else n + 1  # spot: one stop per OCO; futures: TPs + stop
        orders = 1 + (2 * n if shape.oco_per_leg else n + 1)
        return algo, orders

    while len(work) > 1:
        algo, orders = counts(len(work))
        over = (filters.max_num_algo_orders is not None and algo > filters.max_num_algo_orders) or (
            filters.max_num_orders is not None and orders > filters.max_num_orders
        )
        if not over:
            break
        last = work[-1]
        work, into = _merge(work, len(work) - 1)
        notes.append(
            f"TP{last.index} merged into TP{into.index}: {algo} conditional orders exceed "
            f"MAX_NUM_ALGO_ORDERS {filters.max_num_algo_orders}"
        )

    final = tuple(
        PlannedLeg(n + 1, leg.r_multiple, leg.price, leg.quantity) for n, leg in enumerate(work)
    )
    assert sum((leg.quantity for leg in final), Decimal(0)) == total  # merging never loses quantity
    return LadderResult(final, tuple(notes))


def break_even_stop(
    position_side: Side,
    avg_entry: Decimal,
    fees: FeeRates,
    filters: SymbolFilters,
    *,
    entry_rate: Decimal | None = None,
) -> Decimal:
    """The stop that makes the rest of the position a scratch trade after fees, on the tick.

    Entry commission defaults to the taker rate and the stop exit is a taker fill, the
    conservative pair; rounding follows the stop rule (long up, short down), so a stop-out at
    this price never loses money on the remaining quantity.
    """
    rate = fees.taker if entry_rate is None else entry_rate
    raw = break_even_price(position_side, avg_entry, rate, fees.taker)
    return filters.round_stop(position_side, raw)


def atr_trail_stop(
    position_side: Side,
    current_stop: Decimal,
    extreme: Decimal,
    atr: Decimal,
    multiple: Decimal,
    filters: SymbolFilters,
    *,
    last_price: Decimal | None = None,
) -> Decimal | None:
    """A chandelier stop ``multiple × ATR`` behind the best price since the trail began.

    ``extreme`` is the highest high (long) or lowest low (short). Returns the new stop only when
    it tightens the current one and would not trigger at once (Binance refuses a stop already
    through the market, -2021); ``None`` means keep the stop where it is.
    """
    if atr <= 0 or multiple <= 0:
        return None
    if position_side is Side.BUY:
        candidate = filters.round_stop(position_side, extreme - multiple * atr)
        if candidate <= current_stop or candidate <= 0:
            return None
        if last_price is not None and candidate >= last_price:
            return None
    else:
        candidate = filters.round_stop(position_side, extreme + multiple * atr)
        if candidate >= current_stop:
            return None
        if last_price is not None and candidate <= last_price:
            return None
    return candidate
