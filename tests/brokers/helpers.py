"""Decisions and candles for broker tests, built through the real decision code."""

from __future__ import annotations

from decimal import Decimal

from tradeterm.contracts import Timeframe
from tradeterm.contracts.market import CandleV1
from tradeterm.contracts.trading import DecisionStatus, DecisionV1
from tradeterm.trading import AccountSnapshot, ManualTicket, RiskConfig, SymbolFilters, decide

ACCOUNT = AccountSnapshot(equity=Decimal(10_000), available=Decimal(10_000), quote_asset="USDT")
RISK = RiskConfig(break_even_on_tp1=False)


def decision(
    filters: SymbolFilters,
    *,
    venue: str,
    side: str = "buy",
    entry: str | None = "100",
    stop: str = "95",
    tps: tuple[str, ...] = ("1R:50", "2R:50"),
    risk: str = "50",
    ticket_id: str = "t1",
    market_price: str | None = None,
    now_ms: int = 1_700_000_000_000,
    account: AccountSnapshot = ACCOUNT,
) -> DecisionV1:
    ticket = ManualTicket.parse({
        "venue": venue, "symbol": filters.symbol, "side": side, "entry": entry, "stop": stop,
        "take_profits": list(tps), "risk": risk, "ticket_id": ticket_id,
    })  # fmt: skip
    d = decide(ticket, account, filters, RISK, True, now_ms,
               market_price=Decimal(market_price) if market_price else None)  # fmt: skip
    assert d.status is DecisionStatus.APPROVED, d.reasons
    return d


def candle(symbol: str, o: float, h: float, low: float, c: float, i: int, venue: str = "paper",
           t0: int = 1_700_000_040_000) -> CandleV1:  # fmt: skip
    ot = t0 + i * 60_000
    return CandleV1(venue=venue, symbol=symbol, tf=Timeframe.M1, open_time=ot, close_time=ot + 59_999,
                    open=o, high=h, low=low, close=c, volume=10.0)  # fmt: skip
