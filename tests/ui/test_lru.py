"""The dict-based LRU of the chart's caches."""

from __future__ import annotations

import gc
import weakref

import pytest

from tradeterm.ui.lru import DictLRU


class Frame:
    """Stands for a cached chart frame (weak-referenceable, unlike a list of Strips)."""


def test_keeps_the_most_recently_used() -> None:
    lru: DictLRU[str, int] = DictLRU(2)
    lru["a"] = 1
    lru["b"] = 2
    assert lru.get("a") == 1  # a is now the most recent
    lru["c"] = 3  # b goes
    assert lru.keys() == ["a", "c"] and "b" not in lru and lru.get("b") is None
    lru["a"] = 10  # re-setting refreshes too
    lru["d"] = 4
    assert lru.keys() == ["a", "d"] and lru.get("a") == 10 and len(lru) == 2


def test_dropped_and_cleared_entries_are_freed_without_the_collector() -> None:
    lru: DictLRU[int, Frame] = DictLRU(1)
    gc.disable()
    try:
        first, second = Frame(), Frame()
        refs = [weakref.ref(first), weakref.ref(second)]
        lru[1] = first
        lru[2] = second
        del first, second
        assert refs[0]() is None  # evicted: freed at once
        lru.clear()
        assert refs[1]() is None and len(lru) == 0  # cleared: freed at once
    finally:
        gc.enable()


def test_rejects_a_size_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DictLRU(0)
