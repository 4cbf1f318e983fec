"""Exchange filters of one symbol: parsed from exchangeInfo, applied before anything is sent.

Binance refuses an order that breaks a filter (spot ``-1013 Filter failure: X``, futures
``-40xx``); finding that out at the exchange costs a round trip, a rate-limit unit and, for a
bracket, possibly a half-placed position. So every price and quantity is rounded here and
checked again with :meth:`SymbolFilters.validate` before a decision is approved.

Rounding directions (the rule of the house, see ``price_direction``):

* quantity: always DOWN to the step (never risk more than 1R, never spend more than we have);
* entry: BUY down, SELL up (never a worse price than asked; the order may fill a tick later);
* stop: toward the entry (long: UP, short: DOWN) so the stop never moves further away and the
  loss at the stop never exceeds what was sized;
* target: toward the entry (long: DOWN, short: UP), closer and so more likely to fill.

A zero tickSize/stepSize/minPrice/maxPrice/minQty/maxQty/maxNotional disables that sub-rule,
as on Binance (spot MARKET_LOT_SIZE ships with stepSize 0 for every symbol in 2024).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderType
from tradeterm.trading.decimals import (
    ZERO,
    Direction,
    decimals,
    fmt,
    is_multiple,
    lcm_step,
    round_to_step,
)
from tradeterm.trading.exchange_info import symbol_fields
from tradeterm.trading.filter_types import (
    FilterViolation,
    Frozen,
    LotSizeFilter,
    Market,
    NotionalFilter,
    PercentPriceFilter,
    PriceFilter,
    RoundedOrder,
)

__all__ = [
    "FilterViolation",
    "LotSizeFilter",
    "Market",
    "NotionalFilter",
    "PercentPriceFilter",
    "PriceFilter",
    "PriceRole",
    "RoundedOrder",
    "SymbolFilters",
    "price_direction",
]


class PriceRole(StrEnum):
    """What a price is for: the rounding direction depends on it (module docstring)."""

    ENTRY = "ENTRY"
    STOP = "STOP"
    TARGET = "TARGET"


def price_direction(role: PriceRole, position_side: Side) -> Direction:
    """Rounding direction of a price for a position opened with ``position_side``.

    For ENTRY the position side is the order side. For STOP and TARGET it is the side of the
    entry (the exit order itself is the opposite side).
    """
    long = position_side is Side.BUY
    if role is PriceRole.ENTRY:
        return "down" if long else "up"
    if role is PriceRole.STOP:
        return "up" if long else "down"
    return "down" if long else "up"


# Order types by how their prices work, per market (the same name means different things:
# spot TAKE_PROFIT is a market order once triggered, futures TAKE_PROFIT is a limit order).
_SPOT_KINDS: dict[OrderType, str] = {
    OrderType.LIMIT: "limit",
    OrderType.LIMIT_MAKER: "limit",
    OrderType.MARKET: "market",
    OrderType.STOP_LOSS: "trigger",
    OrderType.TAKE_PROFIT: "trigger",
    OrderType.STOP_LOSS_LIMIT: "limit_trigger",
    OrderType.TAKE_PROFIT_LIMIT: "limit_trigger",
}
_USDM_KINDS: dict[OrderType, str] = {
    OrderType.LIMIT: "limit",
    OrderType.MARKET: "market",
    OrderType.STOP: "limit_trigger",
    OrderType.TAKE_PROFIT: "limit_trigger",
    OrderType.STOP_MARKET: "trigger",
    OrderType.TAKE_PROFIT_MARKET: "trigger",
    OrderType.TRAILING_STOP_MARKET: "trigger",
}

# Futures report each filter failure under its own code; spot uses -1013 for all of them.
_USDM_CODES: dict[str, int] = {
    "price": -4001,
    "minPrice": -4013,
    "maxPrice": -4002,
    "tickSize": -4014,
    "quantity": -4003,
    "minQty": -4004,
    "maxQty": -4005,
    "stepSize": -4023,
    "multiplierUp": -4016,
    "multiplierDown": -4024,
    "minNotional": -4164,
    "maxNotional": -4164,
    "precision": -1111,
    "orderType": -1116,
}


class SymbolFilters(Frozen):
    """Everything needed to round and check an order for one symbol, exchange-agnostic in use."""

    symbol: str
    market: Market
    status: str = "TRADING"
    base_asset: str | None = None
    quote_asset: str | None = None
    base_asset_precision: int | None = None
    quote_precision: int | None = None
    price_precision: int | None = None
    quantity_precision: int | None = None
    order_types: tuple[str, ...] = ()
    price_filter: PriceFilter | None = None
    lot_size: LotSizeFilter | None = None
    market_lot_size: LotSizeFilter | None = None
    notional_filters: tuple[NotionalFilter, ...] = ()
    percent_price_filters: tuple[PercentPriceFilter, ...] = ()
    max_num_orders: int | None = None
    max_num_algo_orders: int | None = None
    maint_margin_rate: Decimal | None = None
    unenforced_filters: tuple[str, ...] = ()

    @classmethod
    def from_exchange_info(
        cls, entry: Mapping[str, Any], market: Market | None = None
    ) -> SymbolFilters:
        """Parse one ``symbols[]`` element of spot or USD-M exchangeInfo (market inferred)."""
        return cls(**symbol_fields(entry, market))

    # ----------------------------------------------------------- precisions
    @property
    def price_decimals(self) -> int | None:
        """Most decimals a price may carry (-1111 beyond): futures pricePrecision, spot quote precision."""
        return self.price_precision if self.market is Market.USDM else self.quote_precision

    @property
    def quantity_decimals(self) -> int | None:
        return self.quantity_precision if self.market is Market.USDM else self.base_asset_precision

    @property
    def tick_size(self) -> Decimal:
        """The price grid: tickSize, or the precision's last digit when the tick rule is off."""
        tick = self.price_filter.tick_size if self.price_filter else ZERO
        if tick == 0 and self.price_decimals is not None:
            return Decimal(1).scaleb(-self.price_decimals)
        return tick

    def quantity_step(self, *, market_order: bool = False) -> Decimal:
        """The quantity grid; a MARKET order must sit on both LOT_SIZE and MARKET_LOT_SIZE steps."""
        step = self.lot_size.step_size if self.lot_size else ZERO
        if market_order and self.market_lot_size is not None:
            step = lcm_step(step, self.market_lot_size.step_size)
        if step == 0 and self.quantity_decimals is not None:
            return Decimal(1).scaleb(-self.quantity_decimals)
        return step

    def min_quantity(self, *, market_order: bool = False) -> Decimal:
        lows = [self.lot_size.min_qty if self.lot_size else ZERO]
        if market_order and self.market_lot_size is not None:
            lows.append(self.market_lot_size.min_qty)
        return max(lows)

    def max_quantity(self, *, market_order: bool = False) -> Decimal | None:
        highs = [f.max_qty for f in (self.lot_size,) if f and f.max_qty > 0]
        if market_order and self.market_lot_size is not None and self.market_lot_size.max_qty > 0:
            highs.append(self.market_lot_size.max_qty)
        return min(highs) if highs else None

    def is_market_like(self, order_type: OrderType) -> bool:
        """MARKET and the conditional types that become MARKET when triggered."""
        return self._kind(order_type) in ("market", "trigger")

    def _kind(self, order_type: OrderType) -> str:
        kinds = _SPOT_KINDS if self.market is Market.SPOT else _USDM_KINDS
        return kinds.get(order_type, "unknown")

    # ------------------------------------------------------------- rounding
    def round_price(self, price: Decimal, direction: Direction) -> Decimal:
        return round_to_step(price, self.tick_size, direction)

    def round_entry(self, side: Side, price: Decimal) -> Decimal:
        return self.round_price(price, price_direction(PriceRole.ENTRY, side))

    def round_stop(self, position_side: Side, price: Decimal) -> Decimal:
        return self.round_price(price, price_direction(PriceRole.STOP, position_side))

    def round_target(self, position_side: Side, price: Decimal) -> Decimal:
        return self.round_price(price, price_direction(PriceRole.TARGET, position_side))

    def round_qty(self, quantity: Decimal, *, market_order: bool = False) -> Decimal:
        """Always down: rounding a size up would risk more than 1R or spend more than is free."""
        return round_to_step(quantity, self.quantity_step(market_order=market_order), "down")

    def round_order(
        self,
        *,
        price: Decimal | None,
        quantity: Decimal,
        side: Side,
        order_type: OrderType,
        role: PriceRole,
        reference_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
    ) -> RoundedOrder:
        """Round one order by the house rules and validate the result.

        ``side`` is the order side; for STOP/TARGET roles the position side is the opposite
        one. ``stop_price`` (limit-trigger types) rounds like ``price``.
        """
        position_side = (
            side if role is PriceRole.ENTRY else (Side.SELL if side is Side.BUY else Side.BUY)
        )
        direction = price_direction(role, position_side)
        r_price = self.round_price(price, direction) if price is not None else None
        r_stop = self.round_price(stop_price, direction) if stop_price is not None else None
        r_qty = self.round_qty(quantity, market_order=self.is_market_like(order_type))
        violations = self.validate(
            r_price,
            r_qty,
            side,
            order_type,
            reference_price,
            stop_price=r_stop,
            reduce_only=reduce_only,
        )
        return RoundedOrder(
            price=r_price, quantity=r_qty, stop_price=r_stop, violations=tuple(violations)
        )

    # ----------------------------------------------------------- validation
    # Shadows pydantic's deprecated v1 classmethod ``BaseModel.validate`` on purpose: this is the
    # name the brokers and the venue use, and pydantic v2 never calls the old one.
    def validate(  # type: ignore[override]
        self,
        price: Decimal | None,
        qty: Decimal,
        side: Side,
        order_type: OrderType,
        reference_price: Decimal | None = None,
        *,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
    ) -> list[FilterViolation]:
        """Every filter this order would fail at the exchange, in Binance's words.

        ``price`` is the limit price for LIMIT-like types and the trigger price for conditional
        market types (STOP_LOSS, STOP_MARKET, …); it is ignored for MARKET. ``stop_price`` is the
        trigger of limit-trigger types (STOP_LOSS_LIMIT, futures STOP). ``reference_price`` is
        what Binance compares with: average/reference price on spot, mark price on futures;
        without it PERCENT_PRICE cannot be checked (skipped) and a MARKET order's notional
        cannot be valued (reported). Conditional market orders are valued at their trigger [inf].
        """
        with localcontext() as ctx:
            ctx.prec = 100  # products like maxPrice x maxQty exceed 28 digits; compare them exactly
            return self._validate(
                price, qty, side, order_type, reference_price, stop_price, reduce_only
            )

    def _validate(
        self,
        price: Decimal | None,
        qty: Decimal,
        side: Side,
        order_type: OrderType,
        reference_price: Decimal | None,
        stop_price: Decimal | None,
        reduce_only: bool,
    ) -> list[FilterViolation]:
        out: list[FilterViolation] = []
        kind = self._kind(order_type)
        if kind == "unknown" or (self.order_types and order_type.value not in self.order_types):
            out.append(
                self._violation(
                    "ORDER_TYPE",
                    "orderType",
                    f"{order_type.value} is not allowed for {self.symbol}",
                )
            )
        if kind == "unknown":
            return out  # the venue has no such order: its prices mean nothing to check
        limit_price = price if kind in ("limit", "limit_trigger") else None
        trigger = price if kind == "trigger" else stop_price if kind == "limit_trigger" else None
        if kind in ("limit", "limit_trigger") and price is None:
            out.append(
                self._violation(
                    "PRICE_FILTER", "price", f"a {order_type.value} order needs a price"
                )
            )
        if kind == "trigger" and price is None:
            out.append(
                self._violation(
                    "PRICE_FILTER", "price", f"a {order_type.value} order needs a trigger price"
                )
            )
        for value, label in ((limit_price, "price"), (trigger, "stopPrice")):
            if value is not None:
                out += self._check_price(value, label)
        if limit_price is not None and limit_price > 0 and reference_price is not None:
            out += self._check_percent(limit_price, side, reference_price)
        out += self._check_qty(qty, self.lot_size, "LOT_SIZE")
        market_like = kind in ("market", "trigger")
        if market_like:
            out += self._check_qty(qty, self.market_lot_size, "MARKET_LOT_SIZE")
        value_price = (
            limit_price
            if limit_price is not None
            else trigger
            if trigger is not None
            else reference_price
        )
        out += self._check_notional(qty, value_price, market_like, reduce_only, kind == "market")
        out += self._check_precision(qty, (limit_price, trigger))
        return out

    def _violation(self, filter_name: str, rule: str, detail: str) -> FilterViolation:
        code = _USDM_CODES.get(rule, -1013) if self.market is Market.USDM else -1013
        if filter_name == "PRECISION":
            code = -1111
        elif filter_name == "ORDER_TYPE":
            code = -1116 if self.market is Market.USDM else -1013
        return FilterViolation(filter=filter_name, rule=rule, detail=detail, code=code)

    def _check_price(self, value: Decimal, label: str) -> list[FilterViolation]:
        if value <= 0:
            return [
                self._violation("PRICE_FILTER", "price", f"{label} {fmt(value)} must be positive")
            ]
        pf = self.price_filter
        if pf is None:
            return []
        out = []
        if pf.min_price > 0 and value < pf.min_price:
            out.append(
                self._violation(
                    "PRICE_FILTER",
                    "minPrice",
                    f"{label} {fmt(value)} below minPrice {fmt(pf.min_price)}",
                )
            )
        if pf.max_price > 0 and value > pf.max_price:
            out.append(
                self._violation(
                    "PRICE_FILTER",
                    "maxPrice",
                    f"{label} {fmt(value)} above maxPrice {fmt(pf.max_price)}",
                )
            )
        if not is_multiple(value, pf.tick_size):
            out.append(
                self._violation(
                    "PRICE_FILTER",
                    "tickSize",
                    f"{label} {fmt(value)} not a multiple of tickSize {fmt(pf.tick_size)}",
                )
            )
        return out

    def _check_percent(self, price: Decimal, side: Side, ref: Decimal) -> list[FilterViolation]:
        out = []
        for f in self.percent_price_filters:
            up, down = (f.bid_up, f.bid_down) if side is Side.BUY else (f.ask_up, f.ask_down)
            if up is not None and up > 0 and price > ref * up:
                out.append(
                    self._violation(
                        f.filter_type,
                        "multiplierUp",
                        f"{side.value} price {fmt(price)} above {fmt(up)} x reference {fmt(ref)}",
                    )
                )
            if down is not None and down > 0 and price < ref * down:
                out.append(
                    self._violation(
                        f.filter_type,
                        "multiplierDown",
                        f"{side.value} price {fmt(price)} below {fmt(down)} x reference {fmt(ref)}",
                    )
                )
        return out

    def _check_qty(self, qty: Decimal, f: LotSizeFilter | None, name: str) -> list[FilterViolation]:
        if qty <= 0:
            return [self._violation(name, "quantity", f"quantity {fmt(qty)} must be positive")]
        if f is None:
            return []
        out = []
        if f.min_qty > 0 and qty < f.min_qty:
            out.append(
                self._violation(
                    name, "minQty", f"quantity {fmt(qty)} below {name} minQty {fmt(f.min_qty)}"
                )
            )
        if f.max_qty > 0 and qty > f.max_qty:
            out.append(
                self._violation(
                    name, "maxQty", f"quantity {fmt(qty)} above {name} maxQty {fmt(f.max_qty)}"
                )
            )
        if not is_multiple(qty, f.step_size):
            out.append(
                self._violation(
                    name,
                    "stepSize",
                    f"quantity {fmt(qty)} not a multiple of {name} stepSize {fmt(f.step_size)}",
                )
            )
        return out

    def _check_notional(
        self,
        qty: Decimal,
        price: Decimal | None,
        market_like: bool,
        reduce_only: bool,
        plain_market: bool,
    ) -> list[FilterViolation]:
        out = []
        for f in self.notional_filters:
            if reduce_only and f.reduce_only_exempt:
                continue
            check_min = f.min_notional > 0 and (not market_like or f.apply_min_to_market)
            check_max = f.max_notional > 0 and (not market_like or f.apply_max_to_market)
            if not (check_min or check_max):
                continue
            if price is None:
                if plain_market:  # priced orders without a price are reported by PRICE_FILTER
                    why = "a MARKET order needs a reference price to be valued"
                    out.append(self._violation(f.filter_type, "minNotional", why))
                continue
            notional = price * qty
            if check_min and notional < f.min_notional:
                out.append(
                    self._violation(
                        f.filter_type,
                        "minNotional",
                        f"notional {fmt(notional)} below {f.filter_type} minimum {fmt(f.min_notional)}",
                    )
                )
            if check_max and notional > f.max_notional:
                out.append(
                    self._violation(
                        f.filter_type,
                        "maxNotional",
                        f"notional {fmt(notional)} above {f.filter_type} maximum {fmt(f.max_notional)}",
                    )
                )
        return out

    def _check_precision(
        self, qty: Decimal, prices: tuple[Decimal | None, ...]
    ) -> list[FilterViolation]:
        out = []
        qd, pd = self.quantity_decimals, self.price_decimals
        if qd is not None and decimals(qty) > qd:
            out.append(
                self._violation(
                    "PRECISION", "precision", f"quantity {fmt(qty)} has more than {qd} decimals"
                )
            )
        for p in prices:
            if p is not None and pd is not None and decimals(p) > pd:
                out.append(
                    self._violation(
                        "PRECISION", "precision", f"price {fmt(p)} has more than {pd} decimals"
                    )
                )
        return out
