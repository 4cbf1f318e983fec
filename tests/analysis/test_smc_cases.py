"""Hand-built series with every expected SMC event written out, one concept at a time.

Each case is also replayed through the incremental engine, which must agree exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from tradeterm.analysis.smc import SmcConfig, SmcResult, analyze, codes
from tradeterm.contracts import (
    Direction,
    SmcEventKind,
    SmcEventV1,
    SwingLabel,
    ZoneKind,
    ZoneState,
    ZoneV1,
)

try:
    from smc_helpers import MIN, T0, frame, run_engine
except ImportError:  # tests/analysis collected as a package
    from tests.analysis.smc_helpers import MIN, T0, frame, run_engine

K = {
    v: k
    for k, v in {
        "SH": codes.SWING_HIGH,
        "SL": codes.SWING_LOW,
        "BOS": codes.BOS,
        "CHOCH": codes.CHOCH,
        "SWEEP": codes.SWEEP,
    }.items()
}
L = {codes.NO_LABEL: None, codes.HH: "HH", codes.HL: "HL", codes.LH: "LH", codes.LL: "LL"}
ZK = {codes.ORDER_BLOCK: "OB", codes.FVG: "FVG", codes.LIQUIDITY: "LIQ"}
ST = {
    codes.ACTIVE: "ACTIVE",
    codes.PARTIAL: "PARTIAL",
    codes.MITIGATED: "MITIGATED",
    codes.INVALIDATED: "INVALIDATED",
}
D = {codes.BULL: "BULL", codes.BEAR: "BEAR"}

# Thresholds that switch pools off unless a case wants them.
NO_POOLS = {"liquidity_tolerance": 0.0, "liquidity_tolerance_unit": "price"}


def run(
    ohlc: list[tuple[float, float, float, float]], cfg: SmcConfig, **thresholds: np.ndarray
) -> SmcResult:
    """Vectorised run, checked against the engine on the same bars."""
    f = frame(ohlc)
    res = analyze(f, cfg, **thresholds)
    engine_events, _ = run_engine(f, cfg, **thresholds)
    assert engine_events == res.all_events()
    return res


def structure(res: SmcResult, *kinds: str) -> list[tuple[object, ...]]:
    s = res.structure
    rows = [
        (K[k], D[d], b, c, p, L[lb], r)
        for k, d, b, c, p, lb, r in zip(
            s.kind.tolist(),
            s.direction.tolist(),
            s.bar.tolist(),
            s.conf.tolist(),
            s.price.tolist(),
            s.label.tolist(),
            s.ref_bar.tolist(),
        )
    ]
    return [r for r in rows if not kinds or r[0] in kinds]


def zones(res: SmcResult, *kinds: str) -> list[tuple[object, ...]]:
    z = res.zones
    rows = [
        (ZK[k], D[d], b, born, c, top, bot, ST[s], fill)
        for k, d, b, born, c, top, bot, s, fill in zip(
            z.kind.tolist(),
            z.direction.tolist(),
            z.bar.tolist(),
            z.born.tolist(),
            z.conf.tolist(),
            z.top.tolist(),
            z.bottom.tolist(),
            z.state.tolist(),
            z.fill.tolist(),
        )
    ]
    return [r for r in rows if not kinds or r[0] in kinds]


def from_closes(closes: list[float], pad: float = 0.5) -> list[tuple[float, float, float, float]]:
    """Candles opening at the previous close, wicks ``pad`` beyond the body."""
    out = []
    prev = closes[0]
    for c in closes:
        out.append((prev, max(prev, c) + pad, min(prev, c) - pad, c))
        prev = c
    return out


# --- swings --------------------------------------------------------------------------------------


def test_swing_highs_tie_rule_and_labels() -> None:
    highs = [10, 11, 13, 12, 13, 14, 12, 12, 11, 15, 15, 11, 10, 12, 15, 13]
    ohlc = [(h - 0.5, h, h - 1.0, h - 0.5) for h in highs]
    res = run(ohlc, SmcConfig(swing_left=2, swing_right=1, **NO_POOLS))
    assert structure(res, "SH") == [
        ("SH", "BEAR", 2, 3, 13.0, None, -1),  # first swing: nothing to compare with
        # bar 4 (13) ties bar 2 inside its left window: strict on the left, so not a swing
        ("SH", "BEAR", 5, 6, 14.0, "HH", -1),
        ("SH", "BEAR", 9, 10, 15.0, "HH", -1),  # first bar of the 15/15 plateau (>= on the right)
        ("SH", "BEAR", 14, 15, 15.0, "LH", -1),  # equal to the previous high: not a higher high
    ]
    assert res.swings.bar[res.swings.is_high].tolist() == [2, 5, 9, 14]


def test_swing_lows_mirror_the_rule() -> None:
    lows = [20, 19, 17, 18, 17, 16, 18, 18, 19, 15, 15, 19, 20, 18, 15, 17]
    ohlc = [(lo + 0.5, lo + 1.0, lo, lo + 0.5) for lo in lows]
    res = run(ohlc, SmcConfig(swing_left=2, swing_right=1, **NO_POOLS))
    assert structure(res, "SL") == [
        ("SL", "BULL", 2, 3, 17.0, None, -1),
        ("SL", "BULL", 5, 6, 16.0, "LL", -1),
        ("SL", "BULL", 9, 10, 15.0, "LL", -1),
        ("SL", "BULL", 14, 15, 15.0, "HL", -1),
    ]


def test_swing_is_known_only_after_right_bars_and_never_at_the_edges() -> None:
    highs = [10, 12, 11, 10, 9, 13]
    ohlc = [(h - 0.5, h, h - 1.0, h - 0.5) for h in highs]
    cfg = SmcConfig(swing_left=1, swing_right=3, **NO_POOLS)
    assert structure(run(ohlc[:4], cfg), "SH") == []  # bar 1 needs bars 2..4
    assert structure(run(ohlc[:5], cfg), "SH") == [("SH", "BEAR", 1, 4, 12.0, None, -1)]
    # the last bar (13) is the highest so far but has no right-hand bars yet
    assert structure(run(ohlc, cfg), "SH") == [("SH", "BEAR", 1, 4, 12.0, None, -1)]


# --- structure and order blocks ---------------------------------------------------------------------

TREND = from_closes([10, 12, 11, 13, 12, 10, 9, 11, 8, 9, 7, 8, 6])
CFG_1_1 = SmcConfig(swing_left=1, swing_right=1, **NO_POOLS)


def test_bos_choch_sequence() -> None:
    res = run(TREND, CFG_1_1)
    assert structure(res, "SH", "SL", "BOS", "CHOCH") == [
        ("SH", "BEAR", 1, 2, 12.5, None, -1),
        ("BOS", "BULL", 3, 3, 12.5, None, 1),  # first break: no trend yet, so a BOS
        ("SH", "BEAR", 3, 4, 13.5, "HH", -1),
        ("SL", "BULL", 6, 7, 8.5, None, -1),
        ("CHOCH", "BEAR", 8, 8, 8.5, None, 6),  # bearish break in a bullish trend; listed before
        ("SH", "BEAR", 7, 8, 11.5, "LH", -1),  # the swing the same bar confirms
        ("SL", "BULL", 8, 9, 7.5, "LL", -1),
        ("BOS", "BEAR", 10, 10, 7.5, None, 8),
        ("SL", "BULL", 10, 11, 6.5, "LL", -1),
        ("BOS", "BEAR", 12, 12, 6.5, None, 10),
    ]
    assert [int(x) for x in res.breaks.bar] == [3, 8, 10, 12]


def test_order_blocks_born_at_break_and_tracked() -> None:
    res = run(TREND, CFG_1_1)
    assert zones(res, "OB") == [
        # last down candle (bar 2) before the bullish break of bar 3
        ("OB", "BULL", 2, 3, 3, 12.5, 10.5, "ACTIVE", 0.0),
        (
            "OB",
            "BULL",
            2,
            3,
            4,
            12.5,
            10.5,
            "MITIGATED",
            0.5,
        ),  # low 11.5: half-way = mean threshold
        ("OB", "BULL", 2, 3, 5, 12.5, 10.5, "INVALIDATED", 1.0),  # close 10 below the bottom
        ("OB", "BEAR", 7, 8, 8, 11.5, 8.5, "ACTIVE", 0.0),  # last up candle before the CHOCH
        ("OB", "BEAR", 7, 8, 9, 11.5, 8.5, "PARTIAL", (9.5 - 8.5) / 3.0),
        ("OB", "BEAR", 9, 10, 10, 9.5, 7.5, "ACTIVE", 0.0),
        ("OB", "BEAR", 9, 10, 11, 9.5, 7.5, "MITIGATED", 0.5),
        ("OB", "BEAR", 11, 12, 12, 8.5, 6.5, "ACTIVE", 0.0),
    ]


def test_order_block_body_mode_and_mitigation_threshold() -> None:
    res = run(
        TREND,
        SmcConfig(swing_left=1, swing_right=1, ob_zone="body", ob_mitigated_at=0.9, **NO_POOLS),
    )
    first = [r for r in zones(res, "OB") if r[2] == 2]
    assert first == [
        ("OB", "BULL", 2, 3, 3, 12.0, 11.0, "ACTIVE", 0.0),  # body of 12 -> 11
        ("OB", "BULL", 2, 3, 4, 12.0, 11.0, "PARTIAL", 0.5),  # low 11.5: below the 0.9 threshold
        ("OB", "BULL", 2, 3, 5, 12.0, 11.0, "INVALIDATED", 1.0),
    ]


WICK_VS_CLOSE = [
    (10.0, 10.5, 9.5, 10.0),
    (10.0, 12.0, 9.5, 11.0),  # swing high 12
    (11.0, 11.5, 10.0, 10.5),  # down candle: the order block
    (10.5, 12.5, 10.0, 11.5),  # wick above 12, close below
    (11.5, 12.2, 11.0, 12.1),  # close above 12
]


@pytest.mark.parametrize(("break_on", "bar"), [("close", 4), ("wick", 3)])
def test_break_on_close_or_wick(break_on: str, bar: int) -> None:
    res = run(WICK_VS_CLOSE, SmcConfig(swing_left=1, swing_right=1, break_on=break_on, **NO_POOLS))  # type: ignore[arg-type]
    assert structure(res, "BOS", "CHOCH") == [("BOS", "BULL", bar, bar, 12.0, None, 1)]
    assert zones(res, "OB")[0] == ("OB", "BULL", 2, bar, bar, 11.5, 10.0, "ACTIVE", 0.0)


def test_close_equal_to_level_is_not_a_break() -> None:
    bars = [*WICK_VS_CLOSE[:4], (11.5, 12.2, 11.0, 12.0)]
    assert (
        structure(run(bars, SmcConfig(swing_left=1, swing_right=1, **NO_POOLS)), "BOS", "CHOCH")
        == []
    )


def test_level_breaks_once_and_same_candle_is_one_order_block() -> None:
    bars = [
        (10.0, 10.5, 9.5, 10.0),
        (10.0, 12.0, 9.8, 11.5),  # swing high A = 12
        (11.5, 11.8, 11.0, 11.2),
        (11.2, 11.9, 11.0, 11.6),  # A confirmed (right = 2)
        (11.6, 13.0, 11.3, 11.4),  # down candle, wick above A: swing high B = 13
        (11.4, 12.8, 11.3, 12.5),  # close above A: BOS, order block = bar 4
        (12.5, 12.9, 12.4, 12.6),  # B confirmed; A already broken: nothing
        (12.6, 13.5, 12.5, 13.2),  # close above B: BOS; last down candle is still bar 4
        (13.2, 13.6, 13.1, 13.3),  # still above A and B: no more breaks
    ]
    res = run(bars, SmcConfig(swing_left=1, swing_right=2, **NO_POOLS))
    assert structure(res, "BOS", "CHOCH") == [
        ("BOS", "BULL", 5, 5, 12.0, None, 1),
        ("BOS", "BULL", 7, 7, 13.0, None, 4),
    ]
    assert zones(res, "OB") == [
        ("OB", "BULL", 4, 5, 5, 13.0, 11.3, "ACTIVE", 0.0),
        ("OB", "BULL", 4, 5, 6, 13.0, 11.3, "PARTIAL", (13.0 - 12.4) / (13.0 - 11.3)),
    ]


def test_no_order_block_without_an_opposite_candle() -> None:
    bars = [
        (10.0, 10.5, 9.5, 10.0),
        (10.0, 12.0, 9.8, 11.5),
        (11.5, 11.8, 11.0, 11.6),
        (11.6, 12.5, 11.5, 12.4),
    ]
    res = run(bars, SmcConfig(swing_left=1, swing_right=1, **NO_POOLS))
    assert structure(res, "BOS") == [("BOS", "BULL", 3, 3, 12.0, None, 1)]
    assert zones(res, "OB") == []  # bars 1..2 are all up candles


# --- fair value gaps -----------------------------------------------------------------------------

GAP = [
    (10.0, 10.5, 9.5, 10.2),
    (10.2, 12.0, 10.1, 11.8),  # middle candle
    (11.8, 12.5, 11.0, 12.2),  # low 11 > high[0] 10.5: bullish gap 10.5..11
    (12.2, 12.4, 10.8, 11.5),
    (11.5, 11.6, 10.6, 11.0),
    (11.0, 11.2, 10.4, 10.9),  # wick through the bottom: fully filled
    (10.9, 11.0, 10.2, 10.3),  # close below the bottom
]
BIG = SmcConfig(swing_left=1, swing_right=1, **NO_POOLS)


def test_fvg_fill_tracking() -> None:
    res = run(GAP, BIG)
    span = 11.0 - 10.5
    assert zones(res, "FVG") == [
        ("FVG", "BULL", 1, 2, 2, 11.0, 10.5, "ACTIVE", 0.0),
        ("FVG", "BULL", 1, 2, 3, 11.0, 10.5, "PARTIAL", (11.0 - 10.8) / span),
        ("FVG", "BULL", 1, 2, 4, 11.0, 10.5, "PARTIAL", (11.0 - 10.6) / span),
        ("FVG", "BULL", 1, 2, 5, 11.0, 10.5, "MITIGATED", 1.0),
        ("FVG", "BULL", 1, 2, 6, 11.0, 10.5, "INVALIDATED", 1.0),
    ]


def test_fvg_bearish_and_partial_mitigation_threshold() -> None:
    mirrored = [(30 - o, 30 - lo, 30 - h, 30 - c) for o, h, lo, c in GAP]
    res = run(mirrored, SmcConfig(swing_left=1, swing_right=1, fvg_mitigated_at=0.5, **NO_POOLS))
    assert [(r[1], r[4], r[5], r[6], r[7]) for r in zones(res, "FVG")] == [
        ("BEAR", 2, 19.5, 19.0, "ACTIVE"),
        ("BEAR", 3, 19.5, 19.0, "PARTIAL"),  # 0.4 < 0.5
        ("BEAR", 4, 19.5, 19.0, "MITIGATED"),  # 0.8
        ("BEAR", 5, 19.5, 19.0, "MITIGATED"),  # 1.0: same state, new fill: still a new event
        ("BEAR", 6, 19.5, 19.0, "INVALIDATED"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "found"),
    [
        ({"fvg_min_size": 0.5}, True),  # gap 0.5 >= 0.5
        ({"fvg_min_size": 0.51}, False),
        ({"fvg_min_size": 0.04, "fvg_min_size_unit": "fraction"}, True),  # 0.04 * 12.2 = 0.488
        ({"fvg_min_size": 0.05, "fvg_min_size_unit": "fraction"}, False),  # 0.61
    ],
)
def test_fvg_min_size_constant(kwargs: dict[str, object], found: bool) -> None:
    res = run(GAP[:3], SmcConfig(swing_left=1, swing_right=1, **NO_POOLS, **kwargs))  # type: ignore[arg-type]
    assert bool(zones(res, "FVG")) is found


def test_fvg_min_size_per_bar_array_is_read_at_the_third_candle() -> None:
    size = np.array([9.0, 9.0, 0.5, 9.0, 9.0, 9.0, 9.0])  # only bar 2's value matters for this gap
    assert len(zones(run(GAP, BIG, fvg_min_size=size), "FVG")) == 5
    size[2] = np.nan  # ATR still warming up: no decision, no gap
    assert zones(run(GAP, BIG, fvg_min_size=size), "FVG") == []


# --- liquidity -----------------------------------------------------------------------------------

POOL = [
    (10.0, 10.5, 9.5, 10.0),
    (10.0, 12.0, 9.8, 11.5),  # swing high 12
    (11.5, 11.7, 11.0, 11.2),
    (11.2, 11.5, 10.8, 11.0),
    (11.0, 12.05, 10.9, 11.8),  # swing high 12.05: equal within 0.1
    (11.8, 11.9, 11.4, 11.5),  # confirms it: pool 12..12.05 born here
    (11.5, 12.3, 11.4, 11.9),  # wick above 12.05, close back below: sweep
]
POOL_CFG = SmcConfig(
    swing_left=1,
    swing_right=1,
    liquidity_tolerance=0.1,
    liquidity_tolerance_unit="price",
    fvg_min_size=100,
)


def test_equal_highs_pool_and_sweep_exact_events() -> None:
    res = run(POOL, POOL_CFG)
    ct = lambda i: T0 + MIN * i + MIN - 1
    ot = lambda i: T0 + MIN * i
    pool_id = f"demo:BTCUSDT:1m:LIQ:BEAR:{ot(1)}:{ot(4)}"
    base = {"venue": "demo", "symbol": "BTCUSDT", "tf": "1m"}
    assert [z for z in res.zone_events() if z.kind is ZoneKind.LIQUIDITY] == [
        ZoneV1(
            **base,
            time=ot(1),
            confirmed_at=ct(5),
            zone_id=pool_id,
            kind=ZoneKind.LIQUIDITY,
            direction=Direction.BEAR,
            top=12.05,
            bottom=12.0,
            state=ZoneState.ACTIVE,
            fill_pct=0.0,
        ),
        ZoneV1(
            **base,
            time=ot(1),
            confirmed_at=ct(6),
            zone_id=pool_id,
            kind=ZoneKind.LIQUIDITY,
            direction=Direction.BEAR,
            top=12.05,
            bottom=12.0,
            state=ZoneState.MITIGATED,
            fill_pct=1.0,
        ),
    ]
    assert [e for e in res.events() if e.kind is SmcEventKind.LIQUIDITY_SWEEP] == [
        SmcEventV1(
            **base,
            time=ot(6),
            confirmed_at=ct(6),
            event_id=f"demo:BTCUSDT:1m:LIQUIDITY_SWEEP:BEAR:{ot(6)}:{ot(4)}",
            kind=SmcEventKind.LIQUIDITY_SWEEP,
            direction=Direction.BEAR,
            price=12.05,
            ref_time=ot(4),
        ),
    ]
    second_high = [e for e in res.events() if e.kind is SmcEventKind.SWING_HIGH][1]
    assert second_high == SmcEventV1(
        **base,
        time=ot(4),
        confirmed_at=ct(5),
        event_id=f"demo:BTCUSDT:1m:SWING_HIGH:{ot(4)}",
        kind=SmcEventKind.SWING_HIGH,
        direction=Direction.BEAR,
        price=12.05,
        label=SwingLabel.HH,
    )


def test_pool_taken_by_a_close_beyond_is_invalidated_without_sweep() -> None:
    bars = [*POOL[:6], (11.5, 12.3, 11.4, 12.2)]
    res = run(bars, POOL_CFG)
    assert [r[7] for r in zones(res, "LIQ")] == ["ACTIVE", "INVALIDATED"]
    assert structure(res, "SWEEP") == []


def test_pool_needs_the_tolerance() -> None:
    cfg = SmcConfig(
        swing_left=1,
        swing_right=1,
        liquidity_tolerance=0.04,
        liquidity_tolerance_unit="price",
        fvg_min_size=100,
    )
    assert zones(run(POOL, cfg), "LIQ") == []
    tol = np.full(len(POOL), 0.01)
    tol[5] = 0.06  # the confirming bar's value decides
    assert [r[7] for r in zones(run(POOL, cfg, liquidity_tolerance=tol), "LIQ")] == [
        "ACTIVE",
        "MITIGATED",
    ]


def test_equal_lows_pool_and_bullish_sweep() -> None:
    mirrored = [(30 - o, 30 - lo, 30 - h, 30 - c) for o, h, lo, c in POOL]
    res = run(mirrored, POOL_CFG)
    assert [(r[1], r[2], r[4], r[7]) for r in zones(res, "LIQ")] == [
        ("BULL", 1, 5, "ACTIVE"),
        ("BULL", 1, 6, "MITIGATED"),
    ]
    (sweep,) = structure(res, "SWEEP")
    assert sweep[:4] == ("SWEEP", "BULL", 6, 6) and sweep[6] == 4
    assert sweep[4] == pytest.approx(30 - 12.05)


# --- chart arrays --------------------------------------------------------------------------------


def test_active_zones_snapshot() -> None:
    res = run(TREND, CFG_1_1)
    at5 = res.active_zones(at=5)  # bull OB invalidated at 5, bear FVG not yet born
    assert at5.kind.tolist() == []
    at7 = res.active_zones(at=7)
    assert (at7.kind.tolist(), at7.state.tolist(), at7.conf.tolist()) == (
        [codes.FVG],
        [codes.MITIGATED],
        [7],
    )
    end = res.active_zones()
    assert sorted(zip(end.kind.tolist(), end.bar.tolist(), end.state.tolist())) == [
        (codes.ORDER_BLOCK, 7, codes.PARTIAL),
        (codes.ORDER_BLOCK, 9, codes.MITIGATED),
        (codes.ORDER_BLOCK, 11, codes.ACTIVE),
        (codes.FVG, 5, codes.MITIGATED),
    ]
