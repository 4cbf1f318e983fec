"""The chart widget inside a running (headless) app: keys, mouse, live data, themes, repaints."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from textual.geometry import Region

from tests.ui import ChartTestApp, synthetic_chart
from tradeterm.ui.widgets.chart import CHART_KEYS, ChartData, ChartWidget, ViewState, chart_bindings
from tradeterm.ui.widgets.chart.model import DEFAULT_OVERLAYS, DEFAULT_ZOOM

SIZE = (120, 40)


def _chart(app: ChartTestApp) -> ChartWidget:
    return app.query_one(ChartWidget)


def _bump_last_close(data: ChartData, delta: float) -> ChartData:
    """The open candle moved: same bars, a new last close (and high if needed)."""
    f = data.frame
    close = f.close.copy()
    high = f.high.copy()
    close[-1] += delta
    high[-1] = max(high[-1], close[-1])
    return data.with_frame(replace(f, close=close, high=high))


def test_bindings_are_data() -> None:
    keys = {k: a for k, a, _, _ in CHART_KEYS}
    assert keys["e"] == "toggle_overlay('ema')" and keys["x"] == "toggle_overlay('orders')"
    assert keys["plus,equals_sign"] == "zoom_in" and keys["end"] == "jump_latest"
    ids = [b.id for b in chart_bindings()]
    assert len(ids) == len(set(ids)) == len(CHART_KEYS)
    assert "chart.toggle_ema" in ids


async def test_keys_drive_the_view_model() -> None:
    app = ChartTestApp(synthetic_chart())
    async with app.run_test(size=SIZE) as pilot:
        chart = _chart(app)
        assert chart.state == ViewState()
        for key, overlay in zip(
            "ebvsmoflwx",
            (
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
            ),
        ):
            before = chart.state.shows(overlay)
            await pilot.press(key)
            assert chart.state.shows(overlay) != before, key
        assert chart.state.overlays == frozenset({"bb", "vwap"})  # every default flipped
        await pilot.press("plus")
        assert chart.state.zoom == DEFAULT_ZOOM + 1
        await pilot.press("minus", "minus")
        assert chart.state.zoom == DEFAULT_ZOOM - 1
        # Up/down mean nothing without a crosshair.
        await pilot.press("up", "down")
        assert chart.state.crosshair is None
        await pilot.press("left")
        assert not chart.state.following
        await pilot.press("end")
        assert chart.state.following
        await pilot.press("home")
        assert chart._base(*chart.size).scene.window.start == 0
        await pilot.press("end", "c")
        crosshair = chart.state.crosshair
        assert crosshair is not None and crosshair.bar == len(chart.data) - 1
        await pilot.press("left", "left", "up")
        assert chart.state.crosshair.bar == crosshair.bar - 2
        assert chart.state.crosshair.row == crosshair.row - 1
        assert "04:57" in chart.readout  # bar 297 of a 1m series from 00:00
        await pilot.press("escape")
        assert chart.state.crosshair is None


async def test_mouse_moves_the_crosshair_and_scroll_zooms() -> None:
    app = ChartTestApp(synthetic_chart())
    async with app.run_test(size=SIZE) as pilot:
        chart = _chart(app)
        scene = chart._base(*chart.size).scene
        assert scene is not None
        await pilot.hover("#chart", offset=(20, 6))
        await pilot.pause()
        assert chart.state.crosshair is not None
        assert chart.state.crosshair.bar == scene.window.bar_at(20)
        assert chart.state.crosshair.row == 6 - scene.layout.pane_top
        await pilot.hover("#chart", offset=(scene.layout.plot_width + 2, 6))  # the axis: ignored
        assert chart.state.crosshair.bar == scene.window.bar_at(20)


async def test_live_updates_follow_latest_or_keep_the_pan() -> None:
    data = synthetic_chart(301)
    head = ChartData(data.frame.slice(0, 300), price_decimals=2)
    full = ChartData(data.frame, price_decimals=2)
    app = ChartTestApp(head)
    async with app.run_test(size=SIZE) as pilot:
        chart = _chart(app)
        assert "04:59" in chart.readout
        chart.set_data(full)
        await pilot.pause()
        assert "05:00" in chart.readout  # following: the new bar is shown
        await pilot.press("left")
        end = chart.state.end
        chart.set_data(_bump_last_close(full, 5.0))
        await pilot.pause()
        assert chart.state.end == end  # panned: the view stays put


async def test_live_tick_repaints_only_changed_rows() -> None:
    data = synthetic_chart()
    app = ChartTestApp(data)
    async with app.run_test(size=SIZE) as pilot:
        chart = _chart(app)
        await pilot.pause()
        regions: list[tuple[Region, ...]] = []
        original = chart.refresh

        def spy(*args: Region, **kwargs: bool) -> ChartWidget:
            regions.append(args)
            return original(*args, **kwargs)

        chart.refresh = spy  # type: ignore[method-assign]
        chart.set_data(_bump_last_close(data, 0.01))
        assert len(regions) == 1
        rows = regions[0]
        assert 0 < len(rows) < SIZE[1]  # row-level refresh, not the whole widget
        assert all(r.width == SIZE[0] and r.height == 1 for r in rows)
        assert 0 in {r.y for r in rows}  # the readout's close changed


async def test_theme_change_restyles_the_chart() -> None:
    app = ChartTestApp(synthetic_chart())
    async with app.run_test(size=SIZE) as pilot:
        chart = _chart(app)

        def colours() -> set[str]:
            return {
                seg.style.color.triplet.hex  # type: ignore[union-attr]
                for y in range(SIZE[1])
                for seg in chart.render_line(y)
                if seg.style is not None and seg.style.color is not None and seg.text.strip()
            }

        dark = colours()
        assert "#26a69a" in dark  # candle-up of tradeterm-dark
        app.theme = "tradeterm-contrast"
        await pilot.pause()
        contrast = colours()
        assert "#56b4e9" in contrast and "#26a69a" not in contrast
        app.theme = "textual-light"  # a built-in theme: chart variables fall back to base colours
        await pilot.pause()
        assert colours()


async def test_empty_chart_then_data() -> None:
    from tradeterm.ui.widgets.chart import empty_data

    app = ChartTestApp(empty_data("BTCUSDT"))
    async with app.run_test(size=SIZE) as pilot:
        chart = _chart(app)
        await pilot.press("plus", "left", "c", "end", "home", "e")
        assert "no data" in chart.readout
        chart.set_data(synthetic_chart())
        await pilot.pause()
        assert "BTCUSDT 1m" in chart.readout and "04:59" in chart.readout
        assert np.isfinite(chart.data.frame.close[-1])
        assert chart.state.overlays == DEFAULT_OVERLAYS ^ {"ema"}
