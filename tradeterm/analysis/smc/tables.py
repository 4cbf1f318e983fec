"""Columnar SMC output: what the chart and backtests read, and what ``.events()`` materialises.

A million pydantic events cost seconds; the same facts as a handful of numpy columns cost
milliseconds and slice, filter and plot directly. Rows are bar *indices*; ``SmcResult`` holds the
time columns that turn them into ``time`` / ``confirmed_at``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np

from tradeterm.contracts import SmcEventV1, ZoneV1

from . import codes
from .config import SmcConfig
from .materialise import Stream, smc_event, zone_event, zone_id


@dataclass(frozen=True, slots=True)
class StructureTable:
    """Structure events (swings, BOS/CHOCH, sweeps), one row each, ordered as emitted.

    ``bar``: the bar the event refers to; ``conf``: the bar at whose close it became known;
    ``ref_bar``: the broken swing (breaks) or the newer swing of the swept pool (sweeps), else -1;
    ``label``: ``codes.HH`` .. ``codes.LL`` for swings, else 0.
    """

    kind: np.ndarray  # int8, codes.SWING_HIGH ..
    direction: np.ndarray  # int8, +1 / -1
    bar: np.ndarray  # int64
    conf: np.ndarray  # int64
    price: np.ndarray  # float64
    label: np.ndarray  # int8
    ref_bar: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def take(self, rows: np.ndarray) -> StructureTable:
        return StructureTable(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def of_kind(self, *kinds: int) -> StructureTable:
        return self.take(np.flatnonzero(np.isin(self.kind, kinds)))


@dataclass(frozen=True, slots=True)
class ZoneTable:
    """Zone events: a birth row (ACTIVE) and one row per later change of state or fill.

    ``zone``: serial number in birth order (rows of one zone share it); ``bar``: the zone's origin
    bar (order-block candle, gap's middle candle, older swing of a pool); ``aux_bar``: the newer
    swing of a pool, else -1; ``born``: bar at whose close the zone appeared; ``conf``: bar at whose
    close this row's state became known.
    """

    zone: np.ndarray  # int64
    kind: np.ndarray  # int8, codes.ORDER_BLOCK ..
    direction: np.ndarray  # int8
    bar: np.ndarray  # int64
    aux_bar: np.ndarray  # int64
    born: np.ndarray  # int64
    conf: np.ndarray  # int64
    top: np.ndarray  # float64
    bottom: np.ndarray  # float64
    state: np.ndarray  # int8, codes.ACTIVE ..
    fill: np.ndarray  # float64

    def __len__(self) -> int:
        return int(self.zone.shape[0])

    def take(self, rows: np.ndarray) -> ZoneTable:
        return ZoneTable(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass(frozen=True, slots=True)
class Swings:
    """Confirmed swings for the chart: where to put HH/HL/LH/LL."""

    bar: np.ndarray
    conf: np.ndarray
    price: np.ndarray
    is_high: np.ndarray  # bool
    label: np.ndarray  # int8 codes


@dataclass(frozen=True, slots=True)
class SmcResult:
    """Everything one SMC pass found, columnar, with materialisers for the contract events."""

    stream: Stream
    config: SmcConfig
    open_time: np.ndarray
    close_time: np.ndarray
    structure: StructureTable
    zones: ZoneTable

    @property
    def swings(self) -> Swings:
        s = self.structure.of_kind(codes.SWING_HIGH, codes.SWING_LOW)
        return Swings(s.bar, s.conf, s.price, s.kind == codes.SWING_HIGH, s.label)

    @property
    def breaks(self) -> StructureTable:
        return self.structure.of_kind(codes.BOS, codes.CHOCH)

    def active_zones(self, at: int | None = None) -> ZoneTable:
        """Latest row of each zone known at the close of bar ``at`` (default: the last bar),
        leaving out invalidated and finished (swept/taken) liquidity zones. Mitigated order blocks
        and gaps stay: whether to draw them faded or not is the chart's choice."""
        z = self.zones
        if at is not None:
            z = z.take(np.flatnonzero(z.conf <= at))
        if len(z) == 0:
            return z
        # Rows are in conf order, so the last row of each zone is its latest state.
        order = np.lexsort((np.arange(len(z)), z.zone))
        last = order[np.r_[z.zone[order][1:] != z.zone[order][:-1], True]]
        latest = z.take(last)
        keep = (latest.state != codes.INVALIDATED) & ~(
            (latest.kind == codes.LIQUIDITY) & (latest.state == codes.MITIGATED)
        )
        return latest.take(np.flatnonzero(keep))

    def events(self) -> list[SmcEventV1]:
        """Structure events as validated contracts, ordered by ``confirmed_at``. ~5-10 µs each:
        fine for the bus and for thousands of rows, not for a million (use the tables)."""
        s = self.structure
        ot = self.open_time
        kind, direction, price, label = (
            s.kind.tolist(),
            s.direction.tolist(),
            s.price.tolist(),
            s.label.tolist(),
        )
        times, confs = ot[s.bar].tolist(), self.close_time[s.conf].tolist()
        refs = [
            None if r < 0 else t
            for r, t in zip(s.ref_bar.tolist(), ot[np.maximum(s.ref_bar, 0)].tolist())
        ]
        with _gc_paused():
            return [
                smc_event(
                    self.stream,
                    kind[i],
                    direction[i],
                    times[i],
                    confs[i],
                    price[i],
                    label[i],
                    refs[i],
                )
                for i in range(len(kind))
            ]

    def zone_events(self) -> list[ZoneV1]:
        """Zone events as validated contracts, ordered by ``confirmed_at``, then by zone birth."""
        z = self.zones
        ot = self.open_time
        times = ot[z.bar].tolist()
        auxs = [
            None if a < 0 else t
            for a, t in zip(z.aux_bar.tolist(), ot[np.maximum(z.aux_bar, 0)].tolist())
        ]
        confs = self.close_time[z.conf].tolist()
        serial, kind, direction = z.zone.tolist(), z.kind.tolist(), z.direction.tolist()
        top, bottom, state, fill = (
            z.top.tolist(),
            z.bottom.tolist(),
            z.state.tolist(),
            z.fill.tolist(),
        )
        ids: dict[int, str] = {}
        out: list[ZoneV1] = []
        with _gc_paused():
            for i in range(len(kind)):
                zid = ids.get(serial[i])
                if zid is None:
                    zid = ids[serial[i]] = zone_id(
                        self.stream, kind[i], direction[i], times[i], auxs[i]
                    )
                out.append(
                    zone_event(
                        self.stream,
                        zid,
                        kind[i],
                        direction[i],
                        times[i],
                        confs[i],
                        top[i],
                        bottom[i],
                        state[i],
                        fill[i],
                    )
                )
        return out

    def all_events(self) -> list[SmcEventV1 | ZoneV1]:
        """Both streams merged as the engine emits them: by bar, structure events first."""
        both: list[SmcEventV1 | ZoneV1] = [*self.events(), *self.zone_events()]
        order = np.argsort(np.concatenate([self.structure.conf, self.zones.conf]), kind="stable")
        return [both[i] for i in order.tolist()]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building 10^5..10^6 small objects triggers repeated full GC passes over all of them (the
    cost per event grows with the count); nothing here makes cycles, so pause the collector."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
