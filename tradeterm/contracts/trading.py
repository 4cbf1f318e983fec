"""Trading contracts: the decision that sizes a bracket, and order updates from a broker."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeterm.contracts.base import (
    Contract,
    EpochMs,
    NonNegMoney,
    PositiveMoney,
    Side,
    Symbol,
    Venue,
)

# Binance's newClientOrderId rule: ^[.A-Z:/a-z0-9_-]{1,36}$
CLIENT_ORDER_ID_PATTERN = r"^[.A-Z:/a-z0-9_-]{1,36}$"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    STOP = "STOP"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"


class DecisionStatus(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class TakeProfitLeg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    price: PositiveMoney
    quantity: PositiveMoney
    r_multiple: PositiveMoney


class DecisionV1(Contract):
    """A sized, filter-rounded bracket ready for a broker, or a refusal with its reasons."""

    TOPIC: ClassVar[str] = "decision.v1"

    decision_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,24}$")
    signal_id: str | None = None
    venue: Venue
    symbol: Symbol
    side: Side
    status: DecisionStatus
    order_type: OrderType = OrderType.LIMIT
    entry: PositiveMoney | None = Field(default=None, description="None for a market entry")
    stop: PositiveMoney
    quantity: NonNegMoney
    take_profits: list[TakeProfitLeg] = Field(default_factory=list)
    risk_amount: NonNegMoney = Field(description="1R in quote currency")
    leverage: int = Field(default=1, ge=1, le=125)
    reasons: list[str] = Field(default_factory=list)
    created_at: EpochMs
    expires_at: EpochMs | None = None

    @model_validator(mode="after")
    def _coherent(self) -> DecisionV1:
        if self.order_type not in (OrderType.LIMIT, OrderType.MARKET):
            raise ValueError("a decision's entry is LIMIT or MARKET")
        if self.order_type is OrderType.LIMIT and self.entry is None:
            raise ValueError("a LIMIT entry needs an entry price")
        if self.status is DecisionStatus.REJECTED:
            if not self.reasons:
                raise ValueError("a rejected decision must say why (reasons)")
            return self
        if self.quantity <= 0:
            raise ValueError("an approved decision needs a positive quantity")
        if self.entry is not None:
            if self.side is Side.BUY and self.stop >= self.entry:
                raise ValueError("a BUY needs its stop below the entry")
            if self.side is Side.SELL and self.stop <= self.entry:
                raise ValueError("a SELL needs its stop above the entry")
            for tp in self.take_profits:
                if (self.side is Side.BUY) != (tp.price > self.entry):
                    raise ValueError(f"take profit {tp.price} is on the wrong side of the entry")
        if self.take_profits and sum(tp.quantity for tp in self.take_profits) != self.quantity:
            raise ValueError("take-profit quantities must add up to the bracket quantity")
        if self.expires_at is not None and self.expires_at <= self.created_at:
            raise ValueError("expires_at must be after created_at")
        return self


class OrderStatus(StrEnum):
    """Binance's order lifecycle (spot and futures), plus PENDING_NEW for not yet acknowledged."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    PENDING_CANCEL = "PENDING_CANCEL"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH}
)


class OrderLeg(StrEnum):
    ENTRY = "ENTRY"
    STOP = "STOP"
    TP = "TP"
    CLOSE = "CLOSE"
    OTHER = "OTHER"


class OrderUpdateV1(Contract):
    """One state of one order as the exchange reported it; the bracket state machine runs on these."""

    TOPIC: ClassVar[str] = "order_update.v1"

    venue: Venue
    symbol: Symbol
    client_order_id: str = Field(pattern=CLIENT_ORDER_ID_PATTERN)
    exchange_order_id: str | None = None
    decision_id: str | None = None
    leg: OrderLeg = OrderLeg.OTHER
    leg_index: int = Field(default=0, ge=0, le=32)
    side: Side
    order_type: OrderType
    status: OrderStatus
    price: NonNegMoney | None = None
    stop_price: NonNegMoney | None = None
    orig_qty: PositiveMoney
    filled_qty: NonNegMoney = Decimal(0)
    avg_price: NonNegMoney | None = None
    last_fill_qty: NonNegMoney | None = None
    last_fill_price: NonNegMoney | None = None
    fee: NonNegMoney = Decimal(0)
    fee_asset: str | None = None
    reduce_only: bool = False
    reason: str | None = Field(default=None, description="reject/cancel reason as the exchange said it")
    event_time: EpochMs
    sequence: int = Field(default=0, ge=0, description="per-order sequence; a lower one never overrides a higher one")

    @model_validator(mode="after")
    def _fills(self) -> OrderUpdateV1:
        if self.filled_qty > self.orig_qty:
            raise ValueError(f"filled_qty {self.filled_qty} exceeds orig_qty {self.orig_qty}")
        if self.status is OrderStatus.FILLED and self.filled_qty != self.orig_qty:
            raise ValueError("a FILLED order must have filled_qty == orig_qty")
        if self.filled_qty > 0 and self.avg_price is None:
            raise ValueError("a filled quantity needs avg_price")
        return self
