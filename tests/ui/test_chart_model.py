"""The chart's view model: visible window, zoom, pan, follow-latest, crosshair, live rebasing."""

from __future__ import annotations

import numpy as np
import pytest

from tradeterm.ui.widgets.chart import OVERLAYS, ZOOM_LEVELS, Crosshair, ViewState
from tradeterm.ui.widgets.chart.model import DEFAULT_ZOOM, capacity

WIDTH = 100  # plot columns; the default zoom (2 columns per bar) shows 50 bars


def test_default_view_follows_the_latest_bars() -> None:
    w = ViewState().window(500, WIDTH)
    assert (w.start, w.stop, w.cols_per_bar, w.bars_per_col) == (450, 500, 2, 1)
    assert w.col_of(np.array([450, 451, 499])).tolist() == [0, 2, 98]
    assert w.bar_at(0) == 450 and w.bar_at(1) == 450 and w.bar_at(99) == 499
    assert w.bar_at(100) is None and w.bar_at(-1) is None


def test_pan_left_and_back_right_resumes_following() -> None:
    s = ViewState()
    step = s.pan_step(WIDTH)
    assert step == 5
    s = s.panned(-step, 500, WIDTH)
    assert s.end == 495 and not s.following
    assert (s.window(500, WIDTH).start, s.window(500, WIDTH).stop) == (445, 495)
    s = s.panned(+step, 500, WIDTH)
    assert s.following


def test_pan_is_clamped_at_both_edges() -> None:
    s = ViewState().panned(-10_000, 500, WIDTH)
    w = s.window(500, WIDTH)
    assert (w.start, w.stop) == (0, 50)  # no empty space before the first bar
    assert s.panned(-1, 500, WIDTH) == s
    s = s.panned(+10_000, 500, WIDTH)
    assert s.following
    assert s.panned(+1, 500, WIDTH).following


def test_home_and_end() -> None:
    s = ViewState().at_first(500, WIDTH)
    assert (s.window(500, WIDTH).start, s.window(500, WIDTH).stop) == (0, 50)
    assert s.at_latest().following


def test_fewer_bars_than_fit_start_at_the_left_and_do_not_pan() -> None:
    for n in (1, 3, 50):
        s = ViewState()
        w = s.window(n, WIDTH)
        assert (w.start, w.stop) == (0, n)
        assert s.panned(-3, n, WIDTH).window(n, WIDTH) == w
        assert s.panned(-3, n, WIDTH).following


def test_empty_data_never_crashes() -> None:
    s = ViewState()
    assert s.window(0, WIDTH).count == 0
    assert s.panned(-5, 0, WIDTH).window(0, WIDTH).count == 0
    assert s.zoomed(+1, 0, WIDTH).window(0, WIDTH).count == 0
    assert s.at_first(0, WIDTH).window(0, WIDTH).count == 0
    assert s.crosshair_moved(1, 1, 0, WIDTH, 10) == s
    assert s.window(10, 0).count == 0
    assert s.rebased(np.arange(5), np.arange(0)).following


def test_zoom_keeps_the_right_edge_and_stops_at_the_ends() -> None:
    s = ViewState().panned(-100, 500, WIDTH)  # right edge at bar 400
    assert s.end == 400
    z = s.zoomed(+1, 500, WIDTH)
    assert ZOOM_LEVELS[z.zoom].cols_per_bar == 3
    assert z.window(500, WIDTH).stop == 400
    assert z.window(500, WIDTH).count == capacity(ZOOM_LEVELS[z.zoom], WIDTH) == 33
    top = ViewState(zoom=len(ZOOM_LEVELS) - 1)
    assert top.zoomed(+1, 500, WIDTH).zoom == top.zoom
    assert ViewState(zoom=0).zoomed(-1, 500, WIDTH).zoom == 0


def test_zoomed_out_columns_aggregate_aligned_groups() -> None:
    s = ViewState(zoom=1)  # 4 bars per column
    w = s.window(1000, WIDTH)
    assert (w.start, w.stop, w.bars_per_col) == (600, 1000, 4)
    assert w.col_of(np.array([600, 603, 604, 999])).tolist() == [0, 0, 1, 99]
    assert w.bar_at(0) == 603 and w.bar_at(99) == 999
    # Groups are aligned to absolute bar numbers: panning by one bar does not reshuffle them.
    p = s.panned(-1, 1000, WIDTH)
    assert p.window(1000, WIDTH).start % 4 == 0
    # A partial last group (live data) still shows.
    w = s.window(1001, WIDTH)
    assert w.stop == 1001 and w.bar_at(w.col_of(np.array([1000]))[0]) == 1000


def test_zoom_out_then_in_with_all_data_visible() -> None:
    s = ViewState(zoom=0)
    w = s.window(300, WIDTH)
    assert (w.start, w.stop) == (0, 300)
    assert s.zoomed(+1, 300, WIDTH).zoomed(-1, 300, WIDTH) == s


def test_zoom_keeps_the_crosshair_in_view() -> None:
    s = ViewState(zoom=0, end=None, crosshair=Crosshair(100, 3))
    z = s.zoomed(+len(ZOOM_LEVELS), 1000, WIDTH)
    w = z.window(1000, WIDTH)
    assert w.start <= 100 < w.stop


def test_overlay_toggles() -> None:
    s = ViewState()
    for name in OVERLAYS:
        t = s.toggled(name)
        assert t.shows(name) != s.shows(name)
        assert t.toggled(name) == s
    with pytest.raises(ValueError, match="unknown overlay 'rsi'"):
        s.toggled("rsi")


def test_crosshair_moves_and_pans_at_the_edges() -> None:
    s = ViewState(crosshair=Crosshair(499, 5))
    s = s.crosshair_moved(+1, 0, 500, WIDTH, 20)
    assert s.crosshair == Crosshair(499, 5)  # clamped at the newest bar
    s = s.crosshair_moved(0, -10, 500, WIDTH, 20)
    assert s.crosshair == Crosshair(499, 0)
    s = s.crosshair_moved(0, +50, 500, WIDTH, 20)
    assert s.crosshair == Crosshair(499, 19)
    s = ViewState(crosshair=Crosshair(450, 5))  # the left edge of the view
    s = s.crosshair_moved(-1, 0, 500, WIDTH, 20)
    assert s.crosshair is not None and s.crosshair.bar == 449 and s.window(500, WIDTH).start == 449
    assert ViewState().crosshair_moved(1, 1, 500, WIDTH, 20) == ViewState()


def test_rebase_keeps_a_panned_view_on_the_same_candles() -> None:
    old = np.arange(100, 600) * 60_000
    s = ViewState(end=400, crosshair=Crosshair(390, 2))
    # A new bar appended and the oldest two dropped from a ring buffer.
    new = np.arange(102, 601) * 60_000
    r = s.rebased(old, new)
    assert r.end == 398 and new[r.end - 1] == old[399]
    assert r.crosshair == Crosshair(388, 2)


def test_rebase_keeps_following() -> None:
    old = np.arange(500) * 60_000
    new = np.arange(501) * 60_000
    assert ViewState().rebased(old, new).following
    assert ViewState().rebased(old, new).window(501, WIDTH).stop == 501


def test_default_zoom_is_two_columns_per_bar() -> None:
    assert ZOOM_LEVELS[DEFAULT_ZOOM].cols_per_bar == 2
