"""``smc_retest``: trade retests of order blocks and gaps after a break of structure.

The strategy is a thin adapter: the rules live in :mod:`tradeterm.analysis.retest.rules` and the
bookkeeping in :class:`~tradeterm.analysis.retest.RetestAnalyser`, which the live pipeline and
backtests share through this class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from tradeterm.analysis.retest import RetestAnalyser, RetestConfig
from tradeterm.analysis.strategies.base import Context, StrategyParams
from tradeterm.contracts import SignalRawV1, SmcEventV1, ZoneV1


class SmcRetest:
    name: ClassVar[str] = "smc_retest"
    Params: ClassVar[type[StrategyParams]] = RetestConfig

    def __init__(self, params: RetestConfig | None = None) -> None:
        self.params = params or RetestConfig()
        self._analyser: RetestAnalyser | None = None
        self._names: tuple[str, str, str, str] | None = None

    def on_bar(self, ctx: Context) -> list[SignalRawV1]:
        a = self._analyser
        if a is None:
            self._names = _shared_names(self.params, ctx)
            a = self._analyser = RetestAnalyser(
                ctx.stream,
                self.params,
                strategy=self.name,
                shared_indicators=self._names is not None,
            )
        b = ctx.bar
        events: Sequence[SmcEventV1 | ZoneV1] = (
            [*ctx.smc_events, *ctx.zone_events] if ctx.zone_events else ctx.smc_events
        )
        values = None
        if self._names is not None:
            f = ctx.features
            values = tuple(f.get(n) for n in self._names)
        return a.update(
            b.open_time,
            b.close_time,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            events,
            values,  # type: ignore[arg-type]
        )


def _shared_names(p: RetestConfig, ctx: Context) -> tuple[str, str, str, str] | None:
    """Feature names to reuse when the pipeline's indicators have exactly this strategy's
    periods (decided once, on the first bar, so a stream never mixes the two sources)."""
    ind = ctx.indicators
    if ind is None:
        return None
    if (
        p.ema_period in ind.ema_periods
        and p.rsi_period == ind.rsi_period
        and (p.macd_fast, p.macd_slow, p.macd_signal) == tuple(ind.macd_periods)
        and p.atr_period == ind.atr_period
    ):
        return (f"ema_{p.ema_period}", "macd_hist", f"rsi_{p.rsi_period}", f"atr_{p.atr_period}")
    return None
