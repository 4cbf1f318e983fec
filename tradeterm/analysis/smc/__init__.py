"""Smart Money Concepts without look-ahead: swings, BOS/CHOCH, order blocks, fair value gaps and
liquidity pools, as contract events that each carry the bar they refer to and the bar at whose
close they became known.

``analyze()`` runs the vectorised pass over a whole series; ``SmcEngine`` does the same work one
closed candle at a time for live use and emits exactly the same events. Nothing is ever redrawn:
a zone that changes state is a new event with the same ``zone_id``.
"""

from __future__ import annotations

from .api import analyze
from .config import SmcConfig
from .engine import SmcEngine
from .materialise import Stream
from .tables import SmcResult, StructureTable, Swings, ZoneTable

__all__ = [
    "SmcConfig",
    "SmcEngine",
    "SmcResult",
    "Stream",
    "StructureTable",
    "Swings",
    "ZoneTable",
    "analyze",
]
