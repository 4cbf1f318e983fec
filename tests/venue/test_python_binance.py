"""An independent client, unmodified but for its base URLs: python-binance's AsyncClient and
BinanceSocketManager against the venue on loopback. Any mismatch in paths, parameter names,
signing, JSON shapes or stream framing makes the library itself fail here.

A guard refuses every socket connection that is not to loopback, so nothing can leak out."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("aiohttp")
from binance.async_client import AsyncClient
from binance.ws.streams import BinanceSocketManager

from tradeterm.venue.config import VenueConfig

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    seen: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(addr: Any) -> None:
        host = addr[0] if isinstance(addr, tuple) else addr
        seen.append(host)
        if isinstance(host, str) and host not in _LOOPBACK and not host.startswith("/"):
            raise AssertionError(f"attempted off-loopback connection to {addr!r}")

    def connect(self: socket.socket, addr: Any) -> Any:
        check(addr)
        return real_connect(self, addr)

    def connect_ex(self: socket.socket, addr: Any) -> Any:
        check(addr)
        return real_connect_ex(self, addr)

    def getaddrinfo(host: Any, *a: Any, **kw: Any) -> Any:
        if host not in (None, *_LOOPBACK):
            raise AssertionError(f"attempted DNS lookup of {host!r}")
        return real_getaddrinfo(host, *a, **kw)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield seen


def local_client_classes(rest: str, ws: str, ws_api: str) -> tuple[type[AsyncClient], type[BinanceSocketManager]]:
    """Only the URL class attributes change; every method is python-binance's own."""
    client_cls = type("LocalAsyncClient", (AsyncClient,), {
        "API_URL": rest + "/api", "API_TESTNET_URL": rest + "/api", "MARGIN_API_URL": rest + "/sapi",
        "FUTURES_URL": rest + "/fapi", "FUTURES_DATA_URL": rest + "/futures/data", "FUTURES_COIN_URL": rest + "/dapi",
        "FUTURES_COIN_DATA_URL": rest + "/futures/data", "OPTIONS_URL": rest + "/eapi", "PAPI_URL": rest + "/papi",
        "WEBSITE_URL": rest, "WS_API_URL": ws_api, "WS_FUTURES_URL": ws + "/ws-fapi/v1"})
    bsm_cls = type("LocalSocketManager", (BinanceSocketManager,), {
        "STREAM_URL": ws + "/", "FSTREAM_URL": ws + "/", "DSTREAM_URL": ws + "/"})
    return client_cls, bsm_cls


async def test_python_binance_end_to_end(make_server, loopback_only) -> None:
    cfg = VenueConfig(synthetic=["BTCUSDT"], seed=7, speed=None, paused=True, history_bars=300,
                      balances={"USDT": Decimal(10000), "BTC": Decimal("0.5")})
    srv = await make_server(cfg)
    cred = cfg.credentials[0]
    client_cls, bsm_cls = local_client_classes(srv.rest_url, srv.ws_url, srv.ws_api_url)
    client = await client_cls.create(cred.api_key, cred.secret)  # create() pings: the venue answers
    try:
        assert (await client.get_server_time())["serverTime"] > 0
        kl = await client.get_klines(symbol="BTCUSDT", interval=AsyncClient.KLINE_INTERVAL_15MINUTE, limit=5)
        assert len(kl) == 5 and all(len(row) == 12 for row in kl)
        info = await client.get_symbol_info("BTCUSDT")
        assert info is not None and info["baseAsset"] == "BTC"
        acct = await client.get_account()
        assert {b["asset"]: b["free"] for b in acct["balances"]}["USDT"] == "10000.00000000"
        last = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
        tick = Decimal(next(f["tickSize"] for f in info["filters"] if f["filterType"] == "PRICE_FILTER"))
        below = ((last * Decimal("0.98")) / tick).quantize(Decimal(1)) * tick

        bm = bsm_cls(client)
        async with bm.user_socket() as user, bm.kline_socket("BTCUSDT", AsyncClient.KLINE_INTERVAL_1MINUTE) as ks:
            for _ in range(100):  # the kline socket connects in the background
                if "btcusdt@kline_1m" in srv.venue.streams.subs:
                    break
                await asyncio.sleep(0.02)
            order = await client.create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                                              quantity="0.01", price=str(below))
            assert order["status"] == "NEW" and order["clientOrderId"].startswith("x-HNA2TXFJ")
            ev = await asyncio.wait_for(user.recv(), 5)
            assert ev["e"] == "executionReport" and ev["x"] == "NEW" and ev["i"] == order["orderId"]
            opened = await client.get_open_orders(symbol="BTCUSDT")
            assert [o["orderId"] for o in opened] == [order["orderId"]]
            cancelled = await client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
            assert cancelled["status"] == "CANCELED"
            assert await client.get_open_orders(symbol="BTCUSDT") == []

            otoco = await client._post("orderList/otoco", True, data={
                "symbol": "BTCUSDT", "workingType": "LIMIT", "workingSide": "BUY", "workingTimeInForce": "GTC",
                "workingPrice": str(below), "workingQuantity": "0.01", "pendingSide": "SELL",
                "pendingQuantity": "0.009", "pendingAboveType": "LIMIT_MAKER", "pendingAbovePrice": str(below * 2),
                "pendingBelowType": "STOP_LOSS", "pendingBelowStopPrice": str(below - 100 * tick)})
            assert otoco["contingencyType"] == "OTO" and len(otoco["orders"]) == 3
            assert [r["status"] for r in otoco["orderReports"]] == ["NEW", "PENDING_NEW", "PENDING_NEW"]
            assert len(await client.get_open_orders(symbol="BTCUSDT")) == 3

            srv.venue.step_bars(2)
            msgs = [await asyncio.wait_for(ks.recv(), 5) for _ in range(4)]
            assert all(m["e"] == "kline" and m["k"]["i"] == "1m" for m in msgs)
            assert any(m["k"]["x"] for m in msgs)
        await client.close_connection()
        client = None
    finally:
        if client is not None:
            await client.close_connection()
    assert loopback_only and all(h in _LOOPBACK for h in loopback_only if isinstance(h, str))
