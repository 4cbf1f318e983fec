"""The indicator kernels' Python budget is a rate (a leaky bucket), not a lifetime total.

A UI that spends a few thousand Python bars a second must never load numba (~110 MB), however
long it runs; a backtest pouring short windows through a loop must still compile within a
second or so. The clock is a fake one: no sleeps, and nothing here depends on real timing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tradeterm.analysis.indicators import _jit


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _double(x: np.ndarray) -> np.ndarray:
    return x * 2.0


def _machine_code(x: np.ndarray) -> np.ndarray:
    return x * 2.0


class ProbeKernel(_jit.Kernel[Any, np.ndarray]):
    """A kernel whose "compilation" only records that it happened (numba is never imported)."""

    compilations: int

    def compiled(self) -> Callable[..., np.ndarray]:
        if self._compiled is None:
            self.compilations = getattr(self, "compilations", 0) + 1
            self._compiled = _machine_code
        return self._compiled


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_jit, "clock", fake)
    monkeypatch.setattr(_jit, "force_engine", None)
    return fake


def _probe() -> ProbeKernel:
    return ProbeKernel(_double, lambda: (np.ones(3),))


def _calls_until_compiled(
    k: ProbeKernel, clock: FakeClock, bars: int, step_s: float, limit: int
) -> int | None:
    """Call ``k`` on ``bars`` bars every ``step_s`` fake seconds; the call that compiled, if any."""
    x = np.ones(bars)
    for i in range(limit):
        np.testing.assert_array_equal(k(x), x * 2.0)  # same result on either path
        if k._compiled is not None:
            return i
        clock.now += step_s
    return None


def test_a_burst_beyond_the_budget_compiles(clock: FakeClock) -> None:
    k = _probe()
    calls = _jit.PYTHON_BUDGET // 1000
    assert _calls_until_compiled(k, clock, 1000, 0.0, calls) is None  # exactly the budget: Python
    assert _calls_until_compiled(k, clock, 1000, 0.0, 1) == 0  # one bar more: compiled
    assert k.compilations == 1


def test_a_backtest_pace_compiles_within_a_second(clock: FakeClock) -> None:
    """1,000-bar windows at 1M bars a second (Python's own speed): compiled well within 1 s."""
    k = _probe()
    i = _calls_until_compiled(k, clock, 1000, 0.001, 10_000)
    assert i is not None and i * 0.001 <= 1.0


def test_a_ui_pace_never_compiles(clock: FakeClock) -> None:
    """Three 500-bar EMAs per second, then a busier 4,500 bars a second: an hour each, no numba."""
    k = _probe()
    assert _calls_until_compiled(k, clock, 500, 1 / 3, 3 * 3600) is None
    assert _calls_until_compiled(k, clock, 1500, 1 / 3, 3 * 3600) is None
    assert getattr(k, "compilations", 0) == 0


def test_the_bucket_drains_with_time(clock: FakeClock) -> None:
    k = _probe()
    assert _calls_until_compiled(k, clock, 1000, 0.0, _jit.PYTHON_BUDGET // 1000) is None  # full
    clock.now += _jit.PYTHON_BUDGET / _jit.PYTHON_DRAIN  # long enough to drain it all
    assert _calls_until_compiled(k, clock, 1000, 0.0, _jit.PYTHON_BUDGET // 1000) is None
    assert _calls_until_compiled(k, clock, 1000, 0.0, 1) == 0


def test_half_drained_bucket_takes_half_the_budget(clock: FakeClock) -> None:
    k = _probe()
    assert _calls_until_compiled(k, clock, 1000, 0.0, _jit.PYTHON_BUDGET // 1000) is None
    clock.now += _jit.PYTHON_BUDGET / _jit.PYTHON_DRAIN / 2
    half = _jit.PYTHON_BUDGET // 2000
    assert _calls_until_compiled(k, clock, 1000, 0.0, half) is None
    assert _calls_until_compiled(k, clock, 1000, 0.0, 1) == 0


def test_long_inputs_compile_at_once(clock: FakeClock) -> None:
    k = _probe()
    assert _calls_until_compiled(k, clock, _jit.PYTHON_MAX_LEN + 1, 1.0, 1) == 0


def test_force_engine_overrides_the_bucket(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    k = _probe()
    monkeypatch.setattr(_jit, "force_engine", "python")
    assert _calls_until_compiled(k, clock, _jit.PYTHON_MAX_LEN, 0.0, 100) is None
    monkeypatch.setattr(_jit, "force_engine", "numba")
    assert _calls_until_compiled(_probe(), clock, 3, 0.0, 1) == 0


def test_without_numba_an_overflow_stays_python(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TRADETERM_NO_NUMBA`` (or numba missing): the "compiled" loop is the Python one."""
    monkeypatch.setattr(_jit, "_numba_state", False)
    k: _jit.Kernel[Any, np.ndarray] = _jit.Kernel(_double, lambda: (np.ones(3),))
    x = np.ones(1000)
    for _ in range(_jit.PYTHON_BUDGET // 1000 + 1):
        np.testing.assert_array_equal(k(x), x * 2.0)
    assert k._compiled is _double
