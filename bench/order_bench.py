"""Order path latency: decision → bracket acknowledged, p50/p99.

* ``spot``: the Binance Spot broker against the built-in venue over loopback HTTP (venue in the
  same process, paused market). "Acknowledged" = the entry order's answer has been applied to
  the bracket (a resting LIMIT entry: the bracket is ENTRY_WORKING).
* ``spot-filled``: a marketable entry: the entry fills at once and both OCO exit lists are
  acknowledged before ``place_bracket`` returns (three HTTP round trips).
* ``paper``: the in-process paper broker (the venue's matching engine, no I/O), same two cases.
* ``usdm-order``: one resting LIMIT through the USD-M transport: ORDER → ACK (one round trip).
* ``usdm``: the Binance USD-M broker, resting LIMIT entry (ENTRY_WORKING), like ``spot``.
* ``usdm-filled``: a marketable entry: the entry fills at once, then two reduce-only LIMIT take
  profits and the algo stop (``/fapi/v1/algoOrder``) are acknowledged before ``place_bracket``
  returns (four HTTP round trips; no OCO on futures).

``cpu``: the same calls in CPU time of the measuring thread (``time.thread_time``): on a shared
machine the wall-clock tail is mostly the process waiting for a core, which CPU time leaves
out. Over loopback it includes the in-process venue's work done on this thread.

Goals: spot and futures bracket p99 ≤ 10 ms, paper p99 ≤ 1 ms. Decisions are built (``decide``)
before the clock starts; no store (its write cost is the store bench's subject). Between
measured brackets the broker itself cancels (resting) or closes (filled) the bracket, off the clock.

Usage: python bench/order_bench.py [--n 300] [--paper-n 2000] [--only spot|paper|usdm]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.brokers.helpers import decision
from tests.brokers.usdm_helpers import usdm_decision
from tests.venue.conftest import btc_source, venue_config
from tradeterm.brokers.binance_spot import BinanceSpotBroker
from tradeterm.brokers.binance_usdm import BinanceUsdmBroker, UsdmSetup
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.brokers.signing import HmacSigner
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderType
from tradeterm.trading import AccountSnapshot
from tradeterm.trading.intents import OrderSpec
from tradeterm.venue.app import VenueServer
from tradeterm.venue.symbols import SymbolRules

RICH = AccountSnapshot(equity=Decimal(10**9), available=Decimal(10**9), quote_asset="USDT")
BALANCES = {"USDT": Decimal(10**9), "BTC": Decimal(10**6)}


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def report(name: str, xs: list[float], cpu: list[float] | None = None) -> None:
    """Wall-clock latency; with ``cpu``, also this thread's CPU time over the same calls (not
    inflated by the scheduler preempting the process on a busy machine; excludes time the
    venue's threads or another process spent)."""
    ms = [x * 1000 for x in xs]
    line = (f"{name:12} n={len(ms):5}  p50 {pct(ms, 0.5):7.3f} ms  p99 {pct(ms, 0.99):7.3f} ms  "
            f"mean {statistics.fmean(ms):7.3f} ms")  # fmt: skip
    if cpu:
        c = [x * 1000 for x in cpu]
        line += f"  | cpu p50 {pct(c, 0.5):7.3f} ms  p99 {pct(c, 0.99):7.3f} ms"
    print(line)


async def run(
    broker: object, venue: str, n: int, *, filled: bool, cleanup: object
) -> tuple[list[float], list[float]]:
    f = broker.filters["BTCUSDT"]  # type: ignore[attr-defined]
    out: list[float] = []
    cpu: list[float] = []
    for i in range(n + 20):  # the first 20 warm up connections and caches
        entry, stop = ("100.5", "95") if filled else ("90", "85")
        d = decision(f, venue=venue, entry=entry, stop=stop, tps=("1R:50", "2R:50"), risk="5",
                     ticket_id=f"b{filled}{i}", market_price="100", account=RICH)  # fmt: skip
        c0 = time.thread_time()
        t0 = time.perf_counter()
        await broker.place_bracket(d)  # type: ignore[attr-defined]
        dt = time.perf_counter() - t0
        dc = time.thread_time() - c0
        if i >= 20:
            out.append(dt)
            cpu.append(dc)
        await cleanup()  # type: ignore[operator]
    return out, cpu


async def spot(n: int) -> None:
    cfg = venue_config([btc_source([(100, 100, 100, 100)] * 50)], balances=dict(BALANCES),
                       orders_per_10s=10**9, orders_per_day=10**9, weight_per_minute=10**9)  # fmt: skip
    async with VenueServer(cfg) as srv:
        cred = srv.venue.config.credentials[0]
        assert cred.secret is not None
        b = BinanceSpotBroker(srv.rest_url, HmacSigner(cred.api_key, cred.secret), srv.ws_api_url)
        await b.start()

        async def cleanup() -> None:
            eng = srv.venue.engine
            if len(eng.open_orders("BTCUSDT")) > 100:
                eng.cancel_all("BTCUSDT", srv.venue.market_ms)

        report("spot", *await run(b, "binance-spot", n, filled=False, cleanup=cleanup))
        report("spot-filled", *await run(b, "binance-spot", n, filled=True, cleanup=cleanup))
        await b.close()


async def usdm(n: int) -> None:
    cfg = venue_config([btc_source([(100, 100, 100, 100)] * 50)], balances=dict(BALANCES),
                       futures_balance=Decimal(10**9), futures_orders_per_10s=10**9,
                       futures_orders_per_minute=10**9, futures_weight_per_minute=10**9)  # fmt: skip
    async with VenueServer(cfg) as srv:
        cred = srv.venue.config.credentials[0]
        assert cred.secret is not None
        b = BinanceUsdmBroker(srv.rest_url, HmacSigner(cred.api_key, cred.secret), srv.ws_url,
                              setup=UsdmSetup(symbols=("BTCUSDT",), leverage=5))  # fmt: skip
        await b.start()
        t = b.transport
        eng = srv.venue.futures.engine  # type: ignore[union-attr]
        acks: list[float] = []
        for i in range(n + 20):
            spec = OrderSpec(client_order_id=f"bench-{i}", leg=OrderLeg.OTHER, side=Side.BUY,
                             order_type=OrderType.LIMIT, quantity=Decimal(2), price=Decimal(90))  # fmt: skip
            t0 = time.perf_counter()
            await t.place_order("BTCUSDT", spec)
            if i >= 20:
                acks.append(time.perf_counter() - t0)
            if len(eng.open_orders("BTCUSDT")) > 100:
                await t.cancel_open_orders("BTCUSDT")
        await t.cancel_open_orders("BTCUSDT")
        report("usdm-order", acks)
        f = b.filters["BTCUSDT"]
        for filled in (False, True):
            out: list[float] = []
            cpu: list[float] = []
            for i in range(n + 20):
                entry, stop = ("100.5", "95") if filled else ("90", "85")
                d = usdm_decision(f, entry=entry, stop=stop, ticket_id=f"u{filled}{i}")
                c0 = time.thread_time()
                t0 = time.perf_counter()
                await b.place_bracket(d)
                if i >= 20:
                    out.append(time.perf_counter() - t0)
                    cpu.append(time.thread_time() - c0)
                await (b.close_position if filled else b.cancel)(d.decision_id)
            report("usdm-filled" if filled else "usdm", out, cpu)
        await b.close()


async def paper(n: int) -> None:
    rules = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                        step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                        min_price=Decimal("0.01"), max_price=Decimal(10**6), max_qty=Decimal(9000),
                        max_num_orders=10**6, max_num_algo_orders=10**6)  # fmt: skip
    t = PaperTransport({"BTCUSDT": rules}, dict(BALANCES))
    t.set_price("BTCUSDT", Decimal(100), 1_700_000_000_000)
    b = PaperBroker(t)
    await b.start()

    async def cleanup() -> None:
        if len(t.engine.open_orders("BTCUSDT")) > 100:
            t.engine.cancel_all("BTCUSDT", 0)
            t.engine.drain_events()

    report("paper", *await run(b, "paper", n, filled=False, cleanup=cleanup))
    report("paper-filled", *await run(b, "paper", n, filled=True, cleanup=cleanup))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--paper-n", type=int, default=2000)
    ap.add_argument("--only", choices=("spot", "paper", "usdm"), default=None)
    a = ap.parse_args()
    if a.only in (None, "spot"):
        asyncio.run(spot(a.n))
    if a.only in (None, "paper"):
        asyncio.run(paper(a.paper_n))
    if a.only in (None, "usdm"):
        asyncio.run(usdm(a.n))


if __name__ == "__main__":
    main()
