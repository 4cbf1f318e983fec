"""The candle chart as a Textual Line-API widget.

``render_line(y)`` serves rows from a cache of ``Strip``s. A frame is rebuilt only when something
it depends on changes — the data (a version number bumped by ``set_data``), the view state, the
size or the theme's colours — and in two stages (see ``render``): the colour-free base is reused
across theme changes and crosshair moves. After a rebuild only the rows that actually changed are
refreshed, so a live tick that moves the open candle repaints a handful of rows (no flicker, a few
KB over SSH) instead of the whole chart.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.theme import Theme
from textual.widget import Widget

from tradeterm.contracts import Timeframe
from tradeterm.market.frame import CandleFrame
from tradeterm.pipeline.chartdata import ChartData
from tradeterm.ui.lru import DictLRU

from .keys import chart_bindings
from .model import Crosshair, ViewState
from .palette import Palette
from .readout import readout_bar, readout_text
from .render import Base, Scene, base_key, render_base, render_top

_CROSSHAIR_ONLY = {"up", "down", "hide_crosshair"}


def empty_data(symbol: str = "", tf: Timeframe | str = Timeframe.M1) -> ChartData:
    """A chart with no candles (before the first data arrives)."""
    e = np.empty(0)
    return ChartData(
        CandleFrame.from_columns(symbol or "-", tf, np.empty(0, np.int64), e, e, e, e, e)
    )


class ChartWidget(Widget, can_focus=True):
    """Candles, volume, indicator and SMC overlays, orders, crosshair; keyboard and mouse driven."""

    DEFAULT_CSS = """
    ChartWidget {
        width: 1fr;
        height: 1fr;
        background: $background;
    }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [*chart_bindings()]

    def __init__(
        self,
        data: ChartData | None = None,
        *,
        state: ViewState | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._data = data if data is not None else empty_data()
        self._version = 0
        self._state = state if state is not None else ViewState()
        self._palette: Palette | None = None
        self._palette_stale = True
        self._bases: DictLRU[tuple[Any, ...], Base] = DictLRU(4)
        self._frames: DictLRU[tuple[Any, ...], list[Strip]] = DictLRU(8)
        self._shown: tuple[tuple[Any, ...], list[Strip]] | None = None
        self._mouse_crosshair = False

    # ------------------------------------------------------------------ public API

    @property
    def data(self) -> ChartData:
        return self._data

    @property
    def state(self) -> ViewState:
        return self._state

    @property
    def readout(self) -> str:
        """The readout line as text."""
        scene = self._current_scene()
        window = scene.window if scene is not None else self._state.window(0, 0)
        return readout_text(self._data, self._state, window)

    def set_data(self, data: ChartData) -> None:
        """Show new data. A panned view stays on the same candles; a view at the latest bar
        follows new bars."""
        old = self._data
        self._state = self._state.rebased(old.frame.open_time, data.frame.open_time)
        self._data = data
        self._version += 1
        # Frames of older data can never be shown again (the version is in every cache key).
        # Dropping them now matters while data streams: each cached Strip carries a handful of
        # caches of its own, and tens of thousands of such objects made every full garbage
        # collection walk them (100+ ms stalls of the event loop, the p99 of key -> repaint).
        self._bases.clear()
        self._frames.clear()
        self._repaint()

    def set_state(self, state: ViewState) -> None:
        if state != self._state:
            self._state = state
            self._repaint()

    def toggle_overlay(self, name: str) -> None:
        self.set_state(self._state.toggled(name))

    # ------------------------------------------------------------------ Textual hooks

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        self._palette_stale = True
        self.refresh()

    def notify_style_update(self) -> None:
        # Also called for focus and hover changes: the palette is re-resolved, and kept (with
        # its style and segment caches) when the colours came out the same.
        super().notify_style_update()
        self._palette_stale = True

    def on_resize(self, event: events.Resize) -> None:
        self.refresh()

    def render_line(self, y: int) -> Strip:
        strips = self._strips()
        if 0 <= y < len(strips):
            return strips[y]
        return Strip.blank(self.size.width)

    # ------------------------------------------------------------------ rendering

    def _palette_now(self) -> Palette:
        if self._palette is None or self._palette_stale:
            variables = dict(self.app.theme_variables or self.app.get_css_variables())
            background = self.background_colors[1]
            if background.a > 0:
                variables["background"] = background.hex
            palette = Palette.from_variables(variables, self.app.console.color_system)
            if self._palette is None or palette.key != self._palette.key:
                self._palette = palette
            self._palette_stale = False
        return self._palette

    def _base(self, width: int, height: int) -> Base:
        key = (self._version, base_key(self._state), width, height)
        base = self._bases.get(key)
        if base is None:
            base = render_base(self._data, self._state, width, height)
            self._bases[key] = base
        return base

    def _current_scene(self) -> Scene | None:
        width, height = self.size
        if width <= 0 or height <= 0:
            return None
        return self._base(width, height).scene

    def _strips(self) -> list[Strip]:
        width, height = self.size
        palette = self._palette_now()
        key = (self._version, self._state, width, height, palette.key)
        if self._shown is not None and self._shown[0] == key:
            return self._shown[1]
        strips = self._frames.get(key)
        if strips is None:
            base = self._base(width, height)
            canvas = render_top(base, self._data, self._state)
            strips = [Strip(row, width) for row in canvas.to_segments(palette)]
            self._frames[key] = strips
        self._shown = (key, strips)
        return strips

    def _repaint(self) -> None:
        """Rebuild now and refresh only the rows that changed."""
        width, height = self.size
        if not self.is_mounted or width <= 0 or height <= 0 or self._shown is None:
            self.refresh()
            return
        before = self._shown[1]
        after = self._strips()
        if len(before) != len(after):
            self.refresh()
            return
        changed = [y for y, (a, b) in enumerate(zip(before, after)) if a != b]
        if changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))

    # ------------------------------------------------------------------ geometry helpers

    def _plot_width(self) -> int:
        scene = self._current_scene()
        return scene.layout.plot_width if scene is not None else max(self.size.width - 10, 1)

    def _pane_rows(self) -> int:
        scene = self._current_scene()
        return scene.layout.pane_rows if scene is not None else 1

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _CROSSHAIR_ONLY:
            return self._state.crosshair is not None
        return True

    def action_toggle_overlay(self, name: str) -> None:
        self.toggle_overlay(name)

    def action_zoom_in(self) -> None:
        self.set_state(self._state.zoomed(+1, len(self._data), self._plot_width()))

    def action_zoom_out(self) -> None:
        self.set_state(self._state.zoomed(-1, len(self._data), self._plot_width()))

    def action_left(self) -> None:
        self._horizontal(-1)

    def action_right(self) -> None:
        self._horizontal(+1)

    def action_up(self) -> None:
        self._move(0, -1)

    def action_down(self) -> None:
        self._move(0, +1)

    def _horizontal(self, direction: int) -> None:
        """Left/right move the crosshair when it is shown, else pan by a tenth of the view."""
        if self._state.crosshair is not None:
            self._move(direction, 0)
            return
        n, width = len(self._data), self._plot_width()
        self.set_state(self._state.panned(direction * self._state.pan_step(width), n, width))

    def _move(self, bars: int, rows: int) -> None:
        n, width, pane = len(self._data), self._plot_width(), self._pane_rows()
        self.set_state(self._state.crosshair_moved(bars, rows, n, width, pane))

    def action_jump_latest(self) -> None:
        state = self._state.at_latest()
        if state.crosshair is not None and len(self._data):
            state = state.with_crosshair(Crosshair(len(self._data) - 1, state.crosshair.row))
        self.set_state(state)

    def action_jump_first(self) -> None:
        state = self._state.at_first(len(self._data), self._plot_width())
        if state.crosshair is not None and len(self._data):
            state = state.with_crosshair(Crosshair(0, state.crosshair.row))
        self.set_state(state)

    def action_toggle_crosshair(self) -> None:
        if self._state.crosshair is not None:
            self.action_hide_crosshair()
            return
        scene = self._current_scene()
        if scene is None:
            return
        bar = readout_bar(self._state, scene.window)
        if bar is None:
            return
        row = min(
            max(scene.scale.row(float(self._data.frame.close[bar])), 0), scene.layout.pane_rows - 1
        )
        self._mouse_crosshair = False
        self.set_state(self._state.with_crosshair(Crosshair(bar, row)))

    def action_hide_crosshair(self) -> None:
        self._mouse_crosshair = False
        self.set_state(self._state.with_crosshair(None))

    # ------------------------------------------------------------------ mouse

    def on_mouse_move(self, event: events.MouseMove) -> None:
        offset = event.get_content_offset(self)
        scene = self._current_scene()
        if offset is None or scene is None:
            return
        lay = scene.layout
        x, y = offset
        if not (0 <= x < lay.plot_width and lay.pane_top <= y < lay.volume_top + lay.volume_rows):
            return
        bar = scene.window.bar_at(x)
        if bar is None:
            return
        row = min(y - lay.pane_top, lay.pane_rows - 1)
        self._mouse_crosshair = True
        self.set_state(self._state.with_crosshair(Crosshair(bar, row)))

    def on_leave(self, event: events.Leave) -> None:
        if self._mouse_crosshair:
            self.action_hide_crosshair()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.action_zoom_in()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.action_zoom_out()
