"""Exact step arithmetic on Decimals.

Rounding a price to a tick or a quantity to a step must be exact whatever the magnitudes:
``Decimal.__mod__`` and ``quantize`` obey the 28-digit context and raise or round on large
quantities with many decimals (maxQty 92233720368.54775807 has 19 digits before any product).
So every operation here scales the operands to integers and uses Python's unbounded ``int``.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from typing import Literal

Direction = Literal["down", "up"]

ZERO = Decimal(0)


def to_decimal(value: Decimal | str | float, *, name: str = "value") -> Decimal:
    """Accept the forms a user or a payload gives; floats go through ``repr`` so 0.1 stays 0.1."""
    # ValueError, not TypeError, throughout: pydantic validators turn only ValueError into a
    # field error a user sees.
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, not a boolean")  # noqa: TRY004
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number")
        d = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"{name} {value!r} is not a number") from None
    else:
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")  # noqa: TRY004
    if not d.is_finite():
        raise ValueError(f"{name} must be a finite number")
    return d


def _scale(*values: Decimal) -> int:
    return max(0, *(-int(v.as_tuple().exponent) for v in values))


def _to_int(value: Decimal, scale: int) -> int:
    """``value × 10**scale`` as an exact int. Through the exact ratio (C code, unbounded ints):
    several times faster than rebuilding the coefficient from ``as_tuple``'s digits."""
    num, den = value.as_integer_ratio()
    n, rest = divmod(num * 10**scale, den)
    assert rest == 0, "scale must cover every decimal of the value"
    return n


def _from_int(n: int, scale: int) -> Decimal:
    # Parsing a string is exact whatever the context (same sign, digits and exponent as
    # building the tuple), and several times faster.
    return Decimal(f"{n}E{-scale}")


def fmt(value: Decimal | None) -> str:
    """Plain decimal text without exponent or trailing zeros, for messages a human reads."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def decimals(value: Decimal) -> int:
    """Decimal places that carry information (``1.2300`` has 2, ``100`` has 0)."""
    if value == 0:
        return 0
    return max(0, -int(value.normalize().as_tuple().exponent))


def step_scale(step: Decimal) -> int:
    """Decimal places a multiple of ``step`` needs: the form results are written in."""
    return decimals(step)


def round_to_step(value: Decimal, step: Decimal, direction: Direction) -> Decimal:
    """The nearest multiple of ``step`` below (``down``) or above (``up``) ``value``, exactly.

    A zero step means "no rule" (Binance disables a sub-rule with 0) and returns the value as is.
    The result is written with the step's decimals (``0.123`` for a step of ``0.00100000``) so
    it prints the way Binance accepts it.
    """
    if step < 0:
        raise ValueError(f"step {step} is negative")
    if step == 0:
        return value
    scale = _scale(value, step)
    v, s = _to_int(value, scale), _to_int(step, scale)
    q = v // s if direction == "down" else -((-v) // s)
    n = q * s
    out_scale = step_scale(step)
    return _from_int(n // 10 ** (scale - out_scale), out_scale)


def floor_quotient_to_step(numerator: Decimal, denominator: Decimal, step: Decimal) -> Decimal:
    """``numerator / denominator`` rounded down to ``step``, exactly.

    A plain Decimal division rounds to 28 digits first, and a quotient a hair under a step
    boundary can round up onto it; sizing must never round a quantity up, so this divides in
    integers. A zero step returns the 28-digit quotient truncated toward zero.
    """
    if denominator <= 0:
        raise ValueError(f"denominator {denominator} must be positive")
    if step == 0:
        with localcontext() as ctx:
            ctx.prec = 60
            ctx.rounding = ROUND_DOWN
            return (numerator / denominator).quantize(Decimal(1).scaleb(-18))
    scale = _scale(numerator, denominator, step)
    n, d, s = (_to_int(x, scale) for x in (numerator, denominator, step))
    q = (n * 10**scale) // (d * s)
    out_scale = step_scale(step)
    return _from_int(q * _to_int(step, out_scale), out_scale)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """``value % step == 0`` exactly; a zero step is a disabled rule and always passes."""
    if step == 0:
        return True
    # value/step = (a/b)/(c/d) is whole iff b·c divides a·d: exact, no common scale needed.
    a, b = value.as_integer_ratio()
    c, d = step.as_integer_ratio()
    return (a * d) % (b * c) == 0


def lcm_step(a: Decimal, b: Decimal) -> Decimal:
    """The smallest positive step that is a multiple of both (zero = rule off, ignored)."""
    if a == 0:
        return b
    if b == 0:
        return a
    scale = _scale(a, b)
    x, y = _to_int(a, scale), _to_int(b, scale)
    return _from_int(x * y // math.gcd(x, y), scale).normalize()


def split_exact(total: Decimal, weights: list[Decimal], step: Decimal) -> list[Decimal]:
    """Split ``total`` (a multiple of ``step``) in proportion to ``weights``; the parts are step
    multiples and add up to ``total`` exactly.

    Largest-remainder (Hamilton) apportionment: floor every share, then hand the leftover steps
    to the shares that lost the most in flooring, earlier shares first on ties. That keeps each
    part within one step of its exact share, which proportional rounding alone cannot promise.
    """
    if not weights:
        return []
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    if step == 0:
        # No step rule: exact decimal shares, the last one takes the (decimal) remainder.
        wsum = sum(weights)
        parts = [total * w / wsum for w in weights[:-1]]
        return [*parts, total - sum(parts)]
    if not is_multiple(total, step):
        raise ValueError(f"total {total} is not a multiple of step {step}")
    scale = _scale(total, step, *weights)
    units = _to_int(total, scale) // _to_int(step, scale)
    w_int = [_to_int(w, scale) for w in weights]
    w_sum = sum(w_int)
    floors = [units * w // w_sum for w in w_int]
    remainders = [units * w % w_sum for w in w_int]
    leftover = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    out_scale = step_scale(step)
    s = _to_int(step, out_scale)
    return [_from_int(n * s, out_scale) for n in floors]
