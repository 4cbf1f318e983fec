"""Two clocks, on purpose.

* The **server clock** is wall time (plus an injected skew). It answers ``/api/v3/time`` and judges
  ``timestamp``/``recvWindow``, because real clients sign with their wall clock and would be
  rejected by a clock that says 2023.
* The **replay clock** is market time: it says which candle is forming. At ``speed`` S one wall
  second is S market seconds; ``speed=max`` (``None``) never moves by itself — the feed advances it
  as fast as stream consumers drain, and tests step it explicitly, which keeps them deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tradeterm.errors import UserError


def parse_speed(text: str | float | None) -> float | None:
    """``"max"`` → None; ``"60"`` → 60.0. Why a parser here: the CLI and config share it."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        t = text.strip().lower()
        if t == "max":
            return None
        try:
            value = float(t)
        except ValueError:
            raise UserError(f"--speed must be a positive number or 'max', not {text!r}") from None
    if not value > 0:
        raise UserError(f"--speed must be a positive number or 'max', not {text!r}")
    return value


class ServerClock:
    """Wall time in ms with an adjustable skew (fault injection moves it)."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self.skew_ms = 0

    def now_ms(self) -> int:
        return int(self._wall() * 1000) + self.skew_ms


class ReplayClock:
    """Market time of the replay; never runs backwards."""

    def __init__(self, start_ms: int, speed: float | None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._mono = monotonic
        self.speed = speed
        self._anchor_market = start_ms
        self._anchor_wall = monotonic()
        self.paused = False

    @property
    def is_max(self) -> bool:
        return self.speed is None

    def now_ms(self) -> int:
        if self.paused or self.speed is None:
            return self._anchor_market
        return self._anchor_market + int((self._mono() - self._anchor_wall) * 1000 * self.speed)

    def advance_to(self, t_ms: int) -> None:
        """Move market time forward (max speed, manual stepping); earlier targets are ignored."""
        now = self.now_ms()
        self._anchor_market = max(now, t_ms)
        self._anchor_wall = self._mono()

    def pause(self) -> None:
        self._anchor_market = self.now_ms()
        self._anchor_wall = self._mono()
        self.paused = True

    def resume(self) -> None:
        self._anchor_wall = self._mono()
        self.paused = False

    def set_speed(self, speed: float | None) -> None:
        self._anchor_market = self.now_ms()
        self._anchor_wall = self._mono()
        self.speed = speed
