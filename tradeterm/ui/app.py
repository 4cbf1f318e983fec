"""The tradeterm workstation app: themes, keys and a frame-rate poll of the read model.

Deliberately thin (see DESIGN.md): the app registers the themes, binds the few keys that must
work on every screen, and every ``1 / max_fps`` seconds asks the pipeline for a snapshot and
hands it to the workstation screen if its version moved. Everything else lives in screens and
widgets, and every trading decision lives behind :class:`~tradeterm.pipeline.readmodel.Intents`.

    app = TradetermApp(pipeline, theme="tradeterm-dark", max_fps=10)
    app.run()
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from textual.app import App
from textual.screen import Screen

from tradeterm.errors import UserError
from tradeterm.pipeline.readmodel import Intents, ReadModel
from tradeterm.ui.commands import TradetermCommands
from tradeterm.ui.keys import APP_KEYS, bindings
from tradeterm.ui.screens.help import HelpScreen
from tradeterm.ui.screens.main import MainScreen
from tradeterm.ui.textual_fixes import install as install_textual_fixes
from tradeterm.ui.theme import chart_variable_defaults, load_themes, register_themes, theme_dirs

install_textual_fixes()

DEFAULT_THEME = "tradeterm-dark"
# Cyclic GC thresholds while the workstation runs: (young, middle, full); CPython's are
# (700, 10, 10). See :func:`tune_gc_for_streaming`.
GC_THRESHOLDS: tuple[int, int, int] = (10_000, 20, 100)
FREEZE_AFTER_S = 1.0  # see :func:`freeze_startup_heap`


def tune_gc_for_streaming() -> None:
    """Collect young objects in larger, rarer batches and old ones much more rarely.

    Why: while data streams, Textual's Strips (a frame is a few hundred, each with seven small
    caches, and most end up in reference cycles) and the rows of the tables become cyclic
    garbage at tens of thousands of objects a second. With CPython's thresholds they lived
    long enough to be promoted to the oldest generation, so a full collection (which walks all
    ~200k live objects) ran every second or two and stalled the event loop for 80-120 ms —
    nearly every key that took over 100 ms to repaint was one of them (``bench/ui_bench.py
    --section latency`` reports the share of each slow key spent in full collections). Making
    only full collections rarer left the garbage to pile up into 300-600 ms collections.
    Larger young batches let that garbage die young instead (young collections stay under a
    few ms, the middle one some tens), and full collections become rare and small.

    Since then most of that garbage is gone at its source (``textual_fixes``, ``lru``: ~580
    cyclic objects a second instead of ~6,700), and memory no longer depends on these
    thresholds. They stay for latency: with CPython's, the remaining full collections still
    land 100+ ms stalls inside keys (BENCHMARKS.md, session 6).
    """
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_startup_heap() -> None:
    """Collect once, then move every object alive now to the permanent generation.

    Why: what exists once the workstation is up — modules, themes, stylesheets, widgets, the
    history the pipeline holds — lives as long as the app, yet every full collection walked it
    all again (hundreds of thousands of objects, the bulk of a full collection's time).
    Frozen, it is no longer scanned; objects in it are still freed by reference counting when
    they die (only cyclic garbage among them would stay, and startup leaves little).
    """
    gc.collect()
    gc.freeze()


class Pipeline(ReadModel, Intents, Protocol):
    """What the app needs: the read model and the intents, usually one controller object."""


class TradetermApp(App[None]):
    """The workstation. ``pipeline`` implements ReadModel and Intents (the controller, a replay,
    or :class:`tradeterm.ui.fake.FakePipeline`)."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "tradeterm"
    BINDINGS = bindings(APP_KEYS)
    COMMANDS = App.COMMANDS | {TradetermCommands}

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        theme: str = DEFAULT_THEME,
        max_fps: int = 10,
        extra_theme_dirs: Iterable[Path | str] = (),
    ) -> None:
        if not 1 <= max_fps <= 60:
            raise UserError(f"max_fps must be between 1 and 60, not {max_fps}")
        super().__init__()
        self.pipeline = pipeline
        self.max_fps = max_fps
        self.animation_level = "none"  # over SSH every animation frame costs bytes
        self.theme_names = register_themes(self, load_themes(theme_dirs(extra_theme_dirs)))
        if theme not in self.available_themes:
            known = ", ".join(sorted(self.theme_names))
            raise UserError(f"unknown theme {theme!r}; tradeterm themes: {known}")
        self._start_theme = theme
        self._version: int | None = None
        self._poll_error = ""
        self.main_screen = MainScreen(pipeline, poll=self.poll, theme_names=self.theme_names)

    def get_default_screen(self) -> Screen[Any]:
        return self.main_screen

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # Chart colours for any theme, Textual's built-ins included (their own fallbacks).
        try:
            return chart_variable_defaults(self.current_theme)
        except Exception:  # noqa: BLE001 - before the first theme exists
            return {}

    def on_mount(self) -> None:
        tune_gc_for_streaming()
        self.theme = self._start_theme
        self.poll()
        self.set_interval(1 / self.max_fps, self.poll, name="snapshot-poll")
        # Once the first frames are out (not before: the first paint must not wait for it).
        self.set_timer(FREEZE_AFTER_S, freeze_startup_heap, name="gc-freeze")

    def poll(self) -> None:
        """Pull a snapshot; repaint only when its version moved. Nothing once shutdown began:
        the timer still fires while the screens' widgets are being pruned."""
        if not self.is_running:
            return
        try:
            snap = self.pipeline.snapshot()
        except Exception as exc:  # noqa: BLE001 - a failing read model must not kill the screen
            message = f"{type(exc).__name__}: {exc}"
            if message != self._poll_error:
                self._poll_error = message
                self.log.error(f"snapshot failed: {message}")
                self.notify(message, title="Read model error", severity="error", timeout=8)
            return
        self._poll_error = ""
        if snap.version == self._version or not self.main_screen.ready:
            return
        self._version = snap.version
        with self.batch_update():
            self.main_screen.show(snap)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_kill_switch(self) -> None:
        self.main_screen.request_kill_switch()
