"""A correctly rounded fused multiply-add, ``a * b + c`` with a single rounding.

TA-Lib 0.8 computes its exponential recurrences (EMA, MACD, ATR) with ``fma()``. Doing the
same lands on TA-Lib's exact bits, and — more important for us — it lets the per-candle
classes (plain Python) and the array kernels (numba) produce identical floats, so a live
session and a backtest over the same candles agree to the last bit.

Python 3.11 has no ``math.fma``, so the product is split exactly (Dekker's TwoProduct: ``a*b``
equals ``p + e`` with both terms doubles) and the three terms are added with ``math.fsum``,
which rounds the exact sum once. That is exact whenever the operands and the product stay
within about 1e-290..1e290 in magnitude — every price, volume and indicator value there is.
Outside that range, or for NaN/inf, it returns the plain ``a * b + c``. Inside numba kernels
:func:`fma` is replaced by the LLVM ``llvm.fma`` intrinsic (one ``vfmadd`` instruction on any
x86 CPU since 2013); see :mod:`._jit`.
"""

from __future__ import annotations

from math import fsum

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's splitter for 53-bit doubles
_HUGE = 1e290
_TINY = 1e-290


def fma(a: float, b: float, c: float) -> float:
    """Return ``a * b + c`` rounded once (see the module notes for the exact range)."""
    p = a * b
    if not (_TINY < abs(p) < _HUGE and abs(a) < _HUGE and abs(b) < _HUGE and abs(c) < _HUGE):
        return p + c
    t = _SPLIT * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    t = _SPLIT * b
    b_hi = t - (t - b)
    b_lo = b - b_hi
    err = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return fsum((p, err, c))
