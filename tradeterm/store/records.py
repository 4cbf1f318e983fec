"""Stored facts that are not bus events: fills, positions, round-trip trades, order lists, journal
notes and audit entries. Plain frozen dataclasses (not pydantic) because they are built by the
broker and the journal from already-validated data and read back in bulk."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution as the exchange reported it; ``trade_id`` is the exchange's trade id, unique
    per (venue, symbol), so a replayed user-data stream never records a fill twice."""

    venue: str
    symbol: str
    trade_id: str
    client_order_id: str
    side: str
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    fee: Decimal
    fee_asset: str | None
    is_maker: bool
    time: int


@dataclass(frozen=True, slots=True)
class Position:
    """Position state per (venue, symbol, side). ``position_side`` is BOTH for one-way mode,
    LONG/SHORT in hedge mode; ``quantity`` is signed in one-way mode. An older ``updated_at``
    never overwrites a newer one."""

    venue: str
    symbol: str
    position_side: str
    quantity: Decimal
    entry_price: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    leverage: int
    updated_at: int

    @property
    def is_open(self) -> bool:
        return self.quantity != 0


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A round trip (entry to exit) for the journal: what was risked and what came of it."""

    trade_id: str
    venue: str
    symbol: str
    side: str
    decision_id: str | None
    status: str
    opened_at: int
    closed_at: int | None
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    risk_amount: Decimal | None
    pnl: Decimal | None
    fees: Decimal
    r_multiple: Decimal | None


@dataclass(frozen=True, slots=True)
class OrderList:
    """A group of orders placed together (a Spot OTOCO/OCO list, or a futures bracket the broker
    manages itself), so a restart can find every leg of a bracket."""

    list_id: str
    venue: str
    symbol: str
    decision_id: str | None
    kind: str
    status: str
    client_order_ids: tuple[str, ...]
    exchange_list_id: str | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class PaperStateRow:
    """One piece of a paper account's matching-engine state (``kind``: ``account`` for the
    balances, counters and market marks; ``order``, ``list``, ``trade``), so the paper "exchange"
    outlives its process like a real one. ``data`` is JSON text with every amount as an exact
    decimal string. ``version`` grows with every save of the account: an older write never
    overwrites a newer one."""

    venue: str
    kind: str
    item_key: str
    version: int
    data: str
    updated_at: int


@dataclass(frozen=True, slots=True)
class JournalNote:
    note_id: int
    trade_id: str | None
    created_at: int
    body: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    audit_id: int
    at: int
    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


Record = Fill | Position | TradeRecord | OrderList | PaperStateRow
"""Records that :meth:`Store.write` accepts next to the v1 contracts."""
