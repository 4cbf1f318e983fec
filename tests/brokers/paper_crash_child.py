"""A paper broker process for the paper crash test: places a resting bracket, feeds the bar
that fills its entry, and freezes at a chosen point (printing ``AT:<point>``) so the parent can
SIGKILL it there. The paper "exchange" dies with this process: only the store survives."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from typing import Any

from tests.brokers.helpers import candle, decision
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderUpdateV1
from tradeterm.store import create_store
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue.symbols import SymbolRules

RULES = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                    step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                    min_price=Decimal("0.01"), max_price=Decimal(1000000), max_qty=Decimal(9000))  # fmt: skip
T0 = 1_700_000_000_000
RISK = RiskConfig(break_even_on_tp1=False)
FILL_BAR = (100, 100.2, 96.5, 98)  # reaches the entry at 97, not the stop at 92


def transport() -> PaperTransport:
    t = PaperTransport({"BTCUSDT": RULES}, {"USDT": Decimal(10000)})
    t.set_price("BTCUSDT", Decimal(100), T0)
    return t


def the_decision(b: PaperBroker) -> Any:
    return decision(b.filters["BTCUSDT"], venue="paper", entry="97", stop="92", ticket_id="crash")


def freeze(point: str) -> Any:
    print(f"AT:{point}", flush=True)
    return asyncio.sleep(3600)


async def main(db: str, point: str) -> None:
    async with create_store(f"sqlite:///{db}") as store:
        b = PaperBroker(transport(), store=store, risk=RISK)
        await b.start()
        await b.place_bracket(the_decision(b))
        real_write, real_oco = store.write, b.transport.place_oco

        async def write(items: Any, **kw: Any) -> Any:
            entry_filled = any(isinstance(u, OrderUpdateV1) and u.leg is OrderLeg.ENTRY
                               and u.status is OrderStatus.FILLED for u in items)  # fmt: skip
            if point == "fill_before_journal" and entry_filled:
                await freeze(point)
            return await real_write(items, **kw)

        async def place_oco(*a: Any, **kw: Any) -> Any:
            if point == "fill_journalled":
                await freeze(point)
            out = await real_oco(*a, **kw)
            if point == "oco_sent":
                await freeze(point)
            return out

        store.write = write  # type: ignore[method-assign]
        b.transport.place_oco = place_oco  # type: ignore[method-assign]
        await b.on_candle(candle("BTCUSDT", *FILL_BAR, 1))
        print("AT:done", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
