"""SVG snapshots of the workstation over the deterministic fake (seeded market, frozen clock).

Stored under ``snapshots/ui/test_app_snapshots/`` (the relocated extension of the chart's
snapshot tests). Review ``snapshot_report.html`` before ``--snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.ui import workstation_app
from tests.ui.colour import at_colour_depth, colour_system
from tests.ui.test_chart_snapshots import TopLevelSnapshots, TopLevelSVGExtension


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return TopLevelSnapshots(
        session=snapshot.session,
        extension_class=TopLevelSVGExtension,
        test_location=snapshot.test_location,
        update_snapshots=snapshot.update_snapshots,
    )


@pytest.mark.parametrize("theme", ["tradeterm-dark", "tradeterm-light", "tradeterm-contrast"])
def test_main_120x40(snap_compare: Any, theme: str) -> None:
    """The workstation in each shipped theme."""
    app, _ = workstation_app(theme=theme)
    assert snap_compare(app, terminal_size=(120, 40))


@pytest.mark.parametrize(
    ("theme", "depth"),
    [
        ("tradeterm-dark", "standard"),
        ("tradeterm-dark", "256"),
        ("tradeterm-contrast", "standard"),
        ("tradeterm-light", "256"),
    ],
)
def test_main_120x40_low_colour(snap_compare: Any, theme: str, depth: str) -> None:
    """Over SSH without COLORTERM: the workstation as a 16- ("standard") or 256-colour terminal
    shows it (the chart's palette adapted, every colour downgraded as Rich writes it)."""
    with colour_system(depth):
        app, _ = workstation_app(theme=theme)
    assert snap_compare(at_colour_depth(app, depth), terminal_size=(120, 40))


def test_main_80x24(snap_compare: Any) -> None:
    """Small terminal: side column and log hidden, status line says 3 signals wait."""
    app, _ = workstation_app()
    assert snap_compare(app, terminal_size=(80, 24))


def test_main_80x24_signals_focused(snap_compare: Any) -> None:
    """Small terminal with the signal queue brought back by F4."""
    app, _ = workstation_app()
    assert snap_compare(app, press=["f4"], terminal_size=(80, 24))


def test_bracket_panel_with_preview(snap_compare: Any) -> None:
    """The BTCUSDT signal approved: prefilled fields and the live preview."""
    app, _ = workstation_app()
    assert snap_compare(app, press=["f4", "a"], terminal_size=(120, 40))


def test_bracket_panel_futures_with_error(snap_compare: Any) -> None:
    """USD-M: leverage and liquidation; a bad risk shown next to its field, send disabled."""
    app, _ = workstation_app(market="usdm")

    async def bad_risk(pilot: Any) -> None:
        await pilot.press("f4", "a")
        await pilot.pause()
        field = pilot.app.screen.query_one("#in-risk")
        field.value = "abc"
        pilot.app.screen.query_one("#in-side").focus()
        await pilot.pause()

    assert snap_compare(app, run_before=bad_risk, terminal_size=(120, 40))


def test_bracket_panel_usdm_chosen(snap_compare: Any) -> None:
    """Spot and USD-M traded: the market switch on USD-M, the leverage field, and the preview
    with margin, leverage and liquidation; the blotter behind tags its rows SPOT/USD-M."""
    from tradeterm.ui.app import TradetermApp
    from tradeterm.ui.fake import FakePipeline

    app = TradetermApp(FakePipeline(markets=("spot", "usdm")), theme="tradeterm-dark")
    assert snap_compare(app, press=["f4", "a", "right"], terminal_size=(120, 40))


def test_bracket_panel_80x24(snap_compare: Any) -> None:
    """Small terminal: the preview stacks under the form."""
    app, _ = workstation_app()
    assert snap_compare(app, press=["f4", "a"], terminal_size=(80, 24))


def test_help_screen(snap_compare: Any) -> None:
    app, _ = workstation_app()
    assert snap_compare(app, press=["f1"], terminal_size=(120, 40))


def test_kill_switch_confirm(snap_compare: Any) -> None:
    app, _ = workstation_app()
    assert snap_compare(app, press=["ctrl+k"], terminal_size=(120, 40))
