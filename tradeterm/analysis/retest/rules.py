"""The rules of a good retest, as pure functions.

A *retest* is price coming back into an unmitigated order block or fair value gap after
structure broke in that zone's direction: the zone is where the move that broke structure
started, and a market that respects it there is likely to continue. Most touches are not
tradeable; these rules separate the ones that are. Every function works in **bull-normalised**
form — for a supply zone the analyser mirrors prices (and RSI to ``100 - rsi``) first — so one
rule serves both sides and the two sides cannot drift apart.

Gates (all must hold):

1. **Context** (checked by the analyser): the latest structure break known at this bar's close
   is in the zone's direction and is a BOS (CHOCH only with ``allow_choch``); the zone was born
   on an earlier bar, is not mitigated, is at most ``max_zone_age`` bars old and at least
   ``min_zone_atr`` ATRs tall (a sliver of a gap is noise, and its stop would sit inside the
   spread of normal bars).
2. **Touch**: the bar's low reaches the zone (``low <= top``) and the bar does not close beyond
   its far edge (``close >= bottom``) — a close through the zone invalidates it.
3. **Rejection**: the bar closes back out of the zone (``close > top``), or leaves a rejection
   wick: the lower wick is at least ``wick_ratio`` of the bar's range.
4. **Trend** (``trend_filter``): the slope of the EMA (``ema_period``, default 200) over
   ``slope_bars`` is positive, and the MACD histogram is positive or rising — the pullback is
   against a rising trend and momentum is not still accelerating away from the trade.
5. **RSI mid-range**: RSI is within ``[rsi_min, rsi_max]``: a pullback that kept RSI mid-range is
   a pause; one that crushed it (or a chase that stretched it) is something else.
6. **Volume** (optional): volume at least ``min_rel_volume`` times its average of the previous
   ``volume_period`` bars.

Score (0..1), weights in :data:`WEIGHTS`: rejection quality, trend strength (EMA slope in ATRs
per bar, full at 0.1), MACD confirmation (positive and rising), RSI bounce (rising, near 50),
relative volume (full at 2×), zone quality (order block over gap, first touch, several zones
touched at once).

Levels: entry at the retest bar's close; stop beyond the zone — below ``min(bottom, low)`` by
``atr_buffer`` ATRs (a wick that pierced the zone is part of the level that must hold); the
setup is dropped if that risk exceeds ``max_risk_atr`` ATRs. Targets are R multiples of that
risk.
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHTS: dict[str, float] = {
    "rejection": 0.30,
    "trend": 0.20,
    "macd": 0.15,
    "rsi": 0.15,
    "volume": 0.10,
    "zone": 0.10,
}


@dataclass(frozen=True, slots=True)
class Check:
    """One rule's outcome: did it pass, how well (0..1), and the phrase for ``reasons``."""

    ok: bool
    score: float
    reason: str


def _clip(x: float) -> float:
    return 0.0 if x < 0.0 else min(x, 1.0)


def touch(low: float, close: float, top: float, bottom: float) -> bool:
    """Rule 2: the bar reached into the zone and did not close through it."""
    return low <= top and close >= bottom


def rejection(
    open_: float, high: float, low: float, close: float, top: float, wick_ratio: float
) -> Check:
    """Rule 3: closed back out of the zone, or a lower wick of at least ``wick_ratio``."""
    span = high - low
    wick = (min(open_, close) - low) / span if span > 0.0 else 0.0
    closed_out = close > top
    ok = closed_out or wick >= wick_ratio
    score = 0.5 * _clip(wick / 0.6) + (0.5 if closed_out else 0.0)
    parts = [f"wick {wick:.0%} of range"]
    if closed_out:
        parts.insert(0, "closed back out of the zone")
    return Check(ok, score, ", ".join(parts))


def trend(
    slope_atr: float | None,
    hist: float | None,
    prev_hist: float | None,
    enabled: bool,
    bull: bool = True,
) -> tuple[Check, Check]:
    """Rule 4: (EMA slope check, MACD histogram check). ``slope_atr`` is ATRs per bar.

    Values are bull-normalised; ``bull`` only picks the wording, so reasons quote the market's
    real slope and histogram rather than their mirror images."""
    if slope_atr is None or hist is None or prev_hist is None:
        missing = Check(not enabled, 0.0, "trend not known yet")
        return missing, missing
    sign = 1.0 if bull else -1.0
    slope = Check(
        slope_atr > 0.0 or not enabled,
        _clip(slope_atr / 0.1),
        f"EMA slope {sign * slope_atr:+.3f} ATR/bar",
    )
    rising = hist > prev_hist
    real_positive = (hist > 0.0) == bull
    real_rising = rising == bull
    macd = Check(
        hist > 0.0 or rising or not enabled,
        (0.5 if hist > 0.0 else 0.0) + (0.5 if rising else 0.0),
        f"MACD hist {'positive' if real_positive else 'negative'}, {'rising' if real_rising else 'falling'}",
    )
    return slope, macd


def rsi_bounce(
    rsi: float, prev_rsi: float, rsi_min: float, rsi_max: float, bull: bool = True
) -> Check:
    """Rule 5: RSI within the mid band; scored higher when it turns (up, bull-normalised) near
    the middle. ``bull`` only picks the wording."""
    ok = rsi_min <= rsi <= rsi_max
    mid, half = (rsi_min + rsi_max) / 2.0, (rsi_max - rsi_min) / 2.0
    rising = rsi > prev_rsi
    score = (0.6 if rising else 0.0) + 0.4 * _clip(1.0 - abs(rsi - mid) / half)
    real = rsi if bull else 100.0 - rsi
    return Check(ok, score, f"RSI {real:.1f} {'rising' if rising == bull else 'falling'}")


def volume(vol: float, average: float | None, min_rel: float) -> Check:
    """Rule 6: volume relative to the average of the previous bars."""
    if average is None or average <= 0.0:
        return Check(min_rel <= 0.0, 0.0, "volume average not known yet")
    rel = vol / average
    return Check(rel >= min_rel, _clip(rel / 2.0), f"volume {rel:.2f}x average")


def zone_quality(is_order_block: bool, fresh: bool, touched: int) -> float:
    return min(
        1.0,
        (0.5 if is_order_block else 0.3) + (0.3 if fresh else 0.0) + (0.2 if touched > 1 else 0.0),
    )


def score(parts: dict[str, float]) -> float:
    return sum(WEIGHTS[k] * v for k, v in parts.items())


def stop_below(bottom: float, low: float, atr: float, buffer_atr: float) -> float:
    """Bull-normalised stop: beyond the zone and any wick through it, plus an ATR buffer."""
    return min(bottom, low) - buffer_atr * atr
