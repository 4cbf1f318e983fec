"""The live engine's open zones, indexed by the price that would next change each of them.

A bar changes a demand zone only if its low goes below the deepest wick so far (or, once the zone
is full, its close goes below the bottom), and a pool only if the bar trades beyond it. Keeping
each kind of zone in a heap keyed by that trigger price means a bar touches only the zones it
actually reaches: a quiet bar costs a few comparisons whether 10 or 10,000 zones are open. The
rules are the ones documented in ``zones`` and ``liquidity``; this is their bar-by-bar form.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from . import codes

Heap = list[tuple[float, int]]


@dataclass(slots=True)
class LiveZone:
    kind: int
    direction: int
    time: int
    aux_time: int | None
    top: float
    bottom: float
    mitigated_at: float
    edge: float  # deepest wick so far; starts at the near edge
    serial: int = -1
    state: int = codes.ACTIVE
    fill: float = 0.0
    zid: str = ""


class ZoneBook:
    """Zones still alive (not invalidated, swept or taken), by serial number in birth order."""

    def __init__(self) -> None:
        self._zones: dict[int, LiveZone] = {}
        self._serial = 0
        self._demand: Heap = []  # (-edge, serial): changes when low < edge
        self._supply: Heap = []  # (edge, serial): changes when high > edge
        self._demand_full: Heap = []  # (-bottom, serial): dies when close < bottom
        self._supply_full: Heap = []  # (top, serial): dies when close > top
        self._eq_highs: Heap = []  # (top, serial): ends when high > top
        self._eq_lows: Heap = []  # (-bottom, serial): ends when low < bottom

    def __len__(self) -> int:
        return len(self._zones)

    def add(self, z: LiveZone) -> None:
        """Register a zone born on the current bar; it meets its first bar on the next one."""
        s = z.serial = self._serial
        self._serial += 1
        self._zones[s] = z
        if z.kind == codes.LIQUIDITY:
            if z.direction == codes.BEAR:
                heapq.heappush(self._eq_highs, (z.top, s))
            else:
                heapq.heappush(self._eq_lows, (-z.bottom, s))
        elif z.direction == codes.BULL:
            heapq.heappush(self._demand, (-z.edge, s))
        else:
            heapq.heappush(self._supply, (z.edge, s))

    def advance(self, h: float, lo: float, c: float) -> tuple[list[LiveZone], list[LiveZone]]:
        """Apply one bar. Returns the zones whose (state, fill) changed and the pools it swept,
        both in serial order."""
        changed: list[LiveZone] = []
        zones = self._zones
        demand = self._demand
        while demand and -demand[0][0] > lo:
            z = zones[heapq.heappop(demand)[1]]
            z.edge = lo
            fill = (z.top - lo) / (z.top - z.bottom)
            self._fill(z, fill, c < z.bottom, changed, demand, -lo, self._demand_full, -z.bottom)
        supply = self._supply
        while supply and supply[0][0] < h:
            z = zones[heapq.heappop(supply)[1]]
            z.edge = h
            fill = (h - z.bottom) / (z.top - z.bottom)
            self._fill(z, fill, c > z.top, changed, supply, h, self._supply_full, z.top)
        full = self._demand_full
        while full and -full[0][0] > c:
            self._kill(zones[heapq.heappop(full)[1]], changed)
        full = self._supply_full
        while full and full[0][0] < c:
            self._kill(zones[heapq.heappop(full)[1]], changed)
        swept: list[LiveZone] = []
        highs, lows = self._eq_highs, self._eq_lows
        while highs and highs[0][0] < h:
            z = zones.pop(heapq.heappop(highs)[1])
            self._end_pool(z, c <= z.top, changed, swept)
        while lows and -lows[0][0] > lo:
            z = zones.pop(heapq.heappop(lows)[1])
            self._end_pool(z, c >= z.bottom, changed, swept)
        changed.sort(key=lambda z: z.serial)
        swept.sort(key=lambda z: z.serial)
        return changed, swept

    def _fill(
        self,
        z: LiveZone,
        fill: float,
        dead: bool,
        changed: list[LiveZone],
        heap: Heap,
        key: float,
        full_heap: Heap,
        full_key: float,
    ) -> None:
        fill = min(fill, 1.0)
        if dead:
            state = codes.INVALIDATED
        elif fill >= z.mitigated_at:
            state = codes.MITIGATED
        else:
            state = codes.PARTIAL
        if state != z.state or fill != z.fill:
            z.state, z.fill = state, fill
            changed.append(z)
        if dead:
            del self._zones[z.serial]
        elif fill >= 1.0:  # full: from now on only a close beyond the far edge matters
            heapq.heappush(full_heap, (full_key, z.serial))
        else:
            heapq.heappush(heap, (key, z.serial))

    def _kill(self, z: LiveZone, changed: list[LiveZone]) -> None:
        z.state, z.fill = codes.INVALIDATED, 1.0
        changed.append(z)
        del self._zones[z.serial]

    @staticmethod
    def _end_pool(
        z: LiveZone, swept: bool, changed: list[LiveZone], sweeps: list[LiveZone]
    ) -> None:
        z.state, z.fill = (codes.MITIGATED if swept else codes.INVALIDATED), 1.0
        changed.append(z)
        if swept:
            sweeps.append(z)
