"""Everything drawn over or under the candles: indicator lines, SMC zones and structure, liquidity
and order levels.

Layering (later wins a cell): zone bands (background colour only) → liquidity, BOS/CHOCH and
order levels → indicator lines → candles → text labels. Lines drawn before the candles show in
the gaps between them and hide behind bodies, the way a line passes behind a bar on paper; an
indicator crossing a level keeps its shape (the level loses a cell, which the eye fills in); labels
go last so they are always readable.

Indicator lines use braille: each cell is 2 × 4 dots, so a line gets twice the horizontal and four
times the vertical resolution of a cell, and consecutive points are joined with vertical runs of
dots so steep moves stay connected. Lines sharing a cell merge their dots; the later series
colours the cell. Glyphs for levels: ``╌`` BOS/CHOCH, ``┈`` liquidity (an untaken pool runs to the
right edge; a swept one stops at the sweeping candle, marked ``$``), ``─`` entry, ``╍`` stop, ``┄``
targets — distinct shapes so they read without colour, too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeterm.analysis.smc import StructureTable, Swings, ZoneTable, codes
from tradeterm.pipeline.chartdata import OrderLine, Series

from .axis import PriceScale
from .canvas import SPACE, Canvas
from .model import Window
from .palette import ROLE_OF_VARIABLE, Role

# BRAILLE_BITS[dot_row][dot_col]: the Unicode braille dot numbering (1-2-3-7 left, 4-5-6-8 right).
BRAILLE_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
BRAILLE_BASE = 0x2800

SWING_TEXT = {codes.HH: "HH", codes.HL: "HL", codes.LH: "LH", codes.LL: "LL"}
STRUCTURE_GLYPH = "╌"
LIQUIDITY_GLYPH = "┈"
SWEEP_MARK = "$"  # the stops resting at the pool were the "money" the sweep took
ORDER_GLYPH = {"entry": "─", "stop": "╍", "target": "┄"}
ORDER_ROLE = {"entry": Role.ORDER_ENTRY, "stop": Role.ORDER_STOP, "target": Role.ORDER_TARGET}


@dataclass(frozen=True, slots=True)
class Label:
    """Text placed after the candles; ``if_empty`` labels give way to anything already there."""

    y: int
    x: int
    text: str
    fg: int
    if_empty: bool = False


@dataclass(frozen=True, slots=True)
class AxisMark:
    """A price box in the axis gutter (order levels); ``clipped`` -1/+1 when off-scale below/above."""

    row: int
    price: float
    role: int
    clipped: int


def draw_labels(canvas: Canvas, labels: list[Label], x_max: int) -> None:
    for lb in labels:
        if lb.if_empty:
            lo, hi = max(lb.x, 0), min(lb.x + len(lb.text), x_max)
            if lo >= hi or not 0 <= lb.y < canvas.height:
                continue
            if not bool((canvas.ch[lb.y, lo:hi] == SPACE).all()):
                continue
        canvas.text(lb.y, lb.x, lb.text, lb.fg, x_max=x_max)


# ----------------------------------------------------------------------------- indicator lines


def _points(window: Window, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(x in dot columns, bar index) of each plotted point, one bar beyond each edge of the view
    so lines run to the edges instead of stopping a column short. Zoomed out, a column's point
    is the value at its last bar (like its close)."""
    if window.bars_per_col > 1:
        m = window.bars_per_col
        first = np.arange(max(window.start - m, 0), min(window.stop + m, n), m)
        return 2 * window.col_of(first) + 0.5, np.minimum(first + m, n) - 1
    bars = np.arange(max(window.start - 1, 0), min(window.stop + 1, n))
    return 2 * window.col_of(bars) + 0.5, bars


def line_dots(
    values: np.ndarray, window: Window, scale: PriceScale
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line, dot row, dot column) of every braille dot of the lines in ``values`` (one row per
    line, one column per bar), inside the pane, ordered by line.

    All lines are done in one pass of array operations: they share the points' x positions, so
    the interpolation weights are computed once. A NaN on either side of a point-to-point
    segment leaves the segment out (warm-up periods simply start later).
    """
    e = np.empty(0, dtype=np.int64)
    xs, bars = _points(window, values.shape[1])
    if xs.shape[0] == 0:
        return e, e, e
    v = values[:, bars]
    x = np.arange(2 * window.plot_width, dtype=np.float64)
    if xs.shape[0] == 1:  # a single point: only its own two dot columns
        inside = np.abs(x - xs[0]) <= 0.5
        vi = np.where(inside[None, :], v[:, :1], np.nan)
    else:
        i0 = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, xs.shape[0] - 2)
        t = (x - xs[i0]) / (xs[i0 + 1] - xs[i0])
        vi = v[:, i0] * (1.0 - t) + v[:, i0 + 1] * t
        vi[:, (x < xs[0]) | (x > xs[-1])] = np.nan
    ok = np.isfinite(vi)
    q = np.floor(np.where(ok, scale.u(np.where(ok, vi, 0.0)) * 2.0, -1.0)).astype(np.int64)
    prev = np.empty_like(q)
    prev[:, 0] = q[:, 0]
    prev[:, 1:] = q[:, :-1]
    prev_ok = np.zeros_like(ok)
    prev_ok[:, 1:] = ok[:, :-1]
    d = q - prev
    # Join each dot to the previous column's dot with a vertical run (excluding that dot).
    lo = np.where(prev_ok & (d > 0), prev + 1, q)
    hi = np.where(prev_ok & (d < 0), prev - 1, q)
    lo, hi = np.maximum(np.minimum(lo, hi), 0), np.minimum(np.maximum(lo, hi), 4 * scale.rows - 1)
    keep = ok & (lo <= hi)
    line, xi = np.nonzero(keep)
    if xi.shape[0] == 0:
        return e, e, e
    lo, hi = lo[keep], hi[keep]
    lengths = hi - lo + 1
    offs = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(line, lengths), np.repeat(lo, lengths) + offs, np.repeat(xi, lengths)


def draw_series(
    canvas: Canvas, series: list[Series], window: Window, scale: PriceScale, top: int
) -> None:
    """Braille lines for each series, merged into one dot grid; where lines share a cell, the
    later series colours it."""
    if not series or window.count <= 0:
        return
    w, rows = window.plot_width, scale.rows
    values = np.stack([s.values for s in series]).astype(np.float64, copy=False)
    line, dr, dc = line_dots(values, window, scale)
    if dr.shape[0] == 0:
        return
    cy, cx = dr // 4, dc // 2
    flat = cy * w + cx
    bits = np.zeros(rows * w, dtype=np.uint8)
    np.bitwise_or.at(bits, flat, BRAILLE_BITS[dr % 4, dc % 2])
    roles = np.array([ROLE_OF_VARIABLE.get(s.role, Role.FG) for s in series], dtype=np.uint8)
    role = np.zeros(rows * w, dtype=np.uint8)
    # Dots are ordered by line, so for each cell the last write is the latest series.
    role[flat] = roles[line]
    on = bits > 0
    ch = canvas.ch[top : top + rows, :w].reshape(-1)
    fg = canvas.fg[top : top + rows, :w].reshape(-1)
    ch[on] = BRAILLE_BASE + bits[on].astype(np.uint32)
    fg[on] = role[on]
    canvas.ch[top : top + rows, :w] = ch.reshape(rows, w)
    canvas.fg[top : top + rows, :w] = fg.reshape(rows, w)


# ----------------------------------------------------------------------------- SMC


def _zone_role(kind: int, direction: int, mitigated: bool) -> int:
    if kind == codes.ORDER_BLOCK:
        if direction > 0:
            return Role.ZONE_DEMAND_DIM if mitigated else Role.ZONE_DEMAND
        return Role.ZONE_SUPPLY_DIM if mitigated else Role.ZONE_SUPPLY
    if direction > 0:
        return Role.FVG_BULL_DIM if mitigated else Role.FVG_BULL
    return Role.FVG_BEAR_DIM if mitigated else Role.FVG_BEAR


def draw_zones(
    canvas: Canvas,
    zones: ZoneTable,
    window: Window,
    scale: PriceScale,
    top: int,
    kinds: set[int],
    labels: list[Label],
) -> None:
    """Order blocks / FVGs as background bands from their origin bar to the right edge."""
    w = window.plot_width
    # Gaps first, then order blocks: where they overlap, the order block shows.
    for kind in (codes.FVG, codes.ORDER_BLOCK):
        if kind not in kinds:
            continue
        rows = np.flatnonzero((zones.kind == kind) & (zones.state != codes.INVALIDATED))
        for i in rows.tolist():
            x0 = max(window.col(int(zones.bar[i])), 0)
            if x0 >= w:
                continue
            y0 = max(scale.row(float(zones.top[i])), 0)
            y1 = min(scale.row(float(zones.bottom[i])), scale.rows - 1)
            if y0 > y1:
                continue
            mitigated = int(zones.state[i]) == codes.MITIGATED
            canvas.fill_bg(
                top + y0, top + y1 + 1, x0, w, _zone_role(kind, int(zones.direction[i]), mitigated)
            )
            tag = "OB" if kind == codes.ORDER_BLOCK else "FVG"
            labels.append(Label(top + y0, x0 + 1, tag, Role.AXIS, if_empty=True))


def draw_liquidity(
    canvas: Canvas,
    zones: ZoneTable,
    window: Window,
    scale: PriceScale,
    top: int,
    labels: list[Label],
) -> None:
    """Untaken pools as dotted levels: equal highs (buy-side, BSL) and equal lows (SSL)."""
    w = window.plot_width
    live = (
        (zones.kind == codes.LIQUIDITY)
        & (zones.state != codes.INVALIDATED)
        & (zones.state != codes.MITIGATED)
    )
    for i in np.flatnonzero(live).tolist():
        x0 = max(window.col(int(zones.bar[i])), 0)
        highs = int(zones.direction[i]) == codes.BEAR
        level = float(zones.top[i] if highs else zones.bottom[i])
        y = scale.row(level)
        if x0 >= w or not 0 <= y < scale.rows:
            continue
        canvas.hline(top + y, x0, w, LIQUIDITY_GLYPH, Role.LIQUIDITY)
        text = "BSL" if highs else "SSL"
        labels.append(Label(top + y, w - len(text) - 1, text, Role.LIQUIDITY, if_empty=False))


def draw_structure(
    canvas: Canvas,
    breaks: StructureTable,
    window: Window,
    scale: PriceScale,
    top: int,
    labels: list[Label],
) -> None:
    """BOS/CHOCH: a dashed level from the broken swing to the breaking bar, labelled mid-way."""
    w = window.plot_width
    for i in np.flatnonzero(np.isin(breaks.kind, (codes.BOS, codes.CHOCH))).tolist():
        x0 = window.col(int(breaks.ref_bar[i]))
        x1 = window.col(int(breaks.bar[i])) + 1
        y = scale.row(float(breaks.price[i]))
        if x1 <= 0 or x0 >= w or not 0 <= y < scale.rows:
            continue
        choch = int(breaks.kind[i]) == codes.CHOCH
        role = Role.CHOCH if choch else Role.BOS
        canvas.hline(top + y, x0, x1, STRUCTURE_GLYPH, role)
        text = "CHoCH" if choch else "BOS"
        lo, hi = max(x0, 0), min(x1, w)
        labels.append(Label(top + y, (lo + hi) // 2 - len(text) // 2, text, role))


def draw_sweeps(
    canvas: Canvas,
    structure: StructureTable,
    high: np.ndarray,
    low: np.ndarray,
    window: Window,
    scale: PriceScale,
    top: int,
    labels: list[Label],
) -> None:
    """Liquidity sweeps: the swept pool's level, dotted from the pool's newer swing to the bar
    that took it, and ``$`` by the tip of that bar's wick (above for swept highs, below for swept
    lows), where the eye looks for the stop run. The mark sits one column left of the candle, so
    a swing label on the same bar (often the sweep candle is the new swing) reads ``$HH``
    instead of hiding it.

    ``structure`` rows of other kinds are ignored, so the chart's ``breaks`` table can carry
    BOS/CHOCH and sweeps together (see :class:`~tradeterm.analysis.smc.StructureTable`).
    """
    w = window.plot_width
    for i in np.flatnonzero(structure.kind == codes.SWEEP).tolist():
        bar = int(structure.bar[i])
        x1 = window.col(bar)
        x0 = window.col(int(structure.ref_bar[i])) if structure.ref_bar[i] >= 0 else x1
        if x1 < 0 or x0 >= w:
            continue
        y = scale.row(float(structure.price[i]))
        if 0 <= y < scale.rows:
            canvas.hline(top + y, x0, min(x1, w), LIQUIDITY_GLYPH, Role.SWEEP)
        if not window.start <= bar < window.stop or x1 >= w:
            continue
        highs = int(structure.direction[i]) == codes.BEAR  # equal highs: buy stops above
        mark_y = scale.row(float(high[bar])) - 1 if highs else scale.row(float(low[bar])) + 1
        mark_y = min(max(mark_y, 0), scale.rows - 1)
        labels.append(Label(top + mark_y, max(x1 - 1, 0), SWEEP_MARK, Role.SWEEP))


def swing_labels(
    swings: Swings, window: Window, scale: PriceScale, top: int, labels: list[Label]
) -> None:
    """HH/LH above swing highs, HL/LL below swing lows (unlabelled first swings get nothing)."""
    visible = (swings.bar >= window.start) & (swings.bar < window.stop) & (swings.label != 0)
    for i in np.flatnonzero(visible).tolist():
        x = window.col(int(swings.bar[i]))
        row = scale.row(float(swings.price[i]))
        y = row - 1 if bool(swings.is_high[i]) else row + 1
        if 0 <= y < scale.rows:
            labels.append(Label(top + y, x, SWING_TEXT[int(swings.label[i])], Role.SWING_LABEL))


def draw_orders(
    canvas: Canvas,
    orders: tuple[OrderLine, ...],
    window: Window,
    scale: PriceScale,
    top: int,
    labels: list[Label],
) -> list[AxisMark]:
    """Full-width level lines for working orders; returns the gutter boxes for their prices."""
    w = window.plot_width
    marks: list[AxisMark] = []
    for o in orders:
        role = ORDER_ROLE[o.kind]
        row = scale.row(o.price)
        clipped = -1 if row >= scale.rows else 1 if row < 0 else 0
        row = min(max(row, 0), scale.rows - 1)
        if clipped == 0:
            canvas.hline(top + row, 0, w, ORDER_GLYPH[o.kind], role)
        labels.append(Label(top + row, w - len(o.label) - 1, o.label, role))
        marks.append(AxisMark(row, o.price, role, clipped))
    return marks
