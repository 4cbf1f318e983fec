"""The vectorised SMC pass: whole arrays in, a columnar :class:`SmcResult` out.

Each concept is a kernel over the full arrays (swings, structure, order blocks, gaps, pools,
zone tracking); this module validates the input, wires them together and puts the rows in the
canonical order the incremental engine also uses.

The kernels run as numba code for big inputs and as plain Python for small ones (see ``_jit``):
below ``JIT_MIN_BARS`` bars, unless numba is already loaded, the Python path (~30 ms for 1,000
bars, ~180 ms for 20,000) beats paying ~0.5 s for importing numba and loading its cache.
Both paths give bit-identical rows (tested).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tradeterm.contracts import Timeframe
from tradeterm.market.frame import CandleFrame

from . import codes, fvg, liquidity, order_blocks, structure, swings, zones
from ._jit import jitted, numba_available, numba_loaded
from .config import SmcConfig
from .materialise import Stream
from .tables import SmcResult, StructureTable, ZoneTable

Threshold = float | np.ndarray | None

JIT_MIN_BARS = 20_000


def analyze(
    data: CandleFrame | Mapping[str, Any],
    config: SmcConfig | None = None,
    *,
    venue: str = "demo",
    symbol: str | None = None,
    tf: Timeframe | str | None = None,
    fvg_min_size: Threshold = None,
    liquidity_tolerance: Threshold = None,
    jit: bool | None = None,
) -> SmcResult:
    """Run every SMC detector over a series of *closed* candles.

    ``data`` is a :class:`CandleFrame` or a mapping of columns ``open_time, open, high, low,
    close`` (and optionally ``close_time``; otherwise it is derived from ``tf``). ``symbol``/``tf``
    name the series for mappings (a frame names itself). ``fvg_min_size`` and
    ``liquidity_tolerance`` override the config's thresholds with a constant or a per-bar array in
    price units; element i is read at bar i only, so a causal ATR keeps the run causal (NaN means
    "unknown yet": nothing is detected on that bar). ``jit``: force numba (True) or plain Python
    (False); by default numba is used from ``JIT_MIN_BARS`` bars on, or whenever it is loaded.
    """
    cfg = config if config is not None else SmcConfig()
    stream, ot, ct, o, h, lo, c = _columns(data, venue, symbol, tf)
    n = ot.shape[0]
    min_size = _per_bar("fvg_min_size", fvg_min_size, cfg.fvg_min_size, cfg.fvg_min_size_unit, c)
    tol = _per_bar(
        "liquidity_tolerance",
        liquidity_tolerance,
        cfg.liquidity_tolerance,
        cfg.liquidity_tolerance_unit,
        c,
    )

    k = _Kernels(_use_jit(jit, n))
    right = cfg.swing_right
    sh, sl = k.find_pivots(h, lo, cfg.swing_left, right)
    b_bar, b_ref, b_lvl, b_dir, b_kind = k.find_breaks(c, h, lo, sh, sl, right, cfg.wick_break)
    ob_bar, ob_born, ob_dir = k.find_order_blocks(o, c, b_bar, b_ref, b_dir)
    ob_top, ob_bot = order_blocks.order_block_bounds(o, h, lo, c, ob_bar, cfg.body_ob)
    g_bar, g_dir, g_top, g_bot = fvg.find_fvgs(h, lo, min_size)
    p_old, p_new, p_born, p_dir, p_top, p_bot = liquidity.find_pools(h, lo, sh, sl, right, tol)

    low_tree = k.build_min_tree(lo)
    neg_high_tree = k.build_min_tree(-h)
    n_ob, n_g, n_p = ob_bar.shape[0], g_bar.shape[0], p_old.shape[0]
    t_dir = np.concatenate([ob_dir, g_dir])
    t_top = np.concatenate([ob_top, g_top])
    t_bot = np.concatenate([ob_bot, g_bot])
    t_born = np.concatenate([ob_born, g_bar])
    t_thr = np.concatenate([np.full(n_ob, cfg.ob_mitigated_at), np.full(n_g, cfg.fvg_mitigated_at)])
    if t_dir.shape[0]:
        ev_z, ev_bar, ev_state, ev_fill = k.track_zones(
            t_dir,
            t_top,
            t_bot,
            t_born,
            t_thr,
            lo,
            h,
            c,
            low_tree,
            neg_high_tree,
            k.build_min_tree(c),
            k.build_min_tree(-c),
        )
    else:
        ev_z, ev_bar = np.empty(0, np.int64), np.empty(0, np.int64)
        ev_state, ev_fill = np.empty(0, np.int8), np.empty(0)
    p_end, p_swept = k.resolve_pools(p_dir, p_top, p_bot, p_born, c, low_tree, neg_high_tree)

    structure_table = _structure_table(
        n,
        swings_=(sh, sl, h[sh], lo[sl], right),
        breaks=(b_bar, b_ref, b_lvl, b_dir, b_kind),
        pools=(p_dir, p_top, p_bot, p_born, p_new, p_end, p_swept),
    )
    zone_table = _zone_table(
        n,
        kind=np.concatenate(
            [
                np.full(n_ob, codes.ORDER_BLOCK),
                np.full(n_g, codes.FVG),
                np.full(n_p, codes.LIQUIDITY),
            ]
        ),
        direction=np.concatenate([t_dir, p_dir]),
        bar=np.concatenate([ob_bar, g_bar - 1, p_old]),
        aux_bar=np.concatenate([np.full(n_ob + n_g, -1), p_new]),
        born=np.concatenate([t_born, p_born]),
        top=np.concatenate([t_top, p_top]),
        bottom=np.concatenate([t_bot, p_bot]),
        upd=(ev_z, ev_bar, ev_state, ev_fill),
        pool_end=(p_end, p_swept),
    )
    return SmcResult(stream, cfg, ot, ct, structure_table, zone_table)


def _structure_table(
    n: int,
    *,
    swings_: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
    breaks: tuple[np.ndarray, ...],
    pools: tuple[np.ndarray, ...],
) -> StructureTable:
    sh, sl, sh_price, sl_price, right = swings_
    b_bar, b_ref, b_lvl, b_dir, b_kind = breaks
    p_dir, p_top, p_bot, p_born, p_new, p_end, p_swept = pools
    sw = np.flatnonzero(p_swept)
    n_sh, n_sl, n_b, n_s = sh.shape[0], sl.shape[0], b_bar.shape[0], sw.shape[0]
    sweep_dir = p_dir[sw]
    kind = np.concatenate(
        [
            np.full(n_sh, codes.SWING_HIGH),
            np.full(n_sl, codes.SWING_LOW),
            b_kind,
            np.full(n_s, codes.SWEEP),
        ]
    ).astype(np.int8)
    direction = np.concatenate(
        [np.full(n_sh, codes.BEAR), np.full(n_sl, codes.BULL), b_dir, sweep_dir]
    ).astype(np.int8)
    bar = np.concatenate([sh, sl, b_bar, p_end[sw]]).astype(np.int64)
    conf = np.concatenate([sh + right, sl + right, b_bar, p_end[sw]]).astype(np.int64)
    price = np.concatenate(
        [sh_price, sl_price, b_lvl, np.where(sweep_dir == codes.BEAR, p_top[sw], p_bot[sw])]
    )
    label = np.concatenate(
        [
            swings.label_swings(sh_price, True),
            swings.label_swings(sl_price, False),
            np.zeros(n_b + n_s, np.int8),
        ]
    )
    ref_bar = np.concatenate([np.full(n_sh + n_sl, -1), b_ref, p_new[sw]]).astype(np.int64)
    rank = np.concatenate(
        [
            np.full(n_sh, codes.RANK_SWING_HIGH),
            np.full(n_sl, codes.RANK_SWING_LOW),
            np.where(b_dir == codes.BULL, codes.RANK_BREAK_BULL, codes.RANK_BREAK_BEAR),
            np.full(n_s, codes.RANK_SWEEP),
        ]
    ).astype(np.int64)
    # Sweeps on one bar are ordered by the pool they took: its birth bar, then BULL before BEAR.
    sub = np.concatenate(
        [np.zeros(n_sh + n_sl + n_b, np.int64), p_born[sw] * 2 + (sweep_dir == codes.BEAR)]
    )
    order = np.argsort((conf * 5 + rank) * (2 * n + 2) + sub, kind="stable")
    return StructureTable(
        kind[order],
        direction[order],
        bar[order],
        conf[order],
        price[order],
        label[order],
        ref_bar[order],
    )


def _zone_table(
    n: int,
    *,
    kind: np.ndarray,
    direction: np.ndarray,
    bar: np.ndarray,
    aux_bar: np.ndarray,
    born: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    upd: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    pool_end: tuple[np.ndarray, np.ndarray],
) -> ZoneTable:
    nz = kind.shape[0]
    # Serial = birth order; zones born on one bar: order blocks, gaps, pools; BULL before BEAR.
    # (born, kind, direction) is unique: one break per side per bar, one gap per bar, one swing
    # per side confirmed per bar.
    serial = np.empty(nz, dtype=np.int64)
    serial[np.argsort((born * 3 + kind) * 2 + (direction == codes.BEAR), kind="stable")] = (
        np.arange(nz)
    )
    ev_z, ev_bar, ev_state, ev_fill = upd
    p_end, p_swept = pool_end
    n_tracked = nz - p_end.shape[0]
    ended = np.flatnonzero(p_end >= 0)
    rows_z = np.concatenate([np.arange(nz), ev_z, ended + n_tracked]).astype(np.int64)
    rows_conf = np.concatenate([born, ev_bar, p_end[ended]]).astype(np.int64)
    rows_state = np.concatenate(
        [
            np.full(nz, codes.ACTIVE),
            ev_state,
            np.where(p_swept[ended], codes.MITIGATED, codes.INVALIDATED),
        ]
    ).astype(np.int8)
    rows_fill = np.concatenate([np.zeros(nz), ev_fill, np.ones(ended.shape[0])])
    # A zone changes at most once per bar, so (conf, serial) is a unique, total order.
    order = np.argsort(rows_conf * max(nz, 1) + serial[rows_z], kind="stable")
    z = rows_z[order]
    return ZoneTable(
        zone=serial[z],
        kind=kind[z].astype(np.int8),
        direction=direction[z].astype(np.int8),
        bar=bar[z].astype(np.int64),
        aux_bar=aux_bar[z].astype(np.int64),
        born=born[z].astype(np.int64),
        conf=rows_conf[order],
        top=top[z].astype(np.float64),
        bottom=bottom[z].astype(np.float64),
        state=rows_state[order],
        fill=rows_fill[order],
    )


def _columns(
    data: CandleFrame | Mapping[str, Any],
    venue: str,
    symbol: str | None,
    tf: Timeframe | str | None,
) -> tuple[Stream, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(data, CandleFrame):
        stream = Stream(venue, symbol or data.symbol, Timeframe(tf) if tf is not None else data.tf)
        ot, ct = data.open_time, data.close_time
        o, h, lo, c = data.open, data.high, data.low, data.close
    elif isinstance(data, Mapping):
        missing = [k for k in ("open_time", "open", "high", "low", "close") if k not in data]
        if missing:
            raise ValueError(f"analyze() needs columns {missing} (got {sorted(data)})")
        if symbol is None or tf is None:
            raise ValueError("analyze() on plain columns needs symbol= and tf= to name the events")
        stream = Stream(venue, symbol, Timeframe(tf))
        ot = np.asarray(data["open_time"], dtype=np.int64)
        ct = (
            np.asarray(data["close_time"], dtype=np.int64)
            if "close_time" in data
            else np.array([stream.tf.close_time(int(t)) for t in ot], dtype=np.int64)
            if stream.tf.is_calendar
            else ot + (stream.tf.ms - 1)
        )
        o, h, lo, c = (
            np.asarray(data[k], dtype=np.float64) for k in ("open", "high", "low", "close")
        )
    else:
        msg = f"analyze() takes a CandleFrame or a mapping of columns, not {type(data).__name__}"
        raise ValueError(msg)  # noqa: TRY004 - one error type for every bad input
    o, h, lo, c = (np.ascontiguousarray(a, dtype=np.float64) for a in (o, h, lo, c))
    ot, ct = np.ascontiguousarray(ot, dtype=np.int64), np.ascontiguousarray(ct, dtype=np.int64)
    _check(ot, ct, o, h, lo, c)
    return stream, ot, ct, o, h, lo, c


def _check(
    ot: np.ndarray, ct: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray
) -> None:
    """Refuse input that would make silent nonsense (NaN zones, zero-height blocks, time travel)."""
    n = ot.shape[0]
    for name, a in (("close_time", ct), ("open", o), ("high", h), ("low", lo), ("close", c)):
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"column {name!r} has shape {a.shape}, expected ({n},) like open_time")
    if n == 0:
        return
    if n > 1 and not bool(np.all(ot[1:] > ot[:-1])):
        i = int(np.argmin(ot[1:] > ot[:-1])) + 1
        raise ValueError(
            f"open_time must be strictly increasing (bar {i}: {ot[i]} after {ot[i - 1]})"
        )
    if not bool(np.all(ct >= ot)):
        raise ValueError(f"close_time before open_time at bar {int(np.argmin(ct >= ot))}")
    for name, a in (("open", o), ("high", h), ("low", lo), ("close", c)):
        ok = np.isfinite(a) & (a > 0)
        if not bool(ok.all()):
            i = int(np.argmin(ok))
            raise ValueError(f"{name} must be finite and > 0 (bar {i}: {a[i]!r})")
    ok = (h >= np.maximum(o, c)) & (lo <= np.minimum(o, c))
    if not bool(ok.all()):
        i = int(np.argmin(ok))
        raise ValueError(
            f"bar {i} is not a candle: high {h[i]} / low {lo[i]} do not enclose open {o[i]} / close {c[i]}"
        )


def _per_bar(
    name: str, override: Threshold, value: float, unit: str, close: np.ndarray
) -> np.ndarray:
    """A threshold as a per-bar array in price units."""
    n = close.shape[0]
    if override is None:
        return value * close if unit == "fraction" else np.full(n, value)
    arr = np.asarray(override, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(
            f"{name} must be a number or an array of one value per bar ({n}), got shape {arr.shape}"
        )
    if bool(np.any(arr < 0)) or bool(np.any(np.isinf(arr))):
        raise ValueError(f"{name} must be >= 0 and finite (NaN allowed: 'unknown yet')")
    return np.ascontiguousarray(arr)


def _use_jit(jit: bool | None, n: int) -> bool:
    if jit is None:
        return numba_available() and (n >= JIT_MIN_BARS or numba_loaded())
    if jit and not numba_available():
        raise ValueError(
            "analyze(jit=True) needs numba (not installed, or TRADETERM_NO_NUMBA is set)"
        )
    return jit


class _Kernels:
    """The kernel functions of one run: the Python originals or their numba twins."""

    def __init__(self, use_jit: bool) -> None:
        pick: Any = jitted if use_jit else (lambda fn: fn)
        self.find_pivots = pick(swings.find_pivots)
        self.find_breaks = pick(structure.find_breaks)
        self.find_order_blocks = pick(order_blocks.find_order_blocks)
        self.build_min_tree = pick(zones.build_min_tree)
        self.track_zones = pick(zones.track_zones)
        self.resolve_pools = pick(liquidity.resolve_pools)
