"""A small least-recently-used cache on a plain dict.

Textual's ``LRUCache`` keeps a ring of linked list nodes, and its ``clear()`` drops the ring
without unlinking it: every cleared entry (a chart frame: its Strips, their Segments and caches,
some 140 objects) becomes a reference cycle that only the cyclic collector can free. The chart
clears its caches on every new snapshot, so that was ~10 such cycles a second, and with the
collector tuned to run rarely they ratcheted the heap up. A dict keeps insertion order, which is
all an LRU needs, and its entries are freed by reference counting the moment they are dropped.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class DictLRU(Generic[K, V]):
    """At most ``maxsize`` entries; ``get`` refreshes an entry, setting past the size drops the
    least recently used one."""

    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._data: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        data = self._data
        try:
            value = data.pop(key)
        except KeyError:
            return None
        data[key] = value  # now the most recent
        return value

    def __setitem__(self, key: K, value: V) -> None:
        data = self._data
        data.pop(key, None)
        data[key] = value
        if len(data) > self.maxsize:
            del data[next(iter(data))]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[K]:
        """Least to most recently used."""
        return list(self._data)

    def clear(self) -> None:
        self._data.clear()
