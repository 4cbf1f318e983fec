"""Theme variables to chart colours.

Every colour the chart draws is a Textual theme variable (``$candle-up``, ``$zone-demand``, …),
so a theme file restyles the chart like any CSS. The renderer works on small integer *roles*
(one per variable, plus a few derived shades) so its grid is a numpy array; this module turns
the current theme's variables into one Rich ``Style`` per (fg, bg) role pair, cached so that
Textual's per-Style ANSI cache keeps working across frames.

Values follow Textual's CSS colour syntax, plus the alpha suffix CSS also accepts
(``"#26a69a 20%"``): translucent colours are blended over the chart background, which is how
zone bands stay subtle on any background. A theme that lacks a chart variable (Textual's
built-in themes) gets a fallback derived from its base colours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum

from rich.segment import Segment
from rich.style import Style
from textual.color import Color, ColorParseError

# The theme variables the chart reads. Shipped theme files must define all of them.
CHART_VARIABLES: tuple[str, ...] = (
    "candle-up",
    "candle-down",
    "candle-wick",
    "zone-demand",
    "zone-supply",
    "fvg-bull",
    "fvg-bear",
    "ema-fast",
    "ema-mid",
    "ema-slow",
    "bb-band",
    "vwap",
    "swing-label",
    "bos",
    "choch",
    "liquidity",
    "order-entry",
    "order-stop",
    "order-target",
    "axis",
    "crosshair",
)

# Fallbacks for themes without chart variables: (base variable, alpha).
FALLBACKS: dict[str, tuple[str, float]] = {
    "candle-up": ("success", 1.0),
    "candle-down": ("error", 1.0),
    "candle-wick": ("foreground", 0.6),
    "zone-demand": ("success", 0.2),
    "zone-supply": ("error", 0.2),
    "fvg-bull": ("primary", 0.2),
    "fvg-bear": ("accent", 0.2),
    "ema-fast": ("warning", 1.0),
    "ema-mid": ("primary", 1.0),
    "ema-slow": ("secondary", 1.0),
    "bb-band": ("foreground", 0.5),
    "vwap": ("accent", 1.0),
    "swing-label": ("foreground", 0.85),
    "bos": ("primary", 1.0),
    "choch": ("warning", 1.0),
    "liquidity": ("foreground", 0.7),
    "order-entry": ("primary", 1.0),
    "order-stop": ("error", 1.0),
    "order-target": ("success", 1.0),
    "axis": ("foreground", 0.55),
    "crosshair": ("foreground", 0.7),
}

# Textual's own defaults, for variables a broken theme left out.
_BASE_DEFAULTS: dict[str, str] = {
    "background": "#121212",
    "foreground": "#e0e0e0",
    "primary": "#0178d4",
    "secondary": "#004578",
    "accent": "#ffa62b",
    "warning": "#ffa62b",
    "error": "#ba3c5b",
    "success": "#4ebf71",
}

_ALPHA_SUFFIX = re.compile(r"^(?P<color>.+?)\s+(?P<pct>\d+(?:\.\d+)?)%$")


class Role(IntEnum):
    """What a cell's colour means; the grid stores these, the palette maps them to colours."""

    BG = 0
    FG = 1
    CANDLE_UP = 2
    CANDLE_DOWN = 3
    CANDLE_WICK = 4
    ZONE_DEMAND = 5
    ZONE_SUPPLY = 6
    FVG_BULL = 7
    FVG_BEAR = 8
    EMA_FAST = 9
    EMA_MID = 10
    EMA_SLOW = 11
    BB_BAND = 12
    VWAP = 13
    SWING_LABEL = 14
    BOS = 15
    CHOCH = 16
    LIQUIDITY = 17
    ORDER_ENTRY = 18
    ORDER_STOP = 19
    ORDER_TARGET = 20
    AXIS = 21
    CROSSHAIR = 22
    # Derived shades (still pure functions of theme variables).
    ZONE_DEMAND_DIM = 23
    ZONE_SUPPLY_DIM = 24
    FVG_BULL_DIM = 25
    FVG_BEAR_DIM = 26
    VOLUME_UP = 27
    VOLUME_DOWN = 28
    VOLUME_FLAT = 29


ROLE_OF_VARIABLE: dict[str, Role] = {
    name: Role[name.upper().replace("-", "_")] for name in CHART_VARIABLES
}

# Mitigated zones and volume bars: this share of the colour over the background.
_DIM = 0.45
_VOLUME = 0.6


def parse_color(value: str) -> Color:
    """A colour in Textual CSS syntax, optionally with a ``NN%`` alpha suffix."""
    text = value.strip()
    m = _ALPHA_SUFFIX.match(text)
    if m is not None:
        pct = float(m.group("pct"))
        if pct > 100:
            raise ColorParseError(f"alpha {pct}% in {value!r} is above 100%")
        return Color.parse(m.group("color").strip()).with_alpha(pct / 100.0)
    return Color.parse(text)


def _over(color: Color, background: Color) -> Color:
    """``color`` composited over ``background`` (opaque result)."""
    if color.a >= 1.0:
        return color
    base = Color(0, 0, 0) if background.ansi is not None else background
    return base.blend(color.with_alpha(1.0), color.a)


def _mix(color: Color, background: Color, share: float) -> Color:
    if color.ansi is not None:
        return color
    base = Color(0, 0, 0) if background.ansi is not None else background
    return base.blend(color, share)


def resolve_colors(variables: Mapping[str, str]) -> dict[str, Color]:
    """Opaque colours for ``background``, ``foreground`` and every chart variable.

    ``variables`` is what ``App.theme_variables`` / ``App.get_css_variables()`` returns. A chart
    variable missing or unparsable there falls back to its base colour (see ``FALLBACKS``), so a
    theme typo degrades one colour instead of crashing the screen; theme files are validated
    strictly when they are loaded (``tradeterm.ui.theme``).
    """

    def base(name: str) -> Color:
        default = _BASE_DEFAULTS[name]
        try:
            return parse_color(variables.get(name, default))
        except ColorParseError:
            return Color.parse(default)

    background = base("background")
    if background.a < 1.0 and background.ansi is None:
        background = Color(0, 0, 0).blend(background.with_alpha(1.0), background.a)
    foreground = _over(base("foreground"), background)
    out = {"background": background, "foreground": foreground}
    for name in CHART_VARIABLES:
        color: Color | None = None
        if name in variables:
            try:
                color = parse_color(variables[name])
            except ColorParseError:
                color = None
        if color is None:
            src, alpha = FALLBACKS[name]
            color = base(src)
            color = color.with_alpha(color.a * alpha)
        out[name] = _over(color, background)
    return out


class Palette:
    """Role → colour, and (fg, bg) → a cached Rich ``Style``."""

    def __init__(self, colors: Mapping[str, Color]) -> None:
        bg = colors["background"]
        table: list[Color] = [bg] * len(Role)
        table[Role.BG] = bg
        table[Role.FG] = colors["foreground"]
        for name, role in ROLE_OF_VARIABLE.items():
            table[role] = colors[name]
        table[Role.ZONE_DEMAND_DIM] = _mix(colors["zone-demand"], bg, _DIM)
        table[Role.ZONE_SUPPLY_DIM] = _mix(colors["zone-supply"], bg, _DIM)
        table[Role.FVG_BULL_DIM] = _mix(colors["fvg-bull"], bg, _DIM)
        table[Role.FVG_BEAR_DIM] = _mix(colors["fvg-bear"], bg, _DIM)
        table[Role.VOLUME_UP] = _mix(colors["candle-up"], bg, _VOLUME)
        table[Role.VOLUME_DOWN] = _mix(colors["candle-down"], bg, _VOLUME)
        table[Role.VOLUME_FLAT] = _mix(colors["candle-wick"], bg, _VOLUME)
        self.colors: tuple[Color, ...] = tuple(table)
        self._rich = tuple(c.rich_color for c in table)
        self._styles: dict[int, Style] = {}
        # (run text, style key) → Segment, shared by every frame drawn with this palette.
        self.segments: dict[tuple[str, int], Segment] = {}
        # Identity of the palette for frame caches: equal colours, equal key.
        self.key: tuple[str, ...] = tuple(c.hex for c in table)

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Palette:
        return cls(resolve_colors(variables))

    def style(self, fg: int, bg: int) -> Style:
        key = fg * 64 + bg
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = Style(color=self._rich[fg], bgcolor=self._rich[bg])
        return style

    def hex(self, role: Role) -> str:
        return self.colors[role].hex
