"""Lazy numba compilation of the indicator loops.

Recursive filters (EMA, Wilder smoothing) cannot be vectorised in numpy without costing
5-15x TA-Lib; a compiled loop matches it. But numba is expensive to start: ~0.2 s to import,
~0.2 s more to initialise on the first compiled call even with every loop in its on-disk
cache, and ~0.5-3 s per loop to compile on a fresh install. A TUI drawing its first 1,000
candles should pay none of that.

So each loop is written once, as plain Python in the subset numba compiles, and wrapped in a
:class:`Kernel`:

* once compiled, every call goes to machine code;
* before that, inputs of up to :data:`PYTHON_MAX_LEN` bars run the plain Python loop
  (~1 µs a bar: ~20 ms for the whole indicator set at 1,000 bars) and do not touch numba —
  as long as the loop's *recent* Python work stays small. Each loop keeps a leaky bucket:
  every Python call pours its bars in, and the bucket drains at :data:`PYTHON_DRAIN` bars a
  second; a call that would overflow :data:`PYTHON_BUDGET` compiles instead. A backtest
  calling a loop on thousands of short windows (~1M bars a second) fills it in well under a
  second and compiles; a UI or daemon that spends a few thousand bars a second (a 500-bar
  chart rebuild per closed candle) never does, however long it runs. A lifetime total would
  not tell those apart: a TUI used to cross it within minutes and load numba (~110 MB of
  resident memory for LLVM and the compiled loops) for work Python does in ~5 ms a second;
* otherwise the call imports numba and compiles (``cache=True``: later processes load the
  machine code from disk instead, ~0.2-0.5 s for numba's own start-up plus ms per loop).

:func:`warm_up` compiles every loop ahead of time, e.g. in a background thread at start-up,
for a process that knows it will need machine code (a backtest, a scanner over many symbols)
and wants no compilation on its hot path. A UI should not: at its pace the Python loops cost
less than numba's memory.
Without numba — not installed, or ``TRADETERM_NO_NUMBA=1`` — the Python loops serve every
call. Both paths give identical bits: the loops use no numba-only semantics and
:func:`._fma.fma` is exact in both.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

from tradeterm.analysis.indicators._fma import fma

PYTHON_MAX_LEN = 2_500
"""Inputs up to this many bars run as plain Python until the loop has been compiled ..."""
PYTHON_BUDGET = 50_000
"""... as long as the loop's leaky bucket of recent Python bars stays within this many: a
burst of ~50 ms of Python work (at ~1 µs a bar) before a backtest-like caller compiles ..."""
PYTHON_DRAIN = 5_000.0
"""... bars a second that leak out of the bucket: a caller that stays below this rate (at most
~5 ms of Python a second, 0.5 % of a core, per loop) never compiles — e.g. 50,000 bars within
~10 s. Against that, numba costs ~0.4 s of CPU once and ~110 MB for good."""

clock: Callable[[], float] = time.monotonic
"""The bucket's clock in seconds (tests swap in a fake one)."""

force_engine: str | None = None
"""``"python"`` or ``"numba"`` pins every call to one path (tests, benchmarks); ``None`` = auto."""

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.RLock()
_numba_state: bool | None = None  # None: not probed yet
_REGISTRY: list[Kernel[Any, Any]] = []


def numba_enabled() -> bool:
    """True if loops are (or will be) compiled; imports and sets numba up on first use."""
    global _numba_state
    if _numba_state is None:
        with _lock:
            if _numba_state is None:
                _numba_state = _setup_numba()
    return _numba_state


def _setup_numba() -> bool:
    if os.environ.get("TRADETERM_NO_NUMBA", "").strip() not in ("", "0"):
        return False
    try:
        from numba import types
        from numba.extending import intrinsic, overload
    except ImportError:
        return False

    @intrinsic
    def _llvm_fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
        sig = types.float64(types.float64, types.float64, types.float64)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.fma(*args)  # llvm.fma.f64: one rounding, vfmadd where the CPU has it

        return sig, codegen

    # numba compares this signature with the lambda's, annotations included: keep it bare.
    @overload(fma)
    def _fma_overload(a, b, c):  # type: ignore[no-untyped-def]
        if all(isinstance(t, types.Float) for t in (a, b, c)):
            return lambda a, b, c: _llvm_fma(float(a), float(b), float(c))  # type: ignore[call-arg]
        return None

    return True


class Kernel(Generic[P, R]):
    """A numba-compatible Python loop that compiles itself when worth it (see module notes).

    The first positional argument must be an array whose length is the input size.
    """

    __slots__ = ("_compiled", "_python_at", "_python_bars", "py_func", "sample")

    def __init__(self, py_func: Callable[P, R], sample: Callable[[], tuple[Any, ...]]) -> None:
        self.py_func = py_func
        self.sample = sample
        self._compiled: Callable[P, R] | None = None
        self._python_bars = 0.0  # the bucket's level at ``_python_at`` (bars)
        self._python_at = 0.0

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        engine = force_engine
        if engine is None:
            fn = self._compiled
            if fn is not None:
                return fn(*args, **kwargs)
            n = len(args[0])  # type: ignore[arg-type]
            if n <= PYTHON_MAX_LEN and self._pour(n):
                return self.py_func(*args, **kwargs)
        elif engine == "python":
            return self.py_func(*args, **kwargs)
        return self.compiled()(*args, **kwargs)

    def _pour(self, n: int) -> bool:
        """Add ``n`` Python bars to the leaky bucket; False (nothing added) if it would overflow.

        Not locked: two threads racing here can only misjudge the level by one call's bars."""
        now = clock()
        drained = max(0.0, now - self._python_at) * PYTHON_DRAIN
        level = max(0.0, self._python_bars - drained)
        self._python_at = now
        if level + n > PYTHON_BUDGET:
            self._python_bars = level
            return False
        self._python_bars = level + n
        return True

    def compiled(self) -> Callable[P, R]:
        """The compiled loop (compiling or loading it from cache now), or the Python one if
        numba is unavailable."""
        if self._compiled is None:
            with _lock:
                if self._compiled is None:
                    if numba_enabled():
                        import numba

                        fn = numba.njit(cache=True, nogil=True, error_model="numpy")(self.py_func)
                        fn(*self.sample())  # type: ignore[call-arg]  # compile or load now, not mid-call
                        self._compiled = fn
                    else:
                        self._compiled = self.py_func
        return self._compiled


def kernel(sample: Callable[[], tuple[Any, ...]]) -> Callable[[Callable[P, R]], Kernel[P, R]]:
    """Decorator: register a loop as a lazily compiled :class:`Kernel`.

    ``sample`` returns arguments of the exact types production calls use, so that
    :func:`warm_up` compiles the one specialisation that will be needed.
    """

    def wrap(py_func: Callable[P, R]) -> Kernel[P, R]:
        k = Kernel(py_func, sample)
        _REGISTRY.append(k)
        return k

    return wrap


def warm_up(background: bool = True) -> threading.Thread | None:
    """Compile (or load from numba's cache) every registered loop now.

    With ``background=True`` this runs in a daemon thread and returns it, so a UI can start
    while numba initialises; calls made meanwhile still work (small inputs run as Python).
    """

    def run() -> None:
        for k in _REGISTRY:
            k.compiled()

    if not background:
        run()
        return None
    thread = threading.Thread(target=run, name="tradeterm-numba-warm-up", daemon=True)
    thread.start()
    return thread
