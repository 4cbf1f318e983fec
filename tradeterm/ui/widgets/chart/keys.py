"""The chart's keys as data: (key, action, description, shown in the footer).

Kept apart from the widget so a help screen, the command palette or a keymap file can list and
remap them without importing Textual widgets. Key names are Textual's (``plus``, ``minus``, …).
"""

from __future__ import annotations

from textual.binding import Binding

ChartKey = tuple[str, str, str, bool]

CHART_KEYS: tuple[ChartKey, ...] = (
    ("e", "toggle_overlay('ema')", "EMA", True),
    ("b", "toggle_overlay('bb')", "Bollinger", True),
    ("v", "toggle_overlay('vwap')", "VWAP", True),
    ("s", "toggle_overlay('swings')", "Swings", True),
    ("m", "toggle_overlay('structure')", "BOS/CHOCH", True),
    ("o", "toggle_overlay('ob')", "Order blocks", True),
    ("f", "toggle_overlay('fvg')", "FVGs", True),
    ("l", "toggle_overlay('liquidity')", "Liquidity", True),
    ("w", "toggle_overlay('sweeps')", "Sweeps ($)", True),
    ("x", "toggle_overlay('orders')", "Orders", True),
    ("plus,equals_sign", "zoom_in", "Zoom in", True),
    ("minus", "zoom_out", "Zoom out", True),
    ("left", "left", "Pan left / crosshair left", False),
    ("right", "right", "Pan right / crosshair right", False),
    ("up", "up", "Crosshair up", False),
    ("down", "down", "Crosshair down", False),
    ("home", "jump_first", "Oldest bar", False),
    ("end", "jump_latest", "Latest bar", True),
    ("c", "toggle_crosshair", "Crosshair", True),
    ("escape", "hide_crosshair", "Hide crosshair", False),
)


def chart_bindings() -> list[Binding]:
    """``CHART_KEYS`` as Textual bindings, each with an ``id`` so a keymap can remap it."""
    out: list[Binding] = []
    for key, action, description, show in CHART_KEYS:
        ident = "chart." + action.replace("toggle_overlay('", "toggle_").rstrip("')")
        out.append(Binding(key, action, description, show=show, id=ident))
    return out
