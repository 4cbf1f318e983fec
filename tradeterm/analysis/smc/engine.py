"""The incremental SMC engine: one closed candle in, that bar's new events out.

It applies the rules documented in ``swings``, ``structure``, ``order_blocks``, ``fvg``,
``liquidity`` and ``zones`` bar by bar, in plain Python with O(1) state per concept (a window of
``left + right + 1`` bars, the last down/up candle, the current levels) plus the open zones in a
:class:`ZoneBook`, so a quiet bar costs a few comparisons however many zones are open.

It is deliberately a *separate* implementation from the vectorised kernels: the tests run both
and require identical events, and since this one can only ever see the past, that equality is
also the proof that the batch pass does not look ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tradeterm.contracts import CandleV1, SmcEventV1, Timeframe, ZoneV1

from . import codes
from .config import SmcConfig
from .materialise import Stream, smc_event, zone_event, zone_id
from .zone_book import LiveZone, ZoneBook

Event = SmcEventV1 | ZoneV1


@dataclass(slots=True)
class _Level:
    bar: int
    time: int
    price: float
    live: bool = True  # not broken yet


@dataclass(slots=True)
class _Candle:
    bar: int
    time: int
    open: float
    high: float
    low: float
    close: float


class SmcEngine:
    """Feed closed candles in order; each call returns the events that bar confirmed.

    The stream (venue, symbol, tf) is given here or taken from the first :class:`CandleV1`.
    """

    def __init__(
        self,
        config: SmcConfig | None = None,
        *,
        venue: str = "demo",
        symbol: str | None = None,
        tf: Timeframe | str | None = None,
    ) -> None:
        self.config = config if config is not None else SmcConfig()
        self._stream: Stream | None = (
            Stream(venue, symbol, Timeframe(tf)) if symbol and tf else None
        )
        cfg = self.config
        self._left = cfg.swing_left
        self._right = cfg.swing_right
        self._window = max(cfg.swing_left + cfg.swing_right + 1, 3)
        self._t = -1
        self._last_open: int | None = None
        self._hi: list[float] = []
        self._lo: list[float] = []
        self._ot: list[int] = []
        # structure
        self._sh: _Level | None = None
        self._sl: _Level | None = None
        self._trend = 0
        self._prev_sh: float | None = None
        self._prev_sl: float | None = None
        self._last_down: _Candle | None = None
        self._last_up: _Candle | None = None
        self._last_bull_ob = -1
        self._last_bear_ob = -1
        # liquidity: the previous swing of each side (a pool pairs it with the next one)
        self._pool_sh: _Level | None = None
        self._pool_sl: _Level | None = None
        self._book = ZoneBook()

    @property
    def bars_seen(self) -> int:
        return self._t + 1

    @property
    def open_zones(self) -> int:
        """Zones still tracked (not invalidated, swept or taken): the engine's memory, in zones."""
        return len(self._book)

    def update(
        self,
        bar: CandleV1,
        *,
        fvg_min_size: float | None = None,
        liquidity_tolerance: float | None = None,
    ) -> list[Event]:
        """Process one closed candle. Open (unfinished) candles are refused: analysis never reads
        a bar that can still change."""
        if not bar.closed:
            raise ValueError(
                "SmcEngine.update needs a closed candle (closed=True); open candles only feed the chart"
            )
        if self._stream is None:
            self._stream = Stream(bar.venue, bar.symbol, bar.tf)
        elif (bar.venue, bar.symbol, bar.tf) != (
            self._stream.venue,
            self._stream.symbol,
            self._stream.tf,
        ):
            raise ValueError(
                f"candle of {bar.venue}:{bar.symbol}:{bar.tf.value} fed to the engine of {self._stream.prefix}"
            )
        return self.push(
            bar.open_time,
            bar.close_time,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            fvg_min_size=fvg_min_size,
            liquidity_tolerance=liquidity_tolerance,
        )

    def push(
        self,
        open_time: int,
        close_time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        *,
        fvg_min_size: float | None = None,
        liquidity_tolerance: float | None = None,
    ) -> list[Event]:
        """Process one closed bar given as plain values (the fast path for replays)."""
        stream = self._stream
        if stream is None:
            raise ValueError(
                "SmcEngine needs symbol= and tf= (or a first update() with a CandleV1) before push()"
            )
        self._check(open_time, close_time, open_, high, low, close)
        cfg = self.config
        o, h, lo, c = float(open_), float(high), float(low), float(close)
        min_size = _threshold(
            fvg_min_size, cfg.fvg_min_size, cfg.fvg_min_size_unit, c, "fvg_min_size"
        )
        tol = _threshold(
            liquidity_tolerance,
            cfg.liquidity_tolerance,
            cfg.liquidity_tolerance_unit,
            c,
            "liquidity_tolerance",
        )
        # Everything is checked: from here on the bar is consumed (a refused bar changes nothing).
        t = self._t + 1
        self._t = t
        self._last_open = open_time

        # 1. Zones born on earlier bars meet this bar.
        changed, swept = self._book.advance(h, lo, c)

        # 2. Breaks of the levels known before this bar.
        breaks: list[SmcEventV1] = []
        new_ob: list[LiveZone] = []
        sh = self._sh
        if sh is not None and sh.live and (h if cfg.wick_break else c) > sh.price:
            kind = codes.CHOCH if self._trend == codes.BEAR else codes.BOS
            breaks.append(
                smc_event(
                    stream,
                    kind,
                    codes.BULL,
                    open_time,
                    close_time,
                    sh.price,
                    codes.NO_LABEL,
                    sh.time,
                )
            )
            self._trend = codes.BULL
            sh.live = False
            cand = self._last_down
            if cand is not None and cand.bar >= sh.bar and cand.bar != self._last_bull_ob:
                self._last_bull_ob = cand.bar
                new_ob.append(self._order_block(cand, codes.BULL))
        sl = self._sl
        if sl is not None and sl.live and (lo if cfg.wick_break else c) < sl.price:
            kind = codes.CHOCH if self._trend == codes.BULL else codes.BOS
            breaks.append(
                smc_event(
                    stream,
                    kind,
                    codes.BEAR,
                    open_time,
                    close_time,
                    sl.price,
                    codes.NO_LABEL,
                    sl.time,
                )
            )
            self._trend = codes.BEAR
            sl.live = False
            cand = self._last_up
            if cand is not None and cand.bar >= sl.bar and cand.bar != self._last_bear_ob:
                self._last_bear_ob = cand.bar
                new_ob.append(self._order_block(cand, codes.BEAR))

        # 3. This bar becomes history.
        if c < o:
            self._last_down = _Candle(t, open_time, o, h, lo, c)
        elif c > o:
            self._last_up = _Candle(t, open_time, o, h, lo, c)
        hi, lw, ot = self._hi, self._lo, self._ot
        hi.append(h)
        lw.append(lo)
        ot.append(open_time)
        if len(hi) > self._window:
            del hi[0], lw[0], ot[0]

        # 4. The pivot `right` bars back is now decided.
        swings: list[SmcEventV1] = []
        pools: list[LiveZone] = []
        i = t - self._right
        if i >= self._left:
            pos = len(hi) - 1 - self._right
            p = hi[pos]
            if max(hi[pos - self._left : pos]) < p and (
                self._right == 0 or max(hi[pos + 1 :]) <= p
            ):
                swings.append(self._swing(stream, True, i, ot[pos], close_time, p, pools, tol))
            p = lw[pos]
            if min(lw[pos - self._left : pos]) > p and (
                self._right == 0 or min(lw[pos + 1 :]) >= p
            ):
                swings.append(self._swing(stream, False, i, ot[pos], close_time, p, pools, tol))

        # 5. A gap between bar t-2 and this bar.
        new_fvg: list[LiveZone] = []
        if t >= 2:
            h2, l2 = hi[-3], lw[-3]
            up_gap = lo - h2
            dn_gap = l2 - h
            if up_gap > 0.0 and up_gap >= min_size:
                new_fvg.append(
                    LiveZone(codes.FVG, codes.BULL, ot[-2], None, lo, h2, cfg.fvg_mitigated_at, lo)
                )
            elif dn_gap > 0.0 and dn_gap >= min_size:
                new_fvg.append(
                    LiveZone(codes.FVG, codes.BEAR, ot[-2], None, l2, h, cfg.fvg_mitigated_at, h)
                )

        # 6. Emit in the canonical order (see codes.RANK_*), register the new zones.
        out: list[Event] = [*breaks, *swings]
        for z in swept:
            level = z.top if z.direction == codes.BEAR else z.bottom
            out.append(
                smc_event(
                    stream,
                    codes.SWEEP,
                    z.direction,
                    open_time,
                    close_time,
                    level,
                    codes.NO_LABEL,
                    z.aux_time,
                )
            )
        for z in changed:
            out.append(self._zone_event(z, close_time))
        pools.sort(key=lambda z: codes.dir_bit(z.direction))
        for z in (*new_ob, *new_fvg, *pools):
            self._book.add(z)
            out.append(self._zone_event(z, close_time))
        return out

    # -- helpers -------------------------------------------------------------------------------

    def _check(
        self, open_time: int, close_time: int, o: float, h: float, lo: float, c: float
    ) -> None:
        if self._last_open is not None and open_time <= self._last_open:
            raise ValueError(
                f"bars must arrive in time order: open_time {open_time} after {self._last_open}"
            )
        if close_time < open_time:
            raise ValueError(f"close_time {close_time} is before open_time {open_time}")
        for name, x in (("open", o), ("high", h), ("low", lo), ("close", c)):
            if not (math.isfinite(x) and x > 0):
                raise ValueError(f"{name} must be finite and > 0, got {x!r}")
        if h < max(o, c) or lo > min(o, c):
            raise ValueError(
                f"not a candle: high {h} / low {lo} do not enclose open {o} / close {c}"
            )

    def _order_block(self, cand: _Candle, direction: int) -> LiveZone:
        if self.config.body_ob:
            top, bottom = max(cand.open, cand.close), min(cand.open, cand.close)
        else:
            top, bottom = cand.high, cand.low
        edge = top if direction == codes.BULL else bottom
        return LiveZone(
            codes.ORDER_BLOCK,
            direction,
            cand.time,
            None,
            top,
            bottom,
            self.config.ob_mitigated_at,
            edge,
        )

    def _swing(
        self,
        stream: Stream,
        is_high: bool,
        bar: int,
        time: int,
        confirmed_at: int,
        p: float,
        pools: list[LiveZone],
        tol: float,
    ) -> SmcEventV1:
        if is_high:
            prev = self._prev_sh
            label = codes.NO_LABEL if prev is None else (codes.HH if p > prev else codes.LH)
            self._prev_sh = p
            self._sh = _Level(bar, time, p)
            older = self._pool_sh
            if older is not None:
                top, bottom = max(p, older.price), min(p, older.price)
                if abs(p - older.price) <= tol:
                    pools.append(
                        LiveZone(
                            codes.LIQUIDITY, codes.BEAR, older.time, time, top, bottom, 1.0, top
                        )
                    )
            self._pool_sh = _Level(bar, time, p)
            kind, direction = codes.SWING_HIGH, codes.BEAR
        else:
            prev = self._prev_sl
            label = codes.NO_LABEL if prev is None else (codes.LL if p < prev else codes.HL)
            self._prev_sl = p
            self._sl = _Level(bar, time, p)
            older = self._pool_sl
            if older is not None:
                top, bottom = max(p, older.price), min(p, older.price)
                if abs(p - older.price) <= tol:
                    pools.append(
                        LiveZone(
                            codes.LIQUIDITY, codes.BULL, older.time, time, top, bottom, 1.0, bottom
                        )
                    )
            self._pool_sl = _Level(bar, time, p)
            kind, direction = codes.SWING_LOW, codes.BULL
        return smc_event(stream, kind, direction, time, confirmed_at, p, label, None)

    def _zone_event(self, z: LiveZone, confirmed_at: int) -> ZoneV1:
        stream = self._stream
        assert stream is not None
        if not z.zid:
            z.zid = zone_id(stream, z.kind, z.direction, z.time, z.aux_time)
        return zone_event(
            stream,
            z.zid,
            z.kind,
            z.direction,
            z.time,
            confirmed_at,
            z.top,
            z.bottom,
            z.state,
            z.fill,
        )


def _threshold(override: float | None, value: float, unit: str, close: float, name: str) -> float:
    if override is None:
        return value * close if unit == "fraction" else value
    x = float(override)
    if x < 0 or math.isinf(x):
        raise ValueError(
            f"{name} must be >= 0 and finite (NaN allowed: 'unknown yet'), got {override!r}"
        )
    return x
