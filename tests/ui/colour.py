"""Rendering the workstation as a 16- or 256-colour terminal shows it.

Two things happen on such a terminal, and the tests reproduce both:

1. the app knows its colour system (Textual reads ``TEXTUAL_COLOR_SYSTEM``, else the
   environment, when the App is built) and the chart adapts its palette to it —
   :func:`colour_system` builds apps under a given system;
2. every colour the app emits is downgraded by Rich to the nearest of the terminal's colours
   when it is written — :func:`downgraded_screenshot` exports the screen with each segment's
   colours downgraded that way, so the SVG shows what the terminal would (16 colours in the
   SVG export theme's ANSI palette, 256 in the xterm palette).

``App.export_screenshot`` (what pytest-textual-snapshot calls) always renders in truecolor;
:func:`at_colour_depth` replaces it on one app instance with the downgraded export.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.color import ColorSystem
from rich.console import Console
from rich.segment import Segment, Segments
from rich.style import Style
from textual import constants
from textual.app import App

SYSTEMS: dict[str, ColorSystem] = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT}


@contextmanager
def colour_system(name: str) -> Iterator[None]:
    """Apps built inside see a terminal with ``name`` ("standard", "256", "truecolor")."""
    before = constants.COLOR_SYSTEM
    constants.COLOR_SYSTEM = name  # type: ignore[misc]
    try:
        yield
    finally:
        constants.COLOR_SYSTEM = before  # type: ignore[misc]


def downgrade_style(
    style: Style | None, system: ColorSystem, cache: dict[Any, Style]
) -> Style | None:
    """``style`` with its colours as a terminal with ``system`` shows them."""
    if style is None:
        return None
    out = cache.get(style)
    if out is None:
        color = style.color.downgrade(system) if style.color is not None else None
        bgcolor = style.bgcolor.downgrade(system) if style.bgcolor is not None else None
        out = cache[style] = style + Style.from_color(color, bgcolor)
    return out


def screen_segments(app: App[Any]) -> list[Segment]:
    """The whole screen as Rich segments (lines separated by newline segments)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=False
    )
    assert update is not None  # a full update always renders
    return list(console.render(update))


def downgraded_screenshot(app: App[Any], system: ColorSystem, title: str | None = None) -> str:
    """An SVG of the screen with every colour downgraded to ``system``."""
    width, height = app.size
    cache: dict[Any, Style] = {}
    segments = [
        Segment(s.text, downgrade_style(s.style, system, cache), s.control)
        for s in screen_segments(app)
    ]
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(Segments(segments), end="")
    return console.export_svg(title=title or app.title)


def at_colour_depth(app: App[Any], name: str) -> App[Any]:
    """``app`` with ``export_screenshot`` showing what a ``name``-colour terminal shows."""
    system = SYSTEMS[name]

    def export(*, title: str | None = None, simplify: bool = False) -> str:
        return downgraded_screenshot(app, system, title)

    app.export_screenshot = export  # type: ignore[method-assign]
    return app
