"""UI tests: chart renderer, view model, widget (Pilot), snapshots, themes.

Shared builders live here because the chart's test modules all need the same small frames,
the same deterministic synthetic chart and the same one-widget test app.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from textual.app import App, ComposeResult

from tradeterm.analysis.smc import SmcConfig, analyze
from tradeterm.market.frame import CandleFrame
from tradeterm.market.synthetic import SyntheticMarket
from tradeterm.ui.theme import builtin_theme_dir, load_themes, register_themes
from tradeterm.ui.widgets.chart import (
    ChartData,
    ChartWidget,
    ViewState,
    chart_data,
    indicator_series,
)

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MIN = 60_000


def small_frame(
    ohlc: Sequence[tuple[float, float, float, float]],
    volume: Sequence[float] | None = None,
    tf: str = "1m",
    symbol: str = "TEST",
) -> CandleFrame:
    """Candles from (open, high, low, close) rows, one ``tf`` apart from 2024-01-01 00:00 UTC."""
    a = np.asarray(ohlc, dtype=np.float64).reshape(-1, 4)
    n = a.shape[0]
    step = {"1m": MIN, "1h": 60 * MIN, "1d": 1440 * MIN}[tf]
    v = np.ones(n) if volume is None else np.asarray(volume, dtype=np.float64)
    return CandleFrame.from_columns(
        symbol, tf, T0 + step * np.arange(n), a[:, 0], a[:, 1], a[:, 2], a[:, 3], v
    )


def three_candles() -> CandleFrame:
    """An up candle, a down candle and a doji."""
    return small_frame([(3, 9, 1, 7), (8.5, 9.5, 2, 5.5), (6, 6.8, 5.2, 6)], volume=[10, 20, 5])


@lru_cache(maxsize=2)
def synthetic_chart(bars: int = 300, with_orders: bool = False) -> ChartData:
    """The snapshot data set: seeded synthetic BTCUSDT 1m, its SMC pass and EMA overlays."""
    frame = SyntheticMarket("BTCUSDT", seed=7, start_ms=T0).generate(bars)
    series = [s for s in indicator_series(frame) if s.group == "ema" or with_orders]
    orders = (
        [("entry", 59350.0, "Entry"), ("stop", 59150.0, "SL"), ("target", 59700.0, "TP1")]
        if with_orders
        else []
    )
    return chart_data(
        frame, smc=analyze(frame, SmcConfig()), series=series, orders=orders, price_decimals=2
    )


class ChartTestApp(App[None]):
    """One chart filling the screen, with the shipped themes registered."""

    def __init__(
        self, data: ChartData, theme: str = "tradeterm-dark", state: ViewState | None = None
    ) -> None:
        super().__init__()
        self._chart_data = data
        self._chart_state = state
        self._theme_name = theme

    def compose(self) -> ComposeResult:
        yield ChartWidget(self._chart_data, state=self._chart_state, id="chart")

    def on_mount(self) -> None:
        register_themes(self, load_themes([builtin_theme_dir()], strict=True))
        self.theme = self._theme_name
        self.query_one(ChartWidget).focus()


# ---------------------------------------------------------------- the workstation app


def workstation_app(
    theme: str = "tradeterm-dark", market: str = "spot"
) -> tuple[TradetermApp, FakePipeline]:
    """The full app over a fresh deterministic fake (frozen clock, seeded market)."""
    from tradeterm.ui.app import TradetermApp
    from tradeterm.ui.fake import FakePipeline

    fake = FakePipeline(market=market)  # type: ignore[arg-type]
    return TradetermApp(fake, theme=theme), fake


from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradeterm.ui.app import TradetermApp
    from tradeterm.ui.fake import FakePipeline
