"""Paper trading in-process: the venue's own :class:`MatchingEngine`, fed by candles.

Why the venue's engine: backtests, the demo and the venue must fill the same order the same
way (intrabar path, stop-first OCO rule, fees, locked balances), so there is exactly one
implementation. Engine events are rendered with the venue's ``executionReport`` builder and
parsed by the same code as Binance's stream, so a paper update cannot differ in shape from a
live one.

Persistence: with a store, the paper "exchange" outlives its process like a real one. The
engine's state (balances free and locked, orders with their reservations, order lists, trades,
id counters, market marks, the last candle fed) lives in the ``paper_state`` table and is
restored before the broker reconciles. Changes are saved *incrementally* (the account row, plus
only the orders, lists and trades that changed) and *inside the broker's own journal
transaction*: every journal write (:meth:`Store.write`) made by the broker core also carries the
account's changes, so the engine state and the journal of the events that produced it commit
together or not at all, at no extra round trip on the order path. A candle that fills nothing
still moves prices and the candle mark; those are saved once per batch of candles.

Why that ordering is crash-safe: the engine is mutated in memory first, then its reports reach
the broker's inbox without a suspension in between, and the broker journals the inbox before
acting on it. A kill before that commit loses the engine change and its reports together (as if
the request or the bar never happened: reconciliation looks the order up, finds nothing and
sends it again, or the resting order waits for the next bar); a kill after it finds both. The
engine state is never saved ahead of reports still waiting in the inbox (see
:meth:`PaperBroker.save_account`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import orjson

from tradeterm.brokers.core import TradingBroker
from tradeterm.brokers.errors import BinanceError, OrderRejected, UnknownOrder
from tradeterm.brokers.transport import Report, Sink
from tradeterm.brokers.updates import from_execution_report
from tradeterm.contracts.base import Side
from tradeterm.contracts.market import CandleV1
from tradeterm.contracts.trading import OrderType, OrderUpdateV1
from tradeterm.store.protocol import Store
from tradeterm.store.records import PaperStateRow
from tradeterm.trading.filters import Market, SymbolFilters
from tradeterm.trading.intents import OrderSpec
from tradeterm.trading.killswitch import KillSwitch
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue import responses as R
from tradeterm.venue.errors import VenueError
from tradeterm.venue.matching import (
    ExecEvent,
    ListEvent,
    MatchingEngine,
    Order,
    OrderList,
    Reservation,
    dump_list,
    dump_order,
    dump_trade,
)
from tradeterm.venue.matching import OrderSpec as EngineSpec
from tradeterm.venue.series import path_points
from tradeterm.venue.symbols import SymbolRules, floor_to, rules_from_spec

DEFAULT_DEPTH_QUOTE = Decimal(250_000)  # synthetic book: quote value per price level
STATE_FORMAT = 1  # of the ``account`` row; a newer format is refused rather than misread
log = logging.getLogger("tradeterm.brokers.paper")


def _error(e: VenueError) -> BinanceError:
    if e.code == -2011:
        return UnknownOrder(e.code, e.msg, e.http_status)
    return OrderRejected(e.code, e.msg, e.http_status)


def _engine_spec(symbol: str, spec: OrderSpec) -> EngineSpec:
    t = spec.order_type
    tif = "GTC" if t in (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT) else None
    return EngineSpec(
        symbol=symbol, side=spec.side.value, type=t.value, quantity=spec.quantity,
        price=spec.price if t is not OrderType.MARKET else None, stop_price=spec.stop_price,
        time_in_force=tif, client_order_id=spec.client_order_id,
    )  # fmt: skip

def _dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


def _order_sig(o: Order) -> tuple[Any, ...]:
    """Everything about an order that can change after it was created (its reservation too: a
    pair's legs share one, so a change to it rewrites both legs)."""
    r = o.reservation
    return (o.status, o.executed_qty, o.cum_quote, o.update_time, o.working_time, o.triggered, o.orig_qty,
            o.expiry_reason, id(r), r.amount if r else None, r.qty_basis if r else None)  # fmt: skip


def _list_sig(ol: OrderList) -> tuple[Any, ...]:
    return (ol.list_status_type, ol.list_order_status, ol.working_id, tuple(ol.order_ids), tuple(ol.pending_ids))


@dataclass
class StateExport:
    """The rows of one save, and what the tracker will know once they are committed."""

    rows: list[PaperStateRow]
    version: int
    changes: int
    full: bool  # every open order was compared (after a candle), not only the touched ones
    next_order: dict[str, int]
    next_list: int
    trades: dict[str, int]
    watch: dict[tuple[str, int], tuple[Any, ...] | None]  # changes to the watch (None: closed)
    watch_lists: dict[int, tuple[Any, ...] | None]


@dataclass
class StateTracker:
    """What of the engine is already in the store, so a save writes only what changed since the
    last *committed* one: the orders and lists the engine reported on (``touched``) and those
    created since (by id), new trades, and the small account row. A bar can also change an
    order without a report (a stop-limit that triggers and rests), so after candles every open
    order is compared with its saved signature (``watch``). Cost: O(changed orders) per order
    action, O(open orders) per batch of candles, never O(history).

    A save that fails changes nothing here (the next one writes its changes again). Every save
    gets a new ``version``; the table keeps the newest per row, so two saves committing out of
    order (Postgres' pool) cannot regress a row."""

    venue: str
    issued: int = 0  # versions handed out
    committed: int = 0  # newest version known to be in the store
    saved_changes: int = -1  # the transport's change count at that save (-1: never saved)
    next_order: dict[str, int] = field(default_factory=dict)
    next_list: int = 1
    trades: dict[str, int] = field(default_factory=dict)
    watch: dict[tuple[str, int], tuple[Any, ...]] = field(default_factory=dict)  # open orders as saved
    watch_lists: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # open lists as saved
    touched: dict[tuple[str, int], int] = field(default_factory=dict)  # order -> change count of its report
    touched_lists: dict[int, int] = field(default_factory=dict)  # list -> change count of its report
    full_at: int = -1  # change count of the last candle (a full comparison is due after it)
    # id(reservation) -> (reservation, its id in the rows); the reference keeps id() unique.
    res_ids: dict[int, tuple[Reservation, int]] = field(default_factory=dict)
    next_res: int = 1

    def res_id(self, r: Reservation) -> int:
        hit = self.res_ids.get(id(r))
        if hit is not None and hit[0] is r:
            return hit[1]
        rid = self.next_res
        self.next_res += 1
        self.res_ids[id(r)] = (r, rid)
        return rid

    def export(self, t: PaperTransport, now_ms: int) -> StateExport:
        eng = t.engine
        self.issued += 1
        version = self.issued
        rows: list[PaperStateRow] = []

        def row(kind: str, key: str, data: Any) -> None:
            rows.append(PaperStateRow(self.venue, kind, key, version, _dumps(data), now_ms))

        full = self.full_at > self.saved_changes
        keys = set(self.touched)
        if full:
            keys.update(self.watch)
        next_order = dict(eng._next_order)
        for sym, first in self.next_order.items():
            keys.update((sym, oid) for oid in range(first, next_order[sym]))
        for sym in next_order.keys() - self.next_order.keys():
            keys.update((sym, oid) for oid in range(1, next_order[sym]))
        watch: dict[tuple[str, int], tuple[Any, ...] | None] = {}
        for key in keys:
            o = eng.orders.get(key[0], {}).get(key[1])
            if o is None:
                continue
            sig = _order_sig(o)
            old = self.watch.get(key)
            if o.is_open:
                if old != sig:
                    watch[key] = sig
            elif old is not None:
                watch[key] = None
            if old != sig:
                rid = self.res_id(o.reservation) if o.reservation is not None else None
                row("order", f"{o.symbol}:{o.order_id}", dump_order(o, rid))
        lids = set(self.touched_lists) | set(range(self.next_list, eng._next_list))
        if full:
            lids.update(self.watch_lists)
        watch_lists: dict[int, tuple[Any, ...] | None] = {}
        for lid in lids:
            ol = eng.lists.get(lid)
            if ol is None:
                continue
            sig = _list_sig(ol)
            old = self.watch_lists.get(lid)
            if old != sig:
                watch_lists[lid] = sig if ol.is_open else None
                row("list", str(lid), dump_list(ol))
        trades: dict[str, int] = {}
        for sym, done in eng.trades.items():
            for tr in done[self.trades.get(sym, 0):]:
                row("trade", f"{sym}:{tr.id}", dump_trade(tr))
            trades[sym] = len(done)
        account = eng.export_account()
        account.update(format=STATE_FORMAT, version=version, exec_id=t._exec_id, t=t._t, fed=dict(t.fed),
                       next_res=self.next_res)  # fmt: skip
        row("account", "account", account)
        return StateExport(rows, version, t.changes, full, next_order, eng._next_list, trades, watch, watch_lists)

    def saved(self, e: StateExport) -> None:
        """``e`` is committed: later saves start from it (unless a newer one already did)."""
        if e.version <= self.committed:
            return
        self.committed = e.version
        self.saved_changes = e.changes
        self.next_order, self.next_list, self.trades = e.next_order, e.next_list, e.trades
        for key, sig in e.watch.items():
            if sig is None:
                self.watch.pop(key, None)
            else:
                self.watch[key] = sig
        for lid, lsig in e.watch_lists.items():
            if lsig is None:
                self.watch_lists.pop(lid, None)
            else:
                self.watch_lists[lid] = lsig
        self.touched = {k: n for k, n in self.touched.items() if n > e.changes}
        self.touched_lists = {k: n for k, n in self.touched_lists.items() if n > e.changes}
        if e.full:  # now and then: forget reservations no open order holds
            live = {sig[8] for sig in self.watch.values()}  # id() of the reservations open orders hold
            self.res_ids = {k: v for k, v in self.res_ids.items() if k in live}


class AccountJournal:
    """The store as a :class:`PaperBroker`'s core sees it: every journal write also carries the
    paper account's unsaved changes, in the same transaction (one round trip, and the engine
    state and the journal of the events that changed it can never disagree). Everything else
    is the store itself."""

    def __init__(self, store: Store, transport: PaperTransport) -> None:
        self._store = store
        self._transport = transport

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @property
    def inner(self) -> Store:
        return self._store

    async def write(self, items: Sequence[Any], *, bulk: bool | None = None) -> int:
        export = self._transport.export_state()
        if export is None:
            return await (self._store.write(items) if bulk is None else self._store.write(items, bulk=bulk))
        # One transaction: without candles among the items the store never splits a write.
        n = await self._store.write([*items, *export.rows])
        self._transport.state_saved(export)
        return n


class PaperTransport:
    """A :class:`~tradeterm.brokers.transport.Transport` over one in-process engine."""

    @property
    def recv_window_ms(self) -> int:
        return 0

    def __init__(
        self,
        rules: dict[str, SymbolRules],
        balances: dict[str, Decimal],
        *,
        venue: str = "paper",
        maker_fee: Decimal = Decimal("0.001"),
        taker_fee: Decimal = Decimal("0.001"),
        depth_quote: Decimal = DEFAULT_DEPTH_QUOTE,
    ) -> None:
        self.venue = venue
        self.rules = rules
        self.depth_quote = depth_quote
        self.engine = MatchingEngine(rules, balances, maker_fee=maker_fee, taker_fee=taker_fee)
        self._t = 0
        self._exec_id = 1  # the next executionReport's execution id
        self._sink: Sink | None = None
        self.changes = 0  # bumped by everything that may change the engine: "is a save due?"
        self.fed: dict[str, int] = {}  # per symbol: open time of the last closed candle applied
        self._rebase: set[str] = set()  # restored marks the next candle may be older than
        self.tracker = StateTracker(venue)

    @classmethod
    def synthetic(cls, symbols: Sequence[str], balances: dict[str, Decimal] | None = None,
                  **kw: object) -> PaperTransport:  # fmt: skip
        """Symbols with the synthetic market's specs, each priced at its start price."""
        from tradeterm.market.synthetic import symbol_spec

        specs = [symbol_spec(s) for s in symbols]
        t = cls({sp.symbol: rules_from_spec(sp) for sp in specs},
                balances or {"USDT": Decimal(10_000)}, **kw)  # type: ignore[arg-type]  # fmt: skip
        for sp in specs:
            t.set_price(sp.symbol, sp.start_price, 0)
        return t

    def set_sink(self, sink: Sink) -> None:
        self._sink = sink

    def now_ms(self) -> int:
        return self._t

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ market
    def set_price(self, symbol: str, price: Decimal, t: int) -> None:
        self.changes += 1
        r = self.rules[symbol]
        level = max(floor_to(self.depth_quote / price, r.step_size), r.min_qty * 10)
        self.engine.set_market(symbol, price, price, level, t)
        self._t = max(self._t, t)

    async def on_candle(self, candle: CandleV1) -> None:
        """Walk the bar's intrabar path through the engine (open, then the nearer extreme,
        the other extreme, close), as the venue does, then deliver what happened."""
        sym = candle.symbol
        if sym not in self.rules:
            return
        if candle.closed:
            if candle.open_time <= self.fed.get(sym, -1) and sym not in self._rebase:
                log.debug("paper: %s bar %s was applied already; skipped", sym, candle.open_time)
                return
            if sym in self._rebase and candle.open_time <= self.fed.get(sym, -1):
                # The market clock went back since the account was saved: the demo venue replays
                # a fresh synthetic history at every start. The account keeps its balances and
                # orders; the mark follows the new clock.
                log.info("paper: %s market time is back at %s (the account's last bar was %s); "
                         "following the new clock", sym, candle.open_time, self.fed[sym])  # fmt: skip
            self._rebase.discard(sym)
            self.fed[sym] = candle.open_time
        self.changes += 1
        self.tracker.full_at = self.changes
        o, h, lo, c = (Decimal(repr(x)) for x in (candle.open, candle.high, candle.low, candle.close))
        if sym not in self.engine.market:
            self.set_price(sym, o, candle.open_time)
        pts = cast(tuple[Decimal, ...], path_points(*cast(Any, (o, h, lo, c))))  # same path as the venue
        span = candle.close_time + 1 - candle.open_time
        cur = self.engine.market[sym].price
        rest: tuple[Decimal, ...] = pts
        self.engine.on_move(sym, cur, o, candle.open_time, gap=True, rest_low=min(rest), rest_high=max(rest))
        for k in (1, 2, 3):
            rest = pts[k:]
            t = candle.open_time + span * k // 3 - (1 if k == 3 else 0)
            self.engine.on_move(sym, pts[k - 1], pts[k], t, rest_low=min(rest), rest_high=max(rest))
        self.set_price(sym, c, candle.close_time)
        reports = self._drain()
        if reports and self._sink is not None:
            await self._sink(reports)

    def _drain(self) -> list[Report]:
        out: list[Report] = []
        for ev in self.engine.drain_events():
            if isinstance(ev, ListEvent):
                self.tracker.touched_lists[ev.order_list.order_list_id] = self.changes
            elif isinstance(ev, ExecEvent):
                self.tracker.touched[(ev.order.symbol, ev.order.order_id)] = self.changes
                report = R.execution_report(ev, self._exec_id, ev.t)
                self._exec_id += 1
                u, fill = from_execution_report(report, self.venue, trusted=True)
                if u is not None:
                    out.append((u, fill))
        return out

    # ------------------------------------------------------------------ orders
    async def exchange_info(self) -> dict[str, SymbolFilters]:
        return {s: SymbolFilters.from_exchange_info(r.exchange_info(), Market.SPOT) for s, r in self.rules.items()}

    async def place_order(self, symbol: str, spec: OrderSpec) -> list[Report]:
        self.changes += 1
        try:
            self.engine.place_order(_engine_spec(symbol, spec), self._t)
        except VenueError as e:
            self.engine.drain_events()
            raise _error(e) from None
        return self._drain()

    async def place_oco(
        self, symbol: str, side: Side, quantity: Decimal, list_client_order_id: str,
        above: OrderSpec, below: OrderSpec,
    ) -> list[Report]:  # fmt: skip
        self.changes += 1
        try:
            self.engine.place_oco(symbol, _engine_spec(symbol, above), _engine_spec(symbol, below),
                                  list_client_order_id, self._t)  # fmt: skip
        except VenueError as e:
            self.engine.drain_events()
            raise _error(e) from None
        return self._drain()

    def _find(self, symbol: str, cid: str) -> Order | None:
        return self.engine.find_order(symbol, client_id=cid)

    async def cancel_order(self, symbol: str, client_order_id: str) -> list[Report]:
        order = self._find(symbol, client_order_id)
        if order is None:
            return []
        if order.is_open:
            self.changes += 1
            self.engine.cancel_order(symbol, order, self._t)
            return self._drain()
        u = self._order_update(order)
        return [(u, None)] if u is not None else []

    def _order_update(self, o: Order) -> OrderUpdateV1 | None:
        from tradeterm.brokers.updates import from_order_json

        return from_order_json(R.order_query(o), self.venue)

    async def query_order(self, symbol: str, client_order_id: str) -> OrderUpdateV1 | None:
        order = self._find(symbol, client_order_id)
        return None if order is None else self._order_update(order)

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdateV1]:
        return [u for o in self.engine.open_orders(symbol) if (u := self._order_update(o))]

    async def cancel_open_orders(self, symbol: str) -> list[Report]:
        self.changes += 1
        self.engine.cancel_all(symbol, self._t)
        return self._drain()

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        eng = self.engine
        return {a: (eng.free[a], eng.locked.get(a, Decimal(0))) for a in eng.free
                if eng.free[a] or eng.locked.get(a)}  # fmt: skip

    async def last_price(self, symbol: str) -> Decimal:
        return self.engine.market[symbol].price

    # ------------------------------------------------------------------ persistence
    @property
    def unsaved(self) -> bool:
        return self.changes != self.tracker.saved_changes

    def export_state(self) -> StateExport | None:
        """The rows that bring the stored account up to date; None when nothing changed."""
        if not self.unsaved:
            return None
        return self.tracker.export(self, time.time_ns() // 1_000_000)

    def state_saved(self, export: StateExport) -> None:
        self.tracker.saved(export)

    def add_symbol(self, symbol: str) -> None:
        """Rules for a symbol the saved account trades but this transport was not built with (a
        symbol dropped from the settings): its orders and balances must come back, not vanish
        with their locked funds. Synthetic specs, as :meth:`synthetic` uses."""
        from tradeterm.market.synthetic import symbol_spec

        self.rules[symbol] = rules_from_spec(symbol_spec(symbol))

    def restore_state(self, rows: Sequence[PaperStateRow]) -> None:
        """Load a saved account (rows oldest write first, as the store returns them)."""
        by_kind: dict[str, list[Any]] = {"account": [], "order": [], "list": [], "trade": []}
        for r in rows:
            if r.kind in by_kind:
                by_kind[r.kind].append(orjson.loads(r.data))
        if not by_kind["account"]:
            raise ValueError(f"the stored paper account {self.venue!r} has no account row")
        account = by_kind["account"][-1]
        if int(account.get("format", 0)) > STATE_FORMAT:
            raise ValueError(f"the stored paper account {self.venue!r} was saved by a newer tradeterm")
        symbols = {*account.get("market", {}), *(o["symbol"] for o in by_kind["order"]),
                   *(ol["symbol"] for ol in by_kind["list"])}  # fmt: skip
        for sym in sorted(symbols - set(self.rules)):
            log.warning("paper: the saved account trades %s, which is not followed now; its orders are kept", sym)
            self.add_symbol(sym)
        eng = self.engine
        eng.restore(account, by_kind["order"], by_kind["list"], by_kind["trade"])
        self._exec_id = max(self._exec_id, int(account.get("exec_id", 1)))
        self._t = max(self._t, int(account.get("t", 0)))
        self.fed = {s: int(v) for s, v in account.get("fed", {}).items()}
        self._rebase = set(self.fed)
        tr = self.tracker
        tr.issued = tr.committed = max(r.version for r in rows)
        tr.next_res = int(account.get("next_res", 1))
        tr.res_ids = {}
        for d in by_kind["order"]:
            if d.get("res") is not None:
                o = eng.orders[d["symbol"]][d["order_id"]]
                if o.reservation is not None:
                    tr.res_ids[id(o.reservation)] = (o.reservation, int(d["res"][0]))
                    tr.next_res = max(tr.next_res, int(d["res"][0]) + 1)
        tr.next_order = dict(eng._next_order)
        tr.next_list = eng._next_list
        tr.trades = {s: len(v) for s, v in eng.trades.items()}
        tr.watch = {(o.symbol, o.order_id): _order_sig(o) for o in eng.open_orders()}
        tr.watch_lists = {lid: _list_sig(ol) for lid, ol in eng.lists.items() if ol.is_open}
        tr.touched, tr.touched_lists, tr.full_at = {}, {}, -1
        tr.saved_changes = self.changes


class PaperBroker(TradingBroker):
    """A :class:`TradingBroker` over a :class:`PaperTransport`; push candles with
    :meth:`on_candle` (closed or open: every price movement can fill).

    With a store the account is persistent (see the module docstring): :meth:`start` restores
    it before reconciling, so the brackets rebuilt from the journal find their orders resting
    where they left them; ``store.reset_paper_state(venue)`` (``tradeterm orders paper-reset``)
    starts it over."""

    transport: PaperTransport

    def __init__(
        self,
        transport: PaperTransport,
        *,
        store: Store | None = None,
        risk: RiskConfig | None = None,
        killswitch: KillSwitch | None = None,
        **kw: object,
    ) -> None:
        self._journal: AccountJournal | None = None
        self._restored = False
        super().__init__(transport, store=store, risk=risk, killswitch=killswitch, **kw)  # type: ignore[arg-type]

    @property  # type: ignore[override]
    def store(self) -> Store | None:
        """The store wrapped so that each journal write also saves the account's changes."""
        return cast(Store | None, self._journal)

    @store.setter
    def store(self, store: Store | None) -> None:
        if isinstance(store, AccountJournal):
            store = store.inner
        self._journal = None if store is None else AccountJournal(store, self.transport)

    @classmethod
    def synthetic(cls, symbols: Sequence[str], balances: dict[str, Decimal] | None = None,
                  **kw: object) -> PaperBroker:  # fmt: skip
        return cls(PaperTransport.synthetic(symbols, balances), **kw)  # type: ignore[arg-type]

    async def start(self) -> Any:
        await self.restore_account()
        return await super().start()

    async def restore_account(self) -> bool:
        """Load the saved account (once; before anything trades). True if there was one; a new
        account is saved at once, so that it exists from its first start."""
        if self._restored or self._journal is None:
            return False
        self._restored = True
        rows = await self._journal.inner.load_paper_state(self.venue)
        if not rows:
            await self.save_account()
            return False
        self.transport.restore_state(rows)
        eng = self.transport.engine
        log.info("paper account %s restored: %d open orders, balances %s", self.venue, len(eng.open_orders()),
                 {a: str(v + eng.locked.get(a, Decimal(0))) for a, v in eng.free.items()
                  if v or eng.locked.get(a)})  # fmt: skip
        return True

    async def save_account(self) -> None:
        """Save what changed without a journal write to carry it (prices and the candle mark
        after bars that filled nothing). Under the broker's lock and after draining the inbox,
        so the saved engine state is never ahead of reports not yet journalled."""
        if self._journal is None or not self.transport.unsaved:
            return
        async with self._lock:
            await self._drain()
            export = self.transport.export_state()
            if export is not None:
                await self._journal.inner.write(export.rows)
                self.transport.state_saved(export)
            await self._drain()
        await self._after_lock()

    async def close(self) -> None:
        """Save the last prices and bar marks too (fills are saved as they happen)."""
        try:
            await self.save_account()
        except Exception as exc:  # noqa: BLE001 - closing goes on; what was journalled is saved
            log.warning("saving the paper account on close failed: %s", exc)
        await super().close()

    async def on_candle(self, candle: CandleV1, *, save: bool = True) -> None:
        """Walk the bar through the engine; ``save=False`` for all but the last of a batch."""
        await self.transport.on_candle(candle)
        if save:
            await self.save_account()
