"""Binance Spot: the bracket as plain orders and OCO lists over REST, user data over the
WebSocket API.

Shape (chosen by the bracket state machine, ``trading/bracket.py``): the entry is a plain
order; once it fills, each take-profit slice becomes one ``orderList/oco`` (LIMIT_MAKER target
+ STOP_LOSS_LIMIT stop for the slice's quantity), so several targets are several lists, each
within the symbol's algo-order limit; no OTOCO, since protection must follow *partial* fills
too.

Idempotency (``reference/binance-api.md`` §10): every order carries its deterministic client
id. On an unknown outcome (timeout, 5xx, -1006, -1007) :meth:`SpotTransport._submit` asks the
exchange by client id; it resends only after the exchange says -2013 *and* the recvWindow of
the lost request has passed, so the lost request can no longer execute. A
``Duplicate order sent`` reply proves the order exists, and it is adopted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from tradeterm.brokers.core import TradingBroker
from tradeterm.brokers.errors import (
    BinanceError,
    NoSuchOrder,
    UnknownOrder,
)
from tradeterm.brokers.http import SpotHttp
from tradeterm.brokers.signing import Signer
from tradeterm.brokers.submit import submit
from tradeterm.brokers.transport import Report, SignedHttpTransport, Sink
from tradeterm.brokers.updates import from_order_json
from tradeterm.brokers.userdata import UserDataStream
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderType, OrderUpdateV1
from tradeterm.store.protocol import Store
from tradeterm.trading.filters import Market, SymbolFilters
from tradeterm.trading.intents import OrderSpec
from tradeterm.trading.killswitch import KillSwitch
from tradeterm.trading.risk import RiskConfig

VENUE = "binance-spot"
_TIF_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
_PRICE_TYPES = _TIF_TYPES | {OrderType.LIMIT_MAKER}
_STOP_TYPES = frozenset({OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT,
                         OrderType.TAKE_PROFIT_LIMIT})  # fmt: skip


def _leg_params(spec: OrderSpec, prefix: str = "") -> dict[str, Any]:
    def n(name: str) -> str:
        return prefix + name[0].upper() + name[1:] if prefix else name

    p: dict[str, Any] = {n("type"): spec.order_type.value, n("clientOrderId" if prefix else "newClientOrderId"): spec.client_order_id}
    if spec.order_type in _PRICE_TYPES and spec.price is not None:
        p[n("price")] = spec.price
    if spec.order_type in _STOP_TYPES and spec.stop_price is not None:
        p[n("stopPrice")] = spec.stop_price
    if spec.order_type in _TIF_TYPES:
        p[n("timeInForce")] = "GTC"
    return p


def order_params(symbol: str, spec: OrderSpec) -> dict[str, Any]:
    p = {"symbol": symbol, "side": spec.side.value, **_leg_params(spec), "quantity": spec.quantity}
    # FULL: the answer lists the fills with their commission, so a buy's base-asset fee is known
    # before its exits are sized (RESULT would leave it to the stream, often too late).
    p["newOrderRespType"] = "FULL"
    return p


def oco_params(symbol: str, side: Side, quantity: Decimal, list_id: str, above: OrderSpec,
               below: OrderSpec) -> dict[str, Any]:  # fmt: skip
    return {
        "symbol": symbol, "listClientOrderId": list_id, "side": side.value, "quantity": quantity,
        **_leg_params(above, "above"), **_leg_params(below, "below"), "newOrderRespType": "RESULT",
    }  # fmt: skip


class SpotTransport(SignedHttpTransport):
    """:class:`~tradeterm.brokers.transport.Transport` for Binance Spot (or the venue)."""

    venue = VENUE

    def __init__(self, http: SpotHttp, ws_api_url: str | None = None, *, venue: str = VENUE) -> None:
        self.http = http
        self.venue = venue
        self.ws_api_url = ws_api_url
        self._sink: Sink | None = None
        self.stream: UserDataStream | None = None
        self.on_reconnect: Callable[[], Awaitable[Any]] | None = None

    async def start(self) -> None:
        await self.http.sync_time()
        if self.ws_api_url and self.http.signer is not None:
            self.stream = UserDataStream(
                self.ws_api_url, self.http.signer, self.http.now_ms, self.venue, self._reports,
                self._reconnected, recv_window=self.http.recv_window,
            )  # fmt: skip
            await self.stream.start()

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        await self.http.aclose()

    # ------------------------------------------------------------------ reads
    async def exchange_info(self) -> dict[str, SymbolFilters]:
        body = await self.http.request("GET", "/api/v3/exchangeInfo", family="market", weight=20)
        self._apply_rate_limits(body.get("rateLimits", ()))
        return {s["symbol"]: SymbolFilters.from_exchange_info(s, Market.SPOT) for s in body["symbols"]}

    def _apply_rate_limits(self, limits: Any) -> None:
        """Pace against the limits the exchange publishes, not hard-coded defaults."""
        for rl in limits:
            kind, interval, num, limit = (rl.get(k) for k in ("rateLimitType", "interval", "intervalNum", "limit"))
            if kind == "REQUEST_WEIGHT" and interval == "MINUTE" and num == 1:
                self.http.limiter.weight_per_minute = int(limit)
            elif kind == "ORDERS" and interval == "SECOND" and num == 10:
                self.http.limiter.orders_per_10s = int(limit)

    async def query_order(self, symbol: str, client_order_id: str) -> OrderUpdateV1 | None:
        try:
            body = await self.http.request(
                "GET", "/api/v3/order", {"symbol": symbol, "origClientOrderId": client_order_id},
                signed=True, weight=4,
            )  # fmt: skip
        except NoSuchOrder:
            return None
        return from_order_json(body, self.venue)

    async def _query_list(self, symbol: str, list_id: str) -> list[Report] | None:
        try:
            body = await self.http.request(
                "GET", "/api/v3/orderList", {"origClientOrderId": list_id}, signed=True, weight=4
            )
        except NoSuchOrder:
            return None
        out: list[Report] = []
        for leg in body.get("orders", ()):
            u = await self.query_order(symbol, leg["clientOrderId"])
            if u is not None:
                out.append((u, None))
        return out

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdateV1]:
        params = {"symbol": symbol} if symbol else {}
        body = await self.http.request("GET", "/api/v3/openOrders", params, signed=True,
                                       weight=6 if symbol else 80)  # fmt: skip
        return [u for d in body if (u := from_order_json(d, self.venue))]

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        body = await self.http.request("GET", "/api/v3/account", {"omitZeroBalances": "true"},
                                       signed=True, family="account", weight=20)  # fmt: skip
        return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in body["balances"]}

    async def last_price(self, symbol: str) -> Decimal:
        body = await self.http.request("GET", "/api/v3/ticker/price", {"symbol": symbol}, family="market", weight=2)
        return Decimal(body["price"])

    # ------------------------------------------------------------------ writes
    async def _submit(self, path: str, params: Mapping[str, Any],
                      lookup: Callable[[], Awaitable[list[Report] | None]]) -> list[Report]:  # fmt: skip
        """POST once; resolve an unknown outcome by asking (``submit.py``)."""
        return await submit(self.http, path, params, lookup, self._parse)

    def _parse(self, body: Mapping[str, Any]) -> list[Report]:
        if "orderReports" in body:
            return [(u, None) for d in body["orderReports"] if (u := from_order_json(d, self.venue))]
        u = from_order_json(body, self.venue)
        return [(u, None)] if u is not None else []

    async def place_order(self, symbol: str, spec: OrderSpec) -> list[Report]:
        async def lookup() -> list[Report] | None:
            u = await self.query_order(symbol, spec.client_order_id)
            return [(u, None)] if u is not None else None

        return await self._submit("/api/v3/order", order_params(symbol, spec), lookup)

    async def place_oco(self, symbol: str, side: Side, quantity: Decimal, list_client_order_id: str,
                        above: OrderSpec, below: OrderSpec) -> list[Report]:  # fmt: skip
        params = oco_params(symbol, side, quantity, list_client_order_id, above, below)
        return await self._submit("/api/v3/orderList/oco", params,
                                  lambda: self._query_list(symbol, list_client_order_id))  # fmt: skip

    async def cancel_order(self, symbol: str, client_order_id: str) -> list[Report]:
        params = {"symbol": symbol, "origClientOrderId": client_order_id}
        try:
            body = await self.http.request("DELETE", "/api/v3/order", params, signed=True,
                                           family="order", safe=True)  # cancelling twice is harmless
        except UnknownOrder:
            u = await self.query_order(symbol, client_order_id)
            return [(u, None)] if u is not None else []
        return self._parse(body)

    async def cancel_open_orders(self, symbol: str) -> list[Report]:
        try:
            body = await self.http.request("DELETE", "/api/v3/openOrders", {"symbol": symbol},
                                           signed=True, family="order", safe=True)  # fmt: skip
        except UnknownOrder:
            return []
        out: list[Report] = []
        for item in body:
            for d in item.get("orderReports", [item]):
                if (u := from_order_json(d, self.venue)) is not None:
                    out.append((u, None))
        return out


class BinanceSpotBroker(TradingBroker):
    """The Binance Spot broker; reconciles on start and after every user-data reconnect."""

    transport: SpotTransport

    def __init__(
        self,
        rest_url: str,
        signer: Signer,
        ws_api_url: str | None = None,
        *,
        store: Store | None = None,
        risk: RiskConfig | None = None,
        killswitch: KillSwitch | None = None,
        recv_window: int = 5000,
        timeout: float = 5.0,
        http: SpotHttp | None = None,
        venue: str = VENUE,
        **kw: Any,
    ) -> None:
        http = http or SpotHttp(rest_url, signer, recv_window=recv_window, timeout=timeout)
        transport = SpotTransport(http, ws_api_url, venue=venue)
        super().__init__(transport, store=store, risk=risk, killswitch=killswitch, **kw)
        transport.on_reconnect = self._on_reconnect
        self.reconciles_after_reconnect = 0

    async def _on_reconnect(self) -> None:
        try:
            await self.reconcile()
            self.reconciles_after_reconnect += 1
        except BinanceError as exc:  # the next reconnect (or the operator) tries again
            await self._audit("reconcile_failed", str(exc))
