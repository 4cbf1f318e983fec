"""Keys as data: the help screen lists every binding, the palette offers every action."""

from __future__ import annotations

from textual.command import CommandPalette

from tests.ui import workstation_app
from tradeterm.ui.commands import TradetermCommands, commands
from tradeterm.ui.keys import KEYMAP, bindings
from tradeterm.ui.screens.help import HelpScreen
from tradeterm.ui.screens.main import MainScreen
from tradeterm.ui.widgets.chart import ChartWidget

SIZE = (120, 40)


def test_key_ids_are_unique_and_bindings_carry_them() -> None:
    ids = [k.id for _, keys in KEYMAP for k in keys]
    assert len(ids) == len(set(ids)) and all(ids)
    for _, keys in KEYMAP:
        assert [b.id for b in bindings(keys)] == [k.id for k in keys]


async def test_help_lists_every_binding_of_every_widget() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        # Every binding declared by our app, screens and widgets (Textual's own inherited ones
        # aside) is described in the help.
        from tradeterm.ui import app as app_module
        from tradeterm.ui.screens import bracket, confirm, help, main, theme_picker
        from tradeterm.ui.widgets import (
            activity_log,
            blotter,
            choice,
            guard_bar,
            signal_queue,
            watchlist,
        )

        owners = [
            app_module.TradetermApp,
            main.MainScreen,
            bracket.BracketPanel,
            confirm.ConfirmScreen,
            help.HelpScreen,
            theme_picker.ThemePicker,
            activity_log.ActivityLog,
            blotter.Blotter,
            choice.Choice,
            guard_bar.GuardBar,
            signal_queue.SignalQueue,
            watchlist.Watchlist,
            ChartWidget,
        ]
        for owner in owners:
            for binding in owner.BINDINGS:
                description = binding.description  # type: ignore[union-attr]
                if owner is app_module.TradetermApp and binding.id is None:  # type: ignore[union-attr]
                    continue
                assert description in text, (owner.__name__, description)
        for key in ("^k", "f1", "[", "]", "⏎", "^s"):
            assert key in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_palette_offers_every_keyed_action() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [c.title for c in commands(app)]
        for wanted in (
            "KILL SWITCH",
            "New bracket",
            "Timeframe up",
            "Chart: EMA",
            "Signal: Approve",
            "Signal: Reject",
            "Blotter: Cancel bracket",
            "Blotter: Close position",
            "Log: Next kind filter",
            "Timeframe: 4h",
            "Symbol: SOLUSDT",
            "Theme: tradeterm-light",
        ):
            assert wanted in titles, wanted
        assert len(titles) == len(set(titles))


async def test_palette_search_runs_the_action() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Timeframe: 15m")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert fake.tf == "15m"
        # Chart commands act on the chart as the key would.
        chart = app.query_one(ChartWidget)
        before = chart.state.shows("ema")
        next(c for c in commands(app) if c.title == "Chart: EMA").run()
        await pilot.pause()
        assert chart.state.shows("ema") != before


async def test_provider_search_scores_matches() -> None:
    app, _ = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        provider = TradetermCommands(app.screen)
        hits = [h async for h in provider.search("kill")]
        assert any(h.text == "KILL SWITCH" for h in hits)
        discovered = [h async for h in provider.discover()]
        assert len(discovered) == len(list(commands(app)))
