"""``sma_cross``: the classic moving-average crossover, as a baseline to judge the others by.

BUY when the fast SMA closes above the slow one after being at or below it on the previous bar;
SELL on the opposite cross. Entry at the crossing bar's close, stop ``stop_atr`` ATRs away.
Score: how decisively the averages crossed (the change of their gap, in ATRs; full at
``0.5`` ATR) blended with whether the regime's trend agrees (half the score), because a cross
against the prevailing trend is the usual whipsaw.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from tradeterm.analysis.indicators import AtrState, SmaState
from tradeterm.analysis.strategies.base import Context, StrategyParams
from tradeterm.analysis.strategies.signals import make_signal
from tradeterm.contracts import Side, SignalRawV1, Trend


class SmaCrossParams(StrategyParams):
    fast: int = Field(default=20, ge=1, le=100_000)
    slow: int = Field(default=50, ge=2, le=100_000)
    atr_period: int = Field(default=14, ge=1, le=100_000)
    stop_atr: float = Field(default=2.0, gt=0.0)

    @model_validator(mode="after")
    def _order(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
        return self


class SmaCross:
    name: ClassVar[str] = "sma_cross"
    Params: ClassVar[type[StrategyParams]] = SmaCrossParams

    def __init__(self, params: SmaCrossParams | None = None) -> None:
        self.params = p = params or SmaCrossParams()
        self._fast = SmaState(p.fast)
        self._slow = SmaState(p.slow)
        self._atr = AtrState(p.atr_period)
        self._prev_gap: float | None = None

    def on_bar(self, ctx: Context) -> list[SignalRawV1]:
        p, b = self.params, ctx.bar
        fast, slow = self._fast.update(b.close), self._slow.update(b.close)
        atr = self._atr.update(b.high, b.low, b.close)
        gap = None if fast is None or slow is None else fast - slow
        prev, self._prev_gap = self._prev_gap, gap
        if gap is None or prev is None or atr is None or atr <= 0.0:
            return []
        if prev <= 0.0 < gap:
            side = Side.BUY
        elif prev >= 0.0 > gap:
            side = Side.SELL
        else:
            return []
        bull = side is Side.BUY
        decisive = min(1.0, abs(gap - prev) / (0.5 * atr))
        trend = ctx.regime.trend if ctx.regime is not None else None
        agrees = trend is (Trend.UP if bull else Trend.DOWN)
        score = 0.5 * decisive + (0.5 if agrees else 0.25 if trend is Trend.FLAT else 0.0)
        stop = b.close - p.stop_atr * atr if bull else b.close + p.stop_atr * atr
        sig = make_signal(
            ctx.stream,
            self.name,
            side,
            time=b.open_time,
            confirmed_at=b.close_time,
            entry=b.close,
            stop=stop,
            take_profits_r=p.take_profits_r,
            score=score,
            ttl_bars=p.ttl_bars,
            reasons=[
                f"SMA{p.fast} crossed {'above' if bull else 'below'} SMA{p.slow}",
                f"gap moved {abs(gap - prev) / atr:.2f} ATR",
                f"regime trend {trend.value if trend else 'unknown'}",
            ],
        )
        return [sig] if sig is not None else []
