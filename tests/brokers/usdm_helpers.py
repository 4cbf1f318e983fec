"""USD-M broker test helpers: a broker against the venue, decisions with leverage, and readers
of the venue's futures truth (engine orders, algo orders, positions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.brokers.helpers import ACCOUNT
from tradeterm.brokers.binance_usdm import BinanceUsdmBroker, UsdmSetup
from tradeterm.brokers.signing import HmacSigner
from tradeterm.contracts.trading import DecisionStatus, DecisionV1, OrderStatus
from tradeterm.trading import ManualTicket, RiskConfig, SymbolFilters, decide

VENUE = "binance-usdm"
SYMBOL = "BTCUSDT"
RISK = RiskConfig(leverage=5)  # break-even after TP1 is on by default


def usdm_decision(
    filters: SymbolFilters, *, side: str = "buy", entry: str | None = "100.5", stop: str = "95",
    tps: tuple[str, ...] = ("1R:50", "2R:50"), risk: str = "50", ticket_id: str = "f1", leverage: int = 5,
    market_price: str = "100", now_ms: int = 1_700_000_000_000,
) -> DecisionV1:  # fmt: skip
    ticket = ManualTicket.parse({
        "venue": VENUE, "symbol": filters.symbol, "side": side, "entry": entry, "stop": stop,
        "take_profits": list(tps), "risk": risk, "ticket_id": ticket_id, "leverage": leverage,
    })  # fmt: skip
    d = decide(ticket, ACCOUNT, filters, RISK, True, now_ms, market_price=Decimal(market_price))
    assert d.status is DecisionStatus.APPROVED, d.reasons
    return d


async def usdm_broker(e: Any, *, store: Any = None, start: bool = True, setup: UsdmSetup | None = None,
                      recv_window: int = 1000, risk: RiskConfig = RISK, **kw: Any) -> BinanceUsdmBroker:  # fmt: skip
    b = BinanceUsdmBroker(e.server.rest_url, HmacSigner(e.api_key, e.secret), e.server.ws_url,
                          setup=setup or UsdmSetup(symbols=(SYMBOL,), leverage=5), store=store,
                          risk=risk, recv_window=recv_window, **kw)  # fmt: skip
    e.brokers.append(b)
    if start:
        await b.start()
    return b


def fut(e: Any) -> Any:
    return e.venue.futures.engine


def engine_orders(e: Any, cid: str) -> list[Any]:
    """Engine orders carrying ``cid`` (a triggered stop's child carries its algo's id)."""
    return [o for o in fut(e).orders[SYMBOL].values() if o.client_order_id == cid]


def algos(e: Any, cid: str) -> list[Any]:
    return [a for a in fut(e).algos.values() if a.client_algo_id == cid]


def position(e: Any) -> Decimal:
    return fut(e).position(SYMBOL).amt


def open_engine(e: Any) -> list[Any]:
    return fut(e).open_orders(SYMBOL)


def open_algos(e: Any) -> list[Any]:
    return fut(e).open_algos(SYMBOL)


def assert_matches_venue(e: Any, bracket: Any) -> None:
    """The state machine equals the venue's truth, leg by leg; no leg placed twice; every
    working order on the venue belongs to the bracket."""
    for cid, rec in bracket.orders.items():
        placed_algo = algos(e, cid)
        placed = engine_orders(e, cid)
        assert len(placed_algo) <= 1 and len(placed) <= 1, f"{cid} placed twice"
        if rec.status is OrderStatus.REJECTED and not placed and not placed_algo:
            continue
        if placed_algo:
            a = placed_algo[0]
            if a.status in ("NEW", "TRIGGERING", "TRIGGERED"):
                assert not rec.status.is_final or a.status != "NEW", cid
            else:
                assert rec.status.is_final, cid
            if placed:  # the child: its fills are the stop's fills
                assert placed[0].executed_qty == rec.filled_qty, cid
            continue
        (o,) = placed
        assert (o.status, o.executed_qty) == (rec.status.value, rec.filled_qty), cid
    for o in open_engine(e):
        assert o.client_order_id in bracket.orders
    for a in open_algos(e):
        assert a.client_algo_id in bracket.orders


def assert_protected(e: Any, bracket: Any) -> None:
    """A position is covered by exactly one working reduce-only stop of its size."""
    if bracket.position > 0:
        (stop,) = open_algos(e)
        assert stop.type == "STOP_MARKET" and stop.reduce_only and stop.quantity == bracket.position
        assert abs(position(e)) == bracket.position
