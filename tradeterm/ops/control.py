"""Token-protected control routes of the daemon: kill switch, reset, auto-trade, status.

Why a token on a loopback port: every local user (and every process a browser tab can reach
through DNS rebinding) can connect to 127.0.0.1. Reading metrics is harmless; flattening the
account or turning auto-trade on is not. So:

* ``Authorization: Bearer <token>``, compared in constant time; a missing or wrong token is 401;
* no token configured means the routes are **disabled** (403 with how to enable them), never
  open — a daemon started without thinking about it cannot be driven by anyone;
* the token comes from ``TRADETERM_DAEMON__TOKEN`` or ``daemon.token_file`` (0600), is read per
  request (rotation needs no restart), and never appears in a log line, an error or a response;
* bodies are small JSON objects validated strictly; anything else is a 400 that says what is
  wrong. Refused intents (symbol not followed, broker not ready) are 409 with the reason.

Every accepted action is written to the store's audit trail and logged (without the token).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradeterm.errors import ConfigError, UserError

log = logging.getLogger("tradeterm.daemon.control")
MAX_BODY = 4096

TokenSource = Callable[[], SecretStr | None]


class Controllable(Protocol):
    """What the control routes need from the pipeline (the controller implements it)."""

    async def kill_switch(self, reason: str) -> None: ...

    def reset_kill_switch(self) -> None: ...

    def set_auto_trade(self, symbol: str, on: bool) -> None: ...

    def status(self) -> dict[str, Any]: ...


class KillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="daemon control route", min_length=1, max_length=200)


class AutoTradeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=2, max_length=20, pattern=r"^[A-Za-z0-9]+$")
    on: StrictBool


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _authorise(request: Request, tokens: TokenSource) -> JSONResponse | None:
    """None when the request may proceed, else the refusal."""
    try:
        token = tokens()
    except ConfigError as exc:  # e.g. the token file became world-readable: refuse, say why
        return _error(403, f"control routes are disabled: {exc}")
    if token is None:
        return _error(403, "control routes are disabled: no control token is configured "
                           "(set TRADETERM_DAEMON__TOKEN or daemon.token_file, mode 0600)")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _error(401, "missing bearer token (send 'Authorization: Bearer <token>')",
                      **{"WWW-Authenticate": 'Bearer realm="tradeterm"'})
    if not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        return _error(401, "invalid token", **{"WWW-Authenticate": 'Bearer realm="tradeterm", error="invalid_token"'})
    return None


async def _body(request: Request, model: type[BaseModel]) -> BaseModel | JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return _error(413, f"body too large ({len(raw)} bytes; at most {MAX_BODY})")
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return _error(400, f"body must be a JSON object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        msg = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        return _error(400, f"bad field {field!r}: {msg}")


def control_routes(target: Controllable, tokens: TokenSource,
                   audit: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None) -> list[Route]:
    """The ``/control/*`` routes for ``target``; ``tokens`` returns the current token or None."""

    async def record(action: str, data: dict[str, Any], request: Request) -> None:
        client = request.client.host if request.client else "?"
        log.warning("control %s", action, extra={"action": action, "client": client, **data})
        if audit is not None:
            await audit(action, {**data, "client": client})

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            refusal = _authorise(request, tokens)
            if refusal is not None:
                return refusal
            try:
                return await handler(request)
            except UserError as exc:
                return _error(409, str(exc))
        return endpoint

    async def kill(request: Request) -> Response:
        body = await _body(request, KillBody)
        if isinstance(body, JSONResponse):
            return body
        assert isinstance(body, KillBody)
        await target.kill_switch(body.reason)
        await record("kill", {"reason": body.reason}, request)
        return JSONResponse({"kill_switch": True, "reason": body.reason})

    async def reset(request: Request) -> Response:
        body = await _body(request, _Empty)
        if isinstance(body, JSONResponse):
            return body
        target.reset_kill_switch()
        await record("reset", {}, request)
        return JSONResponse({"kill_switch": False})

    async def auto_trade(request: Request) -> Response:
        body = await _body(request, AutoTradeBody)
        if isinstance(body, JSONResponse):
            return body
        assert isinstance(body, AutoTradeBody)
        target.set_auto_trade(body.symbol, body.on)
        await record("auto-trade", {"symbol": body.symbol.upper(), "on": body.on}, request)
        return JSONResponse({"symbol": body.symbol.upper(), "auto_trade": body.on})

    async def status(request: Request) -> Response:
        return JSONResponse(target.status())

    return [
        Route("/control/kill", guarded(kill), methods=["POST"]),
        Route("/control/reset", guarded(reset), methods=["POST"]),
        Route("/control/auto-trade", guarded(auto_trade), methods=["POST"]),
        Route("/control/status", guarded(status), methods=["GET"]),
    ]


class _Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")
