"""The running venue: replay clock, candle series, matching engine, stream and user-data hubs.

Everything happens on one event loop and every state change goes through :meth:`Venue.sync`
(or :meth:`Venue.step` at ``speed=max``), which walks each symbol's intrabar path from where it
was to the clock's "now": the engine sees every stretch of price, and streams publish what moved.
A REST request syncs first, so it never sees a market older than the clock."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from tradeterm.contracts import Timeframe
from tradeterm.venue import responses as R
from tradeterm.venue.auth import Authenticator
from tradeterm.venue.clock import ReplayClock, ServerClock
from tradeterm.venue.config import VenueConfig
from tradeterm.venue.datasource import DataSource, SyntheticSource, file_source
from tradeterm.venue.faults import Faults
from tradeterm.venue.matching import BalanceEvent, ExecEvent, ListEvent, MatchingEngine
from tradeterm.venue.ratelimit import RateLimiter
from tradeterm.venue.series import Bar, SymbolSeries
from tradeterm.venue.streams import StreamHub
from tradeterm.venue.symbols import f8, floor_to
from tradeterm.venue.userdata import UserDataHub

if TYPE_CHECKING:
    from tradeterm.venue.futures_venue import FuturesMarket

INTERVALS = {tf.value: tf for tf in Timeframe}


class VenueExtension(Protocol):
    """A market served next to spot from the same replay (USD-M futures): the venue calls it
    after each advance and on every dispatch, and lets its stream consumers pace ``speed=max``."""

    def advance(self, t0: int, t1: int) -> None: ...

    def dispatch(self) -> None: ...

    def has_consumers(self) -> bool: ...

    def backlog(self) -> int: ...

    def drop_streams(self) -> None: ...


def build_sources(config: VenueConfig) -> list[DataSource]:
    sources = list(config.sources)
    for path in config.data_files:
        sources.append(file_source(path))
    start = config.synthetic_start_ms()
    for sym in config.synthetic:
        sources.append(SyntheticSource(sym, seed=config.seed, start_ms=start, tf=config.base_tf,
                                       history=config.history_bars))
    return sources


class Venue:
    def __init__(self, config: VenueConfig, sources: list[DataSource] | None = None) -> None:
        self.config = config
        srcs = sources if sources is not None else build_sources(config)
        if not srcs:
            raise ValueError("a venue needs at least one symbol (a data file or a synthetic symbol)")
        self.server_clock = ServerClock()
        self.faults = Faults()
        self.limiter = RateLimiter(weight_per_minute=config.weight_per_minute, orders_per_10s=config.orders_per_10s,
                                   orders_per_day=config.orders_per_day)
        self.auth = Authenticator(config.ensure_credentials(), self.server_clock)
        self.series: dict[str, SymbolSeries] = {}
        for s in srcs:
            if s.symbol in self.series:
                raise ValueError(f"symbol {s.symbol} given twice")
            self.series[s.symbol] = SymbolSeries(s, s.rules(), retain=max(config.retain_bars, config.history_bars))
        start = max(int(se.open_time[min(config.history_bars, len(se) - 1)]) for se in self.series.values())
        self.clock = ReplayClock(start, config.speed)
        if config.paused:
            self.clock.pause()
        self.engine = MatchingEngine({k: v.rules for k, v in self.series.items()}, dict(config.balances),
                                     maker_fee=config.maker_fee, taker_fee=config.taker_fee, seed=config.seed)
        self.streams = StreamHub()
        self.userdata = UserDataHub(self.auth, self.faults, self.limiter.rate_limits, self.server_clock.now_ms)
        self._t = start  # market time everything has been advanced to
        self._trade_ids = {s: 1 for s in self.series}
        self._exec_ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._ref_cache: dict[str, tuple[int, Decimal, Decimal]] = {}
        self.extensions: list[VenueExtension] = []
        self.futures: FuturesMarket | None = None
        for sym in self.series:
            self._update_market(sym, start)
        if config.futures:
            from tradeterm.venue.futures_venue import FuturesMarket

            FuturesMarket(self)  # registers itself as ``self.futures`` and as an extension

    # ------------------------------------------------------------------ time
    @property
    def market_ms(self) -> int:
        return self._t

    def sync(self) -> None:
        """Advance everything to the replay clock's now."""
        target = self.clock.now_ms()
        if target > self._t:
            self._advance(target)

    def next_step_ms(self) -> int | None:
        """Market time of the next intrabar vertex of any symbol (a third of a base bar), or None
        when every finite source has ended."""
        best: int | None = None
        for se in self.series.values():
            se.ensure_until(self._t + se.tf.ms)
            i = se.index_at(self._t)
            if i < 0:
                cand: int | None = int(se.open_time[0])
            else:
                ot = int(se.open_time[i])
                end = se.tf.bucket_end(ot)
                cand = next((v for v in (ot + (end - ot) // 3, ot + 2 * (end - ot) // 3, end) if v > self._t), None)
                if cand is None and i + 1 < len(se):
                    cand = int(se.open_time[i + 1])
            if cand is not None:
                best = cand if best is None else min(best, cand)
        return best

    def step(self, n: int = 1) -> int:
        """Advance ``n`` intrabar vertices (max speed and manual stepping). Returns steps taken."""
        taken = 0
        for _ in range(n):
            t = self.next_step_ms()
            if t is None or t <= self._t:
                break
            self.clock.advance_to(t)
            self._advance(t)
            taken += 1
        return taken

    def step_bars(self, n: int = 1) -> int:
        return self.step(3 * n)

    # ------------------------------------------------------------------ the walk
    def _advance(self, t1: int) -> None:
        t0 = self._t
        self._t = t1
        for sym, se in self.series.items():
            se.ensure_until(t1)
            self._walk(sym, se, t0, t1)
            self._update_market(sym, t1)
            self._publish_market(sym, se, t0, t1)
        for ext in self.extensions:
            ext.advance(t0, t1)
        self.dispatch_events()

    def _walk(self, sym: str, se: SymbolSeries, t0: int, t1: int) -> None:
        if not self.engine.open_orders(sym):
            return
        walk_path(se, t0, t1, lambda a, b, t, **kw: self.engine.on_move(sym, a, b, t, **kw))

    def _update_market(self, sym: str, t: int) -> None:
        se = self.series[sym]
        i = max(se.index_at(t), 0)
        price = Decimal(repr(se.price_on_path(i, se.fraction(i, t))))
        bar_open = int(se.open_time[i])  # the key is a time: indexes shift when old bars are dropped
        cached = self._ref_cache.get(sym)
        if cached is None or cached[0] != bar_open:  # avgPrice and book depth change only when a bar closes
            ref = Decimal(repr(se.avg_price(t, se.rules.avg_price_mins))).quantize(se.rules.tick_size)
            per_min = se.volume_per_ms(i) * 60_000
            level = floor_to(Decimal(repr(max(per_min / 20, 0.0))), se.rules.step_size)
            cached = (bar_open, ref, max(level, se.rules.min_qty * 10))
            self._ref_cache[sym] = cached
        _, ref, level = cached
        self.engine.set_market(sym, price, ref if ref > 0 else price, level, t)

    def last_price(self, sym: str) -> Decimal:
        return self.engine.market[sym].price

    # ------------------------------------------------------------------ streams
    def _publish_market(self, sym: str, se: SymbolSeries, t0: int, t1: int) -> None:
        names = self.streams.names_for(sym)
        if not names:
            return
        low = sym.lower()
        i = se.index_at(t1)
        if i < 0:
            return
        price = self.engine.market[sym].price
        tid = self._trade_ids[sym]
        moved = t1 > t0
        if moved:
            self._trade_ids[sym] += 1
        qty = floor_to(Decimal(repr(se.volume_per_ms(i) * (t1 - t0))), se.rules.step_size)
        qty = max(qty, se.rules.step_size)
        for name in names:
            kind = name[len(low) + 1:]
            if kind.startswith("kline_"):
                tf = INTERVALS.get(kind[6:])
                if tf is None or (tf.ms < se.tf.ms):
                    continue
                for b in self._kline_updates(se, tf, t0, t1):
                    self.streams.publish(name, kline_event(sym, tf, b, t1, tid))
            elif kind == "trade" and moved:
                self.streams.publish(name, {"e": "trade", "E": t1, "s": sym, "t": tid, "p": f8(price), "q": f8(qty),
                                            "T": t1, "m": tid % 2 == 0, "M": True})
            elif kind == "aggTrade" and moved:
                self.streams.publish(name, {"e": "aggTrade", "E": t1, "s": sym, "a": tid, "p": f8(price), "q": f8(qty),
                                            "f": tid, "l": tid, "T": t1, "m": tid % 2 == 0, "M": True})
            elif kind == "bookTicker":
                bk = self.engine.book(sym)
                self.streams.publish(name, {"u": tid, "s": sym, "b": f8(bk.best_bid), "B": f8(bk.level_size(0)),
                                            "a": f8(bk.best_ask), "A": f8(bk.level_size(0))})
            elif kind == "ticker":
                self.streams.publish(name, ticker_event(self, sym, t1))

    def _kline_updates(self, se: SymbolSeries, tf: Timeframe, t0: int, t1: int) -> list[Bar]:
        if tf is se.tf:
            i0, i1 = max(se.index_at(t0), 0), se.index_at(t1)
            out = [se.bar(i, t1) for i in range(i0, i1) if se.tf.close_time(int(se.open_time[i])) >= t0]
            out.append(se.bar(i1, t1))
            return out
        bars = se.klines(tf, t1, tf.bucket_start(t0), None, 1000)
        return [b for b in bars if not b.closed or b.close_time >= t0]

    # ------------------------------------------------------------------ user data
    def dispatch_events(self) -> None:
        for ext in self.extensions:
            ext.dispatch()
        events = self.engine.drain_events()
        if not events or not self.userdata.conns:
            return
        now = self.server_clock.now_ms()
        for ev in events:
            if isinstance(ev, ExecEvent):
                self.userdata.publish(R.execution_report(ev, next(self._exec_ids), now))
            elif isinstance(ev, ListEvent):
                self.userdata.publish(R.list_status(ev, now))
            elif isinstance(ev, BalanceEvent):
                self.userdata.publish(R.account_position(ev, now))

    def deposit(self, asset: str, amount: Decimal) -> None:
        """Credit (or debit) a balance from outside trading: a ``balanceUpdate`` event."""
        free = self.engine.free.get(asset, Decimal(0)) + amount
        if free < 0:
            raise ValueError("a withdrawal cannot exceed the free balance")
        self.engine.free[asset] = free
        self.engine.locked.setdefault(asset, Decimal(0))
        now = self.server_clock.now_ms()
        self.userdata.publish(R.balance_update(asset, amount, now, self._t))
        self.userdata.publish(R.account_position(
            BalanceEvent({asset: (free, self.engine.locked[asset])}, self._t), now))

    # ------------------------------------------------------------------ the feed task
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.drop_streams()

    def drop_streams(self) -> None:
        """Cut every market-stream connection, spot and extensions alike."""
        self.streams.drop_all()
        for ext in self.extensions:
            ext.drop_streams()

    def has_consumers(self) -> bool:
        return self.streams.has_consumers or any(ext.has_consumers() for ext in self.extensions)

    def backlog(self) -> int:
        return max([self.streams.backlog(), *(ext.backlog() for ext in self.extensions)])

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_drop = loop.time()
        while True:
            every = self.faults.drop_streams_every_s
            if every > 0 and loop.time() - last_drop >= every:
                self.drop_streams()
                last_drop = loop.time()
            elif every <= 0:
                last_drop = loop.time()
            if self.clock.is_max:
                if self.clock.paused or not self.has_consumers():
                    self._wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 0.05)
                    continue
                if self.step(1) == 0:
                    await asyncio.sleep(0.05)
                    continue
                for _ in range(7):  # a few steps per turn of the loop while consumers keep up
                    if self.backlog() > 50 or self.step(1) == 0:
                        break
                while self.backlog() > 200:
                    await asyncio.sleep(0.001)
                await asyncio.sleep(0)
            else:
                self.sync()
                await asyncio.sleep(self.config.tick_seconds)


def walk_path(se: SymbolSeries, t0: int, t1: int, on_move: Callable[..., None]) -> None:
    """Call ``on_move(a, b, t, gap=, rest_low=, rest_high=)`` for every monotonic stretch of the
    intrabar path between market times ``t0`` and ``t1`` (shared by the spot and futures engines,
    so both fill against exactly the same prices)."""
    i0, i1 = se.index_at(t0), se.index_at(t1)
    if i1 < 0:
        return
    i0 = max(i0, 0)
    f0 = se.fraction(i0, t0)
    cur = Decimal(repr(se.price_on_path(i0, f0)))
    for i in range(i0, i1 + 1):
        f_start = f0 if i == i0 else 0.0
        ot = int(se.open_time[i])
        span = se.tf.bucket_end(ot) - ot
        if i != i0:
            o = Decimal(repr(se.price_on_path(i, 0.0)))
            lo, hi = se.remaining_range(i, 0.0)
            on_move(cur, o, ot, gap=True, rest_low=Decimal(repr(lo)), rest_high=Decimal(repr(hi)))
            cur = o
        f_end = se.fraction(i, t1) if i == i1 else 1.0
        fs = [k / 3 for k in (1, 2, 3) if f_start < k / 3 <= f_end]
        pts = [(f, Decimal(repr(p))) for f, p in zip(fs, se.vertices_between(i, f_start, f_end))]
        if i == i1 and (not fs or fs[-1] < f_end):
            pts.append((f_end, Decimal(repr(se.price_on_path(i, f_end)))))
        for f, p in pts:
            lo, hi = se.remaining_range(i, f)
            on_move(cur, p, ot + int(span * f), rest_low=Decimal(repr(lo)), rest_high=Decimal(repr(hi)))
            cur = p


def kline_event(sym: str, tf: Timeframe, b: Bar, t: int, trade_id: int) -> dict[str, Any]:
    return {"e": "kline", "E": t, "s": sym, "k": {
        "t": b.open_time, "T": b.close_time, "s": sym, "i": tf.value, "f": max(trade_id - b.trades, 0),
        "L": trade_id, "o": f8_float(b.open), "c": f8_float(b.close), "h": f8_float(b.high),
        "l": f8_float(b.low), "v": f8_float(b.volume), "n": b.trades, "x": b.closed,
        "q": f8_float(b.quote_volume), "V": f8_float(b.taker_buy_base), "Q": f8_float(b.taker_buy_quote), "B": "0"}}


def f8_float(x: float) -> str:
    return f"{x:.8f}"


def ticker_stats(venue: Venue, sym: str, t: int) -> dict[str, Any]:
    """Rolling 24 h statistics from base bars (closed ones plus the forming one)."""
    se = venue.series[sym]
    bars = se.klines(se.tf, t, t - 86_400_000, None, 100_000)
    if not bars:
        bars = [se.bar(0, t)]
    o, c = bars[0].open, bars[-1].close
    h = max(b.high for b in bars)
    l = min(b.low for b in bars)
    v = sum(b.volume for b in bars)
    q = sum(b.quote_volume for b in bars)
    n = sum(b.trades for b in bars)
    bk = venue.engine.book(sym)
    tid = venue._trade_ids[sym]
    return {"symbol": sym, "priceChange": f8_float(c - o), "priceChangePercent": f"{(c - o) / o * 100 if o else 0:.3f}",
            "weightedAvgPrice": f8_float(q / v if v else c), "prevClosePrice": f8_float(o), "lastPrice": f8_float(c),
            "lastQty": f8(bk.level_size(0)), "bidPrice": f8(bk.best_bid), "bidQty": f8(bk.level_size(0)),
            "askPrice": f8(bk.best_ask), "askQty": f8(bk.level_size(0)), "openPrice": f8_float(o),
            "highPrice": f8_float(h), "lowPrice": f8_float(l), "volume": f8_float(v), "quoteVolume": f8_float(q),
            "openTime": bars[0].open_time, "closeTime": t, "firstId": max(tid - n, 0), "lastId": tid, "count": n}


def ticker_event(venue: Venue, sym: str, t: int) -> dict[str, Any]:
    s = ticker_stats(venue, sym, t)
    return {"e": "24hrTicker", "E": t, "s": sym, "p": s["priceChange"], "P": s["priceChangePercent"],
            "w": s["weightedAvgPrice"], "x": s["prevClosePrice"], "c": s["lastPrice"], "Q": s["lastQty"],
            "b": s["bidPrice"], "B": s["bidQty"], "a": s["askPrice"], "A": s["askQty"], "o": s["openPrice"],
            "h": s["highPrice"], "l": s["lowPrice"], "v": s["volume"], "q": s["quoteVolume"], "O": s["openTime"],
            "C": t, "F": s["firstId"], "L": s["lastId"], "n": s["count"]}
