"""USD-M streams over real WebSockets: routed market paths (``/market``, ``/public``) and the classic
``/futures`` prefix; user data on ``/private/ws/<listenKey>`` with ORDER_TRADE_UPDATE, ALGO_UPDATE,
ACCOUNT_UPDATE, TRADE_LITE (shapes against the captured payloads), the child-fill-before-
ALGO_UPDATE quirk, and listenKeyExpired."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.venue.conftest import payload, same_shape
from tests.venue.test_futures_rest import FLAT, fenv, ok, order  # noqa: F401

REAL_ALGO = "futures/ws/ALGO_UPDATE_DOGEUSDT_{}_2025-12-11.json"


async def _recv_all(ws: Any, timeout: float = 0.3) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(orjson.loads(await asyncio.wait_for(ws.recv(), timeout)))
        except TimeoutError:
            return out


async def _wait(cond: Any) -> None:
    for _ in range(300):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_market_streams_routed_and_classic(fenv: Any) -> None:  # noqa: F811
    srv, _c = await fenv([(50000, 50500, 49900, 50400)] * 4)
    hub = srv.venue.futures.streams
    async with connect(f"{srv.ws_url}/market/stream?streams=btcusdt@markPrice@1s/btcusdt@kline_1m/"
                       "btcusdt_perpetual@continuousKline_1m/btcusdt@aggTrade/btcusdt@bookTicker") as market, \
            connect(f"{srv.ws_url}/public/ws/btcusdt@bookTicker") as public, \
            connect(f"{srv.fstream_url}/ws/btcusdt@markPrice") as classic:
        await _wait(lambda: {"btcusdt@markprice@1s", "btcusdt@bookTicker"} <= set(hub.subs)
                    or {"btcusdt@markPrice@1s", "btcusdt@bookTicker", "btcusdt@markPrice"} <= set(hub.subs))
        srv.venue.step_bars(1)
        got = await _recv_all(market)
        pub = await _recv_all(public)
        cls = await _recv_all(classic)
    streams = {m["stream"] for m in got}
    # /market carries everything but book data; /public only book data (bookTicker is silent on /market)
    assert streams == {"btcusdt@markPrice@1s", "btcusdt@kline_1m", "btcusdt_perpetual@continuousKline_1m",
                       "btcusdt@aggTrade"}
    mark = next(m["data"] for m in got if m["stream"] == "btcusdt@markPrice@1s")
    assert not same_shape(mark, payload("docs_examples/futures/market_mark_price_stream.json"),
                          ignore_missing={"st"})
    assert mark["r"] == "0.00010000" and mark["T"] % (8 * 3_600_000) == 0
    kl = next(m["data"] for m in got if m["stream"] == "btcusdt@kline_1m")
    assert not same_shape(kl, payload("docs_examples/futures/market_kline_stream_closed.json"))
    agg = next(m["data"] for m in got if m["stream"] == "btcusdt@aggTrade")
    assert not same_shape(agg, payload("docs_examples/futures/market_agg_trade_stream.json"), ignore_missing={"st"})
    ck = next(m["data"] for m in got if m["stream"] == "btcusdt_perpetual@continuousKline_1m")
    assert ck["e"] == "continuous_kline" and ck["ps"] == "BTCUSDT" and "s" not in ck["k"]
    assert pub and all(p["e"] == "bookTicker" for p in pub)
    assert not same_shape(pub[0], payload("docs_examples/futures/market_book_ticker_stream.json"),
                          ignore_missing={"st", "ps"})
    assert cls and cls[0]["e"] == "markPriceUpdate"


async def test_user_data_events_and_the_algo_quirk(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([(50000, 50000, 48000, 48100)] + [FLAT] * 3)
    key = (await c.http.post("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.api_key})).json()["listenKey"]
    again = (await c.http.post("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.api_key})).json()["listenKey"]
    assert again == key  # one active key per API key, extended
    ud = srv.venue.futures.userdata
    async with connect(f"{srv.ws_url}/private/ws/{key}") as ws, \
            connect(f"{srv.ws_url}/private/stream?listenKey={key}&events=ALGO_UPDATE") as only_algo:
        await _wait(lambda: len(ud.conns) == 2)
        await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.1"))
        await ok(c, "POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL",
                                                    "type": "STOP_MARKET", "triggerPrice": "49000",
                                                    "closePosition": "true", "clientAlgoId": "sl-9"})
        srv.venue.step_bars(1)
        events = await _recv_all(ws)
        algo_only = await _recv_all(only_algo)
        ud.expire(key)
        expired = await _recv_all(ws)
    kinds = [(e["e"], e["o"]["X"] if e["e"] in ("ORDER_TRADE_UPDATE", "ALGO_UPDATE") else "") for e in events]
    assert kinds[:4] == [("ORDER_TRADE_UPDATE", "NEW"), ("TRADE_LITE", ""), ("ORDER_TRADE_UPDATE", "FILLED"),
                         ("ACCOUNT_UPDATE", "")]
    assert kinds[4:] == [("ALGO_UPDATE", "NEW"), ("ALGO_UPDATE", "TRIGGERING"), ("ORDER_TRADE_UPDATE", "NEW"),
                         ("TRADE_LITE", ""), ("ORDER_TRADE_UPDATE", "FILLED"), ("ACCOUNT_UPDATE", ""),
                         ("ALGO_UPDATE", "TRIGGERED"), ("ALGO_UPDATE", "FINISHED")]  # the fill comes first
    algos = [e for e in events if e["e"] == "ALGO_UPDATE"]
    for ev, name in zip(algos[1:], ("triggering", "triggered", "finished")):
        assert not same_shape(ev, payload(REAL_ALGO.format(name))["data"]), name
    child_fill = events[8]
    assert child_fill["o"]["i"] == int(algos[-1]["o"]["ai"]) and child_fill["o"]["ot"] == "STOP_MARKET"
    assert not same_shape(child_fill, payload("docs_examples/futures/userdata_order_update_trade.json"),
                          ignore_extra={"pm", "gtd", "er"})
    acct = events[3]
    assert not same_shape(acct, payload("docs_examples/futures/userdata_account_update.json"))
    assert acct["a"]["m"] == "ORDER" and acct["a"]["P"][0]["pa"] == "0.100"
    assert not same_shape(events[1], payload("docs_examples/futures/userdata_trade_lite.json"))
    assert [m["stream"] for m in algo_only] == [key] * 4 and all(m["data"]["e"] == "ALGO_UPDATE" for m in algo_only)
    assert [e["e"] for e in expired] == ["listenKeyExpired"] and expired[0]["listenKey"] == key
    r = await c.http.put("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.api_key})
    assert r.json()["code"] == -1125


async def test_all_market_mark_price_arrays(fenv: Any) -> None:  # noqa: F811
    srv, _c = await fenv([(50000, 50500, 49900, 50400)] * 3)
    hub = srv.venue.futures.streams
    async with connect(f"{srv.ws_url}/market/stream?streams=!markPrice@arr@1s/!markPrice@arr") as routed, \
            connect(f"{srv.fstream_url}/ws/!markPrice@arr") as classic:
        await _wait(lambda: {"!markPrice@arr@1s", "!markPrice@arr"} <= set(hub.subs))
        srv.venue.step(1)
        got = await _recv_all(routed)
        cls = await _recv_all(classic)
    assert {m["stream"] for m in got} == {"!markPrice@arr@1s", "!markPrice@arr"}  # names kept as given
    arr = got[0]["data"]
    assert isinstance(arr, list) and [x["s"] for x in arr] == ["BTCUSDT"]
    assert not same_shape(arr[0], payload("docs_examples/futures/market_mark_price_stream.json"), ignore_missing={"st"})
    assert arr[0]["p"] == f"{srv.venue.futures.engine.mark('BTCUSDT'):.8f}"
    assert cls and isinstance(cls[0], list) and cls[0][0]["e"] == "markPriceUpdate"


async def test_force_order_streams_on_a_liquidation(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([(50000, 50000, 49000, 49000)] + [FLAT] * 3)
    hub = srv.venue.futures.streams
    await ok(c, "POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    await ok(c, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 100})
    await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.1"))  # taker at the ask, 50000.1
    risk = (await ok(c, "GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}))[0]
    async with connect(f"{srv.ws_url}/market/stream?streams=btcusdt@forceOrder/!forceOrder@arr") as ws, \
            connect(f"{srv.ws_url}/public/ws/btcusdt@forceOrder") as public:
        await _wait(lambda: {"btcusdt@forceOrder", "!forceOrder@arr"} <= set(hub.subs))
        srv.venue.step_bars(1)
        got = await _recv_all(ws)
        assert await _recv_all(public) == []  # liquidations are /market data, silent on /public
    assert sorted(m["stream"] for m in got) == ["!forceOrder@arr", "btcusdt@forceOrder"]
    ev = got[0]["data"]
    assert ev["e"] == "forceOrder" and set(ev["o"]) == {"s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T"}
    o = ev["o"]
    assert (o["s"], o["S"], o["o"], o["f"], o["X"], o["q"], o["z"]) == \
        ("BTCUSDT", "SELL", "LIMIT", "IOC", "FILLED", "0.100", "0.100")
    # p: the bankruptcy price, entry - isolated wallet / qty, rounded up for a sell; ap: the fill
    bp = D("50000.1") - D(risk["isolatedWallet"]) / D("0.1")
    assert D(o["p"]) == bp.quantize(D("0.1"), rounding="ROUND_CEILING")
    assert D(o["ap"]) == D(risk["liquidationPrice"]).quantize(D("0.1"), rounding="ROUND_FLOOR") > D(o["p"])
    # the account's side: the fill's PnL and taker commission, then the clearance fee takes what
    # margin was left, so the isolated wallet is lost exactly
    income = [i for i in await ok(c, "GET", "/fapi/v1/income", {"symbol": "BTCUSDT"}) if i["time"] == o["T"]]
    assert [i["incomeType"] for i in income] == ["REALIZED_PNL", "COMMISSION", "INSURANCE_CLEAR"]
    assert sum(D(i["income"]) for i in income) == -D(risk["isolatedWallet"])
    trades = await ok(c, "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert D(trades[-1]["commission"]) == (D(o["ap"]) * D("0.1") * D("0.0005")).quantize(D("0.00000001"))


async def test_account_config_update_on_leverage_change(fenv: Any) -> None:  # noqa: F811
    srv, c = await fenv([FLAT] * 3)
    key = (await c.http.post("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.api_key})).json()["listenKey"]
    async with connect(f"{srv.ws_url}/private/ws/{key}") as ws:
        await _wait(lambda: len(srv.venue.futures.userdata.conns) == 1)
        await ok(c, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 7})
        r = await c.call("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 500})
        assert r.json()["code"] == -4028
        events = await _recv_all(ws)
    assert len(events) == 1  # a refused change sends nothing
    ev = events[0]
    assert set(ev) == {"e", "E", "T", "ac"} and ev["e"] == "ACCOUNT_CONFIG_UPDATE"
    assert ev["ac"] == {"s": "BTCUSDT", "l": 7}
