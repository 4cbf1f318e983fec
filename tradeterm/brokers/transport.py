"""What a venue adapter must do for :class:`~tradeterm.brokers.core.TradingBroker`: single
orders, OCO pairs, cancels, queries and balances, each returning the order states it learnt.

The broker keeps every rule (brackets, idempotency at the leg level, reconciliation, kill
switch); an adapter only speaks its venue's language, so paper and Binance share the logic
that decides what to send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderUpdateV1
from tradeterm.store.records import Fill
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.intents import OrderSpec

Report = tuple[OrderUpdateV1, Fill | None]
"""An order state, with the execution that produced it when it was a fill."""

Sink = Callable[[Sequence[Report]], Awaitable[None]]


class Transport(Protocol):
    """Optional attributes (default False): ``place_before_cancel``, a stop move places the new
    stop before cancelling the old one (USD-M: reduce-only stops lock no balance);
    ``parallel_exits``, a bracket's exit orders are sent concurrently (no OCO to keep whole)."""

    venue: str

    @property
    def recv_window_ms(self) -> int:
        """How long after signing a request the exchange may still execute it (0 = in-process)."""

    def set_sink(self, sink: Sink) -> None:
        """Where unsolicited order states (the user-data stream, paper fills) go."""

    def now_ms(self) -> int:
        """The exchange's clock as best known."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def exchange_info(self) -> dict[str, SymbolFilters]: ...

    async def place_order(self, symbol: str, spec: OrderSpec) -> list[Report]:
        """Place once: on an unknown outcome ask the exchange before resending (same id)."""

    async def place_oco(
        self, symbol: str, side: Side, quantity: Decimal, list_client_order_id: str,
        above: OrderSpec, below: OrderSpec,
    ) -> list[Report]: ...  # fmt: skip

    async def cancel_order(self, symbol: str, client_order_id: str) -> list[Report]:
        """Cancel; if the order is not open, return its final state instead (or nothing)."""

    async def query_order(self, symbol: str, client_order_id: str) -> OrderUpdateV1 | None:
        """None only when the exchange says the order does not exist."""

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdateV1]: ...

    async def cancel_open_orders(self, symbol: str) -> list[Report]: ...

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]: ...

    async def last_price(self, symbol: str) -> Decimal: ...


class SignedHttpTransport:
    """The plumbing every Binance transport shares: the clock and recvWindow of its signed HTTP
    client, where unsolicited reports go, and the hook the broker sets to reconcile after a
    user-data reconnect. Subclasses set ``http`` (a :class:`~tradeterm.brokers.http.SpotHttp`)."""

    http: Any
    _sink: Sink | None = None
    on_reconnect: Callable[[], Awaitable[Any]] | None = None

    @property
    def recv_window_ms(self) -> int:
        return self.http.recv_window

    def set_sink(self, sink: Sink) -> None:
        self._sink = sink

    def now_ms(self) -> int:
        return self.http.now_ms()

    async def _reports(self, reports: list[Report]) -> None:
        if self._sink is not None:
            await self._sink(reports)

    async def _reconnected(self) -> None:
        if self.on_reconnect is not None:
            await self.on_reconnect()
