"""Property tests on random series: no look-ahead, engine == vectorised, symmetry, invariants.

Prices live on a coarse integer grid so that ties (equal highs, closes exactly at a level, a
wick exactly at a zone edge) are common: that is where causal-looking code usually goes wrong.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tradeterm.analysis.smc import SmcConfig, SmcResult, analyze, codes
from tradeterm.analysis.smc._jit import numba_available
from tradeterm.market.frame import CandleFrame

try:
    from smc_helpers import MIN, T0, assert_prefix_consistent, mirror, run_engine
except ImportError:  # tests/analysis collected as a package
    from tests.analysis.smc_helpers import MIN, T0, assert_prefix_consistent, mirror, run_engine

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def series(draw: st.DrawFn, max_n: int = 90, scale: float = 1.0) -> CandleFrame:
    n = draw(st.integers(0, max_n))
    bars = draw(
        st.lists(
            st.tuples(st.integers(-4, 4), st.integers(-1, 1), st.integers(0, 3), st.integers(0, 3)),
            min_size=n,
            max_size=n,
        )
    )
    prev = 500
    o, h, lo, c = [], [], [], []
    for step, gap, up, dn in bars:
        op = prev + gap
        cl = op + step
        o.append(op)
        c.append(cl)
        h.append(max(op, cl) + up)
        lo.append(min(op, cl) - dn)
        prev = cl
    a = [np.asarray(x, dtype=np.float64) * scale for x in (o, h, lo, c)]
    return CandleFrame.from_columns("ETHUSDT", "1m", T0 + MIN * np.arange(n), *a, np.ones(n))


configs = st.builds(
    SmcConfig,
    swing_left=st.integers(1, 4),
    swing_right=st.integers(0, 4),
    break_on=st.sampled_from(["close", "wick"]),
    ob_zone=st.sampled_from(["wick", "body"]),
    ob_mitigated_at=st.sampled_from([0.25, 0.5, 1.0]),
    fvg_mitigated_at=st.sampled_from([0.5, 1.0]),
    fvg_min_size=st.sampled_from([0.0, 1.0, 2.0]),
    liquidity_tolerance=st.sampled_from([0.0, 1.0, 3.0]),
    liquidity_tolerance_unit=st.just("price"),
)


@st.composite
def thresholds(draw: st.DrawFn, n: int) -> dict[str, np.ndarray]:
    """Optional per-bar threshold arrays, NaN included (an indicator still warming up)."""
    out: dict[str, np.ndarray] = {}
    values = st.sampled_from([0.0, 1.0, 2.0, 5.0, float("nan")])
    for name in ("fvg_min_size", "liquidity_tolerance"):
        if draw(st.booleans()):
            out[name] = np.asarray(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)
    return out


@SETTINGS
@given(data=st.data(), cfg=configs, f=series())
def test_prefix_run_equals_full_run_confirmed_in_prefix(
    data: st.DataObject, cfg: SmcConfig, f: CandleFrame
) -> None:
    th = data.draw(thresholds(len(f)))
    jit = data.draw(st.booleans()) if numba_available() else False
    assert_prefix_consistent(f, cfg, range(len(f) + 1), jit=jit, **th)


@SETTINGS
@given(data=st.data(), cfg=configs, f=series(scale=0.25))
def test_engine_emits_exactly_the_vectorised_events(
    data: st.DataObject, cfg: SmcConfig, f: CandleFrame
) -> None:
    th = data.draw(thresholds(len(f)))
    res = analyze(f, cfg, **th, jit=data.draw(st.booleans()) if numba_available() else False)
    events, per_bar = run_engine(f, cfg, **th)
    assert events == res.all_events()
    # and bar by bar: what the engine returns for bar k is what became known at bar k
    conf = np.concatenate([res.structure.conf, res.zones.conf])
    assert per_bar == np.bincount(conf, minlength=len(f)).tolist()[: len(f)]
    check_invariants(res, cfg)


def check_invariants(res: SmcResult, cfg: SmcConfig) -> None:
    s, z = res.structure, res.zones
    assert np.all(np.diff(s.conf) >= 0) and np.all(np.diff(z.conf) >= 0), "ordered by confirmation"
    assert np.all(s.conf >= s.bar) and np.all(z.conf > z.bar), "nothing known before it happened"
    swing = np.isin(s.kind, [codes.SWING_HIGH, codes.SWING_LOW])
    assert np.all(s.conf[swing] == s.bar[swing] + cfg.swing_right)
    assert np.all(s.conf[~swing] == s.bar[~swing])
    brk = np.isin(s.kind, [codes.BOS, codes.CHOCH])
    refs = list(zip(s.direction[brk].tolist(), s.ref_bar[brk].tolist()))
    assert len(refs) == len(set(refs)), "a swing level is broken at most once"
    ids = [e.event_id for e in res.events()]
    assert len(ids) == len(set(ids))
    zone_ids = {(z.zone_id, serial) for z, serial in zip(res.zone_events(), z.zone.tolist())}
    assert len(zone_ids) == len({zid for zid, _ in zone_ids}) == len(set(z.zone.tolist())), (
        "one id per zone"
    )
    births = z.take(np.flatnonzero((z.kind == codes.ORDER_BLOCK) & (z.state == codes.ACTIVE)))
    brk_at = set(zip(s.bar[brk].tolist(), s.direction[brk].tolist()))
    assert set(zip(births.born.tolist(), births.direction.tolist())) <= brk_at, (
        "OBs are born by breaks"
    )
    rows: dict[int, list[int]] = defaultdict(list)
    for i, zid in enumerate(z.zone.tolist()):
        rows[zid].append(i)
    assert sorted(rows) == list(range(len(rows))), "zone serials are dense"
    for zid, idx in rows.items():
        st_, fill, conf = z.state[idx], z.fill[idx], z.conf[idx]
        assert st_[0] == codes.ACTIVE and fill[0] == 0.0 and conf[0] == z.born[idx[0]]
        assert np.all(np.diff(conf) > 0), "at most one event per zone per bar"
        assert np.all(np.diff(fill) >= 0), "fill never goes back"
        assert np.all(np.diff(st_.astype(int)) >= 0), "state never goes back"
        assert np.all((np.diff(st_.astype(int)) > 0) | (np.diff(fill) > 0)), (
            "every event is a change"
        )
        assert np.all(st_[:-1] != codes.INVALIDATED), "invalidated is final"
        assert np.all((fill >= 0) & (fill <= 1)) and np.all(z.top[idx] >= z.bottom[idx])
        if z.kind[idx[0]] == codes.LIQUIDITY:
            assert len(idx) <= 2
    # zone births follow birth order of serials
    first = np.array([rows[k][0] for k in sorted(rows)], dtype=np.int64)
    assert np.all(np.diff(z.born[first]) >= 0)


_FLIP_LABEL = {
    codes.NO_LABEL: codes.NO_LABEL,
    codes.HH: codes.LL,
    codes.LL: codes.HH,
    codes.HL: codes.LH,
    codes.LH: codes.HL,
}
_FLIP_KIND = {codes.SWING_HIGH: codes.SWING_LOW, codes.SWING_LOW: codes.SWING_HIGH}


@SETTINGS
@given(cfg=configs, f=series())
def test_upside_down_series_gives_mirrored_events(cfg: SmcConfig, f: CandleFrame) -> None:
    """Bull and bear rules are exact mirrors (integer prices, so mirroring is exact). The one
    intended asymmetry: a bar breaking both levels is resolved bull-first, so skip those."""
    res = analyze(f, cfg)
    brk = res.breaks
    assume(len(np.unique(brk.bar)) == len(brk))
    pivot = 2000.0
    m = analyze(mirror(f, pivot), cfg)

    def srows(r: SmcResult, flip: bool) -> set[tuple[object, ...]]:
        s = r.structure
        out = set()
        for k, d, b, c, p, lb, ref in zip(
            s.kind.tolist(),
            s.direction.tolist(),
            s.bar.tolist(),
            s.conf.tolist(),
            s.price.tolist(),
            s.label.tolist(),
            s.ref_bar.tolist(),
        ):
            if flip:
                k, d, p, lb = _FLIP_KIND.get(k, k), -d, pivot - p, _FLIP_LABEL[lb]
            out.add((k, d, b, c, p, lb, ref))
        return out

    def zrows(r: SmcResult, flip: bool) -> set[tuple[object, ...]]:
        z = r.zones
        out = set()
        for k, d, b, a, born, c, top, bot, st_, fill in zip(
            z.kind.tolist(),
            z.direction.tolist(),
            z.bar.tolist(),
            z.aux_bar.tolist(),
            z.born.tolist(),
            z.conf.tolist(),
            z.top.tolist(),
            z.bottom.tolist(),
            z.state.tolist(),
            z.fill.tolist(),
        ):
            if flip:
                d, top, bot = -d, pivot - bot, pivot - top
            out.add((k, d, b, a, born, c, top, bot, st_, fill))
        return out

    assert srows(m, True) == srows(res, False)
    assert zrows(m, True) == zrows(res, False)
