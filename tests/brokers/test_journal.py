"""The broker journals order states in batches: everything in the inbox goes to the store in
one call before the first of it is acted on. What must hold: a state is in the store before any
order it causes is sent, every state is in the store when ``place_bracket`` returns, and a
failed write leaves the states to be handled (and journalled) later."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.brokers.helpers import decision
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderUpdateV1
from tradeterm.store import create_store
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue.symbols import SymbolRules

RULES = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                    step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                    min_price=Decimal("0.01"), max_price=Decimal(1000000), max_qty=Decimal(9000))  # fmt: skip


async def _broker(store: Any) -> PaperBroker:
    t = PaperTransport({"BTCUSDT": RULES}, {"USDT": Decimal(10000), "BTC": Decimal(1)})
    t.set_price("BTCUSDT", Decimal(100), 1_700_000_000_000)
    b = PaperBroker(t, store=store, risk=RiskConfig(break_even_on_tp1=False))
    await b.start()
    return b


async def test_states_are_journalled_before_what_they_cause_is_sent(tmp_path: Path) -> None:
    async with create_store(f"sqlite:///{tmp_path}/j.db") as store:
        b = await _broker(store)
        writes: list[int] = []
        write = store.write

        async def counting_write(items: Any) -> int:
            writes.append(len(items))
            return await write(items)

        store.write = counting_write  # type: ignore[method-assign]
        place_oco = b.transport.place_oco
        seen_at_exits: list[dict[str, OrderStatus]] = []

        async def checking_place_oco(*args: Any, **kw: Any) -> Any:
            stored = await store.list_orders(decision_id=d.decision_id)
            seen_at_exits.append({u.client_order_id: u.status for u in stored})
            return await place_oco(*args, **kw)

        b.transport.place_oco = checking_place_oco  # type: ignore[method-assign]
        d = decision(b.filters["BTCUSDT"], venue="paper", entry="100.5", market_price="100")
        ack = await b.place_bracket(d)

        br = b.bracket(d.decision_id)
        assert br is not None and ack.state is BracketState.EXITS_WORKING
        # The filled entry (with its commission) was in the store before each exit was sent.
        assert len(seen_at_exits) == 2
        for stored in seen_at_exits:
            assert stored[br.entry_id] is OrderStatus.FILLED
        # Every state the broker holds is in the store when the ack returns, as it holds it.
        stored = {u.client_order_id: u for u in await store.list_orders(decision_id=d.decision_id)}
        mine = {cid: u for cid, u in b.known.items() if u.decision_id == d.decision_id}
        assert set(stored) == set(mine) == set(br.orders)
        for cid, u in mine.items():
            assert (stored[cid].status, stored[cid].filled_qty, stored[cid].fee) == (
                u.status,
                u.filled_qty,
                u.fee,
            )
        assert stored[br.entry_id].fee > 0
        fills = await store.list_fills(client_order_id=br.entry_id)
        assert len(fills) == 1
        # The decision, the entry's reports, the four exit orders' reports: three store calls.
        assert len(writes) == 3


async def test_a_failed_write_keeps_the_states_for_later(tmp_path: Path) -> None:
    async with create_store(f"sqlite:///{tmp_path}/j.db") as store:
        b = await _broker(store)
        d = decision(b.filters["BTCUSDT"], venue="paper", entry="90", stop="85")
        write = store.write
        calls = {"n": 0}

        async def failing_second_write(items: Any) -> int:
            calls["n"] += 1
            if calls["n"] == 2:  # the decision is stored, the entry's NEW is not
                raise OSError("disk full")
            return await write(items)

        store.write = failing_second_write  # type: ignore[method-assign]
        with pytest.raises(OSError, match="disk full"):
            await b.place_bracket(d)
        br = b.bracket(d.decision_id)
        assert br is not None and br.state is BracketState.PENDING  # not acted on unjournalled
        assert [u.client_order_id for u, _ in b._inbox] == [br.entry_id]
        await b.ingest([])  # the next drain journals and applies it
        assert br.state is BracketState.ENTRY_WORKING
        stored = await store.list_orders(decision_id=d.decision_id)
        assert [(u.leg, u.status) for u in stored] == [(OrderLeg.ENTRY, OrderStatus.NEW)]
        assert isinstance(stored[0], OrderUpdateV1)
