"""``fib_rsi``: buy the Fibonacci pullback of the last confirmed swing, once RSI turns.

The *leg* is the move between the last confirmed swing low and swing high (from the SMC
swings, so it is only known ``swing_right`` bars after its end — no hindsight pivots). If the
high is the newer of the two the leg is up and a pullback into its retracement zone
``[entry_from, entry_to]`` (default 0.5-0.786, the golden pocket inside) is a BUY candidate;
a down leg mirrors it into a SELL.

A bar triggers when its wick reaches the zone, it does not close beyond the zone's deep edge,
and RSI confirms: it dipped to ``rsi_level`` or below within the last ``rsi_lookback`` bars
(a real pullback, not a drift) and rises on this bar. Legs shorter than ``min_leg_atr`` ATRs
are ignored, a close beyond the leg's origin kills the leg, and each leg trades once.

Stop at the ``stop_fib`` retracement (1.0 = the leg's origin, where the idea is plainly wrong)
plus ``atr_buffer`` ATRs. Score: how close the touch came to 0.618 (0.4), how deep RSI dipped
(0.3), and whether the regime trend agrees with the leg (0.3).
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from pydantic import Field, model_validator

from tradeterm.analysis.indicators import AtrState, RsiState
from tradeterm.analysis.strategies.base import Context, StrategyParams
from tradeterm.analysis.strategies.signals import make_signal
from tradeterm.contracts import Side, SignalRawV1, SmcEventKind, Trend

_GOLDEN = 0.618


class FibRsiParams(StrategyParams):
    entry_from: float = Field(default=0.5, gt=0.0, lt=1.0)
    entry_to: float = Field(default=0.786, gt=0.0, lt=1.0)
    stop_fib: float = Field(default=1.0, gt=0.0, le=2.0)
    atr_buffer: float = Field(default=0.25, ge=0.0)
    atr_period: int = Field(default=14, ge=1, le=100_000)
    min_leg_atr: float = Field(default=3.0, ge=0.0)
    rsi_period: int = Field(default=14, ge=2, le=100_000)
    rsi_level: float = Field(default=45.0, gt=0.0, lt=100.0)
    rsi_lookback: int = Field(default=3, ge=1, le=1000)

    @model_validator(mode="after")
    def _levels(self) -> FibRsiParams:
        if not self.entry_from < self.entry_to < self.stop_fib:
            raise ValueError(
                f"need entry_from < entry_to < stop_fib, got {self.entry_from}, {self.entry_to}, {self.stop_fib}"
            )
        return self


class FibRsi:
    name: ClassVar[str] = "fib_rsi"
    Params: ClassVar[type[StrategyParams]] = FibRsiParams

    def __init__(self, params: FibRsiParams | None = None) -> None:
        self.params = p = params or FibRsiParams()
        self._atr = AtrState(p.atr_period)
        self._rsi = RsiState(p.rsi_period)
        self._recent_rsi: deque[float] = deque(maxlen=p.rsi_lookback)
        self._prev_rsi: float | None = None
        self._high: tuple[int, float] | None = None  # (time, price) of the last swing high
        self._low: tuple[int, float] | None = None
        self._spent: tuple[int, int] | None = None  # the leg that already traded or died

    def on_bar(self, ctx: Context) -> list[SignalRawV1]:
        p, b = self.params, ctx.bar
        atr = self._atr.update(b.high, b.low, b.close)
        rsi = self._rsi.update(b.close)
        prev_rsi, self._prev_rsi = self._prev_rsi, rsi
        if rsi is not None:
            self._recent_rsi.append(rsi)
        for ev in ctx.smc_events:
            if ev.kind is SmcEventKind.SWING_HIGH:
                self._high = (ev.time, ev.price)
            elif ev.kind is SmcEventKind.SWING_LOW:
                self._low = (ev.time, ev.price)
        hi, lo = self._high, self._low
        if hi is None or lo is None or atr is None or rsi is None or prev_rsi is None:
            return []
        leg = (lo[0], hi[0])
        if leg == self._spent:
            return []
        bull = hi[0] > lo[0]
        # bull-normalised: origin below, extreme above; a down leg is mirrored by negation
        origin, extreme = (lo[1], hi[1]) if bull else (-hi[1], -lo[1])
        low_n, close_n = (b.low, b.close) if bull else (-b.high, -b.close)
        size = extreme - origin
        if size <= 0.0 or size < p.min_leg_atr * atr:
            return []
        if close_n < origin:  # the whole leg is retraced: it no longer means anything
            self._spent = leg
            return []
        upper = extreme - p.entry_from * size
        deep = extreme - p.entry_to * size
        if not (low_n <= upper and close_n >= deep):
            return []
        rsi_n = rsi if bull else 100.0 - rsi
        prev_n = prev_rsi if bull else 100.0 - prev_rsi
        dip = min(self._recent_rsi) if bull else 100.0 - max(self._recent_rsi)
        if not (dip <= p.rsi_level and rsi_n > prev_n):
            return []
        stop_n = extreme - p.stop_fib * size - p.atr_buffer * atr
        reached = (extreme - low_n) / size
        trend = ctx.regime.trend if ctx.regime is not None else None
        agrees = trend is (Trend.UP if bull else Trend.DOWN)
        score = (
            0.4 * max(0.0, 1.0 - abs(min(reached, p.entry_to) - _GOLDEN) / 0.3)
            + 0.3 * min(1.0, max(0.0, p.rsi_level - dip) / 15.0)
            + (0.3 if agrees else 0.1 if trend is Trend.FLAT else 0.0)
        )
        side = Side.BUY if bull else Side.SELL
        risk = close_n - stop_n
        target_r = (extreme - close_n) / risk if risk > 0 else 0.0
        sig = make_signal(
            ctx.stream,
            self.name,
            side,
            time=b.open_time,
            confirmed_at=b.close_time,
            entry=b.close,
            stop=stop_n if bull else -stop_n,
            take_profits_r=p.take_profits_r,
            score=score,
            ttl_bars=p.ttl_bars,
            reasons=[
                f"{'up' if bull else 'down'} leg {lo[1]:.10g}-{hi[1]:.10g} retraced to {reached:.3f}",
                f"RSI dipped to {dip:.1f} and turned up"
                if bull
                else f"RSI rose to {100.0 - dip:.1f} and turned down",
                f"swing {'high' if bull else 'low'} is {target_r:.2f}R away",
                f"regime trend {trend.value if trend else 'unknown'}",
            ],
        )
        if sig is None:
            return []
        self._spent = leg
        return [sig]
