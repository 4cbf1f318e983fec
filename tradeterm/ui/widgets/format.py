"""Number and time formatting shared by the panels: one place decides how a price, a quantity,
a percentage or an age looks, so the watchlist, the blotter and the bracket panel agree."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def num(value: Decimal | float | None, places: int = 2) -> str:
    """A fixed-point number with thousands separators; ``-`` for missing."""
    if value is None:
        return "-"
    return f"{float(value):,.{places}f}" if isinstance(value, float) else f"{value:,.{places}f}"


def dec(value: Decimal | None) -> str:
    """A Decimal as given (prices arrive on the tick grid, so ``65251.60`` keeps its zero);
    never in exponent form."""
    if value is None:
        return "-"
    return format(value, "f")


def signed(value: Decimal | float | None, places: int = 2, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{float(value):+,.{places}f}{suffix}"


def hhmm(ms: int) -> str:
    """UTC wall time of an event, to the second (the log and the blotter)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S")


def sparkline(values: Sequence[float], width: int = 12) -> str:
    """Unicode block sparkline of the last ``width`` values, scaled to their own range.

    Block characters survive every colour depth (16-colour SSH included), so the trend reads
    even when colour does not.
    """
    tail = [v for v in values[-width:] if not math.isnan(v)]
    if not tail:
        return ""
    lo, hi = min(tail), max(tail)
    if hi == lo:
        return SPARK_BLOCKS[3] * len(tail)
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((v - lo) / (hi - lo) * top)] for v in tail)
