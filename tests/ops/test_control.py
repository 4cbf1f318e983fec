"""The daemon's control routes in-process: bearer auth, disabled without a token, strict bodies."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from tradeterm.config import DaemonSettings
from tradeterm.errors import UserError
from tradeterm.ops.control import control_routes

TOKEN = "s3cret-control-token-0123456789"


class FakePipeline:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def kill_switch(self, reason: str) -> None:
        self.calls.append(("kill", reason))

    def reset_kill_switch(self) -> None:
        self.calls.append(("reset",))

    def set_auto_trade(self, symbol: str, on: bool) -> None:
        if symbol.upper() != "BTCUSDT":
            raise UserError(f"{symbol.upper()} is not followed")
        self.calls.append(("auto", symbol.upper(), on))

    def status(self) -> dict[str, Any]:
        return {"accepting": True}


def _client(target: FakePipeline, token: str | None, audit: list[Any] | None = None) -> httpx.AsyncClient:
    async def record(action: str, data: dict[str, Any]) -> None:
        if audit is not None:
            audit.append((action, data))

    routes = control_routes(target, lambda: SecretStr(token) if token else None, record)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Starlette(routes=routes)), base_url="http://t")


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_each_route_acts_with_the_right_token_and_is_audited(caplog: pytest.LogCaptureFixture) -> None:
    target, audit = FakePipeline(), []
    with caplog.at_level(logging.DEBUG):
        async with _client(target, TOKEN, audit) as c:
            r = await c.post("/control/kill", json={"reason": "desk says stop"}, headers=AUTH)
            assert (r.status_code, r.json()) == (200, {"kill_switch": True, "reason": "desk says stop"})
            assert (await c.post("/control/kill", headers=AUTH)).json()["reason"] == "daemon control route"
            assert (await c.post("/control/reset", headers=AUTH)).json() == {"kill_switch": False}
            r = await c.post("/control/auto-trade", json={"symbol": "btcusdt", "on": True}, headers=AUTH)
            assert (r.status_code, r.json()) == (200, {"symbol": "BTCUSDT", "auto_trade": True})
            assert (await c.get("/control/status", headers=AUTH)).json() == {"accepting": True}
    assert target.calls == [("kill", "desk says stop"), ("kill", "daemon control route"), ("reset",),
                            ("auto", "BTCUSDT", True)]
    assert [a for a, _ in audit] == ["kill", "kill", "reset", "auto-trade"]
    assert TOKEN not in caplog.text and all(TOKEN not in str(d) for _, d in audit)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-wrong-token"},
                                     {"Authorization": TOKEN}, {"Authorization": "Basic " + TOKEN},
                                     {"Authorization": "Bearer "}])
async def test_missing_or_wrong_token_is_401_and_nothing_happens(headers: dict[str, str]) -> None:
    target = FakePipeline()
    async with _client(target, TOKEN) as c:
        for method, path in (("POST", "/control/kill"), ("POST", "/control/reset"),
                             ("POST", "/control/auto-trade"), ("GET", "/control/status")):
            r = await c.request(method, path, headers=headers, json={"symbol": "BTCUSDT", "on": True})
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in r.text
    assert target.calls == []


async def test_no_token_configured_disables_the_routes() -> None:
    target = FakePipeline()
    async with _client(target, None) as c:
        r = await c.post("/control/kill", headers=AUTH)
    assert r.status_code == 403 and "disabled" in r.json()["error"] and "TRADETERM_DAEMON__TOKEN" in r.json()["error"]
    assert target.calls == []


@pytest.mark.parametrize("body,words", [
    (b"{not json", "body is not valid JSON"),
    (b"[1, 2]", "body must be a JSON object, not list"),
    (b'{"symbol": "BTCUSDT"}', "bad field 'on': Field required"),
    (b'{"symbol": "BTCUSDT", "on": "yes"}', "bad field 'on': Input should be a valid boolean"),
    (b'{"symbol": "BTC/USDT", "on": true}', "bad field 'symbol'"),
    (b'{"symbol": "BTCUSDT", "on": true, "leverage": 100}', "bad field 'leverage': unknown field"),
])
async def test_bad_bodies_are_400_with_a_clear_error(body: bytes, words: str) -> None:
    target = FakePipeline()
    async with _client(target, TOKEN) as c:
        r = await c.post("/control/auto-trade", content=body, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 400 and words in r.json()["error"]
    assert target.calls == []


async def test_refused_intent_is_409_and_oversized_body_413() -> None:
    async with _client(FakePipeline(), TOKEN) as c:
        r = await c.post("/control/auto-trade", json={"symbol": "DOGEUSDT", "on": True}, headers=AUTH)
        assert (r.status_code, r.json()) == (409, {"error": "DOGEUSDT is not followed"})
        r = await c.post("/control/kill", content=b"{" + b" " * 5000 + b"}", headers=AUTH)
        assert r.status_code == 413
        r = await c.post("/control/reset", json={"force": True}, headers=AUTH)
        assert r.status_code == 400 and "unknown field" in r.json()["error"]


def test_token_from_a_private_file_and_refusals(tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    f.chmod(0o600)
    assert DaemonSettings(token_file=f).control_token().get_secret_value() == TOKEN  # type: ignore[union-attr]
    assert DaemonSettings().control_token() is None
    env_wins = DaemonSettings(token=SecretStr("x" * 20), token_file=f).control_token()
    assert env_wins is not None and env_wins.get_secret_value() == "x" * 20
    f.chmod(0o644)
    from tradeterm.errors import ConfigError

    with pytest.raises(ConfigError, match="readable by other users"):
        DaemonSettings(token_file=f).control_token()
    f.chmod(0o600)
    f.write_text("short\n")
    with pytest.raises(ConfigError, match="at least 16 characters") as exc:
        DaemonSettings(token_file=f).control_token()
    assert "short" not in str(exc.value)
    with pytest.raises(ValueError, match="at least 16 characters"):
        DaemonSettings(token=SecretStr("tiny"))
    assert TOKEN not in repr(DaemonSettings(token=SecretStr(TOKEN)))
