"""Small-integer codes for the columnar tables and the kernels, and their contract enums.

numba kernels and numpy tables cannot hold ``StrEnum`` members; these codes are what they carry,
and the tuples below are the single place where a code becomes a contract value.
"""

from __future__ import annotations

from typing import Final

from tradeterm.contracts import Direction, SmcEventKind, SwingLabel, ZoneKind, ZoneState

# Structure-event kinds.
SWING_HIGH: Final = 0
SWING_LOW: Final = 1
BOS: Final = 2
CHOCH: Final = 3
SWEEP: Final = 4
KIND_ENUM: Final = (
    SmcEventKind.SWING_HIGH,
    SmcEventKind.SWING_LOW,
    SmcEventKind.BOS,
    SmcEventKind.CHOCH,
    SmcEventKind.LIQUIDITY_SWEEP,
)

# Directions: +1 bullish, -1 bearish (so a sign flip is a direction flip).
BULL: Final = 1
BEAR: Final = -1


def direction_enum(code: int) -> Direction:
    return Direction.BULL if code > 0 else Direction.BEAR


# Swing labels; 0 = the first swing of its side, which has nothing to be compared with.
NO_LABEL: Final = 0
HH: Final = 1
HL: Final = 2
LH: Final = 3
LL: Final = 4
LABEL_ENUM: Final = (None, SwingLabel.HH, SwingLabel.HL, SwingLabel.LH, SwingLabel.LL)

# Zone kinds; the value is also the rank of a kind among zones born on the same bar.
ORDER_BLOCK: Final = 0
FVG: Final = 1
LIQUIDITY: Final = 2
ZONE_KIND_ENUM: Final = (ZoneKind.ORDER_BLOCK, ZoneKind.FVG, ZoneKind.LIQUIDITY)
ZONE_TAG: Final = ("OB", "FVG", "LIQ")

ACTIVE: Final = 0
PARTIAL: Final = 1
MITIGATED: Final = 2
INVALIDATED: Final = 3
STATE_ENUM: Final = (
    ZoneState.ACTIVE,
    ZoneState.PARTIAL,
    ZoneState.MITIGATED,
    ZoneState.INVALIDATED,
)

# Order of structure events that become known on the same bar. Fixed so that the vectorised run
# and the incremental engine list simultaneous events identically: breaks (bull, then bear) are
# decided on levels known *before* the bar, swings confirmed *by* the bar come after them, then
# sweeps (ordered by the pool they took).
RANK_BREAK_BULL: Final = 0
RANK_BREAK_BEAR: Final = 1
RANK_SWING_HIGH: Final = 2
RANK_SWING_LOW: Final = 3
RANK_SWEEP: Final = 4


def dir_bit(code: int) -> int:
    """0 for BULL, 1 for BEAR: the tie-break among same-kind zones born on one bar."""
    return 0 if code > 0 else 1
