"""Argument checks shared by the indicator functions and classes.

They run once per call (never per bar), so they may be thorough: a wrong period or a
mis-shaped array caught here is a clear ``ValueError`` instead of a silent all-NaN output
or a crash deep inside a compiled loop.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

MAX_PERIOD = 100_000
"""TA-Lib's upper bound for every period parameter; kept so both libraries accept the same inputs."""


def check_period(name: str, value: object, minimum: int, maximum: int = MAX_PERIOD) -> int:
    """Return ``value`` as an int if it is an integer in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")  # noqa: TRY004 (API: ValueError)
    period = int(value)
    if not minimum <= period <= maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum}, got {period}")
    return period


def check_factor(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number (band widths, multipliers)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")  # noqa: TRY004
    factor = float(value)
    if not math.isfinite(factor):
        raise ValueError(f"{name} must be finite, got {factor}")
    return factor


def as_series(name: str, values: object) -> np.ndarray:
    """Coerce to a contiguous 1-D float64 array; a float64 array passes through uncopied."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def as_times(name: str, values: object) -> np.ndarray:
    """Coerce epoch-millisecond times to a contiguous 1-D int64 array.

    Floats are accepted only when every value is a whole number, because CSV loaders often
    hand over float columns; anything fractional is a unit mistake (seconds, µs) or garbage.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return np.ascontiguousarray(arr, dtype=np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.floor(arr)):
            raise ValueError(f"{name} must hold whole epoch milliseconds")
        return np.ascontiguousarray(arr, dtype=np.int64)
    raise ValueError(f"{name} must be integer epoch milliseconds, got dtype {arr.dtype}")


def check_same_length(**arrays: np.ndarray) -> int:
    """Return the common length, or name the arrays that disagree."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"input arrays must have the same length, got {detail}")
    return next(iter(lengths.values()))
