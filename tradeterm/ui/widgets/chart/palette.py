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

from rich.color import Color as RichColor
from rich.color import ColorSystem
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
    "sweep",
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
    "sweep": ("accent", 1.0),
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
    # Later additions go at the end, after the derived shades.
    SWEEP = 30


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


# Terminals with fewer colours: Rich's name for the system → the system Rich downgrades to.
LOW_COLOR_SYSTEMS: dict[str, ColorSystem] = {
    "standard": ColorSystem.STANDARD,
    "256": ColorSystem.EIGHT_BIT,
    "windows": ColorSystem.WINDOWS,
}
# Pairs a trader must tell apart: if a terminal maps both to one colour, the second is pushed.
_PAIRS: tuple[tuple[Role, Role], ...] = (
    (Role.CANDLE_UP, Role.CANDLE_DOWN),
    (Role.ZONE_DEMAND, Role.ZONE_SUPPLY),
    (Role.FVG_BULL, Role.FVG_BEAR),
    (Role.VOLUME_UP, Role.VOLUME_DOWN),
)
_PUSH = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
# Roles drawn as cell backgrounds behind the candles.
_BANDS = frozenset(
    {
        Role.ZONE_DEMAND,
        Role.ZONE_SUPPLY,
        Role.ZONE_DEMAND_DIM,
        Role.ZONE_SUPPLY_DIM,
        Role.FVG_BULL,
        Role.FVG_BEAR,
        Role.FVG_BULL_DIM,
        Role.FVG_BEAR_DIM,
    }
)


def _terminal_code(color: Color, system: ColorSystem) -> int | None:
    """The palette index a terminal with ``system`` shows ``color`` as."""
    return RichColor.from_rgb(color.r, color.g, color.b).downgrade(system).number


def _grey_code(code: int | None) -> bool:
    """Whether terminal colour ``code`` is a grey (in Rich's reference palettes)."""
    if code is None:
        return True
    t = RichColor.from_ansi(code).get_truecolor()
    return max(t) - min(t) < 16


def _pushed(color: Color, background: Color, k: float) -> Color:
    """``color`` moved ``k`` times as far from ``background`` (clipped to the RGB cube)."""

    def ch(c: int, b: int) -> int:
        return min(max(round(b + k * (c - b)), 0), 255)

    return Color(ch(color.r, background.r), ch(color.g, background.g), ch(color.b, background.b))


def legible(table: list[Color], system: ColorSystem) -> list[Color]:
    """``table`` adjusted so that a terminal with ``system`` (16 or 256 colours) still shows
    every role apart from the background and up apart from down (bull from bear).

    Why: zone bands are a few percent of a colour over the background, and the nearest of 16
    (or 256) colours is often the background itself, so bands vanish, and two subtle shades can
    land on one colour. A colour that collides is pushed away from the background (its hue
    kept, its distance multiplied) until the terminal's colour differs, preferring a tinted
    terminal colour over a grey when the theme's colour has a hue. Truecolor terminals get the
    theme untouched; this only runs for the systems in ``LOW_COLOR_SYSTEMS``.
    """
    out = list(table)
    bg = out[Role.BG]
    bg_code = _terminal_code(bg, system)
    if system is ColorSystem.STANDARD:
        # A 60% shade has no 16-colour equivalent of the same hue (dark red comes out as
        # brown): the volume pane is apart from the candles, so it takes their colours.
        out[Role.VOLUME_UP], out[Role.VOLUME_DOWN] = out[Role.CANDLE_UP], out[Role.CANDLE_DOWN]

    def push(role: Role, avoid: set[int | None]) -> None:
        if _terminal_code(out[role], system) not in avoid:
            return
        if system is ColorSystem.STANDARD and role in _BANDS:
            # Bands prefer the normal-intensity half (and bright black): a bright-magenta
            # background behind the candles shouts louder than the candles themselves.
            move(role, avoid | set(range(9, 16)))
            if _terminal_code(out[role], system) not in avoid:
                return
        move(role, avoid)

    def move(role: Role, avoid: set[int | None]) -> None:
        diff = (out[role].r - bg.r, out[role].g - bg.g, out[role].b - bg.b)
        tinted = max(diff) - min(diff) >= 8  # a hue the eye reads, not a lighter grey
        fallback = None
        for k in _PUSH:
            candidate = _pushed(out[role], bg, k)
            code = _terminal_code(candidate, system)
            if code in avoid:
                continue
            if not tinted or not _grey_code(code):
                out[role] = candidate
                return
            fallback = fallback or candidate
        if fallback is not None:  # only greys are free: better grey than invisible
            out[role] = fallback

    # A band must not take a candle's colour either, or candles vanish inside zones.
    candles = {_terminal_code(out[r], system) for r in (Role.CANDLE_UP, Role.CANDLE_DOWN)}
    candles.add(_terminal_code(out[Role.CANDLE_WICK], system))

    def avoid(role: Role) -> set[int | None]:
        return {bg_code} | (candles if role in _BANDS else set())

    for role in Role:
        if role is not Role.BG:
            push(role, avoid(role))
    for first, second in _PAIRS:
        push(second, avoid(second) | {_terminal_code(out[first], system)})
    return out


class Palette:
    """Role → colour, and (fg, bg) → a cached Rich ``Style``.

    ``color_system`` is the terminal's (``App.console.color_system``): with 16 or 256 colours
    the palette is made :func:`legible` for it; ``None`` or ``"truecolor"`` keeps the theme.
    """

    def __init__(self, colors: Mapping[str, Color], color_system: str | None = None) -> None:
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
        low = LOW_COLOR_SYSTEMS.get(color_system or "")
        if low is not None:
            table = legible(table, low)
        self.color_system = color_system
        self.colors: tuple[Color, ...] = tuple(table)
        self._rich = tuple(c.rich_color for c in table)
        self._styles: dict[int, Style] = {}
        # (run text, style key) → Segment, shared by every frame drawn with this palette.
        self.segments: dict[tuple[str, int], Segment] = {}
        # Identity of the palette for frame caches: equal colours, equal key.
        self.key: tuple[str, ...] = tuple(c.hex for c in table)

    @classmethod
    def from_variables(
        cls, variables: Mapping[str, str], color_system: str | None = None
    ) -> Palette:
        return cls(resolve_colors(variables), color_system)

    def style(self, fg: int, bg: int) -> Style:
        key = fg * 64 + bg
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = Style(color=self._rich[fg], bgcolor=self._rich[bg])
        return style

    def hex(self, role: Role) -> str:
        return self.colors[role].hex
