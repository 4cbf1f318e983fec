"""A broker process for the crash test: places one bracket and freezes at a chosen point
(printing ``AT:<point>``) so the parent can SIGKILL it exactly there. Keys come from the
environment, as in production."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from tests.brokers.helpers import decision
from tests.brokers.usdm_helpers import RISK, usdm_decision
from tradeterm.brokers.binance_spot import BinanceSpotBroker
from tradeterm.brokers.binance_usdm import BinanceUsdmBroker, UsdmSetup
from tradeterm.brokers.signing import HmacSigner
from tradeterm.contracts.trading import OrderType
from tradeterm.store import create_store


def freeze(point: str) -> Any:
    print(f"AT:{point}", flush=True)
    return asyncio.sleep(3600)


async def usdm(rest: str, ws: str, db: str, point: str) -> None:
    """USD-M: freeze around the entry or around the algo stop (the exits go out together)."""
    signer = HmacSigner(os.environ["TT_KEY"], os.environ["TT_SECRET"])
    async with create_store(f"sqlite:///{db}") as store:
        b = BinanceUsdmBroker(rest, signer, ws, store=store, recv_window=1000, risk=RISK,
                              setup=UsdmSetup(symbols=("BTCUSDT",), leverage=5))  # fmt: skip
        await b.start()
        t = b.transport
        real_order = t.place_order

        async def place_order(symbol: str, spec: Any) -> Any:
            leg = "stop" if spec.order_type is OrderType.STOP_MARKET else "entry" if spec.leg.value == "ENTRY" else ""
            if point == f"before_{leg}":
                await freeze(point)
            out = await real_order(symbol, spec)
            if point == f"after_{leg}_sent":
                await freeze(point)
            return out

        t.place_order = place_order  # type: ignore[method-assign]
        await b.place_bracket(usdm_decision(b.filters["BTCUSDT"]))
        print("AT:done", flush=True)
        await asyncio.sleep(3600)


async def main(rest: str, ws: str, db: str, point: str, market: str = "spot") -> None:
    if market == "usdm":
        await usdm(rest, ws, db, point)
        return
    signer = HmacSigner(os.environ["TT_KEY"], os.environ["TT_SECRET"])
    async with create_store(f"sqlite:///{db}") as store:
        b = BinanceSpotBroker(rest, signer, ws, store=store, recv_window=1000)
        await b.start()
        t = b.transport
        real_order, real_oco = t.place_order, t.place_oco

        async def place_order(*a: Any, **kw: Any) -> Any:
            if point == "before_entry":
                await freeze(point)
            out = await real_order(*a, **kw)
            if point == "after_entry_sent":
                await freeze(point)
            return out

        async def place_oco(*a: Any, **kw: Any) -> Any:
            if point == "before_oco":
                await freeze(point)
            out = await real_oco(*a, **kw)
            if point == "after_oco_sent":
                await freeze(point)
            return out

        t.place_order, t.place_oco = place_order, place_oco  # type: ignore[method-assign]
        d = decision(b.filters["BTCUSDT"], venue="binance-spot", entry="100.5", market_price="100")
        await b.place_bracket(d)
        print("AT:done", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
