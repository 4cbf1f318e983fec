"""The workstation against the deterministic fake: snapshots in, intents out, every key path."""

from __future__ import annotations

import pytest
from textual.widgets import RichLog

from tests.ui import workstation_app
from tradeterm.analysis.smc import codes
from tradeterm.errors import UserError
from tradeterm.ui.app import TradetermApp
from tradeterm.ui.fake import FakePipeline
from tradeterm.ui.screens.confirm import ConfirmScreen
from tradeterm.ui.screens.main import MainScreen, size_classes, venue_of
from tradeterm.ui.screens.theme_picker import ThemePicker
from tradeterm.ui.widgets.activity_log import ActivityLog
from tradeterm.ui.widgets.blotter import Blotter, BracketTable, PositionTable
from tradeterm.ui.widgets.chart import ChartWidget
from tradeterm.ui.widgets.guard_bar import GuardBar
from tradeterm.ui.widgets.signal_queue import SignalQueue
from tradeterm.ui.widgets.status_bar import StatusBar
from tradeterm.ui.widgets.watchlist import Watchlist

SIZE = (120, 40)


async def test_first_snapshot_fills_every_panel() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.snapshot is fake.snapshot()
        assert app.query_one(Watchlist).row_count == 3
        assert app.query_one(SignalQueue).row_count == 3
        assert app.query_one(BracketTable).row_count == 2
        assert app.query_one(PositionTable).row_count == 1
        assert len(app.query_one(GuardBar).states) == 7
        assert len(app.query_one(ActivityLog).visible_lines()) == len(fake.snapshot().log)
        status = str(app.query_one(StatusBar).render())
        assert "BTCUSDT" in status and "3 signals" in status
        chart = app.query_one(ChartWidget)
        assert chart.data is fake.snapshot().chart
        assert app.focused is chart


async def test_poll_repaints_only_on_a_new_version() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.main_screen
        shown = screen.snapshot
        app.poll()
        assert screen.snapshot is shown  # same version: nothing pushed
        fake.set_auto_trade("BTCUSDT", True)
        app.poll()
        assert screen.snapshot is not shown and screen.snapshot.auto_trade


async def test_a_poll_during_shutdown_does_not_fail_on_a_pruned_panel() -> None:
    # Shutting down prunes the screen's children one by one while the poll timer still fires:
    # a poll that lands after the status bar went must not raise (CI once failed on
    # ``NoMatches: StatusBar`` at the end of a Pilot test).
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = app.query_one(StatusBar)
        await status.remove()
        fake.set_auto_trade("BTCUSDT", True)
        app.poll()
        assert app.main_screen.snapshot is not None and app.main_screen.snapshot.auto_trade
        assert "auto ON" in str(status.render())  # the detached bar took the update, quietly


async def test_a_poll_after_shutdown_began_shows_nothing() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = app.main_screen.snapshot
    fake.set_auto_trade("BTCUSDT", True)  # a new version after the widgets were pruned
    app.poll()
    assert app.main_screen.snapshot is shown


async def test_watchlist_enter_charts_the_symbol() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.focused, Watchlist)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert ("select", ("ETHUSDT", "1m")) in fake.calls
        assert fake.symbol == "ETHUSDT"
        assert app.query_one(ChartWidget).data.frame.symbol == "ETHUSDT"
        await pilot.press("j", "enter")  # vim keys move the cursor too
        await pilot.pause()
        assert fake.symbol == "SOLUSDT"
        assert app.query_one(GuardBar).detail_text().startswith("funding BLOCK")


async def test_timeframe_keys_switch_and_clamp() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert fake.tf == "5m"
        assert app.query_one(ChartWidget).data.frame.tf.value == "5m"
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert fake.tf == "1m"  # clamped at the first timeframe


async def test_overlay_keys_reach_the_chart() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(ChartWidget)
        for key, overlay in (("e", "ema"), ("b", "bb"), ("o", "ob"), ("x", "orders")):
            before = chart.state.shows(overlay)
            await pilot.press(key)
            assert chart.state.shows(overlay) != before, key


async def test_reject_signal() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("down", "r")
        await pilot.pause()
        assert fake.rejected == ["sig-ethusdt-2"]
        assert app.query_one(SignalQueue).row_count == 2


async def test_kill_switch_needs_confirmation() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert not fake.killswitch.tripped
        await pilot.press("ctrl+k")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert fake.killswitch.tripped
        assert app.query_one(PositionTable).row_count == 0
        assert app.query_one(StatusBar).has_class("-tripped")
        assert "KILL SWITCH" in str(app.query_one(StatusBar).render())
        # Reset, also behind a confirmation.
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not fake.killswitch.tripped
        assert not app.query_one(StatusBar).has_class("-tripped")


async def test_kill_switch_works_over_the_bracket_panel() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert fake.killswitch.tripped


async def test_cancel_bracket_and_close_position() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.focused, BracketTable)
        await pilot.press("c")  # the working ETH entry is listed first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.query_one("#confirm-body").render())
        assert body == "Cancel ETHUSDT bracket seed-short-2 and its resting orders?"  # one market
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("cancel_bracket", ("seed-short-2",)) in fake.calls
        states = {b.bracket_id: b.state for b in fake.snapshot().brackets}
        assert states["seed-short-2"] == "CANCELED"
        await pilot.press("x")  # first x switches to the positions tab
        await pilot.pause()
        assert app.query_one(Blotter).active_tab == "positions"
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("close_position", ("BTCUSDT", "spot")) in fake.calls  # the row's market
        assert app.query_one(PositionTable).row_count == 0


async def test_refusals_become_notifications() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")  # reset while not tripped: the fake refuses
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert any("not tripped" in n.message for n in app._notifications)


async def test_log_filter_by_kind() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.focused, RichLog)
        log = app.query_one(ActivityLog)
        await pilot.press("f")
        assert log.kind == "order"
        assert log.visible_lines() and all(x.kind == "order" for x in log.visible_lines())
        await pilot.press("f", "f", "f", "f", "f")
        assert log.kind == "error"
        assert [x.level for x in log.visible_lines()] == ["ERROR"]
        await pilot.press("F")
        assert log.kind == "system"


async def test_guard_badges_explain_on_focus() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        fake.select("SOLUSDT", "1m")
        app.poll()
        await pilot.press("f7")
        await pilot.pause()
        bar = app.query_one(GuardBar)
        assert bar.detail_text().startswith("news SAFE")
        await pilot.press("right")
        assert bar.detail_text().startswith("funding BLOCK") and "until" in bar.detail_text()
        badge = list(bar.query(".guard-badge"))[1]
        assert "BLOCK" in str(badge.render()) and "funding" in str(badge.tooltip)


async def test_auto_trade_toggle() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert fake.auto_trade["BTCUSDT"] is True
        assert "auto ON" in str(app.query_one(StatusBar).render())


@pytest.mark.parametrize("size", [(200, 60), (120, 40), (100, 30), (80, 24)])
async def test_layout_classes_follow_the_size(size: tuple[int, int]) -> None:
    app, _ = workstation_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for name, on in size_classes(app.size).items():
            assert app.screen.has_class(name) == on
        side = app.query_one("#side")
        assert side.display == (size[0] >= 110)


async def test_resize_down_to_80x24_and_reach_hidden_panels() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=(200, 60)) as pilot:
        for size in ((160, 50), (120, 40), (100, 30), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert app.screen.has_class("-narrow") and app.screen.has_class("-short")
        assert not app.query_one("#side").display
        await pilot.press("f4")  # the signal queue comes back while it holds the focus
        await pilot.pause()
        assert app.query_one("#side").display
        assert isinstance(app.focused, SignalQueue)
        await pilot.press("f2")
        await pilot.pause()
        assert not app.query_one("#side").display
        await pilot.press("f6")
        await pilot.pause()
        assert app.query_one("#log").display and not app.query_one("#blotter").display
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert app.query_one("#side").display


def test_theme_and_fps_arguments_are_checked() -> None:
    with pytest.raises(UserError, match="unknown theme"):
        TradetermApp(FakePipeline(), theme="no-such-theme")
    with pytest.raises(UserError, match="max_fps"):
        TradetermApp(FakePipeline(), max_fps=0)


async def test_theme_argument_and_picker() -> None:
    app, _ = workstation_app(theme="tradeterm-light")
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "tradeterm-light"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert isinstance(app.screen, ThemePicker)
        await pilot.press("escape")  # back out: the theme is restored
        await pilot.pause()
        assert app.theme == "tradeterm-light"
        await pilot.press("ctrl+t")
        await pilot.pause()
        names = app.theme_names
        await pilot.press("down")
        expected = names[(names.index("tradeterm-light") + 1) % len(names)]
        assert app.theme == expected  # live preview while moving
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == expected and isinstance(app.screen, MainScreen)


async def test_poll_survives_a_failing_read_model() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        def broken() -> None:
            raise RuntimeError("store gone")

        fake.snapshot = broken  # type: ignore[method-assign,assignment]
        app.poll()
        app.poll()
        await pilot.pause()
        assert sum("store gone" in n.message for n in app._notifications) == 1


def test_venue_of_prefers_the_pipeline_then_the_snapshot() -> None:
    fake = FakePipeline(market="usdm")
    assert venue_of(fake.snapshot(), fake) == "paper-usdm"
    assert venue_of(fake.snapshot(), object()) == "paper-usdm"  # from the signals
    assert venue_of(None, object()) == "paper"


def _chart_text(chart: ChartWidget) -> str:
    return "\n".join(chart.render_line(y).text for y in range(chart.size.height))


async def test_sweeps_are_drawn_and_toggled_by_their_key() -> None:
    """ETHUSDT 1m has one liquidity sweep in the fake's data: zoom out to it, see its "$"
    mark, hide it with "w", show it again."""
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "down", "enter")
        await pilot.pause()
        assert fake.symbol == "ETHUSDT"
        await pilot.press("f2")
        await pilot.pause()
        chart = app.query_one(ChartWidget)
        assert app.focused is chart
        breaks = chart.data.breaks
        assert breaks is not None
        sweep_bars = breaks.bar[breaks.kind == codes.SWEEP]
        assert sweep_bars.shape[0] >= 1
        assert chart.state.shows("sweeps")  # on by default, like the liquidity pools
        for _ in range(4):  # zoom out until the sweep candle is in view
            scene = chart._current_scene()
            assert scene is not None
            if scene.window.start <= int(sweep_bars[0]) < scene.window.stop:
                break
            await pilot.press("minus")
        assert "$" in _chart_text(chart)
        await pilot.press("w")
        assert not chart.state.shows("sweeps")
        assert "$" not in _chart_text(chart)
        await pilot.press("w")
        assert "$" in _chart_text(chart)


async def test_running_app_tunes_the_garbage_collector_for_streaming() -> None:
    """Full collections stall the loop for the whole object graph; the running app collects
    young garbage in larger batches and old objects far more rarely than CPython's default."""
    import gc

    from tradeterm.ui.app import GC_THRESHOLDS

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        app, _ = workstation_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            young, middle, full = gc.get_threshold()
            assert (young, middle, full) == GC_THRESHOLDS
            assert young > 700 and full > 10
    finally:
        gc.set_threshold(*before)


async def test_the_first_frame_already_shows_a_snapshot() -> None:
    """The screen shows the first snapshot while mounting, not a refresh later: a key pressed
    (or a screenshot taken) as soon as the app is up never meets empty panels."""
    app, fake = workstation_app()
    async with app.run_test(size=SIZE):
        assert app.main_screen.snapshot is fake.snapshot()
        assert app.query_one(ChartWidget).data is fake.snapshot().chart
