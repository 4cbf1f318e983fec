"""Building ``signals_raw.v1`` events: ids, price rounding, validation — in one place.

Ids are built from the stream, the strategy, the side and the bar time, never from counters, so
a replay, a restart and the live engine give a signal the same id and the store's idempotent
upserts can key on it. A strategy emits at most one signal per side per bar, which makes the id
unique.

Prices are float64 in analysis; the contract holds Decimals. They are cut to 10 significant
digits on the way (a stop computed as ``bottom - 0.25 * atr`` has float noise in its last bits
that would otherwise show up as ``93412.03712499999``); the exchange's tick rounding happens
later, in the decision step.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tradeterm.analysis.smc.materialise import Stream
from tradeterm.contracts import Side, SignalRawV1

_VALIDATE = SignalRawV1.model_validate


def price(x: float) -> Decimal:
    """A float price as a Decimal of at most 10 significant digits."""
    return Decimal(format(x, ".10g"))


def signal_id(stream: Stream, strategy: str, side: Side, time: int) -> str:
    return f"{stream.prefix}:{strategy}:{side.value}:{time}"


def make_signal(
    stream: Stream,
    strategy: str,
    side: Side,
    *,
    time: int,
    confirmed_at: int,
    entry: float,
    stop: float,
    take_profits_r: Sequence[float],
    score: float,
    ttl_bars: int,
    zone_id: str | None = None,
    reasons: Sequence[str] = (),
) -> SignalRawV1 | None:
    """The validated signal, or ``None`` when rounding leaves no room between entry and stop
    (a zero-risk trade cannot be sized; dropping it is the only honest option)."""
    e, s = price(entry), price(stop)
    if (side is Side.BUY and s >= e) or (side is Side.SELL and s <= e) or s <= 0:
        return None
    return _VALIDATE(
        {
            "venue": stream.venue,
            "symbol": stream.symbol,
            "tf": stream.tf,
            "time": time,
            "confirmed_at": confirmed_at,
            "signal_id": signal_id(stream, strategy, side, time),
            "strategy": strategy,
            "side": side,
            "entry": e,
            "stop": s,
            "take_profits_r": [Decimal(format(r, ".6g")) for r in take_profits_r],
            "score": round(min(max(score, 0.0), 1.0), 4),
            "ttl_bars": ttl_bars,
            "zone_id": zone_id,
            "reasons": list(reasons),
        }
    )
