"""The fake's opening state: what a trader sees the moment the demo starts.

Why fixed and derived from the seeded prices: snapshot tests need the same position, bracket,
signals and log on every run, and a first-time user should see every panel populated (an open
long with exits working, a resting short entry, three pending signals of which one is blocked by
a guard, a reconnect warning and a venue rejection in the log).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tradeterm.analysis.guards.base import fmt_ms
from tradeterm.contracts import SignalRawV1
from tradeterm.contracts.base import Side
from tradeterm.contracts.timeframe import Timeframe
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType
from tradeterm.market.synthetic import SymbolSpec
from tradeterm.pipeline.readmodel import BracketRow, LogLine, PositionRow, SignalRow
from tradeterm.trading.decimals import fmt

from .book import FakeBook
from .market import MINUTE, T0, quantize


def opening_state(
    book: FakeBook,
    symbols: tuple[str, ...],
    specs: dict[str, SymbolSpec],
    last_price: Callable[[str], Decimal],
    now: int,
) -> dict[str, SignalRow]:
    """Put a position, a working bracket and a short history of log lines into ``book`` and
    return one pending signal per symbol, all derived from the seeded frames so every run shows
    the same thing. Entries go straight into the book with back-dated times (``add_log`` would
    stamp them "now")."""
    first = symbols[0]
    for line in (
        (
            "INFO",
            "feed",
            f"replay feed started: {', '.join(symbols)} 1m from {fmt_ms(T0)}",
        ),
        ("WARNING", "feed", "kline stream reconnected after 2.1 s (no gap)"),
        ("INFO", "guard", "funding BLOCK for SOLUSDT: rate 0.12% above 0.10%"),
    ):
        book.log.append(LogLine(now - 40 * MINUTE, line[0], line[1], line[2]))  # type: ignore[arg-type]
    # An open long with its exits working.
    spec = specs[first]
    last = last_price(first)
    entry = quantize(float(last) * 0.996, spec.tick_size)
    stop = quantize(float(entry) * 0.985, spec.tick_size)
    qty = quantize(40 / float(entry - stop), spec.step_size)
    dist = entry - stop
    targets = tuple((entry + dist * r).quantize(spec.tick_size) for r in (Decimal(2), Decimal(3)))
    bid = "seed-long-1"
    book.positions[first] = PositionRow(first, "BUY", qty, entry, None, None, None)
    book.position_risk[first] = (qty * dist).quantize(Decimal("0.01"))
    book.brackets[bid] = BracketRow(
        bid, first, "BUY", "EXITS_WORKING", qty, qty, entry, stop, targets
    )
    book.orders.append(
        book.order(
            bid,
            first,
            OrderLeg.ENTRY,
            0,
            Side.BUY,
            OrderType.LIMIT,
            qty,
            entry,
            status=OrderStatus.FILLED,
        )
    )
    book.orders.append(
        book.order(
            bid,
            first,
            OrderLeg.STOP,
            0,
            Side.SELL,
            OrderType.STOP_MARKET,
            qty,
            None,
            stop_price=stop,
        )
    )
    book.log.append(
        LogLine(
            now - 31 * MINUTE,
            "INFO",
            "order",
            f"{first} BUY {fmt(qty)} filled at {fmt(entry)}; exits working",
        )
    )
    # A resting short entry on the second symbol.
    if len(symbols) > 1:
        sym = symbols[1]
        sp = specs[sym]
        px = last_price(sym)
        e = quantize(float(px) * 1.006, sp.tick_size)
        s = quantize(float(e) * 1.005, sp.tick_size)
        q = quantize(30 / float(s - e), sp.step_size)
        tps = tuple((e - (s - e) * r).quantize(sp.tick_size) for r in (Decimal("1.5"), Decimal(3)))
        bid = "seed-short-2"
        book.brackets[bid] = BracketRow(bid, sym, "SELL", "ENTRY_WORKING", q, Decimal(0), e, s, tps)
        book.orders.append(
            book.order(bid, sym, OrderLeg.ENTRY, 0, Side.SELL, OrderType.LIMIT, q, e)
        )
        book.log.append(
            LogLine(
                now - 12 * MINUTE,
                "INFO",
                "order",
                f"{sym} SELL {fmt(q)} LIMIT {fmt(e)} working",
            )
        )
    signals: dict[str, SignalRow] = {}
    # Pending signals: one per symbol, alternating sides, ages 2, 5, 8 bars.
    for i, sym in enumerate(symbols):
        sp = specs[sym]
        px_f = float(last_price(sym))
        side = Side.BUY if i % 2 == 0 else Side.SELL
        sign = -1 if side is Side.BUY else 1
        e = quantize(px_f * (1 + sign * 0.0015), sp.tick_size)
        s = quantize(float(e) * (1 + sign * 0.012), sp.tick_size)
        age = 2 + 3 * i
        t = now - (age + 1) * MINUTE
        sig = SignalRawV1(
            venue=book.venue,
            symbol=sym,
            tf=Timeframe.M1,
            time=t,
            confirmed_at=t + MINUTE,
            signal_id=f"sig-{sym.lower()}-{i + 1}",
            strategy="smc_retest",
            side=side,
            entry=e,
            stop=s,
            score=round(0.78 - 0.11 * (i % 6), 2),  # stays in [0, 1] on long watchlists
            ttl_bars=20 + 10 * i,
            reasons=["retest of an order block", "structure in favour"],
        )
        signals[sig.signal_id] = SignalRow(sig, age, False, (), tuple(sorted(sig.take_profits_r)))
        book.log.append(
            LogLine(
                t + MINUTE,
                "INFO",
                "signal",
                f"{sym} {side} signal {fmt(e)} stop {fmt(s)} score {sig.score:.2f}",
            )
        )
    book.log.append(
        LogLine(
            now - MINUTE,
            "ERROR",
            "error",
            "order rejected by venue: -2010 account has insufficient balance",
        )
    )
    book.log.sort(key=lambda line: line.at_ms)
    return signals
