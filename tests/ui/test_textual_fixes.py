"""The Textual fix the app installs: same results, no reference cycle per whole line."""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

import tradeterm.ui.app  # noqa: F401 - importing the app installs the fix
from tradeterm.ui.textual_fixes import install


def _strip(rng: random.Random) -> Strip:
    segments = [Segment("x" * rng.randint(1, 6), Style(bold=rng.random() < 0.5)) for _ in range(rng.randint(1, 8))]
    return Strip(segments)


@contextmanager
def _cyclic_garbage() -> Iterator[list[object]]:
    """Everything that only the cyclic collector frees while the block runs."""
    found: list[object] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _original() -> Callable[..., object]:
    return Strip.divide.__wrapped__  # type: ignore[attr-defined,no-any-return]


def test_divide_gives_what_textual_gives_for_any_cuts() -> None:
    rng = random.Random(7)
    original = _original()
    for _ in range(500):
        strip = _strip(rng)
        width = strip.cell_length
        cuts = sorted(rng.sample(range(1, width + 3), k=rng.randint(1, min(4, width + 2))))
        if rng.random() < 0.3:
            cuts = [width]  # the whole line: the case the fix answers itself
        ours = [(s.text, s.cell_length, list(s)) for s in strip.divide(cuts)]
        theirs = [(s.text, s.cell_length, list(s)) for s in original(strip, cuts)]
        assert ours == theirs, (cuts, strip.text)


def test_a_whole_line_divide_leaves_no_cycle() -> None:
    with _cyclic_garbage() as garbage:
        strip = Strip([Segment("price 101.25", Style(bold=True))])
        assert strip.divide([strip.cell_length]) == [strip]
        del strip
    assert not [o for o in garbage if isinstance(o, Strip)]


def test_textuals_own_divide_still_makes_the_cycle() -> None:
    # Why the fix exists. When this fails, Textual fixed it upstream and the fix can go.
    with _cyclic_garbage() as garbage:
        strip = Strip([Segment("price 101.25", Style(bold=True))])
        _original()(strip, [strip.cell_length])
        del strip
    assert [o for o in garbage if isinstance(o, Strip)]


def test_install_is_idempotent() -> None:
    before = Strip.divide
    install()
    install()
    assert Strip.divide is before
