"""The ``Broker`` protocol every venue implements (paper, Binance Spot, Binance USD-M), and the
plain results it returns. The UI, the daemon and the CLI type against this, never a class."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import DecisionV1, OrderUpdateV1
from tradeterm.trading.bracket import Bracket
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.killswitch import TripSource
from tradeterm.trading.risk import AccountSnapshot


@dataclass(frozen=True, slots=True)
class BracketAck:
    """The entry is acknowledged by the exchange (or was already, for a repeated decision)."""

    decision_id: str
    entry_client_order_id: str
    state: BracketState
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class PositionView:
    """A bracket's open position and whether a working stop covers it."""

    decision_id: str
    symbol: str
    side: Side
    quantity: Decimal
    avg_entry: Decimal | None
    stop_price: Decimal
    protected: bool


@dataclass
class ReconcileReport:
    adopted: list[str] = field(default_factory=list)  # decision ids rebuilt from the exchange
    foreign_orders: list[str] = field(default_factory=list)  # open orders that are not ours
    protected: list[str] = field(default_factory=list)  # decisions given a new stop
    unprotected: list[str] = field(default_factory=list)  # alert mode: left for a human
    unmanaged_assets: dict[str, Decimal] = field(default_factory=dict)  # balances no bracket explains
    foreign_positions: dict[str, Decimal] = field(default_factory=dict)  # futures: signed amount no bracket explains
    resent: list[str] = field(default_factory=list)  # client ids (re)placed during reconcile


@runtime_checkable
class Broker(Protocol):
    venue: str

    async def start(self) -> ReconcileReport:
        """Load exchange info, connect user data, reconcile."""

    async def close(self) -> None: ...

    async def exchange_info(self) -> Mapping[str, SymbolFilters]: ...

    async def place_bracket(self, decision: DecisionV1) -> BracketAck: ...

    async def amend_stop(self, decision_id: str, new_stop: Decimal) -> None: ...

    async def amend_targets(self, decision_id: str, prices: Mapping[int, Decimal]) -> None: ...

    async def cancel(self, decision_id: str) -> None: ...

    async def close_position(self, decision_id: str) -> None: ...

    async def cancel_all(self) -> int: ...

    async def flatten_all(self, reason: str, source: TripSource = TripSource.COMMAND) -> None: ...

    async def reconcile(self) -> ReconcileReport: ...

    async def balances(self) -> list[Balance]: ...

    async def account_snapshot(self, quote_asset: str = "USDT") -> AccountSnapshot: ...

    def positions(self) -> list[PositionView]: ...

    def bracket(self, decision_id: str) -> Bracket | None: ...

    def updates(self) -> AsyncIterator[OrderUpdateV1]: ...
