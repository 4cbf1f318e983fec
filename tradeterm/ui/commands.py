"""Command palette (ctrl+p): every action of the workstation, found by typing part of its name.

Commands are generated from the key tables in :mod:`tradeterm.ui.keys` (each shows its key),
plus one command per timeframe, per traded market (when there are several), per watchlist
symbol and per registered theme, so the palette never lists something the keys cannot do or
misses something they can. Each command runs its action on the widget that owns it (the chart,
the signal queue, …) exactly as its key would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tradeterm.pipeline.readmodel import market_label
from tradeterm.ui.keys import (
    APP_KEYS,
    BLOTTER_KEYS,
    GUARD_KEYS,
    LOG_KEYS,
    SCREEN_KEYS,
    SIGNAL_KEYS,
    WATCHLIST_KEYS,
    Key,
    chart_keys,
)

if TYPE_CHECKING:
    from tradeterm.ui.app import TradetermApp

# Section → the widget that runs its actions ("app" and "screen" are the app and main screen).
_TARGETS: tuple[tuple[str, str, tuple[Key, ...]], ...] = (
    ("app", "", APP_KEYS),
    ("screen", "", SCREEN_KEYS),
    ("#chart", "Chart: ", chart_keys()),
    ("#watchlist", "Watchlist: ", WATCHLIST_KEYS),
    ("#signals", "Signal: ", SIGNAL_KEYS),
    ("#blotter", "Blotter: ", BLOTTER_KEYS),
    ("#log", "Log: ", LOG_KEYS),
    ("#guards", "Guards: ", GUARD_KEYS),
)
_SKIP_ACTIONS = {"cursor_up", "cursor_down", "command_palette", "left", "right", "up", "down"}


@dataclass(frozen=True, slots=True)
class Command:
    title: str
    help: str
    run: Callable[[], Any]


def commands(app: TradetermApp) -> Iterator[Command]:
    """Every command for the app's current state (symbols and timeframes from the snapshot)."""
    main = app.main_screen
    for target, prefix, keys in _TARGETS:
        for k in keys:
            if k.action in _SKIP_ACTIONS or k.action.startswith("move("):
                continue
            node: Any = app if target == "app" else main if target == "screen" else None
            if node is None:
                found = main.query(target)
                if not found:
                    continue
                node = found.first()
            key = k.key.split(",")[0]
            yield Command(
                f"{prefix}{k.description}",
                f"key {key}",
                partial(app.call_later, app.run_action, k.action, node),
            )
    snap = main.snapshot
    if snap is not None:
        for tf in snap.timeframes:
            yield Command(f"Timeframe: {tf}", "chart this timeframe", partial(main.select, tf=tf))
        if len(snap.markets) > 1:
            for m in snap.markets:
                yield Command(
                    f"Market: {market_label(m)}",
                    "trade and show this market (key M cycles)",
                    partial(main.select_market, m),
                )
        for row in snap.watchlist:
            yield Command(
                f"Symbol: {row.symbol}",
                "chart this symbol",
                partial(main.select, symbol=row.symbol),
            )
    for name in app.theme_names:
        yield Command(
            f"Theme: {name}", "switch the colour theme", partial(setattr, app, "theme", name)
        )


class TradetermCommands(Provider):
    """The palette's provider over :func:`commands`."""

    def _commands(self) -> list[Command]:
        from tradeterm.ui.app import TradetermApp

        app = self.app
        return list(commands(app)) if isinstance(app, TradetermApp) else []

    async def discover(self) -> Hits:
        for c in self._commands():
            yield DiscoveryHit(c.title, c.run, help=c.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in self._commands():
            score = matcher.match(c.title)
            if score > 0:
                yield Hit(score, matcher.highlight(c.title), c.run, text=c.title, help=c.help)
