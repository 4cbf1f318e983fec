"""The data a bracket keeps: its states, one record per order, one level per take-profit slice,
and the figures derived from them.

Kept apart from the state machine so the persisted shape is readable on its own: a snapshot is
these records plus the bracket's scalars, nothing else.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType, OrderUpdateV1
from tradeterm.trading.fees import FeeRates
from tradeterm.trading.filters import Market, SymbolFilters
from tradeterm.trading.ids import ParsedOrderId, client_order_id

ZERO = Decimal(0)


class BracketState(StrEnum):
    PENDING = "PENDING"
    ENTRY_WORKING = "ENTRY_WORKING"
    ENTRY_PARTIAL = "ENTRY_PARTIAL"
    ENTRY_FILLED = "ENTRY_FILLED"
    EXITS_WORKING = "EXITS_WORKING"
    CLOSED = "CLOSED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    ERROR = "ERROR"


ENDED = frozenset({BracketState.CLOSED, BracketState.CANCELED, BracketState.EXPIRED})
EXIT_LEGS = frozenset({OrderLeg.STOP, OrderLeg.TP, OrderLeg.CLOSE})


class OrderRecord(BaseModel):
    """The latest accepted state of one order of a bracket (fills are cumulative)."""

    model_config = ConfigDict(extra="forbid")

    client_order_id: str
    leg: OrderLeg
    index: int
    revision: int
    side: Side
    order_type: OrderType
    status: OrderStatus
    price: Decimal | None = None
    stop_price: Decimal | None = None
    orig_qty: Decimal
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    fee: Decimal = ZERO
    fee_asset: str | None = None
    sequence: int = 0
    event_time: int
    reason: str | None = None

    @classmethod
    def from_update(cls, u: OrderUpdateV1, parsed: ParsedOrderId) -> OrderRecord:
        assert parsed.leg is not None
        return cls(
            client_order_id=u.client_order_id, leg=parsed.leg, index=parsed.index, revision=parsed.revision,
            side=u.side, order_type=u.order_type, status=u.status, price=u.price, stop_price=u.stop_price,
            orig_qty=u.orig_qty, filled_qty=u.filled_qty, avg_price=u.avg_price, fee=u.fee,
            fee_asset=u.fee_asset, sequence=u.sequence, event_time=u.event_time, reason=u.reason,
        )  # fmt: skip

    def supersedes(self, u: OrderUpdateV1) -> bool:
        """True when ``u`` is not news: this record is final, newer, or the same with no progress."""
        if self.status.is_final or u.sequence < self.sequence:
            return True
        return u.sequence == self.sequence and not (
            u.filled_qty > self.filled_qty or u.status.is_final
        )


class ExitLevel(BaseModel):
    """One take-profit slice: its price and the quantity it is meant to close."""

    model_config = ConfigDict(extra="forbid")

    index: int
    r_multiple: Decimal
    price: Decimal
    quantity: Decimal


class BracketBook(BaseModel):
    """A bracket's persisted fields and what can be read off them (position, PnL, fees).

    The state machine (``bracket.py``) is the only writer; everything here is derived from the
    order records, so it cannot drift from what the exchange reported.
    """

    model_config = ConfigDict(extra="forbid")

    decision_id: str
    venue: str
    symbol: str
    side: Side
    entry_type: OrderType
    entry_price: Decimal | None
    quantity: Decimal
    initial_stop: Decimal
    stop_price: Decimal
    stop_revision: int = 0
    stop_quantity: Decimal | None = None  # USD-M: what the working stop closes (None: unknown)
    levels: list[ExitLevel]
    expires_at: int | None = None
    filters: SymbolFilters
    fees: FeeRates
    break_even_on_tp1: bool = True
    trail_atr_multiple: Decimal | None = None
    stop_limit_slippage: Decimal = Decimal("0.005")
    state: BracketState = BracketState.PENDING
    orders: dict[str, OrderRecord] = Field(default_factory=dict)
    exits_placed: bool = False
    break_even_done: bool = False
    trailing: bool = False
    flattening: bool = False
    close_revision: int = -1
    flat_at: int | None = None
    errors: list[str] = Field(default_factory=list)
    log: list[str] = Field(default_factory=list)

    # ------------------------------------------------------------ accounting
    @property
    def market(self) -> Market:
        return self.filters.market

    @property
    def long(self) -> bool:
        return self.side is Side.BUY

    @property
    def entry_id(self) -> str:
        return client_order_id(self.decision_id, OrderLeg.ENTRY)

    @property
    def entry_order(self) -> OrderRecord | None:
        return self.orders.get(self.entry_id)

    @property
    def entry_filled(self) -> Decimal:
        rec = self.entry_order
        return rec.filled_qty if rec else ZERO

    @property
    def avg_entry(self) -> Decimal | None:
        rec = self.entry_order
        return rec.avg_price if rec and rec.filled_qty > 0 else None

    @property
    def entry_final(self) -> bool:
        rec = self.entry_order
        return rec is not None and rec.status.is_final

    @property
    def exit_filled(self) -> Decimal:
        return sum((r.filled_qty for r in self.orders.values() if r.leg in EXIT_LEGS), ZERO)

    @property
    def entry_held(self) -> Decimal:
        """What the entry put in the account: its fills net of any commission charged in the base
        asset (Spot takes a buy's fee out of the coins received unless it is paid in BNB), rounded
        down to the step so that every exit built on it is an order the exchange accepts. Using the
        gross fill would size the last exit above the balance and get it rejected (-2010)."""
        rec = self.entry_order
        if rec is None:
            return ZERO
        held = rec.filled_qty
        base = self.filters.base_asset
        if rec.fee > 0 and base is not None and rec.fee_asset == base:
            held -= rec.fee
            step = self.filters.quantity_step()
            if step > 0:
                held = (held / step).to_integral_value(rounding=ROUND_DOWN) * step
        return max(held, ZERO)

    @property
    def position(self) -> Decimal:
        """Open quantity: what the entry put in the account minus every exit fill."""
        return self.entry_held - self.exit_filled

    @property
    def is_flat(self) -> bool:
        return self.entry_final and self.position == 0

    def realized_pnl(self) -> dict[str, Decimal]:
        """Gross PnL in quote per exit order (price difference x quantity). Fees are apart, in
        :meth:`fees_paid`, because they may be charged in another asset (BNB, the base)."""
        avg = self.avg_entry
        if avg is None:
            return {}
        sign = 1 if self.long else -1
        return {
            r.client_order_id: sign * (r.avg_price - avg) * r.filled_qty
            for r in self.orders.values()
            if r.leg in EXIT_LEGS and r.filled_qty > 0 and r.avg_price is not None
        }

    @property
    def total_realized_pnl(self) -> Decimal:
        return sum(self.realized_pnl().values(), ZERO)

    def fees_paid(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for r in self.orders.values():
            if r.fee > 0:
                asset = r.fee_asset or "?"
                out[asset] = out.get(asset, ZERO) + r.fee
        return out

    def _orders(
        self, leg: OrderLeg, index: int | None = None, revision: int | None = None
    ) -> list[OrderRecord]:
        return [
            r
            for r in self.orders.values()
            if r.leg is leg and index in (None, r.index) and revision in (None, r.revision)
        ]

    def _level_remaining(self, level: ExitLevel) -> Decimal:
        """What slice ``level`` still has to close (spot: its own stop's fills count too)."""
        done = sum((r.filled_qty for r in self._orders(OrderLeg.TP, level.index)), ZERO)
        if self.market is Market.SPOT:
            done += sum((r.filled_qty for r in self._orders(OrderLeg.STOP, level.index)), ZERO)
        return max(ZERO, level.quantity - done)

    def _working_exit_ids(self) -> list[str]:
        return sorted(
            r.client_order_id
            for r in self.orders.values()
            if r.leg in EXIT_LEGS and not r.status.is_final
        )
