"""Theme files: the shipped ones are complete and valid; broken ones fail with clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from tradeterm.ui.theme import (
    ThemeError,
    builtin_theme_dir,
    chart_variable_defaults,
    load_theme_file,
    load_themes,
    register_themes,
    theme_dirs,
    user_theme_dir,
)
from tradeterm.ui.widgets.chart import CHART_VARIABLES, parse_color

SHIPPED = ("tradeterm-dark", "tradeterm-light", "tradeterm-contrast")

GOOD = """
name = "mine"
primary = "#336699"
background = "#101010"

[variables]
candle-up = "#00ff00"
zone-demand = "#00ff00 20%"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_themes_load_and_define_every_variable() -> None:
    themes = {t.name: t for t in load_themes([builtin_theme_dir()], strict=True)}
    assert set(SHIPPED) <= set(themes)
    for name in SHIPPED:
        raw = tomllib.loads((builtin_theme_dir() / f"{name}.toml").read_text(encoding="utf-8"))
        assert raw["name"] == name
        missing = set(CHART_VARIABLES) - set(raw["variables"])
        assert not missing, f"{name} lacks {sorted(missing)}"
        for var in CHART_VARIABLES:
            parse_color(themes[name].variables[var])
    assert themes["tradeterm-light"].dark is False
    assert themes["tradeterm-dark"].dark is True


async def test_shipped_themes_work_as_textual_css() -> None:
    """Every chart variable is usable in CSS under every shipped theme (and under a built-in
    theme through the app's defaults)."""
    rules = "\n".join(
        f"#v{i} {{ color: {'$' + v}; background: {'$' + v}; }}"
        for i, v in enumerate(CHART_VARIABLES)
    )

    class CssApp(App[None]):
        CSS = rules

        def get_theme_variable_defaults(self) -> dict[str, str]:
            return chart_variable_defaults(self.current_theme)

        def compose(self) -> ComposeResult:
            for i in range(len(CHART_VARIABLES)):
                yield Static(str(i), id=f"v{i}")

    app = CssApp()
    async with app.run_test() as pilot:
        register_themes(app, load_themes([builtin_theme_dir()], strict=True))
        for name in (*SHIPPED, "textual-dark"):
            app.theme = name
            await pilot.pause()
            up = app.query_one(f"#v{CHART_VARIABLES.index('candle-up')}", Static)
            expected = parse_color(app.theme_variables["candle-up"])
            assert up.styles.color.rgb == expected.rgb, name


def test_a_good_user_theme(tmp_path: Path) -> None:
    write(tmp_path, "mine.toml", GOOD)
    (theme,) = load_themes([tmp_path])
    assert theme.name == "mine" and theme.primary == "#336699"
    assert theme.variables == {"candle-up": "#00ff00", "zone-demand": "#00ff00 20%"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace('"#00ff00 20%"', '"greenish"'),
            "key 'variables.zone-demand': 'greenish' is not a colour",
        ),
        (
            GOOD.replace('primary = "#336699"', 'primray = "#336699"'),
            "unknown key 'primray'; did you mean 'primary'?",
        ),
        (GOOD.replace('name = "mine"', ""), "key 'name' must be a non-empty string"),
        (GOOD.replace('primary = "#336699"', ""), "key 'primary' is required"),
        (GOOD.replace('"#00ff00"\n', '"$success"\n'), "key 'variables.candle-up' is '$success'"),
        (GOOD.replace('"#101010"', "16"), "key 'background' must be a colour string"),
        (GOOD + "dark = false\n", "key 'variables.dark' belongs above the [variables] header"),
        ('name = "x"\nprimary = "#123456"\ndark = "yes"\n', "key 'dark' must be true or false"),
        (
            'name = "x"\nprimary = "#123456"\ntext_alpha = 2\n',
            "key 'text_alpha' must be a number between 0 and 1",
        ),
        ('name = "x"\nprimary = "#123456"\nvariables = 3\n', "key 'variables' must be a table"),
        ("name = \n", "not valid TOML"),
    ],
)
def test_bad_theme_files_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "broken.toml", text)
    with pytest.raises(ThemeError) as err:
        load_themes([tmp_path])
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_strict_mode_lists_missing_chart_variables(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.toml", GOOD)
    with pytest.raises(ThemeError, match="missing chart variable") as err:
        load_theme_file(path, strict=True)
    assert "variables.candle-down" in str(err.value) and "variables.candle-up" not in str(err.value)


def test_duplicate_names_in_one_folder_fail_but_later_folders_override(tmp_path: Path) -> None:
    write(tmp_path / "a", "one.toml", GOOD)
    write(tmp_path / "a", "two.toml", GOOD)
    with pytest.raises(ThemeError, match="already defined by"):
        load_themes([tmp_path / "a"])
    write(tmp_path / "b", "one.toml", GOOD)
    write(tmp_path / "c", "mine.toml", GOOD.replace("#336699", "#abcdef"))
    themes = load_themes([tmp_path / "b", tmp_path / "missing", tmp_path / "c"])
    assert [(t.name, t.primary) for t in themes] == [("mine", "#abcdef")]


def test_user_theme_folder_is_searched_after_the_shipped_one(tmp_path: Path) -> None:
    assert user_theme_dir().parts[-2:] == ("tradeterm", "themes")
    dirs = theme_dirs([tmp_path])
    assert dirs[0] == builtin_theme_dir() and dirs[-1] == tmp_path


def test_fallback_variables_for_builtin_themes() -> None:
    from textual.theme import BUILTIN_THEMES

    for theme in BUILTIN_THEMES.values():
        defaults = chart_variable_defaults(theme)
        assert set(defaults) == set(CHART_VARIABLES)
        for value in defaults.values():
            parse_color(value)
