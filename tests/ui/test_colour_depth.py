"""Readable at 16 and 256 colours: what a terminal without truecolor (SSH drops COLORTERM)
shows must keep candles up/down apart, zone bands visible, and guard badges distinct."""

from __future__ import annotations

import pytest
from rich.color import ColorSystem
from rich.style import Style

from tests.ui import workstation_app
from tests.ui.colour import SYSTEMS, colour_system, downgrade_style, screen_segments
from tradeterm.ui.theme import builtin_theme_dir, load_themes
from tradeterm.ui.widgets.chart import ChartWidget
from tradeterm.ui.widgets.chart.palette import Palette, Role, legible
from tradeterm.ui.widgets.guard_bar import GuardBadge

THEMES = [t.name for t in load_themes([builtin_theme_dir()], strict=True)]
BANDS = (
    Role.ZONE_DEMAND,
    Role.ZONE_SUPPLY,
    Role.ZONE_DEMAND_DIM,
    Role.ZONE_SUPPLY_DIM,
    Role.FVG_BULL,
    Role.FVG_BEAR,
    Role.FVG_BULL_DIM,
    Role.FVG_BEAR_DIM,
)


def _variables(name: str) -> dict[str, str]:
    theme = next(t for t in load_themes([builtin_theme_dir()], strict=True) if t.name == name)
    return {**theme.to_color_system().generate(), **theme.variables}


def _code(palette: Palette, role: Role, system: ColorSystem) -> int | None:
    c = palette.colors[role]
    return Style(color=c.rich_color).color.downgrade(system).number  # type: ignore[union-attr]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("depth", ["standard", "256"])
def test_chart_palette_is_legible_at_low_depth(theme: str, depth: str) -> None:
    system = SYSTEMS[depth]
    palette = Palette.from_variables(_variables(theme), depth)
    bg = _code(palette, Role.BG, system)
    for role in Role:
        if role is not Role.BG:
            assert _code(palette, role, system) != bg, (theme, depth, role.name)
    candles = {_code(palette, r, system) for r in (Role.CANDLE_UP, Role.CANDLE_DOWN)}
    for band in BANDS:  # a band in a candle's colour would hide the candles inside the zone
        assert _code(palette, band, system) not in candles, (theme, depth, band.name)
    for a, b in (
        (Role.CANDLE_UP, Role.CANDLE_DOWN),
        (Role.ZONE_DEMAND, Role.ZONE_SUPPLY),
        (Role.FVG_BULL, Role.FVG_BEAR),
    ):
        assert _code(palette, a, system) != _code(palette, b, system), (theme, depth, a.name)


def test_truecolor_keeps_the_theme_exactly() -> None:
    variables = _variables("tradeterm-dark")
    assert (
        Palette.from_variables(variables, "truecolor").key == Palette.from_variables(variables).key
    )


def test_legible_only_moves_colliding_colours_and_keeps_their_hue() -> None:
    """Bands vanish at 16 colours without the push (the reason it exists); candles, already
    distinct, are left alone; a pushed band keeps the direction of its colour from the
    background (a supply band stays reddish)."""
    plain = Palette.from_variables(_variables("tradeterm-dark"))
    system = ColorSystem.STANDARD
    table = list(plain.colors)
    vanished = [r for r in BANDS if _code(plain, r, system) == _code(plain, Role.BG, system)]
    assert vanished  # the problem is real
    fixed = legible(table, system)
    assert fixed[Role.CANDLE_UP] == table[Role.CANDLE_UP]
    assert fixed[Role.CANDLE_DOWN] == table[Role.CANDLE_DOWN]
    bg, before, after = table[Role.BG], table[Role.ZONE_SUPPLY], fixed[Role.ZONE_SUPPLY]
    assert after != before
    assert (after.r - bg.r) * (before.r - bg.r) >= 0 and after.r - bg.r > after.g - bg.g


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("depth", ["standard", "256"])
async def test_workstation_at_low_depth(theme: str, depth: str) -> None:
    """The running app: the chart picks up the terminal's colour system, and the guard badges
    (SOLUSDT has a BLOCK) keep SAFE and BLOCK apart and their words readable."""
    system = SYSTEMS[depth]
    with colour_system(depth):
        app, fake = workstation_app(theme=theme)
    async with app.run_test(size=(120, 40)) as pilot:
        fake.select("SOLUSDT", "1m")
        app.poll()
        await pilot.pause()
        chart = app.query_one(ChartWidget)
        assert chart._palette_now().color_system == depth
        cache: dict[object, Style] = {}
        looks: dict[str, tuple[int | None, int | None]] = {}
        for badge in app.query(GuardBadge):
            style = downgrade_style(badge.rich_style, system, cache)
            assert style is not None and style.color is not None and style.bgcolor is not None
            fg, bg = style.color.number, style.bgcolor.number
            assert fg != bg, (theme, depth, badge.state.name)
            looks["BLOCK" if badge.state.blocked else "SAFE"] = (fg, bg)
        assert set(looks) == {"SAFE", "BLOCK"}
        assert looks["SAFE"][1] != looks["BLOCK"][1], (theme, depth)
        # Up and down candles both appear on the downgraded screen, in different colours.
        palette = chart._palette_now()
        up, down = (_code(palette, r, system) for r in (Role.CANDLE_UP, Role.CANDLE_DOWN))
        candle_fgs = {
            downgrade_style(seg.style, system, cache).color.number  # type: ignore[union-attr]
            for seg in screen_segments(app)
            if seg.style is not None and seg.style.color is not None and set(seg.text) & set("╽╿")
        }
        assert up != down and {up, down} <= candle_fgs, (theme, depth)
