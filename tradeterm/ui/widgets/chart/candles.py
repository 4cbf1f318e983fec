"""Candles and volume bars at half-row resolution.

Glyph scheme: each cell of the price pane holds two price levels (upper and lower half). Each
half is empty, wick or body, and the pair picks the glyph:

| upper \\ lower | empty | wick | body |
|---------------|-------|------|------|
| empty         | ` `   | `╷`  | `▄`  |
| wick          | `╵`   | `│`  | `╽`  |
| body          | `▀`   | `╿`  | `█`  |

``╽``/``╿`` (light over heavy, heavy over light) show where a wick meets a body inside one cell.
A body always covers at least one half, so a doji (open == close) still shows as a half block;
it is coloured ``candle-wick`` (neither up nor down). Cells holding body take the candle's colour
(``candle-up``/``candle-down``), pure wick cells ``candle-wick``. Volume bars use ``▁▂▃▄▅▆▇█``
(eighths of a row) in a dimmed up/down colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeterm.market.frame import CandleFrame

from .axis import PriceScale
from .canvas import SPACE, Canvas
from .model import Window
from .palette import Role

EMPTY, WICK, BODY = 0, 1, 2
# Index: upper * 3 + lower.
GLYPHS = " ╷▄╵│╽▀╿█"
_GLYPH_CODES = np.array([ord(c) for c in GLYPHS], dtype=np.uint32)
VOLUME_GLYPHS = " ▁▂▃▄▅▆▇█"
_VOLUME_CODES = np.array([ord(c) for c in VOLUME_GLYPHS], dtype=np.uint32)

UP, DOWN, DOJI = 1, -1, 0


@dataclass(frozen=True, slots=True)
class Columns:
    """The visible candles, one per column: single bars, or groups of bars when zoomed out."""

    col: np.ndarray
    first: np.ndarray
    last: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.col.shape[0])

    @property
    def direction(self) -> np.ndarray:
        return np.sign(self.close - self.open).astype(np.int8)


def visible_columns(frame: CandleFrame, window: Window) -> Columns:
    """OHLCV per visible column (aggregated when several bars share one)."""
    start, stop = window.start, window.stop
    if stop <= start:
        e = np.empty(0)
        ei = np.empty(0, dtype=np.int64)
        return Columns(ei, ei, ei, e, e, e, e, e)
    if window.bars_per_col == 1:
        bars = np.arange(start, stop)
        return Columns(
            window.col_of(bars),
            bars,
            bars,
            frame.open[start:stop],
            frame.high[start:stop],
            frame.low[start:stop],
            frame.close[start:stop],
            frame.volume[start:stop],
        )
    m = window.bars_per_col
    first = np.arange(start, stop, m)
    last = np.minimum(first + m, stop) - 1
    idx = first - start
    return Columns(
        window.col_of(first),
        first,
        last,
        frame.open[first],
        np.maximum.reduceat(frame.high[start:stop], idx),
        np.minimum.reduceat(frame.low[start:stop], idx),
        frame.close[last],
        np.add.reduceat(frame.volume[start:stop], idx),
    )


def candle_cells(cols: Columns, scale: PriceScale) -> tuple[np.ndarray, np.ndarray]:
    """Glyph codes and colour roles, shape (rows, len(cols)), for the price pane."""
    rows = scale.rows
    hs = scale.sub(cols.high)
    ls = scale.sub(cols.low)
    so = scale.sub(cols.open)
    sc = scale.sub(cols.close)
    bt = np.minimum(so, sc)
    bb = np.maximum(so, sc)
    s = np.arange(2 * rows)[:, None]
    body = (s >= bt) & (s <= bb)
    wick = (s >= hs) & (s <= ls)
    state = np.where(body, BODY, np.where(wick, WICK, EMPTY)).reshape(rows, 2, -1)
    code = state[:, 0, :] * 3 + state[:, 1, :]
    glyphs = _GLYPH_CODES[code]
    direction = cols.direction
    candle_role = np.where(
        direction > 0, Role.CANDLE_UP, np.where(direction < 0, Role.CANDLE_DOWN, Role.CANDLE_WICK)
    ).astype(np.uint8)
    has_body = (state == BODY).any(axis=1)
    roles = np.where(has_body, candle_role[None, :], np.uint8(Role.CANDLE_WICK)).astype(np.uint8)
    return glyphs, roles


def draw_candles(canvas: Canvas, cols: Columns, scale: PriceScale, top: int) -> None:
    """Paint candles over whatever is in the pane (lines stay visible in empty cells only)."""
    if len(cols) == 0:
        return
    glyphs, roles = candle_cells(cols, scale)
    x = cols.col
    ok = (x >= 0) & (x < canvas.width)
    if not ok.all():
        glyphs, roles, x = glyphs[:, ok], roles[:, ok], x[ok]
    region_ch = canvas.ch[top : top + scale.rows, x]
    region_fg = canvas.fg[top : top + scale.rows, x]
    mask = glyphs != SPACE
    region_ch[mask] = glyphs[mask]
    region_fg[mask] = roles[mask]
    canvas.ch[top : top + scale.rows, x] = region_ch
    canvas.fg[top : top + scale.rows, x] = region_fg


def volume_cells(cols: Columns, rows: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Glyph codes and roles, shape (rows, len(cols)), and the volume of a full-height bar."""
    vol = np.nan_to_num(cols.volume, nan=0.0)
    vmax = float(vol.max()) if vol.size else 0.0
    if vmax <= 0:
        return (
            np.full((rows, len(cols)), SPACE, np.uint32),
            np.zeros((rows, len(cols)), np.uint8),
            0.0,
        )
    eighths = np.rint(vol / vmax * rows * 8).astype(np.int64)
    eighths = np.where((vol > 0) & (eighths == 0), 1, eighths)
    level = np.arange(rows - 1, -1, -1)[:, None] * 8  # bottom row = level 0
    fill = np.clip(eighths[None, :] - level, 0, 8)
    direction = cols.direction
    role = np.where(
        direction > 0, Role.VOLUME_UP, np.where(direction < 0, Role.VOLUME_DOWN, Role.VOLUME_FLAT)
    ).astype(np.uint8)
    return _VOLUME_CODES[fill], np.broadcast_to(role, fill.shape).copy(), vmax


def draw_volume(canvas: Canvas, cols: Columns, top: int, rows: int) -> float:
    """Paint volume bars; returns the volume a full-height bar stands for (for the axis)."""
    if rows <= 0 or len(cols) == 0:
        return 0.0
    glyphs, roles, vmax = volume_cells(cols, rows)
    x = cols.col
    ok = (x >= 0) & (x < canvas.width)
    canvas.ch[top : top + rows, x[ok]] = glyphs[:, ok]
    canvas.fg[top : top + rows, x[ok]] = roles[:, ok]
    return vmax
