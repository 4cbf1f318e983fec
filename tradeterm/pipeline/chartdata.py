"""The chart's input: one immutable bundle of candles, overlay arrays, SMC tables and order lines.

The chart never asks where data comes from (pipeline, replay, a test): whoever owns the data
builds a :class:`ChartData` and hands it over whole. Replacing the bundle is the only way to
change what is drawn, which makes "did anything change?" an identity check and lets the widget
cache frames without tracking mutations. Arrays are shared, not copied: callers must not mutate
them after handing them over.

A live chart changes at every tick of its open candle, but only in the last bar: the overlays
of the closed candles stay put until the next close. :class:`ClosedSeries` keeps them and
extends them by the open candle's values computed in O(period) — the same numbers
:func:`indicator_series` gives over the whole frame — so a 10 Hz poll of the read model costs
microseconds instead of a pass of every indicator over every bar (and never spends the
indicator kernels' Python budget, which would otherwise load numba into the UI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tradeterm.analysis.indicators import bbands, ema, vwap
from tradeterm.analysis.indicators._fma import fma
from tradeterm.analysis.indicators.averages import ema_alpha
from tradeterm.analysis.indicators.volume import DAY_MS
from tradeterm.analysis.smc import SmcResult, StructureTable, Swings, ZoneTable, codes
from tradeterm.market.frame import CandleFrame

OrderKind = Literal["entry", "stop", "target"]
ORDER_KINDS: tuple[OrderKind, ...] = ("entry", "stop", "target")

_MAX_DECIMALS = 8

EMA_PERIODS: tuple[int, ...] = (20, 50, 200)
"""The chart's EMAs (fast, mid, slow)."""
BB_PERIOD = 20
BB_DEV = 2.0


@dataclass(frozen=True, slots=True)
class Series:
    """One line drawn over the candles (an EMA, a Bollinger band, VWAP).

    ``group`` is the overlay flag that shows it (``"ema"``, ``"bb"``, ``"vwap"``) and ``role``
    the theme variable that colours it, so a new indicator needs no renderer change.
    """

    name: str
    group: str
    role: str
    values: np.ndarray


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A working order or position level: entry, stop or one take-profit target."""

    kind: OrderKind
    price: float
    label: str

    def __post_init__(self) -> None:
        if self.kind not in ORDER_KINDS:
            raise ValueError(f"OrderLine kind must be one of {ORDER_KINDS}, got {self.kind!r}")
        if not np.isfinite(self.price):
            raise ValueError(f"OrderLine price must be finite, got {self.price!r}")


@dataclass(frozen=True, slots=True)
class ChartData:
    """Everything one chart frame shows. Bar indices in ``swings``/``breaks``/``zones`` refer
    to rows of ``frame``; ``zones`` holds the zones to draw (e.g. ``SmcResult.active_zones()``).
    ``price_decimals`` formats prices (the symbol's tick precision); ``None`` infers it."""

    frame: CandleFrame
    series: tuple[Series, ...] = ()
    swings: Swings | None = None
    breaks: StructureTable | None = None
    zones: ZoneTable | None = None
    orders: tuple[OrderLine, ...] = ()
    price_decimals: int | None = None
    decimals: int = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.frame)
        for s in self.series:
            if s.values.ndim != 1 or s.values.shape[0] != n:
                raise ValueError(
                    f"series {s.name!r} has shape {s.values.shape}, expected ({n},) like the frame"
                )
        for name, bars in (
            ("swings", None if self.swings is None else self.swings.bar),
            ("breaks", None if self.breaks is None else self.breaks.bar),
            ("zones", None if self.zones is None else self.zones.bar),
        ):
            if bars is not None and bars.shape[0] and (bars.min() < 0 or bars.max() >= n):
                raise ValueError(f"{name} refer to bars outside the frame (0..{n - 1})")
        d = self.price_decimals if self.price_decimals is not None else infer_decimals(self.frame)
        object.__setattr__(self, "decimals", d)

    def __len__(self) -> int:
        return len(self.frame)

    def with_frame(self, frame: CandleFrame) -> ChartData:
        """The same overlays over a new frame (e.g. the open candle moved); lengths must match."""
        return ChartData(
            frame,
            self.series,
            self.swings,
            self.breaks,
            self.zones,
            self.orders,
            self.price_decimals,
        )


def infer_decimals(frame: CandleFrame) -> int:
    """The fewest decimals that print every price of the frame exactly (capped at 8): a stand-in
    for the symbol's tick size when the caller does not pass it."""
    if len(frame) == 0:
        return 2
    prices = np.concatenate(
        [frame.open[-500:], frame.high[-500:], frame.low[-500:], frame.close[-500:]]
    )
    for d in range(_MAX_DECIMALS + 1):
        scaled = prices * 10.0**d
        if np.allclose(scaled, np.round(scaled), rtol=1e-12, atol=1e-6):
            return d
    return _MAX_DECIMALS


def indicator_series(
    frame: CandleFrame,
    *,
    ema_periods: Sequence[int] = EMA_PERIODS,
    bb_period: int = BB_PERIOD,
    bb_dev: float = BB_DEV,
    with_vwap: bool = True,
) -> tuple[Series, ...]:
    """The standard overlay set (EMA 20/50/200, Bollinger 20/2, daily VWAP) as chart series.

    A convenience for callers that have only candles; the pipeline may pass its own arrays.
    Short frames simply give NaN (warm-up) values, which the chart leaves out.
    """
    roles = ("ema-fast", "ema-mid", "ema-slow")
    out: list[Series] = []
    if len(frame) == 0:
        return ()
    for i, p in enumerate(ema_periods):
        out.append(Series(f"EMA{p}", "ema", roles[min(i, 2)], ema(frame.close, p)))
    upper, middle, lower = bbands(frame.close, bb_period, bb_dev, bb_dev)
    out += [
        Series("BB+", "bb", "bb-band", upper),
        Series("BB", "bb", "bb-band", middle),
        Series("BB-", "bb", "bb-band", lower),
    ]
    if with_vwap:
        out.append(
            Series(
                "VWAP",
                "vwap",
                "vwap",
                vwap(frame.open_time, frame.high, frame.low, frame.close, frame.volume),
            )
        )
    return tuple(out)


def chart_data(
    frame: CandleFrame,
    *,
    smc: SmcResult | None = None,
    series: Iterable[Series] | None = None,
    orders: Iterable[OrderLine | tuple[str, float, str]] = (),
    price_decimals: int | None = None,
) -> ChartData:
    """Assemble a :class:`ChartData` from the usual sources: indicator series (computed from the
    frame when not given), an SMC result (swings, BOS/CHOCH and liquidity sweeps, zones active at
    the last bar: the chart draws each structure kind as its own overlay) and
    order lines given as :class:`OrderLine` or plain ``(kind, price, label)`` tuples."""
    lines = tuple(
        o if isinstance(o, OrderLine) else OrderLine(o[0], float(o[1]), o[2])  # type: ignore[arg-type]
        for o in orders
    )
    return ChartData(
        frame=frame,
        series=tuple(series) if series is not None else indicator_series(frame),
        swings=smc.swings if smc is not None else None,
        breaks=smc.structure.of_kind(codes.BOS, codes.CHOCH, codes.SWEEP) if smc is not None else None,
        zones=smc.active_zones() if smc is not None else None,
        orders=lines,
        price_decimals=price_decimals,
    )


_COLUMNS = ("open_time", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True, eq=False)
class ClosedSeries:
    """The standard overlay set (:func:`indicator_series` with its defaults) over *closed*
    candles, plus what extending it by one open candle needs.

    :meth:`extend` gives the series over ``closed + open candle`` without rerunning the
    indicators over every bar; the values are those of ``indicator_series(frame)`` (see
    :meth:`extend` for how exact). Build one per closed candle with :meth:`of`.
    """

    frame: CandleFrame
    series: tuple[Series, ...]
    vwap_session: int
    """The daily session (``open_time // DAY_MS``) of the last closed candle ..."""
    vwap_pv: float
    """... and its running ``Σ tp·volume`` and ``Σ volume``, summed in :func:`vwap`'s order."""
    vwap_vol: float

    @classmethod
    def of(cls, closed: CandleFrame) -> ClosedSeries:
        """The overlays of ``closed`` (at least one candle) and the VWAP session's sums."""
        series = indicator_series(closed)
        t = closed.open_time
        session = int(t[-1]) // DAY_MS
        # The vwap loop's sums over the last session, in its order (same bits). Sessions only
        # move forward, so they start where the day key first equals the last one.
        start = int(np.searchsorted(t, session * DAY_MS, side="left"))
        pv = 0.0
        vol = 0.0
        for h, lo, c, v in zip(
            closed.high[start:].tolist(),
            closed.low[start:].tolist(),
            closed.close[start:].tolist(),
            closed.volume[start:].tolist(),
            strict=True,
        ):
            tp = (h + lo + c) / 3.0
            pv += tp * v
            vol += v
        return cls(closed, series, session, pv, vol)

    def matches(self, frame: CandleFrame) -> bool:
        """True if ``frame`` is this one's closed candles plus exactly one more (the open one),
        the closed ones unchanged (a revised or back-filled bar means rebuilding)."""
        n = len(self.frame)
        if len(frame) != n + 1 or frame.symbol != self.frame.symbol or frame.tf != self.frame.tf:
            return False
        return all(
            np.array_equal(
                getattr(frame, col)[:n], getattr(self.frame, col), equal_nan=col != "open_time"
            )
            for col in _COLUMNS
        )

    def extend(self, frame: CandleFrame) -> tuple[Series, ...]:
        """The series over ``frame`` (this one's closed candles plus the open one).

        Each series gets the open candle's value computed as its batch loop would at that bar:
        EMA — one recursive step ``fma(x - prev, k, prev)`` from the closed series' last value
        (exact); VWAP — the session's sums carried on by one bar (exact); Bollinger — mean and
        population deviation of the last window in numpy (the batch loop keeps a running sum,
        so the last bits can differ: ~1e-15 relative). During warm-up (a closed value still
        NaN), after a NaN or infinite input, or if ``frame`` is not ``closed + 1`` bar, the
        whole set is recomputed instead.
        """
        if not self.matches(frame):
            return indicator_series(frame)
        x = float(frame.close[-1])
        n_ema = len(EMA_PERIODS)
        closed_last = [float(s.values[-1]) for s in self.series]
        if not (np.isfinite(x) and all(np.isfinite(v) for v in closed_last[: n_ema + 3])):
            return indicator_series(frame)
        tail: list[float] = []
        for p, prev in zip(EMA_PERIODS, closed_last, strict=False):
            tail.append(x if p == 1 else fma(x - prev, ema_alpha(p), prev))
        window = frame.close[-BB_PERIOD:]
        mid = float(np.mean(window))
        width = float(np.sqrt(np.var(window))) * BB_DEV
        tail += [mid + width, mid, mid - width]
        t = int(frame.open_time[-1])
        if t < int(self.frame.open_time[-1]):
            return indicator_series(frame)  # out of order: let vwap() raise as it always did
        pv, vol = (self.vwap_pv, self.vwap_vol) if t // DAY_MS == self.vwap_session else (0.0, 0.0)
        tp = (float(frame.high[-1]) + float(frame.low[-1]) + x) / 3.0
        v = float(frame.volume[-1])
        pv += tp * v
        vol += v
        tail.append(pv / vol if vol > 0.0 else float("nan"))
        return tuple(
            Series(s.name, s.group, s.role, np.append(s.values, value))
            for s, value in zip(self.series, tail, strict=True)
        )
