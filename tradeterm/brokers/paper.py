"""Paper trading in-process: the venue's own :class:`MatchingEngine`, fed by candles.

Why the venue's engine: backtests, the demo and the venue must fill the same order the same
way (intrabar path, stop-first OCO rule, fees, locked balances), so there is exactly one
implementation. Engine events are rendered with the venue's ``executionReport`` builder and
parsed by the same code as Binance's stream, so a paper update cannot differ in shape from a
live one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from tradeterm.brokers.core import TradingBroker
from tradeterm.brokers.errors import BinanceError, OrderRejected, UnknownOrder
from tradeterm.brokers.transport import Report, Sink
from tradeterm.brokers.updates import from_execution_report
from tradeterm.contracts.base import Side
from tradeterm.contracts.market import CandleV1
from tradeterm.contracts.trading import OrderType, OrderUpdateV1
from tradeterm.store.protocol import Store
from tradeterm.trading.filters import Market, SymbolFilters
from tradeterm.trading.intents import OrderSpec
from tradeterm.trading.killswitch import KillSwitch
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue import responses as R
from tradeterm.venue.errors import VenueError
from tradeterm.venue.matching import ExecEvent, MatchingEngine, Order
from tradeterm.venue.matching import OrderSpec as EngineSpec
from tradeterm.venue.series import path_points
from tradeterm.venue.symbols import SymbolRules, floor_to, rules_from_spec

DEFAULT_DEPTH_QUOTE = Decimal(250_000)  # synthetic book: quote value per price level


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
        self._exec_ids = itertools.count(1)
        self._sink: Sink | None = None

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
            if isinstance(ev, ExecEvent):
                report = R.execution_report(ev, next(self._exec_ids), ev.t)
                u, fill = from_execution_report(report, self.venue, trusted=True)
                if u is not None:
                    out.append((u, fill))
        return out

    # ------------------------------------------------------------------ orders
    async def exchange_info(self) -> dict[str, SymbolFilters]:
        return {s: SymbolFilters.from_exchange_info(r.exchange_info(), Market.SPOT) for s, r in self.rules.items()}

    async def place_order(self, symbol: str, spec: OrderSpec) -> list[Report]:
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
        self.engine.cancel_all(symbol, self._t)
        return self._drain()

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        eng = self.engine
        return {a: (eng.free[a], eng.locked.get(a, Decimal(0))) for a in eng.free
                if eng.free[a] or eng.locked.get(a)}  # fmt: skip

    async def last_price(self, symbol: str) -> Decimal:
        return self.engine.market[symbol].price


class PaperBroker(TradingBroker):
    """A :class:`TradingBroker` over a :class:`PaperTransport`; push candles with
    :meth:`on_candle` (closed or open: every price movement can fill)."""

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
        super().__init__(transport, store=store, risk=risk, killswitch=killswitch, **kw)  # type: ignore[arg-type]

    @classmethod
    def synthetic(cls, symbols: Sequence[str], balances: dict[str, Decimal] | None = None,
                  **kw: object) -> PaperBroker:  # fmt: skip
        return cls(PaperTransport.synthetic(symbols, balances), **kw)  # type: ignore[arg-type]

    async def on_candle(self, candle: CandleV1) -> None:
        await self.transport.on_candle(candle)
