"""The USD-M futures WebSocket API (``/ws-fapi/v1``, Binance's ``wss://ws-fapi.binance.com/ws-fapi/v1``).

Requests are ``{"id", "method", "params"}``; replies ``{"id", "status", "result" | "error",
"rateLimits"}``. The methods reuse the REST handlers (:mod:`tradeterm.venue.rest_futures`), so
every parameter rule, error code and response shape is the REST one; what differs is the framing
and the signature (``apiKey`` + ``timestamp`` + ``signature`` over the sorted params, checked by
:meth:`Authenticator.check_ws`). The part-1 faults apply as on REST: 429/418 bursts, added delay,
and a 5xx/timeout after an accepted order (the order exists; the reply says otherwise).

Served: ``order.place``, ``order.modify``, ``order.cancel``, ``order.status``,
``algoOrder.place``, ``algoOrder.cancel``, ``account.position`` (v2 rows), ``account.balance``,
``userDataStream.start`` / ``.ping`` / ``.stop`` (API key only: user data still flows over the
listenKey streams)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tradeterm.venue import errors as E
from tradeterm.venue import rest_futures as RF
from tradeterm.venue.errors import VenueError
from tradeterm.venue.params import Params
from tradeterm.venue.rest_spot import Ctx

Handler = Callable[[Params, Ctx], Any]

# method -> (handler, request weight, signed, counts as an order)
METHODS: dict[str, tuple[Handler, int, bool, bool]] = {
    "order.place": (RF.new_order, 0, True, True),
    "order.modify": (RF.modify_order, 1, True, True),
    "order.cancel": (RF.cancel_order, 1, True, False),
    "order.status": (RF.get_order, 1, True, False),
    "algoOrder.place": (RF.new_algo, 0, True, True),
    "algoOrder.cancel": (RF.cancel_algo, 1, True, False),
    "account.position": (RF.position_risk(2), 5, True, False),
    "account.balance": (RF.balance, 5, True, False),
    "userDataStream.start": (RF.listen_key_new, 1, False, False),
    "userDataStream.ping": (RF.listen_key_keepalive, 1, False, False),
    "userDataStream.stop": (RF.listen_key_close, 1, False, False),
}


def _as_str(v: object) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


class FuturesWsApi:
    def __init__(self, venue: Any, market: Any) -> None:
        self.venue = venue
        self.market = market
        self.conns: set[WebSocket] = set()

    def _limits(self, ip: str) -> list[dict[str, Any]]:
        used = self.market.limiter.used_weight(ip)
        return [{**rl, "count": used} for rl in self.market.limiter.rate_limits()
                if rl["rateLimitType"] == "REQUEST_WEIGHT"]

    async def handle(self, msg: Any, ip: str) -> dict[str, Any]:
        """One request → its reply (never raises)."""
        if not isinstance(msg, dict):
            return {"id": None, "status": 400, "error": {"code": -1000, "msg": "Malformed request."}}
        rid = msg.get("id")
        method = msg.get("method")
        params = msg.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise VenueError(-1000, "Malformed request.")
            result = await self._call(method, params, ip)
        except VenueError as e:
            self.venue.dispatch_events()
            reply: dict[str, Any] = {"id": rid, "status": e.http_status, "error": e.body(),
                                     "rateLimits": self._limits(ip)}
            if e.retry_after is not None:
                reply["error"]["data"] = {"retryAfter": e.retry_after}
            return reply
        return {"id": rid, "status": 200, "result": result, "rateLimits": self._limits(ip)}

    async def _call(self, method: Any, params: dict[str, Any], ip: str) -> Any:
        venue, limiter, faults = self.venue, self.market.limiter, self.venue.faults
        if not isinstance(method, str) or not method:
            raise E.mandatory("method")
        spec = METHODS.get(method)
        if spec is None:
            raise VenueError(-1020, "This operation is not supported.")
        handler, weight, signed, order = spec
        burst = faults.take_burst()
        if burst is not None:
            raise burst
        if faults.delay_ms > 0:
            await asyncio.sleep(faults.delay_ms / 1000)
        limiter.spend(ip, weight)
        api_key = params.get("apiKey")
        if signed:
            venue.auth.check_ws(params)
        else:
            venue.auth.credential(api_key if isinstance(api_key, str) else None)
        if order:
            limiter.check_order()
        p = Params(values={k: _as_str(v) for k, v in params.items() if k not in ("apiKey", "signature")})
        venue.sync()
        body = handler(p, Ctx(venue, ip, order, api_key if isinstance(api_key, str) else None))
        p.finish()
        venue.dispatch_events()
        if order:
            limiter.refund(ip, weight)
            failure = faults.take_order_failure()
            if failure == "5xx":
                raise E.err(E.UNEXPECTED_RESP)
            if failure == "timeout":
                await asyncio.sleep(faults.timeout_s)
                raise E.err(E.TIMEOUT)
        return body

    async def serve(self, ws: WebSocket) -> None:
        """Requests are answered in order on each connection (a slow answer, e.g. the timeout
        fault, holds the ones behind it, like one backend connection would)."""
        await ws.accept()
        ip = ws.client.host if ws.client else "?"
        self.conns.add(ws)
        try:
            while True:
                text = await ws.receive_text()
                try:
                    msg = orjson.loads(text)
                except orjson.JSONDecodeError:
                    reply: dict[str, Any] = {"id": None, "status": 400,
                                             "error": {"code": -1000, "msg": "Malformed request."}}
                else:
                    reply = await self.handle(msg, ip)
                await ws.send_text(orjson.dumps(reply).decode())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.conns.discard(ws)

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws-fapi/v1", self.serve)]
