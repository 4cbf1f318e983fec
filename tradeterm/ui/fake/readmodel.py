"""The fake's read-model views: rows of the snapshot computed from the market and the book.

Pure functions of their arguments (no fake state), so the rules a panel relies on — a day's
change, the sparkline's sampling, guard reasons on a signal, an order's chart lines — are
stated once and are the same for every symbol of a large watchlist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from tradeterm.analysis.guards.base import GuardState
from tradeterm.market.frame import CandleFrame
from tradeterm.pipeline.chartdata import OrderLine
from tradeterm.pipeline.readmodel import BracketRow, PositionRow, SignalRow, WatchRow

from .book import FINISHED
from .market import MINUTE

DAY_BARS = 1440  # 1m bars in 24 h: the watchlist's change is over a day
SPARK_BARS = 60  # the sparkline covers the last hour ...
SPARK_STEP = 3  # ... one point every 3 minutes


def watch_row(symbol: str, frame: CandleFrame, guards: Iterable[GuardState]) -> WatchRow:
    """A watchlist row: last close, change over a day, a sparkline and the blocking guards."""
    close = frame.close
    day_ago = close[-min(len(close), DAY_BARS)]
    blocked = [g for g in guards if g.blocked]
    return WatchRow(
        symbol=symbol,
        last=float(close[-1]),
        change_pct=float((close[-1] / day_ago - 1.0) * 100.0),
        spark=tuple(float(x) for x in close[-SPARK_BARS::SPARK_STEP]),
        guard_blocked=bool(blocked),
        guard_reason="; ".join(f"{g.name}: {g.reason}" for g in blocked),
    )


def signal_view(row: SignalRow, now_ms: int, guards: Iterable[GuardState]) -> SignalRow:
    """``row`` aged to ``now_ms`` (in 1m bars) with the guards that block it right now."""
    age = max((now_ms - row.signal.confirmed_at) // MINUTE, 0)
    blocked = [f"{g.name}: {g.reason}" for g in guards if g.blocked]
    return replace(
        row, age_bars=int(age), guard_blocked=bool(blocked), guard_reasons=tuple(blocked)
    )


def order_lines(
    symbol: str, brackets: Iterable[BracketRow], position: PositionRow | None
) -> tuple[OrderLine, ...]:
    """The chart's order levels for ``symbol``: a working entry, each live bracket's stop and
    targets, and the open position's entry."""
    lines: list[OrderLine] = []
    for b in brackets:
        if b.symbol != symbol or b.state in FINISHED:
            continue
        if b.entry is not None and b.state == "ENTRY_WORKING":
            lines.append(OrderLine("entry", float(b.entry), "Entry"))
        lines.append(OrderLine("stop", float(b.stop), "SL"))
        lines += [OrderLine("target", float(t), f"TP{i}") for i, t in enumerate(b.targets, 1)]
    if position is not None:
        lines.append(OrderLine("entry", float(position.entry), "Pos"))
    return tuple(lines)
