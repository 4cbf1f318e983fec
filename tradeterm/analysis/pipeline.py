"""The analysis state of one stream: closed candle in, every event it confirmed out, in order.

One object runs the indicators, the SMC engine, the regime classifier and the strategies for one
(venue, symbol, timeframe), one closed candle at a time. The ``analyze`` command, the live
pipeline and the replay backtest all drive this same object, so the events a backtest acted on
are the events the live session would have seen, and the per-candle cost measured by the bench
is the cost everywhere.

Events of one bar all carry that bar's close as ``confirmed_at`` and come in a fixed order:
``features.v1``, then the SMC engine's ``smc_events.v1`` / ``zones.v1`` (in its canonical order),
then ``regime.v1``, then each strategy's ``signals_raw.v1`` in the order the strategies were
given. A strategy sees the bar's features, SMC events and regime — everything known at the close
and nothing later — so the whole state is causal: fed a prefix of a series it emits exactly the
events of the full run that were confirmed within that prefix (tested per strategy).

A bar is checked completely before anything is updated, so a refused bar (out of order, not a
candle, not finite) leaves the state as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from tradeterm.analysis.indicators import IndicatorConfig, IndicatorSet
from tradeterm.analysis.regime import RegimeConfig, RegimeReading, RegimeState
from tradeterm.analysis.smc import SmcConfig, SmcEngine
from tradeterm.analysis.smc.materialise import Stream
from tradeterm.analysis.strategies.base import Bar, Context, Strategy
from tradeterm.contracts import (
    CandleV1,
    FeaturesV1,
    RegimeV1,
    SignalRawV1,
    SmcEventV1,
    Timeframe,
    ZoneV1,
)
from tradeterm.market.frame import CandleFrame

Event = FeaturesV1 | SmcEventV1 | ZoneV1 | RegimeV1 | SignalRawV1

_FEATURES = FeaturesV1.model_validate


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """``features``: emit ``features.v1`` every bar (off for lean event files).
    ``regime_every_bar``: emit ``regime.v1`` every bar instead of on change.
    ``fvg_min_atr``: ignore fair value gaps smaller than this many ATRs (0 = keep all, as
    ``SmcConfig`` does); uses the bar's own causal ATR, unknown (no gaps) while it warms up."""

    indicators: IndicatorConfig = field(default_factory=IndicatorConfig)
    smc: SmcConfig = field(default_factory=SmcConfig)
    regime: RegimeConfig = field(default_factory=RegimeConfig)
    features: bool = True
    regime_every_bar: bool = False
    fvg_min_atr: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fvg_min_atr) and self.fvg_min_atr >= 0.0):
            raise ValueError(f"fvg_min_atr must be a finite number >= 0, got {self.fvg_min_atr!r}")


class AnalysisState:
    """Indicators + SMC + regime + strategies for one stream, advanced by closed candles."""

    def __init__(
        self,
        *,
        venue: str,
        symbol: str,
        tf: Timeframe | str,
        config: PipelineConfig | None = None,
        strategies: Sequence[Strategy] = (),
    ) -> None:
        self.config = cfg = config or PipelineConfig()
        self.stream = Stream(venue, symbol, Timeframe(tf))
        s = self.stream
        self.strategies = tuple(strategies)
        self._indicators = IndicatorSet(cfg.indicators)
        self._atr_name = f"atr_{cfg.indicators.atr_period}"
        self._smc = SmcEngine(cfg.smc, venue=s.venue, symbol=s.symbol, tf=s.tf)
        self._regime = RegimeState(
            venue=s.venue,
            symbol=s.symbol,
            tf=s.tf,
            config=cfg.regime,
            every_bar=cfg.regime_every_bar,
        )
        self._t = -1
        self._last_open: int | None = None
        self._features: dict[str, float | None] = {}
        self._last_regime: RegimeV1 | None = None

    @property
    def bars_seen(self) -> int:
        return self._t + 1

    @property
    def features(self) -> dict[str, float | None]:
        """Indicator values at the latest bar (a copy)."""
        return dict(self._features)

    @property
    def regime(self) -> RegimeV1 | None:
        """The latest ``regime.v1`` emitted (the regime guard's input)."""
        return self._last_regime

    @property
    def regime_reading(self) -> RegimeReading | None:
        """The regime at the latest bar, or ``None`` while it is undefined."""
        return self._regime.reading

    def update_candle(self, candle: CandleV1) -> list[Event]:
        """Process one closed :class:`CandleV1` of this stream."""
        if not candle.closed:
            raise ValueError(
                "analysis takes closed candles only (closed=True); open ones feed the chart"
            )
        s = self.stream
        if (candle.venue, candle.symbol, candle.tf) != (s.venue, s.symbol, s.tf):
            raise ValueError(
                f"candle of {candle.venue}:{candle.symbol}:{candle.tf.value} fed to the analysis of {s.prefix}"
            )
        return self.update(
            candle.open_time,
            candle.close_time,
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.volume,
        )

    def update(
        self,
        open_time: int,
        close_time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: float,
    ) -> list[Event]:
        """Process one closed bar given as plain values; returns its events in order."""
        o, h, lo, c, v = float(open_), float(high), float(low), float(close), float(volume)
        ot, ct = int(open_time), int(close_time)
        self._check(ot, ct, o, h, lo, c, v)
        self._t = t = self._t + 1
        self._last_open = ot
        cfg = self.config
        s = self.stream

        values = self._indicators.update(ot, h, lo, c, v)
        self._features = values
        out: list[Event] = []
        if cfg.features:
            out.append(
                _FEATURES(
                    {
                        "venue": s.venue,
                        "symbol": s.symbol,
                        "tf": s.tf,
                        "time": ot,
                        "confirmed_at": ct,
                        "values": values,
                    }
                )
            )
        fvg_min = None
        if cfg.fvg_min_atr > 0.0:
            atr = values.get(self._atr_name)
            fvg_min = math.nan if atr is None else cfg.fvg_min_atr * atr
        smc = self._smc.push(ot, ct, o, h, lo, c, fvg_min_size=fvg_min)
        out.extend(smc)
        regime = self._regime.update(ot, h, lo, c)
        if regime is not None:
            self._last_regime = regime
            out.append(regime)
        if self.strategies:
            structure = [e for e in smc if isinstance(e, SmcEventV1)]
            zones = [e for e in smc if isinstance(e, ZoneV1)]
            ctx = Context(
                s,
                Bar(t, ot, ct, o, h, lo, c, v),
                values,
                structure,
                zones,
                self._regime.reading,
                cfg.indicators,
            )
            for strategy in self.strategies:
                out.extend(strategy.on_bar(ctx))
        return out

    def _check(self, ot: int, ct: int, o: float, h: float, lo: float, c: float, v: float) -> None:
        if self._last_open is not None and ot <= self._last_open:
            raise ValueError(
                f"bars must arrive in time order: open_time {ot} after {self._last_open}"
            )
        if ct < ot:
            raise ValueError(f"close_time {ct} is before open_time {ot}")
        for name, x in (("open", o), ("high", h), ("low", lo), ("close", c)):
            if not (math.isfinite(x) and x > 0.0):
                raise ValueError(f"bar at {ot}: {name} must be finite and > 0, got {x!r}")
        if not (math.isfinite(v) and v >= 0.0):
            raise ValueError(f"bar at {ot}: volume must be finite and >= 0, got {v!r}")
        if h < max(o, c) or lo > min(o, c):
            raise ValueError(
                f"bar at {ot} is not a candle: high {h} / low {lo} do not enclose open {o} / close {c}"
            )


def run_frame(
    frame: CandleFrame,
    state: AnalysisState,
    *,
    start: int = 0,
    stop: int | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
) -> Iterator[list[Event]]:
    """Feed rows ``[start, stop)`` of ``frame`` through ``state``; yields each bar's events.

    ``progress(bars_done)`` is called every ``progress_every`` bars and at the end.
    """
    end = len(frame) if stop is None else min(stop, len(frame))
    cols = (
        frame.open_time[start:end].tolist(),
        frame.close_time[start:end].tolist(),
        frame.open[start:end].tolist(),
        frame.high[start:end].tolist(),
        frame.low[start:end].tolist(),
        frame.close[start:end].tolist(),
        frame.volume[start:end].tolist(),
    )
    update = state.update
    done = 0
    for ot, ct, o, h, lo, c, v in zip(*cols, strict=True):
        yield update(ot, ct, o, h, lo, c, v)
        done += 1
        if progress is not None and done % progress_every == 0:
            progress(done)
    if progress is not None and done % progress_every:
        progress(done)
