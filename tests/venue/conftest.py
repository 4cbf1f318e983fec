"""Shared fixtures: hand-made candles (so fills are predictable), a venue on a real loopback
socket, and a small signing client that speaks Binance's REST conventions."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from collections.abc import Set as AbstractSet
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tradeterm.contracts import Timeframe
from tradeterm.market.frame import CandleFrame
from tradeterm.venue.app import VenueServer
from tradeterm.venue.config import VenueConfig
from tradeterm.venue.datasource import FrameSource
from tradeterm.venue.symbols import SymbolRules

PAYLOADS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "binance_payloads"
T0 = 1_700_000_040_000 - 1_700_000_040_000 % 60_000  # a minute boundary


def payload(rel: str) -> Any:
    p = PAYLOADS / rel
    if p.suffix == ".gz":
        return json.loads(gzip.open(p).read())
    if p.suffix == ".txt":  # Binance.Net fixture: skip the harness lines before the JSON body
        text = p.read_text()
        marker = text.find("\n=")
        if marker >= 0:  # socket fixture: "> request", "< ack", "=" then the pushed frame
            text = text[marker + 2:]
        return json.loads(text[min(i for i in (text.find("{"), text.find("[")) if i >= 0):])
    return json.loads(p.read_text())


def make_frame(symbol: str, ohlc: list[tuple[float, float, float, float]], start_ms: int = T0,
               tf: Timeframe = Timeframe.M1, volume: float = 10.0) -> CandleFrame:
    n = len(ohlc)
    a = np.array(ohlc, dtype=np.float64)
    vol = np.full(n, volume)
    return CandleFrame.from_columns(symbol, tf, start_ms + np.arange(n, dtype=np.int64) * tf.ms, a[:, 0], a[:, 1],
                                    a[:, 2], a[:, 3], vol, vol * a[:, 3], np.full(n, 100), vol / 2, vol * a[:, 3] / 2)


BTC_RULES = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                        step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                        min_price=Decimal("0.01"), max_price=Decimal(1000000), max_qty=Decimal(9000))


def flat_then(bars: list[tuple[float, float, float, float]], history: int = 5,
              price: float = 100.0) -> list[tuple[float, float, float, float]]:
    """``history`` flat bars at ``price`` (the past), then ``bars`` (the replay)."""
    return [(price, price, price, price)] * history + bars


def btc_source(bars: list[tuple[float, float, float, float]], history: int = 5, price: float = 100.0) -> FrameSource:
    return FrameSource(make_frame("BTCUSDT", flat_then(bars, history, price)), BTC_RULES)


def venue_config(sources: list[Any], **kw: Any) -> VenueConfig:
    kw.setdefault("speed", None)
    kw.setdefault("paused", True)
    kw.setdefault("history_bars", 5)
    kw.setdefault("balances", {"USDT": Decimal(10000), "BTC": Decimal(1)})
    return VenueConfig(sources=sources, **kw)


class SignedClient:
    """Binance's signing rules by hand: params in the query (GET) or form body, HMAC over both."""

    def __init__(self, http: httpx.AsyncClient, api_key: str, secret: str) -> None:
        self.http = http
        self.api_key = api_key
        self.secret = secret

    def sign(self, params: dict[str, Any], ts: int | None = None, secret: str | None = None) -> str:
        q = "&".join(f"{k}={v}" for k, v in params.items())
        q = (q + "&" if q else "") + f"timestamp={ts if ts is not None else int(time.time() * 1000)}"
        sig = hmac.new((secret or self.secret).encode(), q.encode(), hashlib.sha256).hexdigest()
        return q + "&signature=" + sig

    async def call(self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        q = self.sign(params or {}, kw.pop("ts", None), kw.pop("secret", None))
        headers = {"X-MBX-APIKEY": kw.pop("api_key", self.api_key)}
        if method == "GET":
            return await self.http.get(f"{path}?{q}", headers=headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return await self.http.request(method, path, content=q, headers=headers)


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Any]]:
    servers: list[VenueServer] = []

    async def start(config: VenueConfig) -> VenueServer:
        srv = VenueServer(config)
        await srv.start()
        servers.append(srv)
        return srv

    yield start
    for s in servers:
        await s.stop()


@pytest.fixture
async def venue_env(make_server: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    """``await venue_env(bars)`` → (server, signed client) on a real loopback socket."""
    clients: list[httpx.AsyncClient] = []

    async def start(bars: list[tuple[float, float, float, float]] | None = None, **kw: Any) -> tuple[VenueServer, SignedClient]:
        srv = await make_server(venue_config([btc_source(bars or [(100, 101, 99, 100)] * 20)], **kw))
        http = httpx.AsyncClient(base_url=srv.rest_url, timeout=10)
        clients.append(http)
        cred = srv.venue.config.credentials[0]
        assert cred.secret is not None
        return srv, SignedClient(http, cred.api_key, cred.secret)

    yield start
    for c in clients:
        await c.aclose()


def same_shape(ours: Any, theirs: Any, *, ignore_missing: AbstractSet[str] = frozenset(),
               ignore_extra: AbstractSet[str] = frozenset(), path: str = "$") -> list[str]:
    """Differences in keys and JSON types between two payloads (values ignored)."""
    out: list[str] = []
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {type(ours).__name__} vs object"]
        for k in theirs:
            if k not in ours and k not in ignore_missing:
                out.append(f"{path}.{k} missing")
        for k in ours:
            if k not in theirs and k not in ignore_extra:
                out.append(f"{path}.{k} extra")
        for k in theirs:
            if k in ours and theirs[k] is not None and ours[k] is not None:
                out += same_shape(ours[k], theirs[k], ignore_missing=ignore_missing, ignore_extra=ignore_extra,
                                  path=f"{path}.{k}")
        return out
    if isinstance(theirs, list):
        if not isinstance(ours, list):
            return [f"{path}: {type(ours).__name__} vs array"]
        if theirs and ours:
            out += same_shape(ours[0], theirs[0], ignore_missing=ignore_missing, ignore_extra=ignore_extra,
                              path=f"{path}[0]")
        return out
    kinds = (bool, int, str, float)
    tk = next((k for k in kinds if isinstance(theirs, k)), type(theirs))
    if not isinstance(ours, tk) or (tk is int and isinstance(ours, bool)):
        out.append(f"{path}: {type(ours).__name__} vs {type(theirs).__name__}")
    return out
