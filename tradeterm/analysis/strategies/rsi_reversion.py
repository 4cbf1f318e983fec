"""``rsi_reversion``: fade an RSI extreme once it starts to unwind.

BUY when RSI comes back up through ``oversold`` (it was below on the previous bar), SELL when it
comes back down through ``overbought``. Waiting for the cross back, rather than buying the first
oversold print, avoids catching the middle of a crash. Stop ``stop_atr`` ATRs beyond the lowest
low (highest high) of the excursion; targets are short (mean reversion rarely runs far).
Score: how deep the excursion went (full at ``depth_full`` RSI points beyond the threshold),
halved when the regime trends against the trade (``with_regime`` makes that a hard filter).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from tradeterm.analysis.indicators import AtrState, RsiState
from tradeterm.analysis.strategies.base import Context, RMultiples, StrategyParams
from tradeterm.analysis.strategies.signals import make_signal
from tradeterm.contracts import Side, SignalRawV1, Trend


class RsiReversionParams(StrategyParams):
    period: int = Field(default=14, ge=2, le=100_000)
    oversold: float = Field(default=30.0, gt=0.0, lt=100.0)
    overbought: float = Field(default=70.0, gt=0.0, lt=100.0)
    depth_full: float = Field(default=10.0, gt=0.0)
    atr_period: int = Field(default=14, ge=1, le=100_000)
    stop_atr: float = Field(default=1.0, ge=0.0)
    with_regime: bool = False
    take_profits_r: RMultiples = (1.0, 1.5, 2.0)
    ttl_bars: int = Field(default=3, ge=1, le=10_000)

    @model_validator(mode="after")
    def _band(self) -> RsiReversionParams:
        if self.oversold >= self.overbought:
            raise ValueError(
                f"oversold ({self.oversold}) must be below overbought ({self.overbought})"
            )
        return self


class RsiReversion:
    name: ClassVar[str] = "rsi_reversion"
    Params: ClassVar[type[StrategyParams]] = RsiReversionParams

    def __init__(self, params: RsiReversionParams | None = None) -> None:
        self.params = p = params or RsiReversionParams()
        self._rsi = RsiState(p.period)
        self._atr = AtrState(p.atr_period)
        self._prev: float | None = None
        # the current excursion beyond a threshold: -1 oversold, +1 overbought, 0 none; its most
        # extreme RSI and price so far
        self._side = 0
        self._ext_rsi = 0.0
        self._ext_price = 0.0

    def on_bar(self, ctx: Context) -> list[SignalRawV1]:
        p, b = self.params, ctx.bar
        rsi = self._rsi.update(b.close)
        atr = self._atr.update(b.high, b.low, b.close)
        prev, self._prev = self._prev, rsi
        if rsi is None:
            return []
        side = None
        if prev is not None and self._side == -1 and prev < p.oversold <= rsi:
            side = Side.BUY
        elif prev is not None and self._side == 1 and prev > p.overbought >= rsi:
            side = Side.SELL
        ext_rsi, ext_price = self._ext_rsi, self._ext_price  # the excursion up to the last bar
        self._track(rsi, b.low, b.high)
        if side is None or atr is None:
            return []
        bull = side is Side.BUY
        trend = ctx.regime.trend if ctx.regime is not None else None
        against = trend is (Trend.DOWN if bull else Trend.UP)
        if against and p.with_regime:
            return []
        depth = (p.oversold - ext_rsi) if bull else (ext_rsi - p.overbought)
        score = min(1.0, max(0.0, depth) / p.depth_full) * (0.5 if against else 1.0)
        extreme = min(ext_price, b.low) if bull else max(ext_price, b.high)
        stop = extreme - p.stop_atr * atr if bull else extreme + p.stop_atr * atr
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
                (
                    f"RSI{p.period} back {'above' if bull else 'below'} "
                    f"{p.oversold if bull else p.overbought:g} from {ext_rsi:.1f}"
                ),
                f"regime trend {trend.value if trend else 'unknown'}",
            ],
        )
        return [sig] if sig is not None else []

    def _track(self, rsi: float, low: float, high: float) -> None:
        p = self.params
        if rsi < p.oversold:
            if self._side != -1:
                self._side, self._ext_rsi, self._ext_price = -1, rsi, low
            else:
                self._ext_rsi, self._ext_price = min(self._ext_rsi, rsi), min(self._ext_price, low)
        elif rsi > p.overbought:
            if self._side != 1:
                self._side, self._ext_rsi, self._ext_price = 1, rsi, high
            else:
                self._ext_rsi, self._ext_price = max(self._ext_rsi, rsi), max(self._ext_price, high)
        else:
            self._side = 0
