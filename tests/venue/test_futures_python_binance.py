"""python-binance's futures methods against the venue, unmodified but for its URL attributes
(the same ``local_client_classes`` as the spot test): leverage, a LIMIT order, positionRisk,
account, a conditional order auto-routed to the algo endpoint, and the futures user socket on
the routed ``/private`` path. A guard fails any connection off loopback."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

pytest.importorskip("aiohttp")

from tests.venue.test_python_binance import _LOOPBACK, local_client_classes, loopback_only  # noqa: F401
from tradeterm.venue.config import VenueConfig


async def test_python_binance_futures(make_server, loopback_only) -> None:  # noqa: F811
    cfg = VenueConfig(synthetic=["BTCUSDT"], seed=7, speed=None, paused=True, history_bars=300)
    srv = await make_server(cfg)
    cred = cfg.credentials[0]
    client_cls, bsm_cls = local_client_classes(srv.rest_url, srv.ws_url, srv.ws_api_url)
    client = await client_cls.create(cred.api_key, cred.secret)
    try:
        assert (await client.futures_ping()) == {}
        lev = await client.futures_change_leverage(symbol="BTCUSDT", leverage=5)
        assert lev["leverage"] == 5 and lev["symbol"] == "BTCUSDT"
        mark = Decimal((await client.futures_mark_price(symbol="BTCUSDT"))["markPrice"])
        info = await client.futures_exchange_info()
        sym = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
        tick = Decimal(next(f["tickSize"] for f in sym["filters"] if f["filterType"] == "PRICE_FILTER"))
        below = (mark * Decimal("0.99") / tick).quantize(Decimal(1)) * tick
        bm = bsm_cls(client)
        async with bm.futures_user_socket() as user:
            for _ in range(200):  # the socket gets its listenKey and connects in the background
                if srv.venue.futures.userdata.conns:
                    break
                await asyncio.sleep(0.02)
            order = await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT",
                                                      timeInForce="GTC", quantity="0.01", price=str(below))
            assert order["status"] == "NEW" and order["type"] == "LIMIT"
            ev = await asyncio.wait_for(user.recv(), 5)
            assert ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["i"] == order["orderId"] and ev["o"]["x"] == "NEW"
            filled = await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
            assert filled["orderId"] > order["orderId"]
            risk = await client.futures_position_information(symbol="BTCUSDT")
            assert len(risk) == 1 and Decimal(risk[0]["positionAmt"]) == Decimal("0.01")
            acct = await client.futures_account()
            assert Decimal(acct["totalInitialMargin"]) > 0 and acct["assets"][0]["asset"] == "USDT"
            stop = await client.futures_create_order(symbol="BTCUSDT", side="SELL", type="STOP_MARKET",
                                                     stopPrice=str(below - 100 * tick), closePosition="true")
            assert stop["algoStatus"] == "NEW" and stop["orderType"] == "STOP_MARKET"
            algos = await client.futures_get_open_orders(symbol="BTCUSDT", conditional=True)
            assert [a["algoId"] for a in algos] == [stop["algoId"]]
            cancelled = await client.futures_cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
            assert cancelled["status"] == "CANCELED"
        await client.close_connection()
        client = None
    finally:
        if client is not None:
            await client.close_connection()
    assert loopback_only and all(h in _LOOPBACK for h in loopback_only if isinstance(h, str))
