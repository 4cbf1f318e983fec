"""Where each part of the chart goes inside the widget's cells.

```
row 0              readout: symbol, timeframe, OHLCV and indicator values of one bar
rows 1..P          price pane (candles, overlays)            │ price axis (gutter)
rows P+1..P+V      volume pane (0 rows on small screens)     │ volume scale
last row           time axis (UTC)
```
The gutter is as wide as the longest price label of the whole data set (not just the visible
part), so panning through history does not make the plot jump sideways.
"""

from __future__ import annotations

from dataclasses import dataclass

# Below this many rows the volume pane is dropped: candles matter more.
_VOLUME_MIN_HEIGHT = 12
_MIN_PLOT_WIDTH = 4
_MIN_PANE_ROWS = 2


@dataclass(frozen=True, slots=True)
class Layout:
    width: int
    height: int
    gutter: int
    pane_top: int
    pane_rows: int
    volume_top: int
    volume_rows: int
    axis_row: int

    @property
    def plot_width(self) -> int:
        return self.width - self.gutter

    @property
    def pane_bottom(self) -> int:
        """Exclusive bottom row of the price pane."""
        return self.pane_top + self.pane_rows


def make_layout(width: int, height: int, gutter: int) -> Layout | None:
    """The layout for a widget of ``width`` × ``height`` cells, or None when too small to draw."""
    if width - gutter < _MIN_PLOT_WIDTH or height < 2 + _MIN_PANE_ROWS:
        return None
    body = height - 2
    volume = 0 if height < _VOLUME_MIN_HEIGHT else min(8, max(2, round(height * 0.15)))
    pane = body - volume
    return Layout(
        width=width,
        height=height,
        gutter=gutter,
        pane_top=1,
        pane_rows=pane,
        volume_top=1 + pane,
        volume_rows=volume,
        axis_row=height - 1,
    )
