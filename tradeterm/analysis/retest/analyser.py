"""The retest analyser: closed candles and the SMC events they confirmed in, retest signals out.

It keeps, per side, the newest unmitigated order blocks / gaps it has been told about (from
``zones.v1`` events), the latest structure break (from ``smc_events.v1``), and its own O(1)
indicator states (EMA, MACD, RSI, ATR, volume average), so it depends on nothing but the event
stream and can be tested by feeding it events directly. With ``shared_indicators=True`` the
caller hands over the EMA, MACD histogram, RSI and ATR of each bar instead (the pipeline's
``IndicatorSet`` computes the same values with the same code, bit for bit), which saves a
quarter of the per-candle cost; the volume average is always its own.

Order of work within one bar, which is what keeps it causal:

1. indicators take the bar (they may: the bar is closed);
2. this bar's structure breaks are applied (known at its close);
3. candidates are judged against zone states as they were *before* this bar — the bar's own
   touch is what is being judged, and zones born on this bar cannot be retested by it;
4. this bar's zone events are applied (births, fills, mitigation, invalidation).

A zone gives at most one signal; the zones of the signalling side that the bar touched are
consumed with it (they were one retest, not several).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from tradeterm.analysis.indicators import AtrState, EmaState, MacdState, RsiState, SmaState
from tradeterm.analysis.retest import rules
from tradeterm.analysis.retest.config import RetestConfig
from tradeterm.analysis.smc.materialise import Stream
from tradeterm.analysis.strategies.signals import make_signal
from tradeterm.contracts import (
    Direction,
    Side,
    SignalRawV1,
    SmcEventKind,
    SmcEventV1,
    ZoneKind,
    ZoneState,
    ZoneV1,
)

_BREAKS = (SmcEventKind.BOS, SmcEventKind.CHOCH)
_DEAD = (ZoneState.MITIGATED, ZoneState.INVALIDATED)


@dataclass(slots=True)
class _Zone:
    zid: str
    kind: ZoneKind
    direction: Direction
    top: float
    bottom: float
    born: int  # bar index of the close at which it appeared
    fresh: bool = True  # never touched yet


@dataclass(frozen=True, slots=True)
class _Candidate:
    zone: _Zone
    score: float
    stop: float  # real (not mirrored) price
    reasons: list[str]


class RetestAnalyser:
    """Feed every closed bar with the SMC events it confirmed; returns that bar's signals."""

    def __init__(
        self,
        stream: Stream,
        config: RetestConfig | None = None,
        *,
        strategy: str = "smc_retest",
        shared_indicators: bool = False,
    ) -> None:
        self.stream = stream
        self.config = cfg = config or RetestConfig()
        self.strategy = strategy
        self.shared_indicators = shared_indicators
        kinds = {
            "ob": (ZoneKind.ORDER_BLOCK,),
            "fvg": (ZoneKind.FVG,),
            "both": (ZoneKind.ORDER_BLOCK, ZoneKind.FVG),
        }
        self._kinds = kinds[cfg.zones]
        self._ema = EmaState(cfg.ema_period)
        self._emas: deque[float | None] = deque(maxlen=cfg.slope_bars + 1)
        self._macd = MacdState(cfg.macd_fast, cfg.macd_slow, cfg.macd_signal)
        self._prev_hist: float | None = None
        self._rsi = RsiState(cfg.rsi_period)
        self._prev_rsi: float | None = None
        self._atr = AtrState(cfg.atr_period)
        self._vol = SmaState(cfg.volume_period)
        self._zones: dict[str, _Zone] = {}
        self._side: dict[Direction, list[_Zone]] = {Direction.BULL: [], Direction.BEAR: []}
        self._break: tuple[SmcEventKind, Direction] | None = None
        self._t = -1

    @property
    def open_zones(self) -> int:
        return len(self._zones)

    def update(
        self,
        open_time: int,
        close_time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        events: Iterable[SmcEventV1 | ZoneV1] = (),
        indicators: tuple[float | None, float | None, float | None, float | None] | None = None,
    ) -> list[SignalRawV1]:
        """One closed bar and the SMC events it confirmed. ``indicators`` = (EMA, MACD
        histogram, RSI, ATR) of this bar, required with ``shared_indicators`` (``None`` while
        warming up), ignored otherwise."""
        cfg = self.config
        avg_volume = self._vol.value  # the previous bars' average, before this bar joins it
        if self.shared_indicators:
            if indicators is None:
                raise ValueError(
                    "this RetestAnalyser shares indicators: pass indicators=(ema, hist, rsi, atr)"
                )
            e, hist, rsi, atr = indicators
        else:
            atr = self._atr.update(high, low, close)
            e = self._ema.update(close)
            m = self._macd.update(close)
            hist = None if m is None or math.isnan(m[2]) else m[2]
            rsi = self._rsi.update(close)
        self._t = t = self._t + 1
        self._vol.update(volume)
        self._emas.append(e)
        prev_hist, self._prev_hist = self._prev_hist, hist
        prev_rsi, self._prev_rsi = self._prev_rsi, rsi

        zone_events: list[ZoneV1] = []
        for ev in events:
            if isinstance(ev, ZoneV1):
                zone_events.append(ev)
            elif ev.kind in _BREAKS:
                self._break = (ev.kind, ev.direction)

        out: list[SignalRawV1] = []
        brk = self._break
        if (
            brk is not None
            and (brk[0] is SmcEventKind.BOS or cfg.allow_choch)
            and atr is not None
            and atr > 0.0
            and rsi is not None
            and prev_rsi is not None
        ):
            slope = None
            past = self._emas[0]
            if len(self._emas) == self._emas.maxlen and e is not None and past is not None:
                slope = (e - past) / (cfg.slope_bars * atr)
            signal = self._judge(
                brk[1], open_time, close_time, (open_, high, low, close), volume, avg_volume,
                atr, slope, hist, prev_hist, rsi, prev_rsi, brk[0],
            )  # fmt: skip
            if signal is not None:
                out.append(signal)

        for z in zone_events:
            self._apply(z, t)
        return out

    # -- judging -------------------------------------------------------------------------------

    def _judge(
        self,
        direction: Direction,
        open_time: int,
        close_time: int,
        ohlc: tuple[float, float, float, float],
        vol: float,
        avg_volume: float | None,
        atr: float,
        slope: float | None,
        hist: float | None,
        prev_hist: float | None,
        rsi: float,
        prev_rsi: float,
        break_kind: SmcEventKind,
    ) -> SignalRawV1 | None:
        cfg = self.config
        zones = self._side[direction]
        if not zones:
            return None
        bull = direction is Direction.BULL
        o, h, lo, c = ohlc if bull else (-ohlc[0], -ohlc[2], -ohlc[1], -ohlc[3])
        if not bull:
            slope = None if slope is None else -slope
            hist = None if hist is None else -hist
            prev_hist = None if prev_hist is None else -prev_hist
            rsi, prev_rsi = 100.0 - rsi, 100.0 - prev_rsi

        t = self._t
        touched: list[tuple[_Zone, float, float]] = []  # zone, normalised top, bottom
        for z in zones:
            top, bottom = (z.top, z.bottom) if bull else (-z.bottom, -z.top)
            if t - z.born > cfg.max_zone_age or (top - bottom) < cfg.min_zone_atr * atr:
                continue
            if rules.touch(lo, c, top, bottom):
                touched.append((z, top, bottom))
        if not touched:
            return None

        slope_chk, macd_chk = rules.trend(slope, hist, prev_hist, cfg.trend_filter, bull)
        rsi_chk = rules.rsi_bounce(rsi, prev_rsi, cfg.rsi_min, cfg.rsi_max, bull)
        vol_chk = rules.volume(vol, avg_volume, cfg.min_rel_volume)
        if not (slope_chk.ok and macd_chk.ok and rsi_chk.ok and vol_chk.ok):
            return None

        best: _Candidate | None = None
        for z, top, bottom in touched:
            rej = rules.rejection(o, h, lo, c, top, cfg.wick_ratio)
            if not rej.ok:
                continue
            stop_n = rules.stop_below(bottom, lo, atr, cfg.atr_buffer)
            risk = c - stop_n
            if not 0.0 < risk <= cfg.max_risk_atr * atr:
                continue
            parts = {
                "rejection": rej.score,
                "trend": slope_chk.score,
                "macd": macd_chk.score,
                "rsi": rsi_chk.score,
                "volume": vol_chk.score,
                "zone": rules.zone_quality(z.kind is ZoneKind.ORDER_BLOCK, z.fresh, len(touched)),
            }
            s = rules.score(parts)
            if best is None or s > best.score:
                tag = "OB" if z.kind is ZoneKind.ORDER_BLOCK else "FVG"
                reasons = [
                    f"{direction.value} {tag} retest {z.bottom:.10g}-{z.top:.10g}"
                    + (" (first touch)" if z.fresh else ""),
                    f"after {break_kind.value} {direction.value}",
                    rej.reason,
                    slope_chk.reason,
                    macd_chk.reason,
                    rsi_chk.reason,
                    vol_chk.reason,
                ]
                if len(touched) > 1:
                    reasons.append(f"{len(touched)} zones touched")
                best = _Candidate(z, s, stop_n if bull else -stop_n, reasons)
        # every zone of this side the bar reached has now been tested once
        for z, _, _ in touched:
            z.fresh = False
        if best is None or best.score < cfg.min_score:
            return None
        signal = make_signal(
            self.stream,
            self.strategy,
            Side.BUY if bull else Side.SELL,
            time=open_time,
            confirmed_at=close_time,
            entry=ohlc[3],
            stop=best.stop,
            take_profits_r=cfg.take_profits_r,
            score=best.score,
            ttl_bars=cfg.ttl_bars,
            zone_id=best.zone.zid,
            reasons=best.reasons,
        )
        if signal is not None:
            for z, _, _ in touched:
                self._forget(z)
        return signal

    # -- zone memory ---------------------------------------------------------------------------

    def _apply(self, ev: ZoneV1, t: int) -> None:
        known = self._zones.get(ev.zone_id)
        if known is not None:
            if ev.state in _DEAD:
                self._forget(known)
            elif ev.fill_pct > 0.0:
                known.fresh = False
            return
        if ev.kind not in self._kinds or ev.state is not ZoneState.ACTIVE:
            return
        z = _Zone(ev.zone_id, ev.kind, ev.direction, ev.top, ev.bottom, t)
        self._zones[z.zid] = z
        side = self._side[z.direction]
        side.append(z)
        while len(side) > self.config.max_zones or (
            side and t - side[0].born > self.config.max_zone_age
        ):
            self._forget(side[0])

    def _forget(self, z: _Zone) -> None:
        if self._zones.pop(z.zid, None) is not None:
            self._side[z.direction].remove(z)
