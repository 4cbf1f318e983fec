"""The fake's guard states: fixed reasons on a frozen clock, one BLOCK so both states show.

Kept apart from the pipeline class because the guard badges, the watchlist's guard column, the
signal queue and the bracket preview all read them, and tests want to know exactly which guard
blocks which symbol without building a fake.
"""

from __future__ import annotations

from tradeterm.analysis.guards.base import GuardState, block, fmt_ms, safe

from .market import MINUTE

GUARD_NAMES: tuple[str, ...] = (
    "news",
    "funding",
    "session",
    "regime",
    "drawdown",
    "exposure",
    "heartbeat",
)
BLOCKED_SYMBOL = "SOLUSDT"  # its funding window is the one BLOCK of the demo


def fake_guards(symbol: str, now_ms: int) -> tuple[GuardState, ...]:
    """Every guard for ``symbol`` at ``now_ms``; SOLUSDT's funding window is the one BLOCK, so
    the demo shows both states (and its signal cannot be sent)."""
    hour = 60 * MINUTE
    funding_at = (now_ms // (8 * hour) + 1) * 8 * hour
    if symbol == BLOCKED_SYMBOL:
        funding = block(
            "funding",
            f"funding {fmt_ms(funding_at)} at 0.12% (limit 0.10%)",
            until_ms=funding_at + 15 * MINUTE,
        )
    else:
        funding = safe("funding", f"next funding {fmt_ms(funding_at)} at 0.01%", funding_at)
    return (
        safe("news", "no high-impact news before US CPI", until_ms=now_ms + 95 * MINUTE),
        funding,
        safe("session", "London/New York overlap"),
        safe("regime", "volatility NORMAL, trend UP"),
        safe("drawdown", "day -0.4% of the -3% limit"),
        safe("exposure", "open risk 1.0R of 3R"),
        safe("heartbeat", "feed and user stream alive"),
    )
