"""Themes from TOML files: Textual's base colours plus tradeterm's own variables.

A theme file looks like::

    name = "tradeterm-dark"
    dark = true
    primary = "#4c8bf5"        # required; also secondary, accent, foreground, background,
    background = "#0f1419"     # surface, panel, boost, success, warning, error (optional)

    [variables]
    candle-up = "#26a69a"
    zone-demand = "#26a69a 22%"   # CSS colour syntax; "NN%" is alpha over the background

Files are validated when loaded, and every error names the file and the key, because a user
editing a theme by hand should not have to guess which of forty lines is wrong. Values must be
literal colours: Textual does not resolve ``$variable`` references inside theme variables (its
CSS parser rejects them), so the loader refuses them up front with that explanation.

Shipped themes live in the top-level ``themes/`` folder; users add their own in
``<user config dir>/tradeterm/themes`` (platformdirs). Later folders override earlier ones by
theme name, so a user can restyle ``tradeterm-dark`` without touching the shipped file.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir
from textual.app import App
from textual.color import ColorParseError
from textual.theme import Theme

from tradeterm.ui.widgets.chart.palette import CHART_VARIABLES, parse_color, resolve_colors

BASE_COLORS: tuple[str, ...] = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)
_FLOATS = ("luminosity_spread", "text_alpha")
_KNOWN_KEYS = ("name", "dark", "variables", *BASE_COLORS, *_FLOATS)


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the key."""


def builtin_theme_dir() -> Path:
    """The shipped ``themes/`` folder: inside the installed package (a wheel carries it as
    ``tradeterm/themes``), else the repository's top-level folder (a source checkout)."""
    packaged = Path(__file__).resolve().parents[1] / "themes"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "themes"


def user_theme_dir() -> Path:
    """Where users put their own theme files."""
    return Path(user_config_dir("tradeterm")) / "themes"


def theme_dirs(extra: Iterable[Path | str] = ()) -> list[Path]:
    """Shipped themes, then the user's folder (if it exists), then ``extra`` folders."""
    dirs = [builtin_theme_dir()]
    user = user_theme_dir()
    if user.is_dir():
        dirs.append(user)
    dirs += [Path(d) for d in extra]
    return dirs


def load_themes(dirs: Iterable[Path | str], *, strict: bool = False) -> list[Theme]:
    """Every ``*.toml`` theme in ``dirs`` (sorted by file name within a folder).

    A name defined twice in one folder is an error; a later folder replaces an earlier folder's
    theme of the same name (user themes override shipped ones). ``strict`` also requires every
    chart variable (shipped themes are checked this way; user themes may leave some out and get
    fallbacks derived from their base colours). A folder that does not exist is skipped.
    """
    by_name: dict[str, Theme] = {}
    for d in dirs:
        folder = Path(d)
        if not folder.is_dir():
            continue
        seen: dict[str, Path] = {}
        for path in sorted(folder.glob("*.toml")):
            theme = load_theme_file(path, strict=strict)
            if theme.name in seen:
                raise ThemeError(
                    f"{path}: theme name {theme.name!r} is already defined by {seen[theme.name]}"
                )
            seen[theme.name] = path
            by_name[theme.name] = theme
    return list(by_name.values())


def load_theme_file(path: Path | str, *, strict: bool = False) -> Theme:
    """One theme file as a Textual ``Theme``; raises :class:`ThemeError` naming file and key."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeError(f"{p}: cannot read theme file ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{p}: not valid TOML: {exc}") from exc
    return theme_from_mapping(raw, source=str(p), strict=strict)


def theme_from_mapping(raw: Mapping[str, Any], *, source: str, strict: bool = False) -> Theme:
    """Validate one parsed theme table and build the ``Theme``."""
    for key in raw:
        if key not in _KNOWN_KEYS:
            hint = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
            more = (
                f"; did you mean {hint[0]!r}?"
                if hint
                else f"; known keys: {', '.join(_KNOWN_KEYS)}"
            )
            raise ThemeError(f"{source}: unknown key {key!r}{more}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeError(f"{source}: key 'name' must be a non-empty string")
    if "primary" not in raw:
        raise ThemeError(
            f"{source}: key 'primary' is required (Textual derives the other colours from it)"
        )
    colors: dict[str, str] = {}
    for key in BASE_COLORS:
        if key in raw:
            colors[key] = _color(raw[key], source, key)
    dark = raw.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(f"{source}: key 'dark' must be true or false, not {dark!r}")
    floats: dict[str, float] = {}
    for key in _FLOATS:
        if key in raw:
            value = raw[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                raise ThemeError(
                    f"{source}: key {key!r} must be a number between 0 and 1, not {value!r}"
                )
            floats[key] = float(value)
    variables = _variables(raw.get("variables", {}), source, strict)
    return Theme(name=name.strip(), dark=dark, variables=variables, **colors, **floats)  # type: ignore[arg-type]


def _color(value: object, source: str, key: str) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{source}: key {key!r} must be a colour string, not {value!r}")
    text = value.strip()
    if text.startswith("$"):
        raise ThemeError(
            f"{source}: key {key!r} is {value!r}: theme values must be literal colours "
            "(Textual does not resolve $variables inside themes)"
        )
    try:
        parse_color(text)
    except ColorParseError as exc:
        raise ThemeError(f"{source}: key {key!r}: {value!r} is not a colour ({exc})") from exc
    return text


def _variables(table: object, source: str, strict: bool) -> dict[str, str]:
    if not isinstance(table, Mapping):
        raise ThemeError(f"{source}: key 'variables' must be a table, not {table!r}")
    out: dict[str, str] = {}
    for key, value in table.items():
        where = f"variables.{key}"
        if key in _KNOWN_KEYS:
            raise ThemeError(
                f"{source}: key {where!r} belongs above the [variables] header "
                "(in TOML every key after a [table] header is inside that table)"
            )
        if key in CHART_VARIABLES:
            out[key] = _color(value, source, where)
        elif isinstance(value, str):
            # Textual's own variables (footer colours, text styles, …) are not all colours:
            # passed through as CSS, except references, which Textual cannot resolve.
            if value.strip().startswith("$"):
                raise ThemeError(
                    f"{source}: key {where!r} is {value!r}: theme values must be literal "
                    "(Textual does not resolve $variables inside themes)"
                )
            out[key] = value
        else:
            raise ThemeError(f"{source}: key {where!r} must be a string, not {value!r}")
    if strict:
        missing = [v for v in CHART_VARIABLES if v not in out]
        if missing:
            raise ThemeError(
                f"{source}: missing chart variable(s): {', '.join('variables.' + m for m in missing)}"
            )
    return out


def register_themes(app: App[Any], themes: Iterable[Theme]) -> list[str]:
    """Register ``themes`` with ``app``; returns their names (for a theme picker)."""
    names = []
    for theme in themes:
        app.register_theme(theme)
        names.append(theme.name)
    return names


def chart_variable_defaults(theme: Theme) -> dict[str, str]:
    """Chart variables for ``theme``, with fallbacks for any it lacks, as CSS colour strings.

    For ``App.get_theme_variable_defaults()``: CSS that uses ``$candle-up`` then parses under
    every theme, Textual's built-ins included.
    """
    variables = {**theme.to_color_system().generate(), **theme.variables}
    colors = resolve_colors(variables)
    return {name: colors[name].hex for name in CHART_VARIABLES}
