"""SVG snapshots of the chart (pytest-textual-snapshot) in each shipped theme and two sizes.

Snapshots live in the top-level ``snapshots/ui/test_chart_snapshots/`` rather than syrupy's
default ``__snapshots__`` next to this file: the ``snapshot`` fixture below swaps in an SVG
extension whose folder is there. Review ``snapshot_report.html`` before ``--snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension  # type: ignore[import-untyped]
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from tests.ui import ChartTestApp, synthetic_chart
from tradeterm.ui.widgets.chart import ViewState

SNAPSHOT_ROOT = Path(__file__).resolve().parents[2] / "snapshots" / "ui"


class TopLevelSVGExtension(SVGImageExtension):
    """pytest-textual-snapshot's SVG extension, storing files under ``snapshots/ui/``."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOT_ROOT / test_location.basename)


class TopLevelSnapshots(SnapshotAssertion):
    """``snap_compare`` asks for ``SVGImageExtension``; hand it the relocated one instead."""

    def use_extension(self, extension_class: Any = None) -> SnapshotAssertion:
        return super().use_extension(TopLevelSVGExtension)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return TopLevelSnapshots(
        session=snapshot.session,
        extension_class=TopLevelSVGExtension,
        test_location=snapshot.test_location,
        update_snapshots=snapshot.update_snapshots,
    )


@pytest.mark.parametrize("theme", ["tradeterm-dark", "tradeterm-light", "tradeterm-contrast"])
def test_chart_120x40(snap_compare: Any, theme: str) -> None:
    """Synthetic BTCUSDT 1m (seed 7, 300 bars), its SMC overlays and EMA 20/50/200."""
    assert snap_compare(ChartTestApp(synthetic_chart(), theme), terminal_size=(120, 40))


def test_chart_80x24(snap_compare: Any) -> None:
    """The same chart on a small terminal: fewer ticks, a thinner volume pane."""
    assert snap_compare(ChartTestApp(synthetic_chart()), terminal_size=(80, 24))


def test_chart_everything_on_with_crosshair(snap_compare: Any) -> None:
    """Every overlay (Bollinger, VWAP, liquidity, orders too), zoomed in one step, crosshair
    moved two bars left and three rows up from the last close."""
    state = ViewState(
        overlays=frozenset(
            {"ema", "bb", "vwap", "swings", "structure", "ob", "fvg", "liquidity", "orders"}
        )
    )
    app = ChartTestApp(synthetic_chart(300, with_orders=True), state=state)
    assert snap_compare(
        app, press=["plus", "c", "left", "left", "up", "up", "up"], terminal_size=(120, 40)
    )


def test_chart_liquidity_sweep(snap_compare: Any) -> None:
    """The fake's SOLUSDT 1m, panned to its liquidity sweep: the swept pool's level dotted in
    ``$sweep`` from the pool's newer swing (LH) to the candle that took it, ``$`` above that
    candle's wick next to its HH label, default overlays."""
    from tradeterm.ui.fake import FakePipeline

    fake = FakePipeline(("SOLUSDT",))
    data = fake.snapshot().chart
    assert data is not None
    app = ChartTestApp(data, state=ViewState(end=225))
    assert snap_compare(app, terminal_size=(120, 30))
