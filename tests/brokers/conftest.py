"""A venue on a real loopback socket and Binance Spot brokers pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.venue.conftest import btc_source, venue_config
from tradeterm.brokers.binance_spot import BinanceSpotBroker
from tradeterm.brokers.http import SpotHttp
from tradeterm.brokers.signing import HmacSigner
from tradeterm.venue.app import VenueServer

# Flat at 100, then: a bar that runs up through 106 (TP1 of a 100→95 bracket at 1R ≈ 105),
# then flat bars, then a crash through every stop.
RUN_UP = [(100, 100, 100, 100)] * 3 + [(100, 107, 99.5, 106.5)] + [(106.5, 106.5, 106.5, 106.5)] * 3 + \
    [(106.5, 106.5, 80, 80)] + [(80, 80, 80, 80)] * 10


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``cond()`` holds (event-driven code has no other completion signal)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


class Env:
    def __init__(self, server: VenueServer) -> None:
        self.server = server
        self.venue = server.venue
        cred = server.venue.config.credentials[0]
        assert cred.secret is not None
        self.api_key = cred.api_key
        self.secret = cred.secret
        self.brokers: list[BinanceSpotBroker] = []

    async def broker(self, *, store: Any = None, recv_window: int = 1000, http: SpotHttp | None = None,
                     start: bool = True, **kw: Any) -> BinanceSpotBroker:  # fmt: skip
        signer = HmacSigner(self.api_key, self.secret)
        b = BinanceSpotBroker(self.server.rest_url, signer, self.server.ws_api_url, store=store,
                              recv_window=recv_window, http=http, **kw)  # fmt: skip
        self.brokers.append(b)
        if start:
            await b.start()
        return b

    def step_bars(self, n: int = 1) -> None:
        self.venue.step_bars(n)

    def orders_with(self, cid: str) -> list[Any]:
        return [o for o in self.venue.engine.orders["BTCUSDT"].values() if o.client_order_id == cid]

    def open_orders(self) -> list[Any]:
        return self.venue.engine.open_orders("BTCUSDT")

    async def drop_user_data(self) -> None:
        for c in list(self.venue.userdata.conns):
            await c.ws.close()


@pytest.fixture
async def env() -> AsyncIterator[Callable[..., Any]]:
    envs: list[Env] = []

    async def start(bars: list[tuple[float, float, float, float]] | None = None, **kw: Any) -> Env:
        kw.setdefault("balances", {"USDT": Decimal(10000), "BTC": Decimal(1)})
        srv = VenueServer(venue_config([btc_source(bars or RUN_UP)], **kw))
        await srv.start()
        e = Env(srv)
        envs.append(e)
        return e

    yield start
    for e in envs:
        for b in e.brokers:
            await b.close()
        await e.server.stop()
