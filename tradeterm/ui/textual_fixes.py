"""Fixes to Textual internals that the workstation needs, applied once when the app is imported.

``Strip.divide`` caches its result on the strip. When the compositor uses a line whole (one cut
at its full width, which is what almost every line of a full-width widget gets, ~220 times a
second here), the cached result is ``[self]``: the strip then holds a cache that holds a list
that holds the strip, a reference cycle. Every line our widgets replace (the chart on each
snapshot, tables, the log) was therefore freed only by the cyclic collector, with its two dozen
Segments and half a dozen caches: ~1,700 objects and ~130 kB a second of cyclic garbage while
data streams. With the collector tuned to run rarely (key latency), the heap ratcheted up.

The fix answers that case without the cache: ``[self]`` is all it is, so the result is the same
and cheaper than a cache look-up. Every other cut goes to Textual's own method unchanged.
Measured with ``gc.DEBUG_SAVEALL`` on the demo: cyclic garbage 3,700 → ~500 objects a second
together with the chart's dict-based caches (``tradeterm.ui.lru``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.strip import Strip

_MARK = "_tradeterm_whole_line_fix"


def install() -> None:
    """Apply the fixes (idempotent)."""
    original = Strip.divide
    if getattr(original, _MARK, False):
        return

    def divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        cuts = cuts if isinstance(cuts, list) else list(cuts)
        if len(cuts) == 1 and cuts[0] == self.cell_length:
            return [self]  # the whole line: nothing to cut, nothing to cache (see the module doc)
        return original(self, cuts)

    setattr(divide, _MARK, True)
    divide.__doc__ = original.__doc__
    divide.__wrapped__ = original  # type: ignore[attr-defined]
    Strip.divide = divide  # type: ignore[method-assign]
