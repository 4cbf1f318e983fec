"""The candle chart: a Line-API widget over a pure renderer.

``ChartData`` is the input (immutable; replace it to update), ``ViewState`` the view model (zoom,
pan, overlay flags, crosshair), ``ChartWidget`` the Textual widget, ``CHART_KEYS`` its keys as
data, and ``render_rows`` / ``render_text`` the renderer for tests and benchmarks.
"""

from __future__ import annotations

from tradeterm.pipeline.chartdata import (
    ChartData,
    OrderLine,
    Series,
    chart_data,
    indicator_series,
    infer_decimals,
)

from .keys import CHART_KEYS, chart_bindings
from .model import DEFAULT_OVERLAYS, OVERLAYS, ZOOM_LEVELS, Crosshair, ViewState, Window, Zoom
from .palette import CHART_VARIABLES, Palette, parse_color, resolve_colors
from .render import render_rows, render_text
from .widget import ChartWidget, empty_data

__all__ = [
    "CHART_KEYS",
    "CHART_VARIABLES",
    "DEFAULT_OVERLAYS",
    "OVERLAYS",
    "ZOOM_LEVELS",
    "ChartData",
    "ChartWidget",
    "Crosshair",
    "OrderLine",
    "Palette",
    "Series",
    "ViewState",
    "Window",
    "Zoom",
    "chart_bindings",
    "chart_data",
    "empty_data",
    "indicator_series",
    "infer_decimals",
    "parse_color",
    "render_rows",
    "render_text",
    "resolve_colors",
]
