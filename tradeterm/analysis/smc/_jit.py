"""Kernels as plain Python, with numba twins compiled (or loaded from cache) on demand.

Every kernel is written once, as plain Python over numpy arrays, and marked ``@kernel``. Called
directly it runs as Python: no numba import (~0.25 s) and no cache load (~0.25 s more), which
is what a chart of a few thousand bars wants at start-up. :func:`jitted` returns its numba twin;
the first request imports numba and builds twins of every registered kernel, each bound to a
copy of its module's globals in which the other kernels are replaced by their twins (numba
resolves callees from globals at compile time, and a compiled kernel can only call compiled
ones). The twins share the originals' code objects, so numba's on-disk cache (``cache=True``)
keys them by the same file, name and line, and a fresh process loads instead of recompiling.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_KERNELS: list[types.FunctionType] = []
_TWINS: dict[int, Callable[..., Any]] | None = None


def kernel(fn: F) -> F:
    """Register a kernel; it stays an ordinary Python function."""
    assert isinstance(fn, types.FunctionType)
    _KERNELS.append(fn)
    return fn


def numba_available() -> bool:
    """numba is installed and not switched off with ``TRADETERM_NO_NUMBA=1`` (checked without
    importing it)."""
    if os.environ.get("TRADETERM_NO_NUMBA", "").strip() not in ("", "0"):
        return False
    return "numba" in sys.modules or importlib.util.find_spec("numba") is not None


def numba_loaded() -> bool:
    """Someone already paid for ``import numba`` in this process."""
    return "numba" in sys.modules


def jitted(fn: F) -> F:
    """The numba-compiled twin of a registered kernel."""
    global _TWINS
    if _TWINS is None or id(fn) not in _TWINS:
        _TWINS = _build_twins()
    return _TWINS[id(fn)]  # type: ignore[return-value]


def _build_twins() -> dict[int, Callable[..., Any]]:
    import numba

    twins: dict[int, Callable[..., Any]] = {}
    scopes: dict[str, dict[str, Any]] = {}
    for fn in _KERNELS:
        scope = scopes.setdefault(fn.__module__, dict(fn.__globals__))
        clone = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
        clone.__qualname__ = fn.__qualname__
        clone.__module__ = fn.__module__
        clone.__doc__ = fn.__doc__
        twins[id(fn)] = numba.njit(cache=True, nogil=True)(clone)
    for scope in scopes.values():
        for name, value in list(scope.items()):
            if isinstance(value, types.FunctionType) and id(value) in twins:
                scope[name] = twins[id(value)]
    return twins
