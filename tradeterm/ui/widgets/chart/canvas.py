"""A cell grid held as three numpy arrays (glyph, foreground role, background role).

Layers are painted in order with whole-array operations, and only at the end does each row
become a list of Rich ``Segment``s: one segment per run of equal style, with ``Style`` objects
shared through the palette. This keeps Python-level work per frame proportional to the number of
colour runs, not the number of cells.
"""

from __future__ import annotations

from itertools import compress
from operator import not_

import numpy as np
from rich.segment import Segment

from .palette import Palette, Role

SPACE = ord(" ")
# Distinct (text, style) runs kept per palette. A frame has a few thousand runs and most repeat
# from frame to frame, but while many symbols stream (price labels, readout, braille lines all
# moving) new runs arrive at ~200/s: the cap bounds the memory and the objects every full
# garbage collection has to walk (50,000 cost ~15 MB and tens of ms per full collection).
_SEGMENT_CACHE_MAX = 10_000


class Canvas:
    """``ch[y, x]`` code point, ``fg[y, x]`` / ``bg[y, x]`` palette roles."""

    __slots__ = ("bg", "ch", "fg", "height", "width")

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.ch = np.full((height, width), SPACE, dtype=np.uint32)
        self.fg = np.full((height, width), Role.FG, dtype=np.uint8)
        self.bg = np.full((height, width), Role.BG, dtype=np.uint8)

    def copy(self) -> Canvas:
        out = Canvas.__new__(Canvas)
        out.width, out.height = self.width, self.height
        out.ch, out.fg, out.bg = self.ch.copy(), self.fg.copy(), self.bg.copy()
        return out

    def text(
        self,
        y: int,
        x: int,
        text: str,
        fg: int,
        bg: int | None = None,
        x_min: int = 0,
        x_max: int | None = None,
    ) -> None:
        """Write ``text`` at (x, y), clipped to columns ``[x_min, x_max)``."""
        if not 0 <= y < self.height or not text:
            return
        right = self.width if x_max is None else min(x_max, self.width)
        lo, hi = max(x, x_min, 0), min(x + len(text), right)
        if lo >= hi:
            return
        # NUL separates runs in to_segments; it never reaches the grid.
        piece = text[lo - x : hi - x].replace("\0", " ")
        codes = np.frombuffer(piece.encode("utf-32-le"), dtype=np.uint32)
        self.ch[y, lo:hi] = codes
        self.fg[y, lo:hi] = fg
        if bg is not None:
            self.bg[y, lo:hi] = bg

    def hline(
        self, y: int, x0: int, x1: int, glyph: str, fg: int, only_empty: bool = False
    ) -> None:
        """A run of ``glyph`` over columns ``[x0, x1)`` of row ``y``."""
        if not 0 <= y < self.height:
            return
        x0, x1 = max(x0, 0), min(x1, self.width)
        if x0 >= x1:
            return
        if only_empty:
            row = self.ch[y, x0:x1]
            mask = row == SPACE
            row[mask] = ord(glyph)
            self.fg[y, x0:x1][mask] = fg
        else:
            self.ch[y, x0:x1] = ord(glyph)
            self.fg[y, x0:x1] = fg

    def fill_bg(self, y0: int, y1: int, x0: int, x1: int, bg: int) -> None:
        y0, y1 = max(y0, 0), min(y1, self.height)
        x0, x1 = max(x0, 0), min(x1, self.width)
        if y0 < y1 and x0 < x1:
            self.bg[y0:y1, x0:x1] = bg

    def to_segments(self, palette: Palette) -> list[list[Segment]]:
        """One list of segments per row; a segment per run of equal (fg, bg)."""
        h, w = self.height, self.width
        if h == 0 or w == 0:
            return [[] for _ in range(h)]
        # Foreground colour is invisible on spaces: give spaces one fg so runs merge.
        fg = np.where(self.ch == SPACE, Role.FG, self.fg).astype(np.int32)
        key = fg * 64 + self.bg.astype(np.int32)
        change = np.ones((h, w), dtype=bool)
        change[:, 1:] = key[:, 1:] != key[:, :-1]
        flat = np.flatnonzero(change)
        # Every row starts a run, so runs never straddle rows.
        keys = key.ravel()[flat]
        # A frame has a few thousand runs; a Python-level loop over them would cost more than
        # drawing the grid. One NUL between runs and a single str.split gives every run's text;
        # Segments come from the palette's cache (most runs repeat from frame to frame), looked
        # up with map/zip at C speed. Reusing them matters beyond speed: fresh tuples by the
        # thousand per frame trigger the cyclic GC's full collections (20-30 ms pauses).
        texts = np.insert(self.ch.ravel(), flat[1:], 0).tobytes().decode("utf-32-le").split("\0")
        key_list = keys.tolist()
        cache = palette.segments
        segs: list[Segment | None] = list(map(cache.get, zip(texts, key_list)))
        misses = list(compress(range(len(segs)), map(not_, segs)))
        if len(cache) + len(misses) > _SEGMENT_CACHE_MAX:
            cache.clear()
        for i in misses:
            k = key_list[i]
            seg = Segment(texts[i], palette.style(k >> 6, k & 63))
            cache[(texts[i], k)] = seg
            segs[i] = seg
        bounds = np.concatenate([[0], np.cumsum(change.sum(axis=1))]).tolist()
        return [segs[bounds[y] : bounds[y + 1]] for y in range(h)]  # type: ignore[misc]
