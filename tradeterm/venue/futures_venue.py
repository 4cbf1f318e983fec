"""USD-M futures next to spot: the futures engine driven by the same replay, its market streams
and its user data.

Where a client finds it (Binance serves futures from fapi.binance.com and fstream.binance.com):

* REST: ``/fapi/...`` on the venue's one port; those paths never collide with spot's ``/api/...``.
* Streams, routed paths (Binance's current layout): ``/market/ws/<streams>``, ``/market/stream?streams=``,
  ``/public/...`` (book data only: ``@bookTicker``; ``/market`` carries everything else, and a
  stream on the wrong path is accepted but silent, as on Binance), ``/private/ws/<listenKey>``,
  ``/private/ws?listenKey=``, ``/private/stream?listenKey=``. These do not collide with spot either,
  so a client's fstream base URL is simply ``ws://host:port`` (python-binance: ``FSTREAM_URL``).
* Streams, classic paths: spot owns ``/ws`` and ``/stream`` on this port, so the classic futures
  paths live under the prefix ``/futures``: fstream base ``ws://host:port/futures`` gives
  ``/futures/ws/<streams or listenKey>``, ``/futures/stream?streams=``, and also the routed
  ``/futures/market|public|private/...``.
* Market streams served: ``<s>@kline_<i>``, ``<pair>_perpetual@continuousKline_<i>``,
  ``<s>@markPrice[@1s]``, ``!markPrice@arr[@1s]`` (one array of every symbol), ``<s>@aggTrade``,
  ``<s>@bookTicker`` (``/public``), ``<s>@forceOrder`` and ``!forceOrder@arr`` (this account's
  liquidations, the only forced orders a one-account venue has).
* WebSocket API: ``/ws-fapi/v1`` (see :mod:`tradeterm.venue.ws_fapi`).
* Faults: ``drop-streams`` (control API) and the periodic drop cut every futures market-stream
  connection and every user-data connection (listenKeys stay valid); user-data duplicate/reorder
  apply to the listenKey streams.

Market time is the replay's; funding settles at each funding time the schedule holds, with the
replay stopped exactly there so the mark used is the mark of that instant."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from tradeterm.venue import futures_responses as FR
from tradeterm.venue.funding import FundingSchedule
from tradeterm.venue.futures_engine import (
    AccountEvent,
    AlgoEvent,
    ConfigEvent,
    FuturesEngine,
    OrderEvent,
)
from tradeterm.venue.futures_symbols import FuturesRules, futures_rules, load_ccxt_tiers
from tradeterm.venue.futures_userdata import FuturesUserData
from tradeterm.venue.ratelimit import RateLimiter
from tradeterm.venue.streams import StreamHub, _parse_names, normalize, serve_stream
from tradeterm.venue.symbols import floor_to

if TYPE_CHECKING:
    from tradeterm.venue.venue import Venue

BOOK_KINDS = ("bookTicker", "depth")
ARR_MARK = ("!markPrice@arr", "!markPrice@arr@1s")


def is_book_stream(name: str) -> bool:
    return name.startswith("!bookTicker") or any(name.partition("@")[2].startswith(k) for k in BOOK_KINDS)


class _RoutedHub:
    """A view of the futures hub for one routed path: streams of the other category are accepted
    (and listed) but never delivered, like Binance's ``/public`` vs ``/market`` split."""

    def __init__(self, hub: StreamHub, book: bool) -> None:
        self._hub = hub
        self._book = book

    def subscribe(self, conn: Any, names: list[str]) -> None:
        self._hub.subscribe(conn, [n for n in names if is_book_stream(n) == self._book])
        conn.names.extend(normalize(n) for n in names if is_book_stream(n) != self._book and normalize(n) not in conn.names)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hub, name)


class FuturesMarket:
    """The venue extension for USD-M (see :class:`tradeterm.venue.venue.VenueExtension`)."""

    def __init__(self, venue: Venue) -> None:
        cfg = venue.config
        self.venue = venue
        tiers = load_ccxt_tiers(cfg.leverage_tiers_file) if cfg.leverage_tiers_file else None
        self.rules: dict[str, FuturesRules] = {s: futures_rules(se.rules, tiers) for s, se in venue.series.items()}
        self.funding = {s: FundingSchedule.constant(cfg.funding_rate) for s in self.rules}
        files = dict(cfg.funding_files)
        default_file = files.pop("*", None)  # one file for every symbol not named (the CLI's bare path)
        for sym in self.funding:
            path = files.get(sym, default_file)
            if path is not None:
                self.funding[sym] = FundingSchedule.from_csv(path, cfg.funding_rate)
        self.engine = FuturesEngine(self.rules, cfg.futures_balance, maker_fee=cfg.futures_maker_fee,
                                    taker_fee=cfg.futures_taker_fee, premium=cfg.mark_premium, funding=self.funding,
                                    default_leverage=cfg.default_leverage,
                                    fill_before_algo_update=cfg.algo_fill_before_update)
        self.streams = StreamHub()
        self.limiter = RateLimiter(weight_per_minute=cfg.futures_weight_per_minute,
                                   orders_per_10s=cfg.futures_orders_per_10s,
                                   orders_per_day=cfg.futures_orders_per_minute, long_window_s=60)
        self.userdata = FuturesUserData(venue.faults, venue.server_clock.now_ms, cfg.listen_key_validity_ms)
        self._agg_ids = {s: 1 for s in self.rules}
        for sym in self.rules:
            self._set_market(sym, venue.market_ms)
        venue.extensions.append(self)
        venue.futures = self

    # ---------------------------------------------------------------- the replay
    def _last_at(self, sym: str, t: int) -> Decimal:
        se = self.venue.series[sym]
        i = max(se.index_at(t), 0)
        return Decimal(repr(se.price_on_path(i, se.fraction(i, t))))

    def _set_market(self, sym: str, t: int) -> None:
        level = self.venue.engine.market[sym].level_qty if sym in self.venue.engine.market else Decimal(1)
        self.engine.set_market(sym, self._last_at(sym, t), level, t)

    def _busy(self, sym: str) -> bool:
        eng = self.engine
        return bool(eng.open_orders(sym) or eng.open_algos(sym) or eng.open_positions(sym))

    def advance(self, t0: int, t1: int) -> None:
        from tradeterm.venue.venue import walk_path

        eng = self.engine
        for sym, se in self.venue.series.items():
            a = t0
            for t in [*self.funding[sym].between(t0, t1), None]:
                b = t1 if t is None else t
                if b > a and self._busy(sym):
                    walk_path(se, a, b, lambda x, y, tt, _s=sym, **kw: eng.on_move(_s, x, y, tt, **kw))
                self._set_market(sym, b)
                if t is not None:
                    eng.settle_funding(sym, t)
                a = b
            self._publish(sym, t0, t1)
        self._publish_all(t1)

    def next_funding(self, sym: str) -> int:
        return self.funding[sym].next_time(self.venue.market_ms)

    def funding_rate(self, sym: str) -> Decimal:
        """The rate of the coming settlement (premiumIndex ``lastFundingRate``, markPrice ``r``)."""
        return self.funding[sym].rate_at(self.next_funding(sym))

    # ---------------------------------------------------------------- market streams
    def _publish(self, sym: str, t0: int, t1: int) -> None:
        from tradeterm.venue.venue import INTERVALS, kline_event

        hub = self.streams
        names = hub.names_for(sym)
        cont = hub.names_for(sym + "_perpetual")
        if not names and not cont:
            return
        se = self.venue.series[sym]
        r = self.rules[sym]
        m = self.engine.market[sym]
        aid = self._agg_ids[sym]
        moved = t1 > t0
        if moved:
            self._agg_ids[sym] += 1
        for name in names:
            kind = name[len(sym) + 1:]
            if kind.startswith("kline_"):
                tf = INTERVALS.get(kind[6:])
                if tf is None or tf.ms < se.tf.ms:
                    continue
                for bar in self.venue._kline_updates(se, tf, t0, t1):
                    hub.publish(name, kline_event(sym, tf, bar, t1, aid))
            elif kind in ("markPrice", "markPrice@1s"):
                hub.publish(name, self._mark_event(sym, t1))
            elif kind == "aggTrade" and moved:
                q = max(floor_to(Decimal(repr(se.volume_per_ms(se.index_at(t1)) * (t1 - t0))), r.step_size),
                        r.step_size)
                hub.publish(name, {"e": "aggTrade", "E": t1, "a": aid, "s": sym, "p": FR.price(r, m.last),
                                   "q": FR.qty(r, q), "f": aid, "l": aid, "T": t1, "m": aid % 2 == 0})
            elif kind == "bookTicker":
                bk = self.engine.book(sym)
                size = FR.qty(r, bk.level_size(0))
                hub.publish(name, {"e": "bookTicker", "u": aid, "E": t1, "T": t1, "s": sym,
                                   "b": FR.price(r, bk.best_bid), "B": size, "a": FR.price(r, bk.best_ask), "A": size})
        for name in cont:
            kind = name.partition("@")[2]
            tf = INTERVALS.get(kind.removeprefix("continuousKline_")) if kind.startswith("continuousKline_") else None
            if tf is None or tf.ms < se.tf.ms:
                continue
            for bar in self.venue._kline_updates(se, tf, t0, t1):
                k = kline_event(sym, tf, bar, t1, aid)["k"]
                k.pop("s")
                hub.publish(name, {"e": "continuous_kline", "E": t1, "ps": sym, "ct": "PERPETUAL", "k": k})

    def _mark_event(self, sym: str, t: int) -> dict[str, Any]:
        m = self.engine.market[sym]
        return FR.mark_price_update(sym, m.mark, m.last, self.funding_rate(sym), self.next_funding(sym), t)

    def _publish_all(self, t1: int) -> None:
        """The all-market streams: ``!markPrice@arr`` (and ``@1s``) carry one array of every
        symbol's mark per push."""
        hub = self.streams
        names = [n for n in ARR_MARK if n in hub.subs]
        if names:
            data = [self._mark_event(s, t1) for s in self.rules]
            for n in names:
                hub.publish(n, data)

    def _publish_liquidation(self, ev: OrderEvent) -> None:
        """``<symbol>@forceOrder`` and ``!forceOrder@arr`` for a liquidation (the only forced
        orders this one-account venue has)."""
        hub = self.streams
        names = [n for n in (ev.order.symbol.lower() + "@forceOrder", "!forceOrder@arr") if n in hub.subs]
        if names:
            data = FR.force_order(ev, self.rules[ev.order.symbol])
            for n in names:
                hub.publish(n, data)

    # ---------------------------------------------------------------- user data
    def dispatch(self) -> None:
        events = self.engine.drain_events()
        self.userdata.check_expiry()
        if not events:
            return
        for ev in events:
            if isinstance(ev, OrderEvent) and ev.exec_type == "CALCULATED":
                self._publish_liquidation(ev)
        if not self.userdata.conns:
            return
        now = self.venue.server_clock.now_ms()
        for ev in events:
            if isinstance(ev, ConfigEvent):
                self.userdata.publish(FR.account_config_update(ev, now))
            elif isinstance(ev, OrderEvent):
                r = self.rules[ev.order.symbol]
                if ev.exec_type in ("TRADE", "CALCULATED"):
                    self.userdata.publish(FR.trade_lite(ev, r, now))
                self.userdata.publish(FR.order_trade_update(ev, r, self.engine.asset, now))
            elif isinstance(ev, AlgoEvent):
                self.userdata.publish(FR.algo_update(ev, self.rules[ev.algo.symbol], now))
            elif isinstance(ev, AccountEvent):
                self.userdata.publish(FR.account_update(ev, self.engine, now))

    # ---------------------------------------------------------------- extension protocol
    def has_consumers(self) -> bool:
        return self.streams.has_consumers

    def backlog(self) -> int:
        return self.streams.backlog()

    def drop_streams(self) -> None:
        """Cut market streams on every futures path and the user-data connections too: Binance
        drops both (24 h lifetime, maintenance), and a client must recover either."""
        self.streams.drop_all()
        self.userdata.drop_all()

    def stream_routes(self) -> list[WebSocketRoute]:
        hub = self.streams
        market, public = _RoutedHub(hub, book=False), _RoutedHub(hub, book=True)
        routes: list[WebSocketRoute] = []

        def add(prefix: str, view: Any) -> None:
            async def raw(ws: WebSocket) -> None:
                await serve_stream(ws, view, _parse_names(ws.path_params.get("streams", "")), combined=False)

            async def combined(ws: WebSocket) -> None:
                await serve_stream(ws, view, _parse_names(ws.query_params.get("streams", "")), combined=True)

            routes.extend([WebSocketRoute(f"{prefix}/ws", raw), WebSocketRoute(f"{prefix}/ws/{{streams:path}}", raw),
                           WebSocketRoute(f"{prefix}/stream", combined)])

        async def classic_raw(ws: WebSocket) -> None:
            path = ws.path_params.get("streams", "")
            if path in self.userdata.keys:  # fstream's /ws/<listenKey>
                await self.userdata.serve(ws, path, None, combined=False)
            else:
                await serve_stream(ws, hub, _parse_names(path), combined=False)

        routes.append(WebSocketRoute("/futures/ws/{streams:path}", classic_raw))
        for root in ("", "/futures"):
            add(f"{root}/market", market)
            add(f"{root}/public", public)
            routes.extend(self.userdata.routes(f"{root}/private"))
        add("/futures", hub)
        return routes

