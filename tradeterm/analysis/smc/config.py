"""Settings of the SMC pass.

A frozen dataclass rather than a pydantic model: it is read in hot loops and hashed as a cache
key, and its handful of fields are checked once in ``__post_init__`` so a bad value fails where it
is written, with a message naming the field, instead of deep inside a numba kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

BreakOn = Literal["close", "wick"]
ObZone = Literal["wick", "body"]
Unit = Literal["price", "fraction"]

_MAX_SWING_LEN = 1000


@dataclass(frozen=True, slots=True)
class SmcConfig:
    """What counts as a swing, a break, an order block, a gap and a pool.

    ``swing_left`` / ``swing_right``: pivot lengths. A swing is known only when the ``swing_right``
    bars after it have closed, so ``swing_right`` is the confirmation delay in bars.
    ``break_on``: a structure break needs a *close* beyond the swing (default) or only a *wick*.
    ``ob_zone``: an order block spans the candle's full range (``wick``) or its body.
    ``ob_mitigated_at`` / ``fvg_mitigated_at``: fill fraction (0, 1] at which a zone counts as
    mitigated; below it a touched zone is PARTIAL. ICT's "mean threshold" is 0.5 for order
    blocks; a gap is usually called mitigated only once fully filled (1.0).
    ``fvg_min_size`` with ``fvg_min_size_unit``: smallest gap kept, in price units or as a
    fraction of the third candle's close. ``liquidity_tolerance`` with its unit: how far apart two
    swing prices may be and still count as "equal" (fraction of the confirming bar's close by
    default, so one setting works for BTC at 90,000 and an altcoin at 0.3).
    Per-bar arrays passed to :func:`analyze` / :meth:`SmcEngine.push` override the two thresholds
    (in price units), e.g. ``0.1 * atr`` computed causally by the caller.
    """

    swing_left: int = 5
    swing_right: int = 5
    break_on: BreakOn = "close"
    ob_zone: ObZone = "wick"
    ob_mitigated_at: float = 0.5
    fvg_mitigated_at: float = 1.0
    fvg_min_size: float = 0.0
    fvg_min_size_unit: Unit = "price"
    liquidity_tolerance: float = 0.0005
    liquidity_tolerance_unit: Unit = "fraction"

    def __post_init__(self) -> None:
        _int_in("swing_left", self.swing_left, 1, _MAX_SWING_LEN)
        _int_in("swing_right", self.swing_right, 0, _MAX_SWING_LEN)
        _choice("break_on", self.break_on, ("close", "wick"))
        _choice("ob_zone", self.ob_zone, ("wick", "body"))
        _choice("fvg_min_size_unit", self.fvg_min_size_unit, ("price", "fraction"))
        _choice("liquidity_tolerance_unit", self.liquidity_tolerance_unit, ("price", "fraction"))
        for name in ("ob_mitigated_at", "fvg_mitigated_at"):
            v = _finite(name, getattr(self, name))
            if not 0.0 < v <= 1.0:
                raise ValueError(f"SmcConfig.{name} must be in (0, 1] (a fill fraction), got {v!r}")
        for name in ("fvg_min_size", "liquidity_tolerance"):
            v = _finite(name, getattr(self, name))
            if v < 0.0:
                raise ValueError(f"SmcConfig.{name} must be >= 0, got {v!r}")

    @property
    def wick_break(self) -> bool:
        return self.break_on == "wick"

    @property
    def body_ob(self) -> bool:
        return self.ob_zone == "body"


def _int_in(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        # ValueError, not TypeError: the issue asks every bad setting to fail the same way
        raise ValueError(f"SmcConfig.{name} must be an int, got {type(value).__name__} {value!r}")  # noqa: TRY004
    if not lo <= value <= hi:
        raise ValueError(f"SmcConfig.{name} must be between {lo} and {hi}, got {value}")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(
            f"SmcConfig.{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
        )


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"SmcConfig.{name} must be a number, got {type(value).__name__} {value!r}")  # noqa: TRY004
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"SmcConfig.{name} must be finite, got {v!r}")
    return v
