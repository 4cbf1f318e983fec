"""The readout line above the chart: symbol, timeframe, time, OHLCV and the visible indicators'
values for one bar (the crosshair's, else the newest visible one).

When candles are aggregated (zoomed out), the readout describes the whole column the bar belongs
to, so it always matches the candle drawn under the crosshair.
"""

from __future__ import annotations

import math

from tradeterm.pipeline.chartdata import ChartData

from .axis import format_price, format_time_full, format_volume
from .model import ViewState, Window
from .palette import ROLE_OF_VARIABLE, Role

Span = tuple[str, int]


def readout_bar(state: ViewState, window: Window) -> int | None:
    """The bar the readout describes."""
    if state.crosshair is not None:
        return state.crosshair.bar
    return window.stop - 1 if window.count > 0 else None


def readout_spans(data: ChartData, state: ViewState, window: Window) -> list[Span]:
    """(text, role) pieces of the readout line, left to right."""
    frame = data.frame
    head: list[Span] = [(f"{frame.symbol} {frame.tf.value}", Role.FG)]
    bar = readout_bar(state, window)
    if bar is None or len(frame) == 0:
        return [*head, ("  no data", Role.AXIS)]
    n = len(frame)
    bar = min(max(bar, 0), n - 1)
    m = window.bars_per_col
    first = bar - bar % m if m > 1 else bar
    last = min(first + m, n) - 1
    o = float(frame.open[first])
    h = float(frame.high[first : last + 1].max())
    lo = float(frame.low[first : last + 1].min())
    c = float(frame.close[last])
    v = float(frame.volume[first : last + 1].sum())
    d = data.decimals
    move = Role.CANDLE_UP if c > o else Role.CANDLE_DOWN if c < o else Role.CANDLE_WICK
    change = (c - o) / o * 100 if o else 0.0
    spans: list[Span] = [
        *head,
        ("  " + format_time_full(int(frame.open_time[first]), frame.tf.ms), Role.AXIS),
        ("  O ", Role.AXIS),
        (format_price(o, d), Role.FG),
        (" H ", Role.AXIS),
        (format_price(h, d), Role.FG),
        (" L ", Role.AXIS),
        (format_price(lo, d), Role.FG),
        (" C ", Role.AXIS),
        (format_price(c, d), move),
        (f" {change:+.2f}%", move),
        ("  V ", Role.AXIS),
        (format_volume(v), Role.FG),
    ]
    for s in data.series:
        if not state.shows(s.group):
            continue
        value = float(s.values[last])
        text = format_price(value, d) if math.isfinite(value) else "—"
        spans.append((f"  {s.name} ", ROLE_OF_VARIABLE.get(s.role, Role.FG)))
        spans.append((text, Role.FG))
    return spans


def readout_text(data: ChartData, state: ViewState, window: Window) -> str:
    """The readout as plain text (what tests and screen readers see)."""
    return "".join(t for t, _ in readout_spans(data, state, window))
