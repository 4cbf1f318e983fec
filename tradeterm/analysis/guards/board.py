"""The guard board: every guard evaluated at one instant, folded into one SAFE/BLOCK.

Trading is allowed only when every guard says SAFE. The board keeps each guard's own state (the
UI shows one badge per guard) and the blocking reasons (what the signal queue shows next to a
refused entry). Its ``until_ms`` is when the overall answer can next change: for a BLOCK the
latest end among the blockers (``None`` if any has no end), for a SAFE the earliest scheduled
block.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from tradeterm.analysis.guards.base import Guard, GuardInputs, GuardState, GuardStatus


class BoardState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: GuardStatus
    guards: tuple[GuardState, ...]
    reasons: tuple[str, ...]
    until_ms: int | None

    @property
    def blocked(self) -> bool:
        return self.status is GuardStatus.BLOCK

    def get(self, name: str) -> GuardState:
        for g in self.guards:
            if g.name == name:
                return g
        raise KeyError(f"no guard named {name!r} (have: {', '.join(g.name for g in self.guards)})")


class GuardBoard:
    def __init__(self, guards: Iterable[Guard]) -> None:
        self.guards = tuple(guards)
        names = [g.name for g in self.guards]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"guard names must be unique; repeated: {', '.join(dup)}")
        self._last: BoardState | None = None

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> BoardState:
        states = tuple(g.evaluate(inputs, now_ms) for g in self.guards)
        last = self._last
        if last is not None and all(a is b for a, b in zip(states, last.guards, strict=True)):
            return last  # guards memoise their states: the same objects mean the same board
        self._last = self._fold(states)
        return self._last

    @staticmethod
    def _fold(states: tuple[GuardState, ...]) -> BoardState:
        blockers = [s for s in states if s.status is GuardStatus.BLOCK]
        if blockers:
            ends = [s.until_ms for s in blockers]
            until = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
            return BoardState(
                status=GuardStatus.BLOCK,
                guards=states,
                reasons=tuple(f"{s.name}: {s.reason}" for s in blockers),
                until_ms=until,
            )
        scheduled = [s.until_ms for s in states if s.until_ms is not None]
        return BoardState(
            status=GuardStatus.SAFE,
            guards=states,
            reasons=(),
            until_ms=min(scheduled) if scheduled else None,
        )
