"""The chart's view model: which bars are visible, at what zoom, which overlays are on, where the
crosshair is. Pure and immutable, so that a ``ViewState`` is a cache key, every key press is a
state → state function that tests can call without Textual, and edge cases (no data, one bar,
panning past either end) are decided in one place.

Coordinates: bars are row indices of the frame; ``end`` is the exclusive right edge of the view
in bars, ``None`` meaning "follow the latest bar" (live data keeps scrolling in). A zoom level
is either several columns per bar (candles with gaps) or several bars per column (candles
aggregated, for overviews); groups of aggregated bars are aligned to absolute bar indices so
panning never reshuffles which bars share a column.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

OVERLAYS: tuple[str, ...] = (
    "ema",
    "bb",
    "vwap",
    "swings",
    "structure",
    "ob",
    "fvg",
    "liquidity",
    "sweeps",
    "orders",
)
DEFAULT_OVERLAYS: frozenset[str] = frozenset(
    {"ema", "swings", "structure", "ob", "fvg", "liquidity", "sweeps", "orders"}
)


@dataclass(frozen=True, slots=True)
class Zoom:
    """``cols_per_bar`` > 1 spreads candles out; ``bars_per_col`` > 1 merges them. One is 1."""

    cols_per_bar: int
    bars_per_col: int


ZOOM_LEVELS: tuple[Zoom, ...] = (
    Zoom(1, 8),
    Zoom(1, 4),
    Zoom(1, 2),
    Zoom(1, 1),
    Zoom(2, 1),
    Zoom(3, 1),
    Zoom(4, 1),
    Zoom(6, 1),
)
# Two columns per bar: a one-column gap between candles keeps bodies from merging into blobs.
DEFAULT_ZOOM = 4


@dataclass(frozen=True, slots=True)
class Crosshair:
    """A bar index and a row of the price pane (0 = top)."""

    bar: int
    row: int


@dataclass(frozen=True, slots=True)
class Window:
    """The visible bars ``[start, stop)`` laid out over ``plot_width`` columns."""

    start: int
    stop: int
    cols_per_bar: int
    bars_per_col: int
    plot_width: int

    @property
    def count(self) -> int:
        return self.stop - self.start

    def col_of(self, bars: np.ndarray) -> np.ndarray:
        """Column of each bar's candle (may lie outside ``[0, plot_width)`` for bars outside)."""
        b = np.asarray(bars, dtype=np.int64)
        if self.bars_per_col > 1:
            m = self.bars_per_col
            return b // m - self.start // m
        k = self.cols_per_bar
        return (b - self.start) * k + (k - 1) // 2

    def col(self, bar: int) -> int:
        """``col_of`` for one bar, in plain integer arithmetic."""
        if self.bars_per_col > 1:
            m = self.bars_per_col
            return bar // m - self.start // m
        k = self.cols_per_bar
        return (bar - self.start) * k + (k - 1) // 2

    def bar_at(self, col: int) -> int | None:
        """The bar shown in column ``col`` (the last bar of an aggregated column), or None."""
        if col < 0 or col >= self.plot_width or self.count <= 0:
            return None
        if self.bars_per_col > 1:
            bar = self.start + (col + 1) * self.bars_per_col - 1
            first = self.start + col * self.bars_per_col
            if first >= self.stop:
                return None
            return min(bar, self.stop - 1)
        bar = self.start + col // self.cols_per_bar
        return bar if bar < self.stop else None


def capacity(zoom: Zoom, plot_width: int) -> int:
    """How many bars fit in ``plot_width`` columns at ``zoom``."""
    if plot_width <= 0:
        return 0
    if zoom.bars_per_col > 1:
        return plot_width * zoom.bars_per_col
    return max(1, plot_width // zoom.cols_per_bar)


@dataclass(frozen=True, slots=True)
class ViewState:
    """Zoom, pan, overlay flags and crosshair. Methods return new states."""

    zoom: int = DEFAULT_ZOOM
    end: int | None = None
    overlays: frozenset[str] = DEFAULT_OVERLAYS
    crosshair: Crosshair | None = None

    @property
    def following(self) -> bool:
        return self.end is None

    @property
    def zoom_level(self) -> Zoom:
        return ZOOM_LEVELS[self.zoom]

    def shows(self, overlay: str) -> bool:
        return overlay in self.overlays

    def toggled(self, overlay: str) -> ViewState:
        if overlay not in OVERLAYS:
            raise ValueError(f"unknown overlay {overlay!r}; known: {', '.join(OVERLAYS)}")
        return replace(self, overlays=self.overlays ^ {overlay})

    def window(self, n: int, plot_width: int) -> Window:
        """The visible bars for ``n`` bars of data and a plot area ``plot_width`` wide."""
        z = self.zoom_level
        if n <= 0 or plot_width <= 0:
            return Window(0, 0, z.cols_per_bar, z.bars_per_col, max(plot_width, 0))
        cap = capacity(z, plot_width)
        end = _clamp_end(self.end, n, cap)
        if z.bars_per_col > 1:
            m = z.bars_per_col
            g_stop = -(-end // m)
            g_start = max(0, g_stop - plot_width)
            return Window(g_start * m, min(n, g_stop * m), 1, m, plot_width)
        start = max(0, end - cap)
        return Window(start, end, z.cols_per_bar, 1, plot_width)

    def zoomed(self, step: int, n: int, plot_width: int) -> ViewState:
        """Zoom in (step > 0) or out, keeping the right edge (or the crosshair bar) in view."""
        level = min(max(self.zoom + step, 0), len(ZOOM_LEVELS) - 1)
        state = replace(self, zoom=level)
        if self.crosshair is not None and n > 0:
            w = state.window(n, plot_width)
            bar = self.crosshair.bar
            if not w.start <= bar < w.stop:
                cap = capacity(state.zoom_level, plot_width)
                state = replace(state, end=_normalise_end(bar + cap // 2, n, cap))
        return state

    def panned(self, bars: int, n: int, plot_width: int) -> ViewState:
        """Move the view ``bars`` to the right (negative: into history), clamped to the data.

        Reaching the latest bar switches to following it, so live bars keep scrolling in.
        """
        if n <= 0:
            return replace(self, end=None)
        cap = capacity(self.zoom_level, plot_width)
        current = _clamp_end(self.end, n, cap)
        return replace(self, end=_normalise_end(current + bars, n, cap))

    def at_latest(self) -> ViewState:
        return replace(self, end=None)

    def at_first(self, n: int, plot_width: int) -> ViewState:
        cap = capacity(self.zoom_level, plot_width)
        return replace(self, end=_normalise_end(cap, n, cap))

    def pan_step(self, plot_width: int) -> int:
        """Bars moved by one pan key: a tenth of the view, at least one bar."""
        return max(1, capacity(self.zoom_level, plot_width) // 10)

    def with_crosshair(self, crosshair: Crosshair | None) -> ViewState:
        return replace(self, crosshair=crosshair)

    def crosshair_moved(
        self, bars: int, rows: int, n: int, plot_width: int, pane_rows: int
    ) -> ViewState:
        """Move the crosshair, panning the view when it walks off either edge."""
        if self.crosshair is None or n <= 0:
            return self
        w = self.window(n, plot_width)
        step = bars * (max(1, w.bars_per_col))
        bar = min(max(self.crosshair.bar + step, 0), n - 1)
        row = min(max(self.crosshair.row + rows, 0), max(pane_rows - 1, 0))
        state = replace(self, crosshair=Crosshair(bar, row))
        if bar >= w.stop:
            state = state.panned(bar - w.stop + 1, n, plot_width)
        elif bar < w.start:
            state = state.panned(bar - w.start, n, plot_width)
        return state

    def rebased(self, old_times: np.ndarray, new_times: np.ndarray) -> ViewState:
        """The same view over replaced data: a panned view keeps showing the same candles (found
        by open time, so bars dropped from the front of a ring buffer do not shift it); a
        following view keeps following."""
        if len(new_times) == 0:
            return replace(self, end=None, crosshair=None)

        def moved(bar: int) -> int:
            if len(old_times) == 0:
                return bar
            t = old_times[min(max(bar, 0), len(old_times) - 1)]
            return int(np.searchsorted(new_times, t, side="left"))

        state = self
        if self.end is not None and self.end > 0:
            end = moved(self.end - 1) + 1
            state = replace(state, end=None if end >= len(new_times) else end)
        if self.crosshair is not None:
            bar = min(moved(self.crosshair.bar), len(new_times) - 1)
            state = replace(state, crosshair=Crosshair(bar, self.crosshair.row))
        return state


def _clamp_end(end: int | None, n: int, cap: int) -> int:
    """The view's right edge within the data: never past the latest bar, never so far left that
    the view would show empty space before the first bar."""
    if end is None:
        return n
    return min(max(end, min(n, cap)), n)


def _normalise_end(end: int, n: int, cap: int) -> int | None:
    clamped = _clamp_end(end, n, cap)
    return None if clamped >= n else clamped
