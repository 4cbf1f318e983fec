"""The venue's own control API (``/_venue/…``): not Binance, for tests, demos and the CLI.

Faults, replay stepping and balances are switched here so that a test running the venue in
another process (``tradeterm venue``) has the same levers as one holding the object."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tradeterm.errors import UserError
from tradeterm.venue.clock import parse_speed
from tradeterm.venue.venue import Venue


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise TypeError("the body must be a JSON object")  # answered 400 like every other bad body
    return data


def control_routes(venue: Venue) -> list[Route]:
    def state() -> dict[str, Any]:
        return {"marketTime": venue.market_ms, "serverTime": venue.server_clock.now_ms(),
                "speed": "max" if venue.clock.speed is None else venue.clock.speed, "paused": venue.clock.paused,
                "symbols": {s: str(venue.last_price(s)) for s in venue.series}, "faults": venue.faults.as_dict()}

    async def handle(request: Request) -> Response:
        action = request.path_params["action"]
        try:
            body = await _body(request) if request.method == "POST" else {}
            if action == "state":
                pass
            elif action == "faults":
                if request.method == "POST":
                    venue.faults.update(body)
                    venue.server_clock.skew_ms = venue.faults.clock_skew_ms
                    if not venue.faults.userdata_reorder:
                        venue.userdata.flush_held()
                        if venue.futures is not None:
                            venue.futures.userdata.flush_held()
            elif action == "drop-streams":
                venue.drop_streams()
            elif action == "step":
                n = int(body.get("steps", 0)) + 3 * int(body.get("bars", 0))
                taken = venue.step(n if n > 0 else 1)
                return _json({"steps": taken, **state()})
            elif action == "pause":
                venue.sync()
                venue.clock.pause()
            elif action == "resume":
                venue.clock.resume()
                venue.wake()
            elif action == "speed":
                venue.sync()
                venue.clock.set_speed(parse_speed(str(body.get("speed", "max"))))
                venue.wake()
            elif action == "reset-limits":
                venue.limiter.reset()
                if venue.futures is not None:
                    venue.futures.limiter.reset()
            elif action == "deposit":
                venue.deposit(str(body["asset"]), Decimal(str(body["amount"])))
            else:
                return _json({"error": f"unknown action {action!r}"}, 404)
        except (ValueError, KeyError, TypeError, InvalidOperation, UserError, orjson.JSONDecodeError) as e:
            return _json({"error": str(e)}, 400)
        return _json(state())

    return [Route("/_venue/{action}", handle, methods=["GET", "POST"])]
