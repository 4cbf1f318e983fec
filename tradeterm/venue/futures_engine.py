"""The USD-M futures engine: orders, conditional (algo) orders, positions, margin, liquidation and
funding for one account, with no I/O. The venue drives it like the spot engine: ``place_*`` and
``cancel_*`` for client actions, ``on_move`` for every stretch of replayed price,
``settle_funding`` at each funding time, ``drain_events`` for the user-data stream.

Rules (documented because backtests inherit them):

* Mark price = last price × (1 + premium), on the tick. Index price = last price.
* Market orders and the marketable part of a limit sweep the synthetic book as taker; a resting
  limit fills in full, as maker, at its own price when the last price reaches it.
* Conditional orders trigger on the last price (``CONTRACT_PRICE``) or the mark
  (``MARK_PRICE``); the child order is a normal engine order whose ``orderId`` is the algo's
  ``actualOrderId``. Margin is checked only at trigger; a refused child makes the algo REJECTED.
* Events within one stretch of price happen in path order. Stop first: when a reducing target
  (a reduce-only limit or a take-profit) is touched but the rest of the bar also reaches a stop
  that protects the same position, the stop is taken first (the conservative intrabar rule).
* Reduce-only (and hedge-mode closing) orders never increase a position: a fill is capped at
  the position, and the unfilled rest expires; when a position goes flat its open reduce-only
  orders expire.
* Margin: initial = notional / leverage; maintenance = notional × mmr − cum of the bracket the
  notional falls in. Isolated positions liquidate when isolated wallet + unrealised PnL ≤
  maintenance; cross positions when cross wallet + cross unrealised PnL ≤ total cross
  maintenance (margin ratio 100%: the mark reaches the liquidation price).
* Liquidation, as Binance shows it to the account (``ORDER_TRADE_UPDATE`` ``x=CALCULATED``,
  ``c=autoclose-<t>``, a LIMIT IOC reduce-only order): the order's price ``p`` is the
  **bankruptcy price** (where the position's margin balance is zero: isolated
  ``entry − isolated wallet / amt``; cross the same with the cross wallet and the other cross
  positions' PnL), and it fills at the market when the liquidation triggers (the liquidation price
  on the tick, or the price after a gap) but never beyond the bankruptcy price: a market that gaps
  through it is closed at the bankruptcy price (the insurance fund takes the position over). The
  fill pays the ordinary taker commission (as in Binance's sample event). Then the **liquidation
  clearance fee** goes to the insurance fund (income ``INSURANCE_CLEAR``): the margin the position
  still holds after the fill (isolated: isolated wallet + realised PnL − commission; cross: the
  cross margin balance), capped at ``liquidationFee × notional``. So an isolated position loses at
  most its isolated wallet, and the wallet never goes below zero (the insurance fund covers it).
* Funding: at each settlement every open position pays ``amt × mark × rate`` (longs pay a
  positive rate), rounded to 8 decimals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderType
from tradeterm.trading.filters import Market, SymbolFilters
from tradeterm.venue import errors as E
from tradeterm.venue.book import SyntheticBook
from tradeterm.venue.errors import VenueError
from tradeterm.venue.funding import FundingSchedule
from tradeterm.venue.futures_symbols import FuturesRules

ZERO = Decimal(0)
Q8 = Decimal("0.00000001")
OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})
ALGO_OPEN = frozenset({"NEW"})
STOP_TYPES = frozenset({"STOP", "STOP_MARKET", "TRAILING_STOP_MARKET"})
TARGET_TYPES = frozenset({"TAKE_PROFIT", "TAKE_PROFIT_MARKET"})

MARGIN_INSUFFICIENT = (-2019, "Margin is insufficient.")
REDUCE_ONLY_REJECTED = (-2022, "ReduceOnly Order is rejected.")
POSITION_SIDE_MISMATCH = (-4061, "Order's position side does not match user's setting.")
WOULD_TRIGGER = (-2021, "Order would immediately trigger.")
POST_ONLY_REJECTED = (-5022, ("Due to the order could not be executed as maker, the Post Only order will be "
                              "rejected. The order will not be recorded in the order history"))
FOK_REJECTED = (-5021, ("Due to the order could not be filled immediately, the FOK order has been rejected. "
                        "The order will not be recorded in the order history"))
DUPLICATE_ID = (-4116, "ClientOrderId is duplicated.")
MAX_OPEN = (-2025, "Reach max open order limit.")
MAX_STOP = (-4045, "Reach max stop order limit.")
TOO_LARGE = (-2027, "Exceeded the maximum allowable position at current leverage.")
NO_CHANGE_MARGIN = (-4046, "No need to change margin type.")
MARGIN_TYPE_ORDERS = (-4047, "Margin type cannot be changed if there exists open orders.")
MARGIN_TYPE_POSITION = (-4048, "Margin type cannot be changed if there exists position.")
NO_CHANGE_SIDE = (-4059, "No need to change position side.")
SIDE_ORDERS = (-4067, "Position side cannot be changed if there exists open orders.")
SIDE_POSITION = (-4068, "Position side cannot be changed if there exists position.")
LIMIT_ONLY = (-5025, "Only limit order is supported.")
MODIFY_LIMIT = (-5026, "Exceed maximum modify order limit.")
SAME_ORDER = (-5027, "No need to modify the order.")
MAX_MODIFY = 10_000  # Binance: "one order can only be modified for less than 10000 times"

_FILTER_TEXT = {
    -4001: "Price less than 0.", -4002: "Price greater than max price.", -4013: "Price less than min price.",
    -4014: "Price not increased by tick size.", -4003: "Quantity less than or equal to zero.",
    -4004: "Quantity less than min quantity.", -4005: "Quantity greater than max quantity.",
    -4023: "Quantity not increased by step size.", -1111: "Precision is over the maximum defined for this asset.",
}


def q8(x: Decimal) -> Decimal:
    return x.quantize(Q8, ROUND_HALF_UP)


@dataclass
class Position:
    symbol: str
    side: str                   # BOTH (one-way) | LONG | SHORT (hedge)
    amt: Decimal = ZERO         # signed: long > 0, short < 0
    entry: Decimal = ZERO
    iw: Decimal = ZERO          # isolated wallet
    realized: Decimal = ZERO    # accumulated realised PnL (``cr``)
    update_time: int = 0


@dataclass(frozen=True, slots=True)
class OrderSpec:
    symbol: str
    side: str
    type: str                   # LIMIT | MARKET
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: str = "GTC"
    position_side: str = "BOTH"
    reduce_only: bool = False
    client_order_id: str | None = None
    stp_mode: str = "EXPIRE_MAKER"
    # set on the child of a triggered conditional order
    orig_type: str | None = None
    stop_price: Decimal = ZERO
    algo_id: int | None = None
    close_position: bool = False
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False


@dataclass
class Order:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    orig_type: str
    position_side: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    stop_price: Decimal
    reduce_only: bool
    close_position: bool
    working_type: str
    price_protect: bool
    stp_mode: str
    time: int
    update_time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    algo_id: int | None = None
    expiry_reason: int = 0
    modify_count: int = 0       # PUT /fapi/v1/order amendments so far

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO


@dataclass(frozen=True, slots=True)
class AlgoSpec:
    symbol: str
    side: str
    type: str                   # STOP_MARKET | TAKE_PROFIT_MARKET | STOP | TAKE_PROFIT | TRAILING_STOP_MARKET
    quantity: Decimal | None = None
    trigger_price: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str = "GTC"
    position_side: str = "BOTH"
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    reduce_only: bool = False
    close_position: bool = False
    activate_price: Decimal | None = None
    callback_rate: Decimal | None = None
    client_algo_id: str | None = None
    stp_mode: str = "EXPIRE_MAKER"


@dataclass
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    type: str
    position_side: str
    time_in_force: str
    quantity: Decimal
    trigger_price: Decimal
    price: Decimal
    working_type: str
    price_protect: bool
    reduce_only: bool
    close_position: bool
    activate_price: Decimal
    callback_rate: Decimal
    stp_mode: str
    create_time: int
    update_time: int
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: int | None = None
    actual_type: str = ""
    actual_price: Decimal = ZERO
    actual_qty: Decimal = ZERO
    reason: str = ""
    activated: bool = False     # trailing: activation price reached
    extreme: Decimal = ZERO     # trailing: best price since activation

    @property
    def is_open(self) -> bool:
        return self.status in ALGO_OPEN


@dataclass
class Trade:
    symbol: str
    id: int
    order_id: int
    side: str
    position_side: str
    price: Decimal
    qty: Decimal
    realized: Decimal
    commission: Decimal
    time: int
    maker: bool


@dataclass
class Income:
    symbol: str
    type: str                   # REALIZED_PNL | COMMISSION | FUNDING_FEE | INSURANCE_CLEAR | TRANSFER
    amount: Decimal
    time: int
    tran_id: int
    trade_id: str = ""
    info: str = ""


@dataclass
class OrderEvent:
    order: Order                # snapshot
    exec_type: str              # NEW | TRADE | CANCELED | EXPIRED | CALCULATED
    t: int
    last_qty: Decimal = ZERO
    last_price: Decimal = ZERO
    commission: Decimal = ZERO
    trade_id: int = 0
    maker: bool = False
    realized: Decimal = ZERO


@dataclass
class AlgoEvent:
    algo: AlgoOrder             # snapshot
    t: int


@dataclass
class AccountEvent:
    reason: str                 # ORDER | FUNDING_FEE | MARGIN_TYPE_CHANGE | DEPOSIT
    t: int
    wallet: Decimal
    cross_wallet: Decimal
    balance_change: Decimal
    positions: list[Position] = field(default_factory=list)   # snapshots of changed positions
    symbol: str | None = None


@dataclass
class ConfigEvent:
    """A leverage change (user data ``ACCOUNT_CONFIG_UPDATE``)."""

    symbol: str
    leverage: int
    t: int


Event = OrderEvent | AlgoEvent | AccountEvent | ConfigEvent


@dataclass
class MarketState:
    last: Decimal
    mark: Decimal
    level_qty: Decimal
    t: int


class FuturesEngine:
    """One USD-M account (margin asset USDT) trading any number of perpetuals."""

    def __init__(self, rules: dict[str, FuturesRules], wallet: Decimal, *, maker_fee: Decimal = Decimal("0.0002"),
                 taker_fee: Decimal = Decimal("0.0005"), premium: Decimal = ZERO,
                 funding: dict[str, FundingSchedule] | None = None, default_leverage: int = 20,
                 fill_before_algo_update: bool = True, asset: str = "USDT") -> None:
        self.rules = rules
        self.asset = asset
        self.wallet = Decimal(wallet)
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.premium = premium
        self.funding = {s: (funding or {}).get(s, FundingSchedule()) for s in rules}
        self.fill_before_algo_update = fill_before_algo_update
        self.dual = False
        self.leverage = {s: min(default_leverage, r.max_leverage) for s, r in rules.items()}
        self.isolated = {s: False for s in rules}
        self.positions: dict[tuple[str, str], Position] = {}
        self.orders: dict[str, dict[int, Order]] = {s: {} for s in rules}
        # Orders and algos that may still be open (pruned on read): the open-order queries every
        # validation runs stay proportional to what is open, not to the account's whole history.
        self._live: dict[str, dict[int, Order]] = {s: {} for s in rules}
        self._live_algos: dict[int, AlgoOrder] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.trades: dict[str, list[Trade]] = {s: [] for s in rules}
        self.income: list[Income] = []
        self.market: dict[str, MarketState] = {}
        self.last_funding: dict[str, tuple[int, Decimal]] = {}
        self.update_time = 0
        self._filters = {s: SymbolFilters.from_exchange_info(r.exchange_info(), Market.USDM) for s, r in rules.items()}
        self._next_order = 1
        self._next_algo = 1
        self._next_trade = 1
        self._next_tran = 1
        self._events: list[Event] = []

    # ---------------------------------------------------------------- market
    def set_market(self, symbol: str, last: Decimal, level_qty: Decimal, t: int) -> None:
        self.market[symbol] = MarketState(last, self._mark_of(symbol, last), level_qty, t)

    def _mark_of(self, symbol: str, last: Decimal) -> Decimal:
        tick = self.rules[symbol].tick_size
        return (last * (1 + self.premium) / tick).quantize(Decimal(1), ROUND_HALF_UP) * tick

    def mark(self, symbol: str) -> Decimal:
        return self.market[symbol].mark

    def book(self, symbol: str, price: Decimal | None = None) -> SyntheticBook:
        m = self.market[symbol]
        r = self.rules[symbol]
        return SyntheticBook(price if price is not None else m.last, r.tick_size, r.step_size, m.level_qty)

    def drain_events(self) -> list[Event]:
        ev, self._events = self._events, []
        return ev

    # ---------------------------------------------------------------- positions & margin
    def position(self, symbol: str, side: str = "BOTH") -> Position:
        key = (symbol, side)
        p = self.positions.get(key)
        if p is None:
            p = self.positions[key] = Position(symbol, side)
        return p

    def open_positions(self, symbol: str | None = None) -> list[Position]:
        return [p for p in self.positions.values() if p.amt != 0 and (symbol is None or p.symbol == symbol)]

    def unrealized(self, p: Position) -> Decimal:
        return (self.mark(p.symbol) - p.entry) * p.amt if p.amt else ZERO

    def notional(self, p: Position) -> Decimal:
        return abs(p.amt) * self.mark(p.symbol)

    def maint_margin(self, p: Position) -> Decimal:
        if not p.amt:
            return ZERO
        n = self.notional(p)
        b = self.rules[p.symbol].bracket_for(n)
        return max(n * b.mmr - b.cum, ZERO)

    def initial_margin(self, p: Position) -> Decimal:
        return self.notional(p) / self.leverage[p.symbol] if p.amt else ZERO

    def order_im(self, o: Order) -> Decimal:
        if not o.is_open or o.reduce_only or self._closing(o.side, o.position_side):
            return ZERO
        return o.remaining * o.price / self.leverage[o.symbol]

    def open_order_im(self, symbol: str | None = None) -> Decimal:
        return sum((self.order_im(o) for o in self.open_orders(symbol)), ZERO)

    def isolated_wallets(self) -> Decimal:
        return sum((p.iw for p in self.positions.values() if self.isolated[p.symbol]), ZERO)

    def cross_wallet(self) -> Decimal:
        return self.wallet - self.isolated_wallets()

    def cross_unrealized(self) -> Decimal:
        return sum((self.unrealized(p) for p in self.open_positions() if not self.isolated[p.symbol]), ZERO)

    def available(self) -> Decimal:
        cross_im = sum((self.initial_margin(p) for p in self.open_positions() if not self.isolated[p.symbol]), ZERO)
        return self.cross_wallet() + self.cross_unrealized() - cross_im - self.open_order_im()

    def liquidation_price(self, p: Position) -> Decimal:
        """Binance's USD-M liquidation price formula for the position's margin group (0 = none):
        the mark at which margin balance equals maintenance margin."""
        return self._margin_price(p, maintenance=True)

    def bankruptcy_price(self, p: Position) -> Decimal:
        """The mark at which the position's margin balance is zero (0 = none): the price of the
        liquidation order, beyond which the account never trades (the insurance fund does)."""
        return self._margin_price(p, maintenance=False)

    def _margin_price(self, p: Position, maintenance: bool) -> Decimal:
        if not p.amt:
            return ZERO
        if self.isolated[p.symbol]:
            group, wb, tmm, upnl = [p], p.iw, ZERO, ZERO
        else:
            group = self.open_positions(p.symbol)
            others = [q for q in self.open_positions() if q.symbol != p.symbol and not self.isolated[q.symbol]]
            wb = self.cross_wallet()
            tmm = sum((self.maint_margin(q) for q in others), ZERO) if maintenance else ZERO
            upnl = sum((self.unrealized(q) for q in others), ZERO)
        num = wb - tmm + upnl
        den = ZERO
        for q in group:
            mmr, cum = ZERO, ZERO
            if maintenance:
                b = self.rules[q.symbol].bracket_for(self.notional(q))
                mmr, cum = b.mmr, b.cum
            num += cum - q.amt * q.entry
            den += abs(q.amt) * mmr - q.amt
        if den == 0:
            return ZERO
        lp = num / den
        return lp if lp > 0 else ZERO

    # ---------------------------------------------------------------- queries
    def open_orders(self, symbol: str | None = None) -> list[Order]:
        syms = [symbol] if symbol else list(self.orders)
        out: list[Order] = []
        for s in syms:
            live = self._live[s]
            done = [oid for oid, o in live.items() if not o.is_open]
            for oid in done:
                del live[oid]
            out.extend(live.values())
        return out

    def open_algos(self, symbol: str | None = None) -> list[AlgoOrder]:
        live = self._live_algos
        for aid in [aid for aid, a in live.items() if not a.is_open]:
            del live[aid]
        return [a for a in live.values() if symbol is None or a.symbol == symbol]

    def find_order(self, symbol: str, order_id: int | None = None, client_id: str | None = None) -> Order | None:
        book = self.orders[symbol]
        if order_id is not None:
            return book.get(order_id)
        live = [o for o in self.open_orders(symbol) if o.client_order_id == client_id]
        if live:  # the open one first (client ids are unique among open orders), else the latest
            return live[-1]
        hits = [o for o in book.values() if o.client_order_id == client_id]
        return hits[-1] if hits else None

    def find_algo(self, algo_id: int | None = None, client_id: str | None = None) -> AlgoOrder | None:
        if algo_id is not None:
            return self.algos.get(algo_id)
        live = [a for a in self.open_algos() if a.client_algo_id == client_id]
        if live:
            return live[-1]
        hits = [a for a in self.algos.values() if a.client_algo_id == client_id]
        return hits[-1] if hits else None

    # ---------------------------------------------------------------- account settings
    def set_leverage(self, symbol: str, leverage: int, t: int | None = None) -> tuple[int, Decimal]:
        """Change the symbol's leverage. With ``t`` (the REST path) an ``ACCOUNT_CONFIG_UPDATE``
        event follows, as Binance sends one on every successful leverage change."""
        r = self.rules[symbol]
        if not 1 <= leverage <= r.max_leverage:
            raise VenueError(-4028, f"Leverage {leverage} is not valid")
        for p in self.open_positions(symbol):
            if self.notional(p) > r.max_notional_for(leverage):
                raise E.err(TOO_LARGE)
        self.leverage[symbol] = leverage
        if t is not None:
            self._events.append(ConfigEvent(symbol, leverage, t))
        return leverage, r.max_notional_for(leverage)

    def set_margin_type(self, symbol: str, isolated: bool, t: int) -> None:
        if self.isolated[symbol] == isolated:
            raise E.err(NO_CHANGE_MARGIN)
        if self.open_orders(symbol):
            raise E.err(MARGIN_TYPE_ORDERS)
        if self.open_positions(symbol):
            raise E.err(MARGIN_TYPE_POSITION)
        self.isolated[symbol] = isolated

    def set_dual(self, dual: bool) -> None:
        if self.dual == dual:
            raise E.err(NO_CHANGE_SIDE)
        if self.open_orders():
            raise E.err(SIDE_ORDERS)
        if self.open_positions():
            raise E.err(SIDE_POSITION)
        self.dual = dual

    def transfer(self, amount: Decimal, t: int) -> None:
        """Deposit (or withdraw) margin asset from outside trading."""
        if self.available() + amount < 0:
            raise E.err((-2018, "Balance is insufficient."))
        self.wallet += amount
        self._income("", "TRANSFER", amount, t)
        self._events.append(AccountEvent("DEPOSIT" if amount > 0 else "WITHDRAW", t, self.wallet,
                                         self.cross_wallet(), amount))

    # ---------------------------------------------------------------- order placement
    def _check_side(self, position_side: str) -> None:
        if self.dual != (position_side in ("LONG", "SHORT")):
            raise E.err(POSITION_SIDE_MISMATCH)

    def _closing(self, side: str, position_side: str) -> bool:
        """Hedge mode: SELL LONG and BUY SHORT close (reduce-only by nature)."""
        return (side, position_side) in (("SELL", "LONG"), ("BUY", "SHORT"))

    def reducible(self, symbol: str, side: str, position_side: str) -> Decimal:
        """How much an order of ``side`` can reduce the position it would trade against."""
        if position_side == "BOTH":
            amt = self.position(symbol).amt
            return abs(amt) if (amt > 0 and side == "SELL") or (amt < 0 and side == "BUY") else ZERO
        if not self._closing(side, position_side):
            return ZERO
        return abs(self.position(symbol, position_side).amt)

    def _check_filters(self, spec: OrderSpec, reducing: bool) -> None:
        m = self.market[spec.symbol]
        otype = OrderType.LIMIT if spec.type == "LIMIT" else OrderType.MARKET
        violations = self._filters[spec.symbol].validate(spec.price, spec.quantity, Side(spec.side), otype,
                                                         m.mark, reduce_only=reducing)
        if not violations:
            return
        v = next((x for x in violations if x.code == -1111), violations[0])  # precision is checked first
        if v.code == -4164:
            raise VenueError(-4164, f"Order's notional must be no smaller than "
                             f"{self.rules[spec.symbol].min_notional.normalize():f} (unless you choose reduce only).")
        if v.code == -4016:
            cap = self._tick_round(spec.symbol, m.mark * self.rules[spec.symbol].multiplier_up, ROUND_FLOOR)
            raise VenueError(-4016, f"Limit price can't be higher than {cap}.")
        if v.code == -4024:
            floor = self._tick_round(spec.symbol, m.mark * self.rules[spec.symbol].multiplier_down, ROUND_CEILING)
            raise VenueError(-4024, f"Limit price can't be lower than {floor}.")
        raise VenueError(v.code, _FILTER_TEXT.get(v.code, v.message))

    def _tick_round(self, symbol: str, x: Decimal, rounding: str) -> Decimal:
        tick = self.rules[symbol].tick_size
        return (x / tick).to_integral_value(rounding) * tick

    def validate(self, spec: OrderSpec) -> None:
        """Every check of a new order, in Binance's order, without changing anything."""
        if spec.symbol not in self.rules:
            raise E.err(E.BAD_SYMBOL)
        self._check_side(spec.position_side)
        reducing_kind = spec.reduce_only or self._closing(spec.side, spec.position_side)
        self._check_filters(spec, reducing_kind)
        if spec.client_order_id and any(o.client_order_id == spec.client_order_id
                                        for o in self.open_orders(spec.symbol)):
            raise E.err(DUPLICATE_ID)
        if len(self.open_orders(spec.symbol)) + 1 > self.rules[spec.symbol].max_num_orders:
            raise E.err(MAX_OPEN)
        can_reduce = self.reducible(spec.symbol, spec.side, spec.position_side)
        if reducing_kind and can_reduce == 0:
            raise E.err(REDUCE_ONLY_REJECTED)
        bk = self.book(spec.symbol)
        if spec.type == "LIMIT" and spec.time_in_force == "GTX":
            assert spec.price is not None
            if (spec.side == "BUY" and spec.price >= bk.best_ask) or (spec.side == "SELL" and spec.price <= bk.best_bid):
                raise E.err(POST_ONLY_REJECTED)
        if reducing_kind:
            return
        increase = max(spec.quantity - can_reduce, ZERO)
        px = spec.price if spec.type == "LIMIT" else (bk.best_ask if spec.side == "BUY" else bk.best_bid)
        assert px is not None
        lev = self.leverage[spec.symbol]
        held = sum((abs(p.amt) for p in self.open_positions(spec.symbol)), ZERO)
        resting = sum((o.remaining for o in self.open_orders(spec.symbol) if self.order_im(o) > 0), ZERO)
        if (held + resting + increase) * px > self.rules[spec.symbol].max_notional_for(lev):
            raise E.err(TOO_LARGE)
        need = increase * px / lev + increase * px * self.taker_fee
        if need > self.available():
            raise E.err(MARGIN_INSUFFICIENT)

    def place_order(self, spec: OrderSpec, t: int) -> Order:
        self.validate(spec)
        return self._place(spec, t)

    def _place(self, spec: OrderSpec, t: int, at: Decimal | None = None) -> Order:
        bk = self.book(spec.symbol, at)
        if spec.type == "LIMIT" and spec.time_in_force == "FOK":
            plan = bk.sweep(spec.side, qty=spec.quantity, limit=spec.price)
            if sum((q for _, q in plan), ZERO) < spec.quantity:
                raise E.err(FOK_REJECTED)
        oid = self._next_order
        self._next_order += 1
        o = Order(symbol=spec.symbol, order_id=oid, client_order_id=spec.client_order_id or f"venue-{oid}",
                  side=spec.side, type=spec.type, orig_type=spec.orig_type or spec.type,
                  position_side=spec.position_side,
                  time_in_force=spec.time_in_force if spec.type == "LIMIT" else "GTC",
                  price=spec.price or ZERO, orig_qty=spec.quantity, stop_price=spec.stop_price,
                  reduce_only=spec.reduce_only, close_position=spec.close_position, working_type=spec.working_type,
                  price_protect=spec.price_protect, stp_mode=spec.stp_mode, time=t, update_time=t,
                  algo_id=spec.algo_id)
        self.orders[spec.symbol][oid] = o
        self._live[spec.symbol][oid] = o
        self._emit(o, "NEW", t)
        if spec.type == "MARKET":
            for px, qty in bk.sweep(spec.side, qty=o.remaining):
                if not o.is_open:
                    break
                self._fill(o, px, qty, False, t)
            if o.is_open:
                self._expire(o, t, 9)
        else:
            for px, qty in bk.sweep(spec.side, qty=o.remaining, limit=o.price):
                if not o.is_open:
                    break
                self._fill(o, px, qty, False, t)
            if o.is_open and o.time_in_force in ("IOC", "FOK"):
                self._expire(o, t, 2)
        return o

    # ---------------------------------------------------------------- modify (PUT /fapi/v1/order)
    def modify_order(self, o: Order, side: str, quantity: Decimal, price: Decimal, t: int) -> Order:
        """Change a resting LIMIT order's price and quantity in place, with Binance's rules: the
        new values pass the price and lot filters or the order stays as it was; a quantity at or
        below what already filled, or a post-only (GTX) price that would take, *cancels* the
        order; nothing to change is ``-5027``. A price that now crosses the book trades at once
        as taker. The order keeps its id; the stream shows ``x=AMENDMENT``."""
        if not o.is_open:
            raise E.err(E.NO_SUCH_ORDER)
        if o.type != "LIMIT":
            raise E.err(LIMIT_ONLY)
        if side != o.side:
            raise VenueError(-1130, "Invalid data sent for a parameter.")
        if quantity == o.orig_qty and price == o.price:
            raise E.err(SAME_ORDER)
        if o.modify_count >= MAX_MODIFY:
            raise E.err(MODIFY_LIMIT)
        reducing = o.reduce_only or self._closing(o.side, o.position_side)
        spec = OrderSpec(symbol=o.symbol, side=o.side, type="LIMIT", quantity=quantity, price=price,
                         time_in_force=o.time_in_force, position_side=o.position_side, reduce_only=o.reduce_only)
        try:
            self._check_filters(spec, reducing)
        except VenueError as e:
            if e.code == -4164:
                raise VenueError(-5029, "Order's notional must be no smaller than "
                                 f"{self.rules[o.symbol].min_notional.normalize():f}") from None
            raise
        bk = self.book(o.symbol)
        takes = (o.side == "BUY" and price >= bk.best_ask) or (o.side == "SELL" and price <= bk.best_bid)
        if quantity <= o.executed_qty or (o.time_in_force == "GTX" and takes):
            self.cancel_order(o, t)
            return o
        if not reducing:
            extra = (quantity - o.executed_qty) * price / self.leverage[o.symbol] - self.order_im(o)
            if extra > 0 and extra > self.available():
                raise E.err(MARGIN_INSUFFICIENT)
        o.orig_qty = quantity
        o.price = price
        o.update_time = t
        o.modify_count += 1
        self._emit(o, "AMENDMENT", t)
        if takes:
            for px, qty in bk.sweep(o.side, qty=o.remaining, limit=o.price):
                if not o.is_open:
                    break
                self._fill(o, px, qty, False, t)
        return o

    # ---------------------------------------------------------------- fills
    def _fill(self, o: Order, price: Decimal, qty: Decimal, maker: bool, t: int, *,
              liquidation: bool = False, fee_rate: Decimal | None = None) -> None:
        reducing = o.reduce_only or self._closing(o.side, o.position_side)
        if reducing:
            qty = min(qty, self.reducible(o.symbol, o.side, o.position_side))
            if qty <= 0:
                self._expire(o, t, 4)
                return
        pos = self.position(o.symbol, o.position_side)
        before = pos.amt
        delta = qty if o.side == "BUY" else -qty
        closed = ZERO
        if before != 0 and (before > 0) != (delta > 0):
            closed = min(qty, abs(before))
        opened = qty - closed
        pnl = q8((price - pos.entry) * closed * (1 if before > 0 else -1)) if closed else ZERO
        iso = self.isolated[o.symbol]
        iw_before = pos.iw
        if closed and iso:
            pos.iw -= q8(pos.iw * closed / abs(before)) if closed < abs(before) else pos.iw
        new_amt = before + delta
        if opened:
            same = abs(before) - closed  # what is left of the old side (0 on a flip)
            pos.entry = (pos.entry * same + price * opened) / (same + opened) if same else price
            if iso:
                pos.iw += q8(opened * price / self.leverage[o.symbol])
        if new_amt == 0:
            pos.entry = ZERO
            pos.iw = ZERO  # what is left of an isolated wallet returns to the cross wallet
        pos.amt = new_amt
        pos.update_time = t
        rate = fee_rate if fee_rate is not None else (self.maker_fee if maker else self.taker_fee)
        commission = q8(price * qty * rate)
        change = pnl - commission
        clearance = self._clearance(o.symbol, iso, iw_before, change, price * qty) if liquidation else ZERO
        self.wallet += change - clearance
        pos.realized += pnl
        tid = self._next_trade
        self._next_trade += 1
        o.executed_qty += qty
        o.cum_quote += price * qty
        o.update_time = t
        o.status = "FILLED" if o.executed_qty >= o.orig_qty else "PARTIALLY_FILLED"
        self.trades[o.symbol].append(Trade(o.symbol, tid, o.order_id, o.side, o.position_side, price, qty, pnl,
                                           commission, t, maker))
        if pnl:
            self._income(o.symbol, "REALIZED_PNL", pnl, t, str(tid))
        if commission:
            self._income(o.symbol, "COMMISSION", -commission, t, str(tid))
        if clearance:
            self._income(o.symbol, "INSURANCE_CLEAR", -clearance, t, str(tid))
        self._emit(o, "CALCULATED" if liquidation else "TRADE", t, last_qty=qty, last_price=price,
                   commission=commission, trade_id=tid, maker=maker, realized=pnl)
        if self.wallet < 0:  # only a liquidation can get here: the insurance fund clears it
            self._income(o.symbol, "INSURANCE_CLEAR", -self.wallet, t)
            self.wallet = ZERO
        self.update_time = t
        self._events.append(AccountEvent("ORDER", t, self.wallet, self.cross_wallet(), ZERO,
                                         [replace(pos)]))
        if o.status == "FILLED":
            self._finished(o, t)
        if new_amt == 0 and before != 0:
            for other in self.open_orders(o.symbol):
                if other.position_side == o.position_side and (other.reduce_only
                                                               or self._closing(other.side, other.position_side)):
                    self._expire(other, t, 4)
        elif reducing and o.is_open and self.reducible(o.symbol, o.side, o.position_side) == 0:
            self._expire(o, t, 4)

    def _income(self, symbol: str, type_: str, amount: Decimal, t: int, trade_id: str = "") -> None:
        self.income.append(Income(symbol, type_, amount, t, self._next_tran, trade_id))
        self._next_tran += 1

    def _emit(self, o: Order, exec_type: str, t: int, **kw: object) -> None:
        self._events.append(OrderEvent(replace(o), exec_type, t, **kw))  # type: ignore[arg-type]

    def _emit_algo(self, a: AlgoOrder, t: int) -> None:
        self._events.append(AlgoEvent(replace(a), t))

    def _expire(self, o: Order, t: int, reason: int) -> None:
        o.status = "EXPIRED"
        o.expiry_reason = reason
        o.update_time = t
        self._emit(o, "EXPIRED", t)
        self._finished(o, t)

    def _finished(self, o: Order, t: int) -> None:
        """A child order reached a terminal state: its algo order is FINISHED."""
        if o.algo_id is None:
            return
        a = self.algos.get(o.algo_id)
        if a is None or a.status != "TRIGGERED":
            return
        a.status = "FINISHED"
        a.actual_price = o.avg_price
        a.actual_qty = o.executed_qty
        a.update_time = t
        self._emit_algo(a, t)

    # ---------------------------------------------------------------- cancels
    def cancel_order(self, o: Order, t: int) -> None:
        if not o.is_open:
            raise E.err(E.UNKNOWN_ORDER)
        o.status = "CANCELED"
        o.update_time = t
        self._emit(o, "CANCELED", t)
        self._finished(o, t)

    def cancel_all(self, symbol: str, t: int) -> list[Order]:
        out = self.open_orders(symbol)
        for o in out:
            self.cancel_order(o, t)
        return out

    def cancel_algo(self, a: AlgoOrder, t: int) -> None:
        if not a.is_open:
            raise VenueError(-2011, "Unknown order sent.")
        a.status = "CANCELED"
        a.update_time = t
        self._emit_algo(a, t)

    def cancel_all_algos(self, symbol: str, t: int) -> list[AlgoOrder]:
        out = self.open_algos(symbol)
        for a in out:
            self.cancel_algo(a, t)
        return out

    # ---------------------------------------------------------------- algo orders
    def working_price(self, symbol: str, working_type: str) -> Decimal:
        m = self.market[symbol]
        return m.mark if working_type == "MARK_PRICE" else m.last

    @staticmethod
    def _condition(side: str, type_: str, trigger: Decimal, price: Decimal) -> bool:
        if type_ in ("STOP", "STOP_MARKET"):
            return price >= trigger if side == "BUY" else price <= trigger
        return price <= trigger if side == "BUY" else price >= trigger

    def place_algo(self, spec: AlgoSpec, t: int) -> AlgoOrder:
        if spec.symbol not in self.rules:
            raise E.err(E.BAD_SYMBOL)
        self._check_side(spec.position_side)
        if spec.close_position and self.dual and not self._closing(spec.side, spec.position_side):
            raise VenueError(-4136, f"Target strategy invalid for orderType {spec.type},closePosition true")
        r = self.rules[spec.symbol]
        filt = self._filters[spec.symbol]
        qty = spec.quantity or ZERO
        cur = self.working_price(spec.symbol, spec.working_type)
        if spec.type == "TRAILING_STOP_MARKET":
            act = spec.activate_price
            if act is not None and ((spec.side == "BUY" and act >= cur) or (spec.side == "SELL" and act <= cur)):
                raise E.err(WOULD_TRIGGER)
        else:
            assert spec.trigger_price is not None
            if self._condition(spec.side, spec.type, spec.trigger_price, cur):
                raise E.err(WOULD_TRIGGER)
        otype = {"STOP_MARKET": OrderType.STOP_MARKET, "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT_MARKET,
                 "STOP": OrderType.STOP, "TAKE_PROFIT": OrderType.TAKE_PROFIT,
                 "TRAILING_STOP_MARKET": OrderType.MARKET}[spec.type]
        reducing = spec.reduce_only or spec.close_position or self._closing(spec.side, spec.position_side)
        if not spec.close_position:
            px = spec.price if spec.type in ("STOP", "TAKE_PROFIT") else spec.trigger_price
            violations = filt.validate(px if px is not None else cur, qty, Side(spec.side), otype,
                                       self.mark(spec.symbol), stop_price=spec.trigger_price, reduce_only=reducing)
            violations = [v for v in violations if v.filter != "ORDER_TYPE"]
            if violations:
                v = violations[0]
                if v.code == -4164:
                    raise VenueError(-4164, f"Order's notional must be no smaller than "
                                     f"{r.min_notional.normalize():f} (unless you choose reduce only).")
                raise VenueError(v.code, _FILTER_TEXT.get(v.code, v.message))
        elif spec.trigger_price is not None and spec.trigger_price % r.tick_size:
            raise VenueError(-4014, _FILTER_TEXT[-4014])
        if len(self.open_algos(spec.symbol)) + 1 > r.max_num_algo_orders:
            raise E.err(MAX_STOP)
        if spec.client_algo_id and any(a.client_algo_id == spec.client_algo_id for a in self.open_algos()):
            raise E.err(DUPLICATE_ID)
        aid = self._next_algo
        self._next_algo += 1
        a = AlgoOrder(algo_id=aid, client_algo_id=spec.client_algo_id or f"venue-algo-{aid}", symbol=spec.symbol,
                      side=spec.side, type=spec.type, position_side=spec.position_side,
                      time_in_force=spec.time_in_force, quantity=qty, trigger_price=spec.trigger_price or ZERO,
                      price=spec.price or ZERO, working_type=spec.working_type, price_protect=spec.price_protect,
                      reduce_only=spec.reduce_only, close_position=spec.close_position,
                      activate_price=spec.activate_price or ZERO, callback_rate=spec.callback_rate or ZERO,
                      stp_mode=spec.stp_mode, create_time=t, update_time=t)
        if spec.type == "TRAILING_STOP_MARKET" and spec.activate_price is None:
            a.activated, a.extreme = True, cur
        self.algos[aid] = a
        self._live_algos[aid] = a
        self._emit_algo(a, t)
        return a

    def _protect_blocks(self, a: AlgoOrder) -> bool:
        if not a.price_protect:
            return False
        m = self.market[a.symbol]
        return m.mark > 0 and abs(m.mark - m.last) / m.mark > self.rules[a.symbol].trigger_protect

    def _trigger(self, a: AlgoOrder, at: Decimal, t: int) -> None:
        a.status = "TRIGGERING"
        a.trigger_time = t
        a.update_time = t
        self._emit_algo(a, t)
        qty = self.reducible(a.symbol, a.side, a.position_side) if a.close_position else a.quantity
        market_child = a.type in ("STOP_MARKET", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
        spec = OrderSpec(symbol=a.symbol, side=a.side, type="MARKET" if market_child else "LIMIT", quantity=qty,
                         price=None if market_child else a.price, time_in_force=a.time_in_force,
                         position_side=a.position_side, reduce_only=a.reduce_only or a.close_position,
                         client_order_id=a.client_algo_id, stp_mode=a.stp_mode, orig_type=a.type,
                         stop_price=a.trigger_price, algo_id=a.algo_id, close_position=a.close_position,
                         working_type=a.working_type, price_protect=a.price_protect)
        try:
            if qty <= 0:
                raise E.err(REDUCE_ONLY_REJECTED)
            self.validate(spec)
        except VenueError as e:
            a.status = "REJECTED"
            a.reason = "Reduce Only reject" if e.code == -2022 else e.msg
            self._emit_algo(a, t)
            return
        mark = len(self._events)
        a.status = "TRIGGERED"
        a.actual_type = spec.type
        a.actual_order_id = self._next_order  # the id ``_place`` gives the child
        triggered = AlgoEvent(replace(a), t)
        o = self._place(spec, t, at=at)
        assert o.order_id == a.actual_order_id
        if self.fill_before_algo_update:
            # The real-world quirk: the child's fill arrives before ALGO_UPDATE TRIGGERED/FINISHED.
            finished = [i for i, ev in enumerate(self._events) if i >= mark and isinstance(ev, AlgoEvent)]
            pos = finished[0] if finished else len(self._events)
            self._events.insert(pos, triggered)
        else:
            self._events.insert(mark + 1, triggered)  # after the child's NEW

    # ---------------------------------------------------------------- the price path
    def _last_level(self, symbol: str, working_type: str, level: Decimal) -> Decimal:
        """A trigger on the mark, expressed as the last price that produces that mark."""
        if working_type == "MARK_PRICE" and self.premium:
            return level / (1 + self.premium)
        return level

    def _candidates(self, symbol: str, cur: Decimal, b: Decimal, gap: bool,
                    done: set[tuple[str, int]]) -> list[tuple[Decimal, str, object]]:
        """Everything the move cur → b touches, as (touch price, kind, object)."""
        out: list[tuple[Decimal, str, object]] = []
        lo, hi = min(cur, b), max(cur, b)
        for o in self.open_orders(symbol):
            if ("o", o.order_id) in done or o.type != "LIMIT":
                continue
            if (o.side == "BUY" and b <= o.price) or (o.side == "SELL" and b >= o.price):
                out.append((b if gap else o.price if lo <= o.price <= hi else cur, "o", o))
        for a in self.open_algos(symbol):
            if ("a", a.algo_id) in done:
                continue
            if a.type == "TRAILING_STOP_MARKET":
                if not a.activated:
                    continue
                rate = a.callback_rate / 100
                lvl = a.extreme * (1 - rate) if a.side == "SELL" else a.extreme * (1 + rate)
                lvl_last = self._last_level(symbol, a.working_type, lvl)
                if (a.side == "SELL" and b <= lvl_last) or (a.side == "BUY" and b >= lvl_last):
                    out.append((b if gap else lvl_last if lo <= lvl_last <= hi else cur, "a", a))
                continue
            lvl_last = self._last_level(symbol, a.working_type, a.trigger_price)
            end_w = self._mark_of(symbol, b) if a.working_type == "MARK_PRICE" else b
            if self._condition(a.side, a.type, a.trigger_price, end_w) and not self._protect_blocks(a):
                out.append((b if gap else lvl_last if lo <= lvl_last <= hi else cur, "a", a))
        if ("l", 0) not in done:
            for p in self.open_positions(symbol):
                lp = self._last_level(symbol, "MARK_PRICE", self.liquidation_price(p))
                lp = self._tick_round(symbol, lp, ROUND_FLOOR if p.amt > 0 else ROUND_CEILING)
                if lp > 0 and lo <= lp <= hi and lp != cur:
                    out.append((b if gap else lp, "l", p))
                    break
        return out

    def _stop_sibling(self, obj: object, rest_low: Decimal, rest_high: Decimal) -> AlgoOrder | None:
        """The conservative rule: a stop protecting the same position that the rest of the bar
        also reaches, to be taken before the target ``obj``."""
        if isinstance(obj, Order):
            if not (obj.reduce_only or self._closing(obj.side, obj.position_side)):
                return None
            sym, side, ps = obj.symbol, obj.side, obj.position_side
        elif isinstance(obj, AlgoOrder) and obj.type in TARGET_TYPES:
            sym, side, ps = obj.symbol, obj.side, obj.position_side
        else:
            return None
        for a in self.open_algos(sym):
            if a.type in ("STOP", "STOP_MARKET") and a.side == side and a.position_side == ps and \
                    (a.reduce_only or a.close_position or self._closing(a.side, a.position_side)):
                lvl = self._last_level(sym, a.working_type, a.trigger_price)
                if rest_low <= lvl <= rest_high:
                    return a
        return None

    def on_move(self, symbol: str, a: Decimal, b: Decimal, t: int, *, gap: bool = False,
                rest_low: Decimal | None = None, rest_high: Decimal | None = None) -> None:
        """The last price moved from ``a`` to ``b`` (monotonically, or by a gap) at ``t``."""
        if symbol not in self.market:
            return
        level_qty = self.market[symbol].level_qty
        done: set[tuple[str, int]] = set()
        cur = a
        up = b > a
        for _ in range(10_000):
            cands = self._candidates(symbol, cur, b, gap, done)
            if not cands:
                break
            touch, kind, obj = min(cands, key=lambda c: (c[0] - cur) if up else (cur - c[0]))
            jumped = False
            if rest_low is not None and rest_high is not None and kind in ("o", "a"):
                stop = self._stop_sibling(obj, rest_low, rest_high)
                if stop is not None and ("a", stop.algo_id) not in done:
                    obj, kind, jumped = stop, "a", True
                    touch = self._last_level(symbol, stop.working_type, stop.trigger_price)
            self.set_market(symbol, touch, level_qty, t)
            if kind == "o":
                assert isinstance(obj, Order)
                done.add(("o", obj.order_id))
                self._fill(obj, obj.price, obj.remaining, True, t)
            elif kind == "a":
                assert isinstance(obj, AlgoOrder)
                done.add(("a", obj.algo_id))
                self._trigger(obj, touch, t)
            else:
                done.add(("l", 0))
                self.check_liquidation(symbol, t)
            if not gap and not jumped:
                cur = touch
        self.set_market(symbol, b, level_qty, t)
        self._track_trailing(symbol)
        self.check_liquidation(symbol, t)

    def _track_trailing(self, symbol: str) -> None:
        for a in self.open_algos(symbol):
            if a.type != "TRAILING_STOP_MARKET":
                continue
            w = self.working_price(symbol, a.working_type)
            if not a.activated:
                if (a.side == "SELL" and w >= a.activate_price) or (a.side == "BUY" and w <= a.activate_price):
                    a.activated, a.extreme = True, w
                continue
            a.extreme = max(a.extreme, w) if a.side == "SELL" else min(a.extreme, w)

    # ---------------------------------------------------------------- liquidation
    def check_liquidation(self, symbol: str, t: int) -> list[Position]:
        """Liquidate what has reached a margin ratio of 100% at the current marks."""
        out: list[Position] = []
        for p in self.open_positions(symbol):
            if self.isolated[p.symbol] and p.iw + self.unrealized(p) <= self.maint_margin(p):
                out.append(p)
        cross = [p for p in self.open_positions() if not self.isolated[p.symbol]]
        if cross and any(p.symbol == symbol for p in cross):
            mm = sum((self.maint_margin(p) for p in cross), ZERO)
            if self.cross_wallet() + self.cross_unrealized() <= mm:
                out.extend(cross)
        for p in out:
            self._liquidate(p, t)
        return out

    def _liquidate(self, p: Position, t: int) -> None:
        if not p.amt:
            return
        for o in self.open_orders(p.symbol):
            self.cancel_order(o, t)
        side = "SELL" if p.amt > 0 else "BUY"
        # The order's price is the bankruptcy price on the tick, rounded so that it never trades
        # beyond it (a sell rounds up, a buy down); the fill is the market, capped at that price.
        bp = self.bankruptcy_price(p)
        bp = self._tick_round(p.symbol, bp, ROUND_CEILING if side == "SELL" else ROUND_FLOOR)
        price = self.market[p.symbol].last
        if bp > 0:
            price = max(price, bp) if side == "SELL" else min(price, bp)
        oid = self._next_order
        self._next_order += 1
        qty = abs(p.amt)
        o = Order(symbol=p.symbol, order_id=oid, client_order_id=f"autoclose-{t}", side=side, type="LIMIT",
                  orig_type="LIMIT", position_side=p.side, time_in_force="IOC", price=bp if bp > 0 else price,
                  orig_qty=qty, stop_price=ZERO, reduce_only=True, close_position=False,
                  working_type="CONTRACT_PRICE", price_protect=False, stp_mode="NONE", time=t, update_time=t)
        self.orders[p.symbol][oid] = o
        self._live[p.symbol][oid] = o
        self._fill(o, price, qty, False, t, liquidation=True)

    def _clearance(self, symbol: str, isolated: bool, iw_before: Decimal, change: Decimal,
                   notional: Decimal) -> Decimal:
        """The liquidation clearance fee taken from a liquidated position (booked as
        ``INSURANCE_CLEAR``): what margin the position still holds after the fill, capped at
        ``liquidationFee × notional``. Negative when the insurance fund instead covers a loss
        beyond an isolated wallet. ``change`` is the fill's realised PnL minus commission."""
        if isolated:
            left = iw_before + change
            if left < 0:
                return left
        else:  # the position is already flat here, so this is the rest of the cross margin balance
            left = self.cross_wallet() + self.cross_unrealized() + change
        return min(max(left, ZERO), q8(notional * self.rules[symbol].liquidation_fee))

    # ---------------------------------------------------------------- funding
    def settle_funding(self, symbol: str, t: int, rate: Decimal | None = None) -> Decimal:
        """Pay or receive funding on every open position of ``symbol`` at the current mark."""
        r = self.funding[symbol].rate_at(t) if rate is None else rate
        self.last_funding[symbol] = (t, r)
        total = ZERO
        for p in self.open_positions(symbol):
            fee = q8(-p.amt * self.mark(symbol) * r)
            if not fee:
                continue
            self.wallet += fee
            if self.isolated[symbol]:
                p.iw += fee
            total += fee
            self._income(symbol, "FUNDING_FEE", fee, t)
            self._events.append(AccountEvent("FUNDING_FEE", t, self.wallet, self.cross_wallet(), fee,
                                             [replace(p)] if self.isolated[symbol] else [], symbol))
        if total:
            self.update_time = t
            self.check_liquidation(symbol, t)
        return total
