"""A tiny fake exchange for the bracket tests: it remembers what the bracket asked to place and
turns test steps into OrderUpdateV1 events with per-order sequences, keeping a journal."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from tests.trading.helpers import T0, D
from tradeterm.contracts.trading import DecisionV1, OrderStatus, OrderUpdateV1
from tradeterm.trading.bracket import Bracket
from tradeterm.trading.decision import decide
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.intents import (
    ClosePosition,
    Intent,
    MoveStop,
    OrderSpec,
    PlaceEntry,
    PlaceExits,
)
from tradeterm.trading.risk import AccountSnapshot, RiskConfig
from tradeterm.trading.ticket import ManualTicket

ACCT = AccountSnapshot(equity=D(10_000), available=D(1_000_000))


def make_decision(
    filters: SymbolFilters, risk: RiskConfig | None = None, **ticket: Any
) -> DecisionV1:
    risk = risk or RiskConfig()
    venue = "binance-spot" if filters.market.value == "spot" else "binance-usdm"
    data: dict[str, Any] = {
        "venue": venue,
        "symbol": "BTCUSDT",
        "side": "buy",
        "entry": "62000",
        "stop": "61800",
        "ttl_ms": 3_600_000,
        "ticket_id": "t1",
    }
    decision = decide(
        ManualTicket.parse({**data, **ticket}), ACCT, filters, risk, True, T0, market_price=D(62000)
    )
    assert decision.status.value == "APPROVED", decision.reasons
    return decision


def make_bracket(filters: SymbolFilters, risk: RiskConfig | None = None, **ticket: Any) -> Bracket:
    return Bracket.from_decision(
        make_decision(filters, risk, **ticket), filters, risk or RiskConfig()
    )


class Driver:
    def __init__(self, bracket: Bracket) -> None:
        self.b = bracket
        self.specs: dict[str, OrderSpec] = {}
        self.seq: dict[str, int] = defaultdict(int)
        self.journal: list[OrderUpdateV1] = []
        self.t = T0

    def collect(self, intents: list[Intent]) -> list[Intent]:
        for i in intents:
            if isinstance(i, (PlaceEntry, ClosePosition)):
                self.specs[i.order.client_order_id] = i.order
            elif isinstance(i, PlaceExits):
                self.specs.update({o.client_order_id: o for o in i.orders})
            elif isinstance(i, MoveStop):
                self.specs.update({o.client_order_id: o for o in i.place})
        return intents

    def start(self) -> list[Intent]:
        return self.collect(self.b.start())

    def update(
        self,
        cid: str,
        status: OrderStatus,
        filled: str | Decimal = "0",
        avg: str | Decimal | None = None,
        *,
        reason: str | None = None,
        t: int | None = None,
    ) -> OrderUpdateV1:
        spec = self.specs[cid]
        self.seq[cid] += 1
        self.t = t if t is not None else self.t + 1000
        filled_d = D(str(filled))
        return OrderUpdateV1(
            venue=self.b.venue,
            symbol=self.b.symbol,
            client_order_id=cid,
            side=spec.side,
            order_type=spec.order_type,
            status=status,
            price=spec.price,
            stop_price=spec.stop_price,
            orig_qty=spec.quantity,
            filled_qty=filled_d,
            avg_price=D(str(avg if avg is not None else spec.price or spec.stop_price))
            if filled_d
            else None,
            reason=reason,
            event_time=self.t,
            sequence=self.seq[cid],
        )

    def send(
        self,
        cid: str,
        status: OrderStatus,
        filled: str | Decimal = "0",
        avg: str | Decimal | None = None,
        **kw: Any,
    ) -> list[Intent]:
        u = self.update(cid, status, filled, avg, **kw)
        self.journal.append(u)
        return self.collect(self.b.apply(u))

    def id(self, suffix: str) -> str:
        return f"tt-{self.b.decision_id}-{suffix}"
