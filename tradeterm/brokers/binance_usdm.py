"""Binance USD-M futures: the bracket as engine orders plus one algo stop, over REST, with user
data from a listenKey stream.

Shape (``trading/exits.py``): the entry is a LIMIT or MARKET on ``/fapi/v1/order``; once it
fills, each take profit is a reduce-only LIMIT there too, and the stop is a reduce-only
``STOP_MARKET`` on the algo-order endpoint (``/fapi/v1/algoOrder``, ``algoType=CONDITIONAL``,
``triggerPrice``, ``clientAlgoId``): since 2025-12-09 ``/fapi/v1/order`` refuses conditional types
with -4120. Futures have no OCO, so the bracket state machine cancels siblings itself: the stop's
fill cancels the take profits; a completed take profit re-places the stop for what is left (at
break-even after TP1). A stop move places the new algo order *before* cancelling the old one
(``place_before_cancel``): two reduce-only stops for a moment are harmless, no stop is not.

Per-symbol setup on start (:class:`UsdmSetup`): position mode (one-way; -4059 "no need to
change" is success), margin type (-4046 likewise) and leverage; a decision with another
leverage sets it before its entry.

Idempotency as on spot (``submit.py``): on a timeout, 5xx, -1006 or -1007 the order is looked up
by ``clientOrderId`` (engine) or ``clientAlgoId`` (algo) before anything is resent; -4116 (id in
use) proves it exists. Errors are typed (``errors.map_futures_error``): -2019, -2022, -4061,
-4120, -4164, … each its own class carrying the code.

Kill switch: the core flattens every bracket and cancels every open order *and* algo order;
this broker then closes whatever position is left (foreign ones included) with MARKET
reduce-only orders, which can never open or flip a position.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from tradeterm.brokers.core import TradingBroker
from tradeterm.brokers.errors import (
    AccountConfigRejected,
    BinanceError,
    BrokerError,
    FilterRejected,
    NoChangeNeeded,
    NoSuchOrder,
    NotionalTooSmall,
    UnknownOrder,
    map_futures_error,
)
from tradeterm.brokers.http import SpotHttp
from tradeterm.brokers.protocol import ReconcileReport
from tradeterm.brokers.signing import Signer
from tradeterm.brokers.submit import submit
from tradeterm.brokers.transport import Report, SignedHttpTransport, Sink
from tradeterm.brokers.usdm_updates import (
    ALGO_ORDER_TYPES,
    AlgoCorrelator,
    from_algo_json,
    from_futures_order_json,
)
from tradeterm.brokers.usdm_userdata import UsdmUserData
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import DecisionV1, OrderLeg, OrderType, OrderUpdateV1
from tradeterm.store.protocol import Store
from tradeterm.trading.filters import Market, SymbolFilters
from tradeterm.trading.ids import client_order_id, decision_id_for_ticket, parse_client_order_id
from tradeterm.trading.intents import OrderSpec
from tradeterm.trading.killswitch import KillSwitch
from tradeterm.trading.risk import AccountSnapshot, RiskConfig

VENUE = "binance-usdm"
ZERO = Decimal(0)
log = logging.getLogger("tradeterm.brokers.usdm")
MarginType = Literal["ISOLATED", "CROSSED"]
WorkingType = Literal["MARK_PRICE", "CONTRACT_PRICE"]


@dataclass(frozen=True, slots=True)
class UsdmSetup:
    """What :meth:`UsdmTransport.start` makes true for each symbol before trading.

    ``leverage`` (1-125) per symbol or for all; ``None`` leaves the account's setting.
    ``margin_type`` likewise. ``hedge_mode`` must stay False: brackets use one-way positions
    (``positionSide=BOTH``, ``reduceOnly`` exits); the setup switches the account to one-way.
    ``working_type`` is what the stop's trigger watches (mark price: immune to a wick on the
    last price, Binance's usual choice for stops).
    """

    symbols: tuple[str, ...] = ()
    leverage: int | Mapping[str, int] | None = None
    margin_type: MarginType | None = "ISOLATED"
    hedge_mode: bool = False
    working_type: WorkingType = "MARK_PRICE"

    def leverage_for(self, symbol: str) -> int | None:
        if isinstance(self.leverage, Mapping):
            return self.leverage.get(symbol)
        return self.leverage


@dataclass(frozen=True, slots=True)
class FuturesPosition:
    """One row of ``/fapi/v3/positionRisk``: ``amount`` is signed (short < 0)."""

    symbol: str
    position_side: str
    amount: Decimal
    entry_price: Decimal
    break_even_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    liquidation_price: Decimal
    notional: Decimal
    isolated_wallet: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    update_time: int

    @property
    def side(self) -> Side | None:
        return None if self.amount == 0 else (Side.BUY if self.amount > 0 else Side.SELL)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FuturesPosition:
        def dec(k: str) -> Decimal:
            return Decimal(str(d.get(k) or 0))

        return cls(
            symbol=d["symbol"], position_side=d.get("positionSide", "BOTH"), amount=dec("positionAmt"),
            entry_price=dec("entryPrice"), break_even_price=dec("breakEvenPrice"), mark_price=dec("markPrice"),
            unrealized_pnl=dec("unRealizedProfit"), liquidation_price=dec("liquidationPrice"),
            notional=dec("notional"), isolated_wallet=dec("isolatedWallet"), initial_margin=dec("initialMargin"),
            maint_margin=dec("maintMargin"), update_time=int(d.get("updateTime") or 0),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class FuturesAccount:
    """The totals of ``/fapi/v3/account`` in the margin asset."""

    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    available_balance: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    assets: dict[str, tuple[Decimal, Decimal]]  # asset -> (wallet, available)


def order_params(symbol: str, spec: OrderSpec) -> dict[str, Any]:
    """``POST /fapi/v1/order`` for a LIMIT or MARKET spec (one-way mode: no positionSide)."""
    p: dict[str, Any] = {"symbol": symbol, "side": spec.side.value, "type": spec.order_type.value,
                         "quantity": spec.quantity, "newClientOrderId": spec.client_order_id}  # fmt: skip
    if spec.order_type is OrderType.LIMIT:
        p["price"] = spec.price
        p["timeInForce"] = "GTC"
    if spec.reduce_only:
        p["reduceOnly"] = True
    p["newOrderRespType"] = "RESULT"  # MARKET answers with its fills; LIMIT with an immediate match
    return p


def algo_params(symbol: str, spec: OrderSpec, working_type: str) -> dict[str, Any]:
    """``POST /fapi/v1/algoOrder`` for a conditional spec: ``triggerPrice`` (not the old
    ``stopPrice``), and either ``closePosition`` or a quantity with ``reduceOnly``."""
    p: dict[str, Any] = {"algoType": "CONDITIONAL", "symbol": symbol, "side": spec.side.value,
                         "type": spec.order_type.value, "triggerPrice": spec.stop_price,
                         "workingType": working_type, "clientAlgoId": spec.client_order_id}  # fmt: skip
    if spec.order_type in (OrderType.STOP, OrderType.TAKE_PROFIT):
        p["price"] = spec.price
        p["timeInForce"] = "GTC"
    if spec.close_position:
        p["closePosition"] = True
    else:
        p["quantity"] = spec.quantity
        if spec.reduce_only:
            p["reduceOnly"] = True
    return p


def _is_algo(spec: OrderSpec) -> bool:
    return spec.order_type in ALGO_ORDER_TYPES


def _algo_leg(cid: str) -> bool | None:
    """True: our stop (an algo order); False: another leg of ours (engine order); None: not ours."""
    parsed = parse_client_order_id(cid)
    if parsed is None or parsed.leg is None:
        return None
    return parsed.leg is OrderLeg.STOP


class UsdmTransport(SignedHttpTransport):
    """:class:`~tradeterm.brokers.transport.Transport` for Binance USD-M (or the venue)."""

    venue = VENUE
    place_before_cancel = True  # a stop move: new algo stop first, then cancel the old one
    parallel_exits = True  # take profits and the stop are independent orders: send them together

    def __init__(self, http: SpotHttp, ws_url: str | None = None, *, venue: str = VENUE,
                 setup: UsdmSetup | None = None) -> None:  # fmt: skip
        self.http = http
        self.venue = venue
        self.ws_url = ws_url
        self.setup = setup or UsdmSetup()
        self.correlator = AlgoCorrelator(venue)
        self.filters: dict[str, SymbolFilters] = {}
        self.leverage: dict[str, int] = {}
        self._configured: set[str] = set()
        self._sink: Sink | None = None
        self.stream: UsdmUserData | None = None
        self.on_reconnect: Callable[[], Awaitable[Any]] | None = None
        self.validate_before_send = True

    async def start(self) -> None:
        await self.http.sync_time()
        if not self.filters:
            await self.exchange_info()
        await self.configure(self.setup.symbols)
        if self.ws_url and self.http.signer is not None:
            self.stream = UsdmUserData(self.http, self.ws_url, self.correlator, self._reports, self._reconnected)
            await self.stream.start()

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        await self.http.aclose()

    # ------------------------------------------------------------------ account setup
    async def configure(self, symbols: Sequence[str]) -> None:
        """Position mode for the account, then margin type and leverage per symbol."""
        await self.set_position_mode(self.setup.hedge_mode)
        for symbol in symbols:
            await self.ensure_symbol(symbol)

    async def ensure_symbol(self, symbol: str, leverage: int | None = None) -> None:
        """Margin type (once per symbol) and leverage (``leverage`` or the setup's) before the
        first order on ``symbol``. A margin type that open orders or a position forbid changing
        (-4047/-4048) is left as it is, with a warning: refusing to trade would not make the
        existing position any safer."""
        if symbol not in self._configured:
            if self.setup.margin_type is not None:
                try:
                    await self.set_margin_type(symbol, self.setup.margin_type)
                except AccountConfigRejected as exc:
                    if exc.code not in (-4047, -4048):
                        raise
                    log.warning("%s margin type stays as it is: %s", symbol, exc)
            self._configured.add(symbol)
        lev = leverage if leverage is not None else self.setup.leverage_for(symbol)
        if lev is not None:
            await self.ensure_leverage(symbol, lev)

    async def _setting(self, path: str, params: Mapping[str, Any]) -> bool:
        """POST a setting; False when the exchange says it already was so (-4046, -4059)."""
        try:
            await self.http.request("POST", path, params, signed=True, family="account", safe=True)
        except NoChangeNeeded:
            return False
        return True

    async def set_position_mode(self, hedge: bool) -> bool:
        if hedge:
            raise BrokerError("hedge mode is not supported: brackets trade one-way positions")
        return await self._setting("/fapi/v1/positionSide/dual", {"dualSidePosition": "false"})

    async def set_margin_type(self, symbol: str, margin_type: MarginType) -> bool:
        return await self._setting("/fapi/v1/marginType", {"symbol": symbol, "marginType": margin_type})

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        body = await self.http.request("POST", "/fapi/v1/leverage", {"symbol": symbol, "leverage": leverage},
                                       signed=True, family="account", safe=True)  # fmt: skip
        self.leverage[symbol] = int(body["leverage"])
        return self.leverage[symbol]

    async def ensure_leverage(self, symbol: str, leverage: int) -> None:
        if self.leverage.get(symbol) != leverage:
            await self.set_leverage(symbol, leverage)

    # ------------------------------------------------------------------ reads
    async def exchange_info(self) -> dict[str, SymbolFilters]:
        body = await self.http.request("GET", "/fapi/v1/exchangeInfo", family="market", weight=1)
        for rl in body.get("rateLimits", ()):
            kind, interval, num, limit = (rl.get(k) for k in ("rateLimitType", "interval", "intervalNum", "limit"))
            if kind == "REQUEST_WEIGHT" and interval == "MINUTE" and num == 1:
                self.http.limiter.weight_per_minute = int(limit)
            elif kind == "ORDERS" and interval == "SECOND" and num == 10:
                self.http.limiter.orders_per_10s = int(limit)
        self.filters = {s["symbol"]: SymbolFilters.from_exchange_info(s, Market.USDM) for s in body["symbols"]}
        return dict(self.filters)

    async def _get_order(self, symbol: str, params: Mapping[str, Any], cid: str | None = None) -> OrderUpdateV1 | None:
        try:
            body = await self.http.request("GET", "/fapi/v1/order", {"symbol": symbol, **params}, signed=True)
        except NoSuchOrder:
            return None
        return from_futures_order_json(body, self.venue, cid)

    async def _algo_update(self, d: Mapping[str, Any]) -> OrderUpdateV1 | None:
        """An algo's state; once triggered, its child order's (fills, final status) under the
        algo's id, since the child is where execution happens."""
        caid = d["clientAlgoId"]
        child = d.get("actualOrderId")
        if child not in (None, ""):
            self.correlator.link(child, caid)
            if d.get("algoStatus") in ("TRIGGERED", "FINISHED"):
                u = await self._get_order(d["symbol"], {"orderId": child}, caid)
                if u is not None:
                    return u.model_copy(update={"order_type": OrderType(d["orderType"]),
                                                "stop_price": Decimal(str(d["triggerPrice"])) or None})  # fmt: skip
        return from_algo_json(d, self.venue, self.correlator.quantities.get(caid))

    async def query_algo(self, client_algo_id: str, symbol: str | None = None) -> OrderUpdateV1 | None:
        """By ``clientAlgoId``; Binance may stop answering this for a completed algo, so with a
        symbol a miss is checked against ``allAlgoOrders`` (the last 7 days) before it counts
        as "does not exist" (which is what allows a resend)."""
        try:
            body = await self.http.request("GET", "/fapi/v1/algoOrder", {"clientAlgoId": client_algo_id},
                                           signed=True)  # fmt: skip
        except NoSuchOrder:
            if symbol is None:
                return None
            rows = await self.http.request("GET", "/fapi/v1/allAlgoOrders", {"symbol": symbol}, signed=True,
                                           weight=5)  # fmt: skip
            body = next((r for r in reversed(rows) if r.get("clientAlgoId") == client_algo_id), None)
            if body is None:
                return None
        return await self._algo_update(body)

    async def query_order(self, symbol: str, client_order_id: str) -> OrderUpdateV1 | None:
        algo = _algo_leg(client_order_id)
        if algo:
            return await self.query_algo(client_order_id, symbol)
        u = await self._get_order(symbol, {"origClientOrderId": client_order_id})
        if u is None and algo is None:  # not ours: it may be either kind
            return await self.query_algo(client_order_id, symbol)
        return u

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdateV1]:
        """Open engine orders and open algo orders (a stop is an algo order until it triggers)."""
        params = {"symbol": symbol} if symbol else {}
        orders = await self.http.request("GET", "/fapi/v1/openOrders", params, signed=True,
                                         weight=1 if symbol else 40)  # fmt: skip
        algos = await self.http.request("GET", "/fapi/v1/openAlgoOrders", params, signed=True,
                                        weight=1 if symbol else 40)  # fmt: skip
        out = [u for d in orders if (u := from_futures_order_json(d, self.venue))]
        sized: dict[str, Decimal] | None = None
        for d in algos:
            hint = self.correlator.quantities.get(d["clientAlgoId"])
            if hint is None and d.get("closePosition") and Decimal(str(d.get("quantity") or 0)) == 0:
                if sized is None:  # a closePosition stop states no size: it closes the position
                    sized = {p.symbol: abs(p.amount) for p in await self.position_risk()}
                hint = sized.get(d["symbol"])
            if (u := from_algo_json(d, self.venue, hint)) is not None:
                out.append(u)
        return out

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per margin asset: (available, the rest of the margin balance: margin in use and PnL)."""
        acct = await self.account()
        return {a: (avail, wallet - avail) for a, (wallet, avail) in acct.assets.items()}

    async def account(self) -> FuturesAccount:
        body = await self.http.request("GET", "/fapi/v3/account", signed=True, family="account", weight=5)

        def dec(k: str) -> Decimal:
            return Decimal(str(body.get(k) or 0))

        assets = {a["asset"]: (Decimal(str(a["marginBalance"])), Decimal(str(a["availableBalance"])))
                  for a in body.get("assets", ())}  # fmt: skip
        return FuturesAccount(
            wallet_balance=dec("totalWalletBalance"), unrealized_pnl=dec("totalUnrealizedProfit"),
            margin_balance=dec("totalMarginBalance"), available_balance=dec("availableBalance"),
            initial_margin=dec("totalInitialMargin"), maint_margin=dec("totalMaintMargin"), assets=assets,
        )  # fmt: skip

    async def position_risk(self, symbol: str | None = None) -> list[FuturesPosition]:
        """Open positions (rows with a zero amount are dropped)."""
        params = {"symbol": symbol} if symbol else {}
        body = await self.http.request("GET", "/fapi/v3/positionRisk", params, signed=True, family="account",
                                       weight=5)  # fmt: skip
        return [p for d in body if (p := FuturesPosition.from_json(d)).amount != 0]

    async def last_price(self, symbol: str) -> Decimal:
        body = await self.http.request("GET", "/fapi/v1/ticker/price", {"symbol": symbol}, family="market")
        return Decimal(str(body["price"]))

    async def mark_price(self, symbol: str) -> Decimal:
        body = await self.http.request("GET", "/fapi/v1/premiumIndex", {"symbol": symbol}, family="market")
        return Decimal(str(body["markPrice"]))

    # ------------------------------------------------------------------ writes
    async def _check_filters(self, symbol: str, spec: OrderSpec) -> None:
        """The exchange's filters, before anything is sent: a refusal here costs no order and
        no order-count weight, and says the same thing the exchange would (same code). A MARKET
        order that opens is valued at the mark price, as Binance values it for MIN_NOTIONAL."""
        f = self.filters.get(symbol)
        if f is None or not self.validate_before_send:
            return
        if _is_algo(spec):
            price = spec.price if spec.order_type in (OrderType.STOP, OrderType.TAKE_PROFIT) else spec.stop_price
            found = [] if spec.close_position else f.validate(
                price, spec.quantity, spec.side, spec.order_type, stop_price=spec.stop_price, reduce_only=True)
            found = [v for v in found if v.filter != "ORDER_TYPE"]  # algo types are not listed per symbol
        else:
            market = spec.order_type is OrderType.MARKET
            reference = await self.mark_price(symbol) if market and not spec.reduce_only else None
            found = f.validate(None if market else spec.price, spec.quantity, spec.side, spec.order_type, reference,
                               reduce_only=spec.reduce_only)  # fmt: skip
        if found:
            v = found[0]
            cls = NotionalTooSmall if v.code == -4164 else FilterRejected
            raise cls(v.code, f"{v.message} ({v.detail})", 400)

    async def place_order(self, symbol: str, spec: OrderSpec) -> list[Report]:
        await self._check_filters(symbol, spec)
        if _is_algo(spec):
            if spec.close_position:
                self.correlator.quantities[spec.client_order_id] = spec.quantity

            async def lookup_algo() -> list[Report] | None:
                u = await self.query_algo(spec.client_order_id, symbol)
                return [(u, None)] if u is not None else None

            return await submit(self.http, "/fapi/v1/algoOrder", algo_params(symbol, spec, self.setup.working_type),
                                lookup_algo, self._parse_algo)  # fmt: skip

        async def lookup() -> list[Report] | None:
            u = await self._get_order(symbol, {"origClientOrderId": spec.client_order_id})
            return [(u, None)] if u is not None else None

        return await submit(self.http, "/fapi/v1/order", order_params(symbol, spec), lookup, self._parse_order)

    def _parse_order(self, body: Any) -> list[Report]:
        u = from_futures_order_json(body, self.venue)
        return [(u, None)] if u is not None else []

    def _parse_algo(self, body: Any) -> list[Report]:
        u = from_algo_json(body, self.venue, self.correlator.quantities.get(body.get("clientAlgoId", "")))
        return [(u, None)] if u is not None else []

    async def place_oco(self, symbol: str, side: Side, quantity: Decimal, list_client_order_id: str,
                        above: OrderSpec, below: OrderSpec) -> list[Report]:  # fmt: skip
        raise BrokerError("USD-M has no OCO: the broker links the legs itself")

    async def cancel_order(self, symbol: str, client_order_id: str) -> list[Report]:
        """Cancel; if it is no longer open (filled, triggered, gone) report its state instead."""
        algo = _algo_leg(client_order_id)
        try:
            if algo:
                await self.http.request("DELETE", "/fapi/v1/algoOrder", {"clientAlgoId": client_order_id},
                                        signed=True, family="order", safe=True)  # fmt: skip
                u = await self.query_algo(client_order_id, symbol)
                return [(u, None)] if u is not None else []
            body = await self.http.request("DELETE", "/fapi/v1/order",
                                           {"symbol": symbol, "origClientOrderId": client_order_id},
                                           signed=True, family="order", safe=True)  # fmt: skip
        except (UnknownOrder, NoSuchOrder):
            u = await self.query_order(symbol, client_order_id)
            return [(u, None)] if u is not None else []
        return self._parse_order(body)

    async def cancel_open_orders(self, symbol: str) -> list[Report]:
        """Every open order *and* algo order of ``symbol`` (the kill switch's first half); the
        answers carry no orders, so the states are read back for those seen open before."""
        before = await self.open_orders(symbol)
        for path in ("/fapi/v1/allOpenOrders", "/fapi/v1/algoOpenOrders"):
            try:
                await self.http.request("DELETE", path, {"symbol": symbol}, signed=True, family="order", safe=True)
            except UnknownOrder:
                pass
        out: list[Report] = []
        for u in before:
            found = await self.query_order(symbol, u.client_order_id)
            if found is not None:
                out.append((found, None))
        return out

    async def close_position(self, symbol: str, client_id: str) -> list[Report]:
        """Close the whole ``symbol`` position with a MARKET reduce-only order (no-op when flat)."""
        positions = [p for p in await self.position_risk(symbol) if p.amount != 0]
        out: list[Report] = []
        for p in positions:
            side = Side.SELL if p.amount > 0 else Side.BUY
            spec = OrderSpec(client_order_id=client_id, leg=OrderLeg.CLOSE, side=side, order_type=OrderType.MARKET,
                             quantity=abs(p.amount), reduce_only=True)  # fmt: skip
            out += await self.place_order(symbol, spec)
        return out


class BinanceUsdmBroker(TradingBroker):
    """The Binance USD-M broker; reconciles on start and after every user-data reconnect."""

    transport: UsdmTransport

    def __init__(
        self,
        rest_url: str,
        signer: Signer,
        ws_url: str | None = None,
        *,
        setup: UsdmSetup | None = None,
        store: Store | None = None,
        risk: RiskConfig | None = None,
        killswitch: KillSwitch | None = None,
        recv_window: int = 5000,
        timeout: float = 5.0,
        http: SpotHttp | None = None,
        venue: str = VENUE,
        **kw: Any,
    ) -> None:
        """``rest_url``: ``https://fapi.binance.com`` (or the venue's REST URL); ``ws_url``: the
        fstream base, ``wss://fstream.binance.com`` (or the venue's ``fstream_url``)."""
        http = http or SpotHttp(rest_url, signer, recv_window=recv_window, timeout=timeout,
                                time_path="/fapi/v1/time", error_mapper=map_futures_error)  # fmt: skip
        transport = UsdmTransport(http, ws_url, venue=venue, setup=setup)
        super().__init__(transport, store=store, risk=risk, killswitch=killswitch, **kw)
        transport.on_reconnect = self._on_reconnect
        self.reconciles_after_reconnect = 0

    async def _on_reconnect(self) -> None:
        try:
            await self.reconcile()
            self.reconciles_after_reconnect += 1
        except BinanceError as exc:  # the next reconnect (or the operator) tries again
            await self._audit("reconcile_failed", str(exc))

    # ------------------------------------------------------------------ commands
    async def place_bracket(self, decision: DecisionV1) -> Any:
        """The symbol's margin type and the decision's leverage are set before the entry goes out."""
        if decision.venue == self.venue and decision.decision_id not in self.brackets and not self.killswitch.tripped:
            await self.transport.ensure_symbol(decision.symbol, decision.leverage)
        return await super().place_bracket(decision)

    async def _flatten_tripped(self, reason: str) -> None:
        """Brackets flattened and every order and algo order cancelled (the core), then any
        position still open, ours or not, closed reduce-only."""
        await super()._flatten_tripped(reason)
        stamp = str(self.killswitch.trip.at_ms if self.killswitch.trip else self.transport.now_ms())
        async with self._lock:
            for p in await self.transport.position_risk():
                did = decision_id_for_ticket(self.venue, p.symbol, "kill:" + stamp)
                try:
                    self._inbox.extend(await self.transport.close_position(p.symbol, client_order_id(did, OrderLeg.CLOSE)))
                except BrokerError as exc:
                    await self._audit("kill_close_failed", str(exc), {"symbol": p.symbol})
            await self._drain()

    # ------------------------------------------------------------------ views
    async def position_risk(self, symbol: str | None = None) -> list[FuturesPosition]:
        """The exchange's positions (not the brackets' view: foreign positions show here)."""
        return await self.transport.position_risk(symbol)

    async def futures_account(self) -> FuturesAccount:
        return await self.transport.account()

    async def account_snapshot(self, quote_asset: str = "USDT") -> AccountSnapshot:
        """Equity = margin balance (wallet + unrealised PnL); available = free margin."""
        acct = await self.transport.account()
        margin, avail = acct.assets.get(quote_asset, (acct.margin_balance, acct.available_balance))
        return AccountSnapshot(equity=margin, available=avail, quote_asset=quote_asset)

    async def _check_balances(self, report: ReconcileReport) -> None:
        """Futures positions are per symbol: flag any amount no bracket accounts for."""
        expected: dict[str, Decimal] = {}
        for b in self.brackets.values():
            if b.position > 0:
                signed = b.position if b.long else -b.position
                expected[b.symbol] = expected.get(b.symbol, ZERO) + signed
        actual = {p.symbol: p.amount for p in await self.transport.position_risk()}
        for symbol in sorted(set(actual) | set(expected)):
            extra = actual.get(symbol, ZERO) - expected.get(symbol, ZERO)
            if extra != 0:
                report.foreign_positions[symbol] = extra
                await self._audit("foreign_position", f"{symbol}: position {actual.get(symbol, ZERO)} differs from "
                                  f"the brackets' {expected.get(symbol, ZERO)}", {"symbol": symbol, "extra": str(extra)})  # fmt: skip
