"""The pure chart renderer: (data, view state, size) → a grid of cells → rows of Rich segments.

Two stages, so that the frequent changes are cheap:

* ``render_base`` draws everything that depends on the data, the window and the overlay flags
  (bands, lines, candles, volume, labels, axes). Its result depends on no colours, so a theme
  change reuses it.
* ``render_top`` copies the base and adds what moves with the crosshair: the readout line and
  the crosshair itself.

``Canvas.to_segments(palette)`` then turns the grid into styled segments. No Textual here except
through the palette's colour parsing; the widget wraps the rows in ``Strip``s and caches them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from rich.segment import Segment

from tradeterm.analysis.smc import codes
from tradeterm.pipeline.chartdata import ChartData

from . import overlays as ov
from .axis import (
    PriceScale,
    fit_scale,
    format_price,
    format_time_full,
    format_volume,
    gutter_width,
    price_ticks,
    time_ticks,
)
from .candles import Columns, draw_candles, draw_volume, visible_columns
from .canvas import SPACE, Canvas
from .layout import Layout, make_layout
from .model import ViewState, Window
from .palette import Palette, Role
from .readout import readout_spans

TOO_SMALL = "chart: too small"


@dataclass(frozen=True, slots=True)
class Scene:
    """The geometry of one frame, shared by the base and top stages (and by mouse hit-tests)."""

    layout: Layout
    window: Window
    scale: PriceScale
    columns: Columns
    last_close_role: int


@dataclass(frozen=True, slots=True)
class Base:
    canvas: Canvas
    scene: Scene | None
    layout: Layout | None


def base_key(state: ViewState) -> ViewState:
    """The part of the view state the base stage depends on."""
    return replace(state, crosshair=None)


def make_scene(
    data: ChartData, state: ViewState, width: int, height: int
) -> tuple[Scene | None, Layout | None]:
    """The frame's geometry: the layout (gutter sized for the whole data set), the visible
    window and a price scale fitted to the visible candles. None when there is nothing to
    draw (no bars) or no room (the layout is None too)."""
    frame = data.frame
    n = len(frame)
    if n:
        hi = float(np.nanmax(frame.high))
        lo = float(np.nanmin(frame.low))
        for o in data.orders:
            hi, lo = max(hi, o.price), min(lo, o.price)
        gutter = gutter_width(hi, lo, data.decimals)
    else:
        gutter = 10
    layout = make_layout(width, height, gutter)
    if layout is None or n == 0:
        return None, layout
    window = state.window(n, layout.plot_width)
    cols = visible_columns(frame, window)
    scale = fit_scale(cols.low, cols.high, layout.pane_rows)
    last = (
        Role.CANDLE_UP
        if frame.close[-1] > frame.open[-1]
        else (Role.CANDLE_DOWN if frame.close[-1] < frame.open[-1] else Role.CANDLE_WICK)
    )
    return Scene(layout, window, scale, cols, last), layout


def render_base(data: ChartData, state: ViewState, width: int, height: int) -> Base:
    """Everything but the readout and the crosshair."""
    canvas = Canvas(max(width, 0), max(height, 0))
    scene, layout = make_scene(data, state, width, height)
    if scene is None:
        return Base(canvas, None, layout)
    lay, window, scale, cols = scene.layout, scene.window, scene.scale, scene.columns
    top = lay.pane_top
    labels: list[ov.Label] = []
    if data.zones is not None:
        kinds = {
            k for k, flag in ((codes.ORDER_BLOCK, "ob"), (codes.FVG, "fvg")) if state.shows(flag)
        }
        if kinds:
            ov.draw_zones(canvas, data.zones, window, scale, top, kinds, labels)
    if data.zones is not None and state.shows("liquidity"):
        ov.draw_liquidity(canvas, data.zones, window, scale, top, labels)
    if data.breaks is not None and state.shows("structure"):
        ov.draw_structure(canvas, data.breaks, window, scale, top, labels)
    # Sweep marks are few and say the most, so their labels go on top of the swing labels.
    sweep_marks: list[ov.Label] = []
    if data.breaks is not None and state.shows("sweeps"):
        frame = data.frame
        ov.draw_sweeps(canvas, data.breaks, frame.high, frame.low, window, scale, top, sweep_marks)
    marks: list[ov.AxisMark] = []
    if data.orders and state.shows("orders"):
        marks = ov.draw_orders(canvas, data.orders, window, scale, top, labels)
    series = [s for s in data.series if state.shows(s.group)]
    ov.draw_series(canvas, series, window, scale, top)
    draw_candles(canvas, cols, scale, top)
    vmax = draw_volume(canvas, cols, lay.volume_top, lay.volume_rows)
    if data.swings is not None and state.shows("swings"):
        ov.swing_labels(data.swings, window, scale, top, labels)
    ov.draw_labels(canvas, labels + sweep_marks, lay.plot_width)
    _draw_gutter(canvas, scene, data, marks, vmax)
    _draw_time_axis(canvas, scene, data)
    return Base(canvas, scene, lay)


def _box(canvas: Canvas, y: int, x: int, text: str, role: int) -> None:
    """A price box in the gutter: text in the background colour on a coloured cell run."""
    canvas.text(y, x, text, Role.BG, bg=role)


def _draw_gutter(
    canvas: Canvas, scene: Scene, data: ChartData, marks: list[ov.AxisMark], vmax: float
) -> None:
    lay, scale = scene.layout, scene.scale
    x = lay.plot_width
    d = data.decimals
    y0, y1 = lay.pane_top, lay.volume_top + lay.volume_rows
    canvas.ch[y0:y1, x] = ord("│")
    canvas.fg[y0:y1, x] = Role.AXIS
    for row, price in price_ticks(scale, d):
        canvas.ch[y0 + row, x] = ord("┤")
        canvas.text(y0 + row, x + 2, format_price(price, d), Role.AXIS)
    last = float(data.frame.close[-1])
    row = scale.row(last)
    if 0 <= row < scale.rows:
        _box(canvas, y0 + row, x + 1, " " + format_price(last, d), scene.last_close_role)
    for mark in marks:
        arrow = "▲" if mark.clipped > 0 else "▼" if mark.clipped < 0 else " "
        _box(canvas, y0 + mark.row, x + 1, arrow + format_price(mark.price, d), mark.role)
    if lay.volume_rows and vmax > 0:
        canvas.ch[lay.volume_top, x] = ord("┤")
        canvas.text(lay.volume_top, x + 2, format_volume(vmax), Role.AXIS)


def _draw_time_axis(canvas: Canvas, scene: Scene, data: ChartData) -> None:
    window, lay = scene.window, scene.layout
    frame = data.frame
    bars = np.arange(window.start, window.stop)
    cols = window.col_of(bars)
    per_bar = window.cols_per_bar / window.bars_per_col
    for col, label in time_ticks(
        frame.open_time, window.start, window.stop, cols, frame.tf.ms, per_bar, lay.plot_width
    ):
        canvas.text(lay.axis_row, col, label, Role.AXIS, x_max=lay.plot_width)
    canvas.text(lay.axis_row, lay.plot_width + 2, "UTC", Role.AXIS)


def render_top(base: Base, data: ChartData, state: ViewState) -> Canvas:
    """The base plus the readout line and the crosshair."""
    canvas = base.canvas.copy()
    scene = base.scene
    if base.layout is None:
        canvas.text(0, 0, TOO_SMALL, Role.AXIS)
        return canvas
    window = scene.window if scene is not None else state.window(0, 0)
    x = 0
    for text, role in readout_spans(data, state, window):
        canvas.text(0, x, text, role)
        x += len(text)
    if scene is not None and state.crosshair is not None:
        _draw_crosshair(canvas, scene, data, state)
    return canvas


def _draw_crosshair(canvas: Canvas, scene: Scene, data: ChartData, state: ViewState) -> None:
    assert state.crosshair is not None
    lay, window, scale = scene.layout, scene.window, scene.scale
    row = min(max(state.crosshair.row, 0), lay.pane_rows - 1)
    y = lay.pane_top + row
    was_empty = canvas.ch[y].copy() == SPACE
    canvas.hline(y, 0, lay.plot_width, "─", Role.CROSSHAIR, only_empty=True)
    bar = state.crosshair.bar
    if window.start <= bar < window.stop:
        col = window.col(bar)
        if 0 <= col < lay.plot_width:
            y0, y1 = lay.pane_top, lay.volume_top + lay.volume_rows
            column = canvas.ch[y0:y1, col]
            empty = column == SPACE
            column[empty] = ord("│")
            canvas.fg[y0:y1, col][empty] = Role.CROSSHAIR
            if was_empty[col]:
                canvas.ch[y, col] = ord("┼")
            label = format_time_full(int(data.frame.open_time[bar]), data.frame.tf.ms)
            lx = min(max(col - len(label) // 2, 0), max(lay.plot_width - len(label), 0))
            canvas.text(lay.axis_row, lx, label, Role.BG, bg=Role.CROSSHAIR, x_max=lay.plot_width)
    price = format_price(scale.price_at_row(row), data.decimals)
    _box(canvas, y, lay.plot_width + 1, " " + price, Role.CROSSHAIR)


def render_rows(
    data: ChartData, state: ViewState, palette: Palette, width: int, height: int
) -> list[list[Segment]]:
    """One full, uncached render: rows of segments for a ``width`` × ``height`` chart."""
    return render_top(render_base(data, state, width, height), data, state).to_segments(palette)


def render_text(data: ChartData, state: ViewState, width: int, height: int) -> list[str]:
    """The frame's characters only, one string per row (for tests and debugging)."""
    canvas = render_top(render_base(data, state, width, height), data, state)
    return [canvas.ch[y].tobytes().decode("utf-32-le") for y in range(canvas.height)]
