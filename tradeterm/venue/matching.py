"""The matching engine: orders, order lists, fills, fees and balances, with no I/O.

The venue's HTTP layer and the future paper broker both drive it the same way: ``place_*`` and
``cancel_*`` for client actions, ``on_move`` for every stretch of replayed price, ``drain_events``
for what happened (the user-data stream is built from those events).

Fill rules (documented because backtests inherit them):

* Market orders, and the marketable part of a limit order, sweep the :class:`SyntheticBook` around
  the current price as a taker.
* A resting limit fills in full, as maker, at its own price once the trade price reaches it.
* Stops trigger on trade price: STOP_LOSS SELL and TAKE_PROFIT BUY at ``price <= stopPrice``,
  STOP_LOSS BUY and TAKE_PROFIT SELL at ``price >= stopPrice``. A market-type stop then sweeps the
  book around the trigger price; a ``*_LIMIT`` stop becomes a limit (taker if marketable).
* Price moves continuously along the intrabar path, except across a gap (previous close → next
  open), where everything crossed triggers at the open.
* Conservative OCO rule: when a target leg would fill but the rest of the bar (from that point to
  its close, which the replay knows) also touches the stop leg, the stop leg fills instead.
* Buys pay commission in the base asset, sells in the quote asset (Binance without BNB).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tradeterm.venue import errors as E
from tradeterm.venue.book import SyntheticBook
from tradeterm.venue.errors import VenueError
from tradeterm.venue.filters import ALGO_TYPES, LIMIT_TYPES, OrderCheck, check_order
from tradeterm.venue.symbols import SymbolRules

ZERO = Decimal(0)
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW"})
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT"})
_Q8 = Decimal("0.00000001")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class Reservation:
    """Funds locked for one order, or shared by both legs of an OCO pair."""

    asset: str
    amount: Decimal
    qty_basis: Decimal


@dataclass
class Order:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    stop_price: Decimal
    time: int
    order_list_id: int = -1
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_time: int = 0
    working_time: int = -1
    triggered: bool = False
    expiry_reason: str = "NONE"
    stp_mode: str = "NONE"
    reservation: Reservation | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_working(self) -> bool:
        return self.working_time != -1 and self.is_open

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def snapshot(self) -> Order:
        """A shallow copy (what ``dataclasses.replace(self)`` gives, without re-running ``__init__``)."""
        copy = object.__new__(Order)
        copy.__dict__.update(self.__dict__)
        return copy


@dataclass
class Fill:
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    trade_id: int
    is_maker: bool


@dataclass
class Trade:
    symbol: str
    id: int
    order_id: int
    order_list_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass
class OrderList:
    symbol: str
    order_list_id: int
    contingency_type: str  # OCO | OTO
    list_client_order_id: str
    transaction_time: int
    order_ids: list[int]
    list_status_type: str = "EXEC_STARTED"
    list_order_status: str = "EXECUTING"
    working_id: int | None = None  # OTO/OTOCO: the order whose fill releases the pending ones
    pending_ids: list[int] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.list_order_status == "EXECUTING"


@dataclass
class ExecEvent:
    """One executionReport's worth of facts."""

    order: Order  # a snapshot
    exec_type: str
    t: int
    last_qty: Decimal = ZERO
    last_price: Decimal = ZERO
    commission: Decimal = ZERO
    commission_asset: str | None = None
    trade_id: int = -1
    is_maker: bool = False
    reject_reason: str = "NONE"
    cancel_client_id: str | None = None  # for cancels: ``c`` is the cancel's id, ``C`` the order's


@dataclass
class ListEvent:
    order_list: OrderList  # a snapshot
    orders: list[Order]
    t: int
    reject_reason: str = "NONE"


@dataclass
class BalanceEvent:
    balances: dict[str, tuple[Decimal, Decimal]]
    t: int


Event = ExecEvent | ListEvent | BalanceEvent


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """A new order as the client asked for it (already parsed and type-checked)."""

    symbol: str
    side: str
    type: str
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None
    client_order_id: str | None = None
    stp_mode: str = "NONE"


@dataclass
class MarketState:
    price: Decimal
    ref_price: Decimal
    level_qty: Decimal
    t: int


class MatchingEngine:
    """One account trading any number of symbols against the replayed market."""

    def __init__(self, rules: dict[str, SymbolRules], balances: dict[str, Decimal], *,
                 maker_fee: Decimal = Decimal("0.001"), taker_fee: Decimal = Decimal("0.001"),
                 seed: int = 0) -> None:
        self.rules = rules
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.free: dict[str, Decimal] = {a: Decimal(v) for a, v in balances.items()}
        self.locked: dict[str, Decimal] = {a: ZERO for a in balances}
        for r in rules.values():
            for a in (r.base_asset, r.quote_asset):
                self.free.setdefault(a, ZERO)
                self.locked.setdefault(a, ZERO)
        self.orders: dict[str, dict[int, Order]] = {s: {} for s in rules}
        self._active: dict[str, dict[int, Order]] = {s: {} for s in rules}  # open orders, pruned lazily
        # clientOrderId -> that symbol's orders with it, oldest first (ids are unique only among open
        # orders), so lookups and the duplicate check never scan the order history.
        self._by_client_id: dict[str, dict[str, list[Order]]] = {s: {} for s in rules}
        self.lists: dict[int, OrderList] = {}
        self._lists_by_client_id: dict[str, list[OrderList]] = {}  # the same for order lists
        self.trades: dict[str, list[Trade]] = {s: [] for s in rules}
        self.market: dict[str, MarketState] = {}
        self.update_time = 0
        self._next_order = {s: 1 for s in rules}
        self._next_trade = {s: 1 for s in rules}
        self._next_list = 1
        self._events: list[Event] = []
        self._dirty: set[str] = set()
        self._rng = random.Random(seed)

    # ---------------------------------------------------------------- market & bookkeeping
    def set_market(self, symbol: str, price: Decimal, ref_price: Decimal, level_qty: Decimal, t: int) -> None:
        self.market[symbol] = MarketState(price, ref_price, level_qty, t)

    def book(self, symbol: str, price: Decimal | None = None) -> SyntheticBook:
        m = self.market[symbol]
        r = self.rules[symbol]
        return SyntheticBook(price if price is not None else m.price, r.tick_size, r.step_size, m.level_qty)

    def drain_events(self) -> list[Event]:
        ev, self._events = self._events, []
        return ev

    def new_client_id(self) -> str:
        # Draws exactly what ``"".join(rng.choice(_ALNUM) for _ in range(22))`` draws (choice() is
        # getrandbits(6) retried while >= 62), so ids per seed are unchanged; only faster.
        getrandbits = self._rng.getrandbits
        chars: list[str] = []
        while len(chars) < 22:
            r = getrandbits(6)
            if r < 62:
                chars.append(_ALNUM[r])
        return "".join(chars)

    def _flush_balances(self, t: int) -> None:
        if self._dirty:
            self.update_time = t
            self._events.append(BalanceEvent({a: (self.free[a], self.locked[a]) for a in sorted(self._dirty)}, t))
            self._dirty.clear()

    def _emit(self, order: Order, exec_type: str, t: int, **kw: object) -> None:
        self._events.append(ExecEvent(order.snapshot(), exec_type, t, **kw))  # type: ignore[arg-type]

    def _emit_list(self, ol: OrderList, t: int, reject_reason: str = "NONE") -> None:
        orders = [self.orders[ol.symbol][i].snapshot() for i in ol.order_ids]
        self._events.append(ListEvent(replace(ol, order_ids=list(ol.order_ids)), orders, t, reject_reason))

    # ---------------------------------------------------------------- queries
    def open_orders(self, symbol: str | None = None) -> list[Order]:
        syms = [symbol] if symbol else list(self.orders)
        out: list[Order] = []
        for s in syms:
            active = self._active[s]
            closed = [i for i, o in active.items() if not o.is_open]
            for i in closed:
                del active[i]
            out.extend(active.values())
        return out

    def find_order(self, symbol: str, order_id: int | None = None, client_id: str | None = None) -> Order | None:
        """By id; or by clientOrderId: the newest open order with it, else the newest one."""
        if order_id is not None:
            return self.orders[symbol].get(order_id)
        by_client_id = self._by_client_id[symbol]
        hits = by_client_id.get(client_id) if client_id is not None else None
        if not hits:
            return None
        for o in reversed(hits):  # ids are unique only among open orders
            if o.is_open:
                return o
        return hits[-1]

    def find_list(self, list_id: int | None = None, client_id: str | None = None) -> OrderList | None:
        if list_id is not None:
            return self.lists.get(list_id)
        hits = self._lists_by_client_id.get(client_id) if client_id is not None else None
        if not hits:
            return None
        for ol in reversed(hits):
            if ol.is_open:
                return ol
        return hits[-1]

    def _client_id_open(self, symbol: str, client_id: str) -> bool:
        return any(o.is_open for o in self._by_client_id[symbol].get(client_id, ()))

    def _store_list(self, ol: OrderList) -> None:
        self.lists[ol.order_list_id] = ol
        self._lists_by_client_id.setdefault(ol.list_client_order_id, []).append(ol)

    def list_orders(self, ol: OrderList) -> list[Order]:
        return [self.orders[ol.symbol][i] for i in ol.order_ids]

    # ---------------------------------------------------------------- balances
    def _lock(self, asset: str, amount: Decimal, qty_basis: Decimal) -> Reservation:
        if self.free.get(asset, ZERO) < amount:
            raise E.rejected(E.INSUFFICIENT_BALANCE)
        self.free[asset] -= amount
        self.locked[asset] += amount
        self._dirty.add(asset)
        return Reservation(asset, amount, qty_basis)

    def _release(self, res: Reservation | None) -> None:
        if res is None or res.amount <= 0:
            return
        self.free[res.asset] += res.amount
        self.locked[res.asset] -= res.amount
        self._dirty.add(res.asset)
        res.amount = ZERO
        res.qty_basis = ZERO

    def _lock_need(self, side: str, type_: str, qty: Decimal, price: Decimal | None, stop: Decimal | None,
                   rules: SymbolRules) -> tuple[str, Decimal]:
        if side == "SELL":
            return rules.base_asset, qty
        px = price if type_ in LIMIT_TYPES else stop
        return rules.quote_asset, (qty * (px or ZERO)).quantize(_Q8, ROUND_HALF_UP)

    def _settle(self, order: Order, price: Decimal, qty: Decimal, is_maker: bool, t: int) -> Fill:
        """Move money for one fill; consume the order's reservation proportionally."""
        r = self.rules[order.symbol]
        rate = self.maker_fee if is_maker else self.taker_fee
        quote = (price * qty).quantize(_Q8, ROUND_HALF_UP)
        res = order.reservation
        from_locked = ZERO
        if res is not None and res.qty_basis > 0:
            from_locked = (res.amount * qty / res.qty_basis).quantize(_Q8, ROUND_HALF_UP) if qty < res.qty_basis else res.amount
            res.amount -= from_locked
            res.qty_basis -= qty
            self.locked[res.asset] -= from_locked
            self._dirty.add(res.asset)
        if order.side == "BUY":
            commission, casset = (qty * rate).quantize(_Q8, ROUND_HALF_UP), r.base_asset
            # Locked quote covers the fill; any difference returns to (or is drawn from) free.
            self.free[r.quote_asset] += from_locked - quote
            self.free[r.base_asset] += qty - commission
        else:
            commission, casset = (quote * rate).quantize(_Q8, ROUND_HALF_UP), r.quote_asset
            self.free[r.base_asset] += from_locked - qty
            self.free[r.quote_asset] += quote - commission
        self._dirty.update((r.base_asset, r.quote_asset))
        tid = self._next_trade[order.symbol]
        self._next_trade[order.symbol] += 1
        order.executed_qty += qty
        order.cum_quote += quote
        order.update_time = t
        order.status = "FILLED" if order.executed_qty >= order.orig_qty else "PARTIALLY_FILLED"
        self.trades[order.symbol].append(Trade(order.symbol, tid, order.order_id, order.order_list_id, price, qty,
                                               quote, commission, casset, t, order.side == "BUY", is_maker))
        self._emit(order, "TRADE", t, last_qty=qty, last_price=price, commission=commission,
                   commission_asset=casset, trade_id=tid, is_maker=is_maker)
        return Fill(price, qty, commission, casset, tid, is_maker)

    # ---------------------------------------------------------------- placing
    def _open_counts(self, symbol: str) -> tuple[int, int]:
        opens = self.open_orders(symbol)
        return len(opens), sum(1 for o in opens if o.type in ALGO_TYPES)

    def _validate(self, spec: OrderSpec, extra_open: int = 0, extra_algo: int = 0) -> None:
        r = self.rules[spec.symbol]
        m = self.market[spec.symbol]
        n_open, n_algo = self._open_counts(spec.symbol)
        check_order(r, OrderCheck(spec.side, spec.type, spec.quantity, spec.quote_order_qty, spec.price,
                                  spec.stop_price), ref_price=m.ref_price, open_orders=n_open + extra_open,
                    open_algo_orders=n_algo + extra_algo)
        if spec.client_order_id and self._client_id_open(spec.symbol, spec.client_order_id):
            raise E.rejected(E.DUPLICATE_ORDER)
        price = m.price
        if spec.type in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"):
            assert spec.stop_price is not None
            if self._triggered(spec.side, spec.type, spec.stop_price, price):
                raise E.rejected(E.WOULD_TRIGGER)
        if spec.type == "LIMIT_MAKER":
            bk = self.book(spec.symbol)
            assert spec.price is not None
            if (spec.side == "BUY" and spec.price >= bk.best_ask) or (spec.side == "SELL" and spec.price <= bk.best_bid):
                raise E.rejected(E.WOULD_TAKE)

    @staticmethod
    def _triggered(side: str, type_: str, stop: Decimal, price: Decimal) -> bool:
        up = (type_ in STOP_TYPES) == (side == "BUY")  # STOP BUY / TP SELL trigger on the way up
        return price >= stop if up else price <= stop

    def _new_order(self, spec: OrderSpec, t: int, list_id: int = -1, working: bool = True) -> Order:
        sym = spec.symbol
        oid = self._next_order[sym]
        self._next_order[sym] += 1
        tif = spec.time_in_force or "GTC"
        o = Order(symbol=sym, order_id=oid, client_order_id=spec.client_order_id or self.new_client_id(),
                  side=spec.side, type=spec.type, time_in_force=tif, price=spec.price or ZERO,
                  orig_qty=spec.quantity or ZERO, orig_quote_qty=spec.quote_order_qty or ZERO,
                  stop_price=spec.stop_price or ZERO, time=t, order_list_id=list_id,
                  status="NEW" if working else "PENDING_NEW", update_time=t,
                  working_time=t if working and spec.type in ("LIMIT", "LIMIT_MAKER", "MARKET") else -1,
                  stp_mode=spec.stp_mode)
        self.orders[sym][oid] = o
        self._active[sym][oid] = o
        self._by_client_id[sym].setdefault(o.client_order_id, []).append(o)
        return o

    def place_order(self, spec: OrderSpec, t: int) -> tuple[Order, list[Fill]]:
        """A single order (``POST /api/v3/order``). Raises VenueError on any reject."""
        self._validate(spec)
        r = self.rules[spec.symbol]
        fills_plan: list[tuple[Decimal, Decimal]] = []
        res: Reservation | None = None
        if spec.type == "MARKET":
            fills_plan = self._plan_market(spec)
            if not fills_plan:
                raise E.rejected(E.ZERO_NOTIONAL)
            if spec.side == "BUY":
                cost = sum((p * q for p, q in fills_plan), ZERO)
                if self.free.get(r.quote_asset, ZERO) < cost:
                    raise E.rejected(E.INSUFFICIENT_BALANCE)
            elif self.free.get(r.base_asset, ZERO) < sum((q for _, q in fills_plan), ZERO):
                raise E.rejected(E.INSUFFICIENT_BALANCE)
        else:
            assert spec.quantity is not None
            asset, amount = self._lock_need(spec.side, spec.type, spec.quantity, spec.price, spec.stop_price, r)
            res = self._lock(asset, amount, spec.quantity)
        order = self._new_order(spec, t)
        order.reservation = res
        if spec.type == "MARKET" and spec.quote_order_qty is not None:
            order.orig_qty = sum((q for _, q in fills_plan), ZERO)
        self._emit(order, "NEW", t)
        fills: list[Fill] = []
        if spec.type == "MARKET":
            fills = [self._settle(order, p, q, False, t) for p, q in fills_plan]
            if order.status != "FILLED":
                self._expire(order, t, "INSUFFICIENT_LIQUIDITY")
        elif spec.type == "LIMIT":
            fills = self._take_limit(order, t)
        self._flush_balances(t)
        return order, fills

    def _plan_market(self, spec: OrderSpec) -> list[tuple[Decimal, Decimal]]:
        bk = self.book(spec.symbol)
        if spec.quote_order_qty is not None:
            return bk.sweep(spec.side, quote=spec.quote_order_qty)
        return bk.sweep(spec.side, qty=spec.quantity)

    def _take_limit(self, order: Order, t: int, at_price: Decimal | None = None) -> list[Fill]:
        """The marketable part of a (now working) limit order, then IOC/FOK handling."""
        bk = self.book(order.symbol, at_price)
        plan = bk.sweep(order.side, qty=order.remaining, limit=order.price)
        if order.time_in_force == "FOK" and sum((q for _, q in plan), ZERO) < order.remaining:
            self._expire(order, t, "UNFILLED_FOK_ORDER_EXPIRED")
            return []
        fills = [self._settle(order, p, q, False, t) for p, q in plan]
        if order.is_open and order.time_in_force == "IOC":
            self._expire(order, t, "UNFILLED_IOC_QUANTITY_EXPIRED")
        if order.status == "FILLED":
            self._after_fill(order, t)
        return fills

    def _expire(self, order: Order, t: int, reason: str) -> None:
        order.status = "EXPIRED"
        order.expiry_reason = reason
        order.update_time = t
        self._release_if_alone(order)
        self._emit(order, "EXPIRED", t)
        self._list_leg_closed(order, t)

    def _release_if_alone(self, order: Order) -> None:
        """Release the order's locked funds unless an open sibling still shares them."""
        res = order.reservation
        if res is None:
            return
        for other in self.open_orders(order.symbol):
            if other is not order and other.reservation is res:
                return
        self._release(res)

    # ---------------------------------------------------------------- order lists
    def _new_list(self, symbol: str, contingency: str, client_id: str | None, t: int) -> OrderList:
        if client_id and any(ol.is_open for ol in self._lists_by_client_id.get(client_id, ())):
            raise E.rejected(E.DUPLICATE_ORDER)
        lid = self._next_list
        self._next_list += 1
        ol = OrderList(symbol, lid, contingency, client_id or self.new_client_id(), t, [])
        return ol

    def _check_oco_prices(self, side: str, above: OrderSpec, below: OrderSpec, price: Decimal) -> None:
        """Above leg above the price, below leg below it (as Binance words it: the relationship of
        the prices for the orders is not correct)."""
        def level(s: OrderSpec) -> Decimal:
            if s.type == "LIMIT_MAKER":
                return s.price or ZERO
            return s.stop_price or ZERO
        if not level(above) > price > level(below):
            raise E.rejected(E.BAD_PRICE_RELATION)

    def place_oco(self, symbol: str, above: OrderSpec, below: OrderSpec, list_client_id: str | None,
                  t: int) -> tuple[OrderList, list[Order]]:
        """``POST /api/v3/orderList/oco``: two working legs sharing one lock."""
        self._check_oco_prices(above.side, above, below, self.market[symbol].price)
        self._validate(above)
        self._validate(below, extra_open=1, extra_algo=int(above.type in ALGO_TYPES))
        ol = self._new_list(symbol, "OCO", list_client_id, t)
        res = self._lock_pair(symbol, above, below)
        legs = self._create_oco_legs(ol, above, below, res, t, working=True)
        self._store_list(ol)
        for o in legs:
            self._emit(o, "NEW", t)
        self._emit_list(ol, t)
        self._flush_balances(t)
        return ol, legs

    def _lock_pair(self, symbol: str, a: OrderSpec, b: OrderSpec) -> Reservation:
        r = self.rules[symbol]
        assert a.quantity is not None
        need_a = self._lock_need(a.side, a.type, a.quantity, a.price, a.stop_price, r)
        need_b = self._lock_need(b.side, b.type, b.quantity or ZERO, b.price, b.stop_price, r)
        return self._lock(need_a[0], max(need_a[1], need_b[1]), a.quantity)

    def _create_oco_legs(self, ol: OrderList, above: OrderSpec, below: OrderSpec, res: Reservation | None,
                         t: int, working: bool) -> list[Order]:
        # Binance lists the stop-type leg first in an OCO's orders.
        first, second = (below, above) if below.type in STOP_TYPES and above.type not in STOP_TYPES else (above, below)
        legs = []
        for spec in (first, second):
            o = self._new_order(spec, t, ol.order_list_id, working=working)
            o.reservation = res
            ol.order_ids.append(o.order_id)
            legs.append(o)
        return legs

    def place_oto(self, symbol: str, working: OrderSpec, pending: list[OrderSpec], list_client_id: str | None,
                  t: int) -> tuple[OrderList, list[Order], list[Fill]]:
        """``orderList/oto`` (one pending order) and ``orderList/otoco`` (an above/below pair)."""
        if working.type not in ("LIMIT", "LIMIT_MAKER"):
            raise VenueError(-1014, "Unsupported order combination.")
        self._validate(working)
        for k, p in enumerate(pending):
            self._validate_pending(p, extra_open=1 + k)
        if len(pending) == 2:
            ref = working.price or ZERO
            self._check_oco_prices(pending[0].side, pending[0], pending[1], ref)
        ol = self._new_list(symbol, "OTO", list_client_id, t)
        r = self.rules[symbol]
        assert working.quantity is not None
        asset, amount = self._lock_need(working.side, working.type, working.quantity, working.price, None, r)
        res = self._lock(asset, amount, working.quantity)
        w = self._new_order(working, t, ol.order_list_id)
        w.reservation = res
        ol.order_ids.append(w.order_id)
        ol.working_id = w.order_id
        if len(pending) == 2:
            legs = self._create_oco_legs(ol, pending[0], pending[1], None, t, working=False)
        else:
            legs = [self._new_order(pending[0], t, ol.order_list_id, working=False)]
            ol.order_ids.append(legs[0].order_id)
        ol.pending_ids = [o.order_id for o in legs]
        self._store_list(ol)
        self._emit(w, "NEW", t)
        for o in legs:
            self._emit(o, "NEW", t)
        self._emit_list(ol, t)
        fills: list[Fill] = []
        if w.type == "LIMIT":
            fills = self._take_limit(w, t)
        self._flush_balances(t)
        return ol, [self.orders[symbol][i] for i in ol.order_ids], fills

    def _validate_pending(self, spec: OrderSpec, extra_open: int) -> None:
        """Pending legs are checked against filters at placement; trigger checks wait for activation."""
        r = self.rules[spec.symbol]
        m = self.market[spec.symbol]
        n_open, n_algo = self._open_counts(spec.symbol)
        check_order(r, OrderCheck(spec.side, spec.type, spec.quantity, spec.quote_order_qty, spec.price,
                                  spec.stop_price), ref_price=m.ref_price, open_orders=n_open + extra_open,
                    open_algo_orders=n_algo)

    def _after_fill(self, order: Order, t: int) -> None:
        """List consequences of a completely filled order."""
        if order.order_list_id == -1:
            return
        ol = self.lists[order.order_list_id]
        if ol.working_id == order.order_id:
            self._activate_pending(ol, t)
            return
        self._list_leg_closed(order, t)

    def _activate_pending(self, ol: OrderList, t: int) -> None:
        legs = [self.orders[ol.symbol][i] for i in ol.pending_ids]
        r = self.rules[ol.symbol]
        try:
            if len(legs) == 2:
                a, b = legs
                need_a = self._lock_need(a.side, a.type, a.orig_qty, a.price, a.stop_price, r)
                need_b = self._lock_need(b.side, b.type, b.orig_qty, b.price, b.stop_price, r)
                res = self._lock(need_a[0], max(need_a[1], need_b[1]), a.orig_qty)
            else:
                a = legs[0]
                asset, amount = self._lock_need(a.side, a.type, a.orig_qty, a.price, a.stop_price, r)
                res = self._lock(asset, amount, a.orig_qty)
        except VenueError:
            # Not enough to protect the fill (e.g. the buy's commission came out of the base asset):
            # the pending legs are rejected and the list ends. Inference; see the module docstring.
            for o in legs:
                o.status = "REJECTED"
                o.update_time = t
                self._emit(o, "REJECTED", t, reject_reason="INSUFFICIENT_BALANCES")
            ol.list_status_type = ol.list_order_status = "ALL_DONE"
            self._emit_list(ol, t, reject_reason="INSUFFICIENT_BALANCES")
            return
        price = self.market[ol.symbol].price
        for o in legs:
            o.reservation = res
            o.status = "NEW"
            o.update_time = t
            if o.type in ("LIMIT", "LIMIT_MAKER"):
                o.working_time = t
            self._emit(o, "NEW", t)
        self._emit_list(ol, t)
        for o in legs:  # a leg already beyond its trigger works at once
            if o.is_open and o.type not in ("LIMIT", "LIMIT_MAKER") and self._triggered(o.side, o.type, o.stop_price, price):
                self._trigger(o, price, t, price, price)

    def _list_leg_closed(self, order: Order, t: int) -> None:
        """A leg reached a terminal state: finish the rest of its list the way Binance does."""
        if order.order_list_id == -1:
            return
        ol = self.lists[order.order_list_id]
        if not ol.is_open:
            return
        others = [self.orders[ol.symbol][i] for i in ol.order_ids if i != order.order_id]
        if order.order_id == ol.working_id and order.status != "FILLED":
            for o in others:
                if o.is_open:
                    o.status = "EXPIRED"
                    o.expiry_reason = "OTO_PHASE_ONE_EXPIRED" if order.status == "EXPIRED" else "NONE"
                    o.update_time = t
                    self._emit(o, "EXPIRED", t)
        elif order.status in ("FILLED", "EXPIRED", "CANCELED"):
            for o in others:
                if o.is_open and o.order_id != ol.working_id:
                    o.status = "EXPIRED"
                    o.expiry_reason = "OCO_TRIGGER"
                    o.update_time = t
                    self._release_if_alone(o)
                    self._emit(o, "EXPIRED", t)
        if not any(o.is_open for o in self.list_orders(ol)):
            self._release(order.reservation)
            ol.list_status_type = ol.list_order_status = "ALL_DONE"
            self._emit_list(ol, t)

    # ---------------------------------------------------------------- cancelling
    def cancel_order(self, symbol: str, order: Order, t: int, cancel_id: str | None = None) -> list[Order]:
        """Cancel one order; a leg of a list cancels the whole list. Returns the canceled orders."""
        if not order.is_open:
            raise E.err(E.UNKNOWN_ORDER)
        if order.order_list_id != -1:
            ol = self.lists[order.order_list_id]
            return self.cancel_list(ol, t, cancel_id)[1]
        self._cancel_one(order, t, cancel_id)
        self._flush_balances(t)
        return [order]

    def _cancel_one(self, order: Order, t: int, cancel_id: str | None) -> None:
        order.status = "CANCELED"
        order.update_time = t
        self._release_if_alone(order)
        self._emit(order, "CANCELED", t, cancel_client_id=cancel_id or self.new_client_id())

    def cancel_list(self, ol: OrderList, t: int, cancel_id: str | None = None) -> tuple[OrderList, list[Order]]:
        if not ol.is_open:
            raise E.err(E.UNKNOWN_ORDER)
        legs = self.list_orders(ol)
        cid = cancel_id or self.new_client_id()
        for o in legs:
            if o.is_open:
                self._cancel_one(o, t, cid)
        for o in legs:
            self._release(o.reservation)
        ol.list_status_type = ol.list_order_status = "ALL_DONE"
        self._emit_list(ol, t)
        self._flush_balances(t)
        return ol, legs

    def cancel_all(self, symbol: str, t: int) -> list[Order | OrderList]:
        """``DELETE /api/v3/openOrders``: singles and whole lists, in order id order."""
        out: list[Order | OrderList] = []
        seen: set[int] = set()
        for o in sorted(self.open_orders(symbol), key=lambda x: x.order_id):
            if not o.is_open:
                continue
            if o.order_list_id == -1:
                self._cancel_one(o, t, None)
                out.append(o)
            elif o.order_list_id not in seen:
                seen.add(o.order_list_id)
                out.append(self.cancel_list(self.lists[o.order_list_id], t)[0])
        self._flush_balances(t)
        return out

    # ---------------------------------------------------------------- replayed price
    def on_move(self, symbol: str, a: Decimal, b: Decimal, t: int, *, gap: bool = False,
                rest_low: Decimal | None = None, rest_high: Decimal | None = None) -> None:
        """Price travelled from ``a`` to ``b`` (continuously unless ``gap``); ``rest_low``/``rest_high``
        bound the rest of the current bar, for the stop-first rule."""
        m = self.market.get(symbol)
        if m is None:
            return
        lo_rest = min(b, rest_low) if rest_low is not None else b
        hi_rest = max(b, rest_high) if rest_high is not None else b
        for _ in range(1000):  # each pass handles the first order touched; fills can create new ones
            hit = self._first_touch(symbol, a, b, gap)
            if hit is None:
                break
            order, at = hit
            m.price = at
            self._touch(order, at, t, lo_rest, hi_rest)
            a = at
        m.price = b
        m.t = t
        self._flush_balances(t)

    def _level(self, o: Order) -> tuple[Decimal, bool] | None:
        """(price level, fires when price goes up to it?) for a working or armed order."""
        if not o.is_open or o.status == "PENDING_NEW":
            return None
        if o.type in ("LIMIT", "LIMIT_MAKER") or o.triggered:
            return o.price, o.side == "SELL"
        up = (o.type in STOP_TYPES) == (o.side == "BUY")
        return o.stop_price, up

    def _first_touch(self, symbol: str, a: Decimal, b: Decimal, gap: bool) -> tuple[Order, Decimal] | None:
        """The order the move a→b reaches first, and the price at which it does."""
        best: tuple[Decimal, int, Order, Decimal] | None = None
        for o in self.open_orders(symbol):
            lv = self._level(o)
            if lv is None:
                continue
            level, up = lv
            if gap:
                if not (b >= level if up else b <= level):
                    continue
                at = b
            else:
                if not (max(a, b) >= level if up else min(a, b) <= level):
                    continue
                at = a if (a >= level if up else a <= level) else level
            key = (abs(at - a), o.order_id)
            if best is None or key < best[:2]:
                best = (key[0], key[1], o, at)
        return (best[2], best[3]) if best else None

    def _touch(self, o: Order, at: Decimal, t: int, lo_rest: Decimal, hi_rest: Decimal) -> None:
        if o.order_list_id != -1 and o.type not in STOP_TYPES:
            stop = self._oco_stop_sibling(o)
            if stop is not None:
                lv = self._level(stop)
                if lv is not None and ((lv[1] and hi_rest >= lv[0]) or (not lv[1] and lo_rest <= lv[0])):
                    self._touch(stop, lv[0], t, lo_rest, hi_rest)
                    return
        if o.type in ("LIMIT", "LIMIT_MAKER") or o.triggered:
            self._settle(o, o.price, o.remaining, True, t)
            if o.status == "FILLED":
                self._after_fill(o, t)
            return
        self._trigger(o, at, t, lo_rest, hi_rest)

    def _oco_stop_sibling(self, o: Order) -> Order | None:
        ol = self.lists[o.order_list_id]
        if ol.working_id == o.order_id:
            return None
        for i in ol.order_ids:
            s = self.orders[ol.symbol][i]
            if s is not o and i != ol.working_id and s.is_open and s.status != "PENDING_NEW" and s.type in STOP_TYPES and not s.triggered:
                return s
        return None

    def _trigger(self, o: Order, at: Decimal, t: int, lo_rest: Decimal, hi_rest: Decimal) -> None:
        """A stop/take-profit reached its stopPrice: it starts working (OCO sibling expires)."""
        o.triggered = True
        o.working_time = t
        o.update_time = t
        if o.order_list_id != -1:
            ol = self.lists[o.order_list_id]
            for i in ol.order_ids:
                s = self.orders[ol.symbol][i]
                if s is not o and i != ol.working_id and s.is_open:
                    s.status = "EXPIRED"
                    s.expiry_reason = "OCO_TRIGGER"
                    s.update_time = t
                    self._emit(s, "EXPIRED", t)
        if o.type in ("STOP_LOSS", "TAKE_PROFIT"):
            plan = self.book(o.symbol, at).sweep(o.side, qty=o.remaining)
            if o.side == "BUY":
                res_amt = o.reservation.amount if o.reservation else ZERO
                cost = sum((p * q for p, q in plan), ZERO)
                if self.free[self.rules[o.symbol].quote_asset] + res_amt < cost:
                    self._expire(o, t, "INSUFFICIENT_LIQUIDITY")
                    return
            for p, q in plan:
                self._settle(o, p, q, False, t)
            if o.status == "FILLED":
                self._after_fill(o, t)
            else:
                self._expire(o, t, "INSUFFICIENT_LIQUIDITY")
            return
        # *_LIMIT: becomes a limit order at its price; taker for whatever crosses the book now.
        self._take_limit(o, t, at_price=at)

    # ---------------------------------------------------------------- state export / import
    # For an account that outlives its process (the paper broker persists it in the store).
    # Plain JSON-able dicts with every Decimal as its exact string; matching never reads them.
    def export_account(self) -> dict[str, Any]:
        """Balances, id counters and market state: what is not in an order, list or trade."""
        return {
            "free": {a: str(v) for a, v in self.free.items()},
            "locked": {a: str(v) for a, v in self.locked.items()},
            "next_order": dict(self._next_order),
            "next_trade": dict(self._next_trade),
            "next_list": self._next_list,
            "update_time": self.update_time,
            "market": {s: [str(m.price), str(m.ref_price), str(m.level_qty), m.t] for s, m in self.market.items()},
        }

    def restore(self, account: Mapping[str, Any], orders: Sequence[Mapping[str, Any]],
                lists: Sequence[Mapping[str, Any]], trades: Sequence[Mapping[str, Any]]) -> None:
        """Replace this engine's state with an exported one. ``orders`` oldest write first: a
        reservation shared by several orders (an OCO pair) takes the values of the newest row
        naming it, and becomes one object again, as the pair's legs must share it. Every symbol
        named must have rules here. Counters never go below an id already used."""
        for s in (*account.get("market", {}), *(o["symbol"] for o in orders), *(ol["symbol"] for ol in lists)):
            if s not in self.rules:
                raise ValueError(f"no rules for {s} in this engine")
        self.free = {a: Decimal(v) for a, v in account["free"].items()}
        self.locked = {a: Decimal(v) for a, v in account["locked"].items()}
        for r in self.rules.values():
            for a in (r.base_asset, r.quote_asset):
                self.free.setdefault(a, ZERO)
                self.locked.setdefault(a, ZERO)
        self.orders = {s: {} for s in self.rules}
        self._active = {s: {} for s in self.rules}
        self._by_client_id = {s: {} for s in self.rules}
        reservations: dict[int, Reservation] = {}
        for d in orders:
            o = load_order(d)
            res = d.get("res")
            if res is not None:
                rid, asset, amount, basis = int(res[0]), res[1], Decimal(res[2]), Decimal(res[3])
                shared = reservations.setdefault(rid, Reservation(asset, amount, basis))
                shared.amount, shared.qty_basis = amount, basis
                o.reservation = shared
            self.orders[o.symbol][o.order_id] = o
        for s, by_id in self.orders.items():
            for oid in sorted(by_id):
                o = by_id[oid]
                if o.is_open:
                    self._active[s][oid] = o
                self._by_client_id[s].setdefault(o.client_order_id, []).append(o)
        self.lists = {}
        self._lists_by_client_id = {}
        for ol in sorted((load_list(d) for d in lists), key=lambda x: x.order_list_id):
            self._store_list(ol)
        self.trades = {s: [] for s in self.rules}
        for tr in sorted((load_trade(d) for d in trades), key=lambda x: (x.symbol, x.id)):
            self.trades[tr.symbol].append(tr)
        self.market = {s: MarketState(Decimal(p), Decimal(r), Decimal(q), int(t))
                       for s, (p, r, q, t) in account.get("market", {}).items()}  # fmt: skip
        self.update_time = int(account.get("update_time", 0))
        for s in self.rules:
            used_o = max(self.orders[s], default=0)
            used_t = max((tr.id for tr in self.trades[s]), default=0)
            self._next_order[s] = max(int(account.get("next_order", {}).get(s, 1)), used_o + 1)
            self._next_trade[s] = max(int(account.get("next_trade", {}).get(s, 1)), used_t + 1)
        self._next_list = max(int(account.get("next_list", 1)), max(self.lists, default=0) + 1)
        self._events = []
        self._dirty = set()
        # A restored engine must not hand out the cancel ids of the first run again.
        self._rng.seed(f"{self._next_list}:{sorted(self._next_order.items())}:{sorted(self._next_trade.items())}")


_ORDER_DECIMALS = ("price", "orig_qty", "orig_quote_qty", "stop_price", "executed_qty", "cum_quote")
_ORDER_PLAIN = ("symbol", "order_id", "client_order_id", "side", "type", "time_in_force", "time", "order_list_id",
                "status", "update_time", "working_time", "triggered", "expiry_reason", "stp_mode")


def dump_order(o: Order, res_id: int | None) -> dict[str, Any]:
    """An order as plain data; its reservation as ``[res_id, asset, amount, qty_basis]``."""
    d: dict[str, Any] = {k: getattr(o, k) for k in _ORDER_PLAIN}
    for k in _ORDER_DECIMALS:
        d[k] = str(getattr(o, k))
    r = o.reservation
    d["res"] = None if r is None or res_id is None else [res_id, r.asset, str(r.amount), str(r.qty_basis)]
    return d


def load_order(d: Mapping[str, Any]) -> Order:
    """The order without its reservation (``MatchingEngine.restore`` links shared ones)."""
    kw: dict[str, Any] = {k: d[k] for k in _ORDER_PLAIN}
    kw.update({k: Decimal(d[k]) for k in _ORDER_DECIMALS})
    return Order(**kw)


def dump_list(ol: OrderList) -> dict[str, Any]:
    return {"symbol": ol.symbol, "order_list_id": ol.order_list_id, "contingency_type": ol.contingency_type,
            "list_client_order_id": ol.list_client_order_id, "transaction_time": ol.transaction_time,
            "order_ids": list(ol.order_ids), "list_status_type": ol.list_status_type,
            "list_order_status": ol.list_order_status, "working_id": ol.working_id,
            "pending_ids": list(ol.pending_ids)}  # fmt: skip


def load_list(d: Mapping[str, Any]) -> OrderList:
    return OrderList(d["symbol"], d["order_list_id"], d["contingency_type"], d["list_client_order_id"],
                     d["transaction_time"], list(d["order_ids"]), d["list_status_type"], d["list_order_status"],
                     d["working_id"], list(d["pending_ids"]))  # fmt: skip


def dump_trade(t: Trade) -> dict[str, Any]:
    return {"symbol": t.symbol, "id": t.id, "order_id": t.order_id, "order_list_id": t.order_list_id,
            "price": str(t.price), "qty": str(t.qty), "quote_qty": str(t.quote_qty), "commission": str(t.commission),
            "commission_asset": t.commission_asset, "time": t.time, "is_buyer": t.is_buyer,
            "is_maker": t.is_maker}  # fmt: skip


def load_trade(d: Mapping[str, Any]) -> Trade:
    return Trade(d["symbol"], d["id"], d["order_id"], d["order_list_id"], Decimal(d["price"]), Decimal(d["qty"]),
                 Decimal(d["quote_qty"]), Decimal(d["commission"]), d["commission_asset"], d["time"],
                 d["is_buyer"], d["is_maker"])  # fmt: skip
