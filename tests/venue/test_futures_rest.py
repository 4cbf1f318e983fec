"""USD-M REST over loopback HTTP: a leveraged long with a reduce-only TP ladder and an algo stop,
hedge mode, funding on a schedule, liquidation, every error class, and the shapes of the captured
payloads."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.venue.conftest import T0, SignedClient, make_frame, payload, same_shape, venue_config
from tradeterm.venue.datasource import FrameSource
from tradeterm.venue.symbols import SymbolRules

BTC = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=D("0.1"), step_size=D("0.001"),
                  min_qty=D("0.001"), min_notional=D(5), min_price=D("0.1"), max_price=D(1000000), max_qty=D(1000))
FLAT = (50000.0, 50000.0, 50000.0, 50000.0)


def source(bars: list[tuple[float, float, float, float]]) -> FrameSource:
    return FrameSource(make_frame("BTCUSDT", [FLAT] * 5 + bars), BTC)


@pytest.fixture
async def fenv(make_server: Any) -> Any:
    clients: list[httpx.AsyncClient] = []

    async def start(bars: list[tuple[float, float, float, float]], **kw: Any) -> tuple[Any, SignedClient]:
        srv = await make_server(venue_config([source(bars)], **kw))
        http = httpx.AsyncClient(base_url=srv.rest_url, timeout=10)
        clients.append(http)
        cred = srv.venue.config.credentials[0]
        return srv, SignedClient(http, cred.api_key, cred.secret)

    yield start
    for c in clients:
        await c.aclose()


async def ok(c: SignedClient, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
    r = await c.call(method, path, params)
    assert r.status_code == 200, r.text
    return r.json()


async def err(c: SignedClient, method: str, path: str, params: dict[str, Any] | None = None) -> tuple[int, str]:
    r = await c.call(method, path, params)
    assert r.status_code >= 400, r.text
    body = r.json()
    return body["code"], body["msg"]


def order(side: str, qty: str, **kw: str) -> dict[str, str]:
    base = {"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": qty}
    base.update(kw)
    return base


async def test_long_with_leverage_tp_ladder_and_algo_stop(fenv: Any) -> None:
    bars = [(50000, 50100, 49400, 49500), (49500, 51200, 49500, 51100), (51100, 51200, 48000, 48100)] + [FLAT] * 3
    srv, c = await fenv(bars)
    lev = await ok(c, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 10})
    assert lev == {"leverage": 10, "maxNotionalValue": "230000000", "symbol": "BTCUSDT"}
    entry = await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.2", type="LIMIT", timeInForce="GTC",
                                                        price="49500", newClientOrderId="entry-1"))
    assert not same_shape(entry, payload("docs_examples/futures/rest_order_response.json"),
                          ignore_missing={"time"}, ignore_extra={"cumQty"})
    assert entry["status"] == "NEW" and entry["price"] == "49500.0" and entry["positionSide"] == "BOTH"
    srv.venue.step_bars(1)  # the first bar dips to 49400: the entry fills as maker
    q = await ok(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "entry-1"})
    assert not same_shape(q, payload("docs_examples/futures/rest_order_response.json"))
    assert q["status"] == "FILLED" and q["avgPrice"] == "49500.0"
    for px in ("51000", "52000"):
        tp = await ok(c, "POST", "/fapi/v1/order", order("SELL", "0.1", type="LIMIT", timeInForce="GTC", price=px,
                                                         reduceOnly="true"))
        assert tp["reduceOnly"] is True
    sl = await ok(c, "POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL",
                                                     "type": "STOP_MARKET", "triggerPrice": "48500",
                                                     "workingType": "MARK_PRICE", "closePosition": "true",
                                                     "clientAlgoId": "sl-1"})
    assert sl["algoStatus"] == "NEW" and sl["orderType"] == "STOP_MARKET" and sl["closePosition"] is True
    risk = await ok(c, "GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
    assert len(risk) == 1 and risk[0]["positionAmt"] == "0.200" and risk[0]["entryPrice"] == "49500.00000000"
    assert D(risk[0]["positionInitialMargin"]) == D("0.2") * D(risk[0]["markPrice"]) / 10
    v2 = await ok(c, "GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"})
    assert not same_shape(v2, payload("docs_examples/futures/rest_position_risk.json"))
    assert len(await ok(c, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})) == 2
    assert [a["clientAlgoId"] for a in await ok(c, "GET", "/fapi/v1/openAlgoOrders")] == ["sl-1"]
    srv.venue.step_bars(1)  # up to 51200: the first take profit fills
    risk = await ok(c, "GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
    assert risk[0]["positionAmt"] == "0.100"
    srv.venue.step_bars(1)  # down to 48000: the stop closes the rest, the second TP expires
    algo = await ok(c, "GET", "/fapi/v1/algoOrder", {"clientAlgoId": "sl-1"})
    assert algo["algoStatus"] == "FINISHED" and algo["actualOrderId"] and algo["actualQty"] == "0.100"
    assert await ok(c, "GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}) == []
    trades = await ok(c, "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert not same_shape(trades, payload("futures/rest/userTrades_ETHUSDT_2022-02-27.json"))
    assert [t["realizedPnl"] for t in trades] == ["0.00000000", "150.00000000", "-100.00000000"]
    child = await ok(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": int(algo["actualOrderId"])})
    assert child["origType"] == "STOP_MARKET" and child["type"] == "MARKET" and child["stopPrice"] == "48500.0"
    acct = await ok(c, "GET", "/fapi/v2/account")
    assert not same_shape(acct, payload("docs_examples/futures/rest_account_info_v2.json"))
    fees = sum(D(t["commission"]) for t in trades)
    assert D(acct["totalWalletBalance"]) == D(10000) + D(50) - fees
    bal = await ok(c, "GET", "/fapi/v3/balance")
    assert not same_shape(bal, payload("docs_examples/futures/rest_balance.json"))
    income = await ok(c, "GET", "/fapi/v1/income", {"symbol": "BTCUSDT", "incomeType": "REALIZED_PNL"})
    assert [i["income"] for i in income] == ["150.00000000", "-100.00000000"]


async def test_hedge_mode_with_position_side(fenv: Any) -> None:
    _srv, c = await fenv([FLAT] * 5)
    assert await ok(c, "GET", "/fapi/v1/positionSide/dual") == {"dualSidePosition": False}
    assert await ok(c, "POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"}) == {"code": 200,
                                                                                             "msg": "success"}
    assert (await err(c, "POST", "/fapi/v1/order", order("BUY", "0.01")))[0] == -4061
    assert (await err(c, "POST", "/fapi/v1/order", order("BUY", "0.01", positionSide="LONG",
                                                         reduceOnly="true")))[0] == -1106
    await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.03", positionSide="LONG"))
    await ok(c, "POST", "/fapi/v1/order", order("SELL", "0.02", positionSide="SHORT"))
    risk = {r["positionSide"]: r["positionAmt"] for r in await ok(c, "GET", "/fapi/v3/positionRisk")}
    assert risk == {"LONG": "0.030", "SHORT": "-0.020"}
    await ok(c, "POST", "/fapi/v1/order", order("SELL", "0.01", positionSide="LONG"))
    await ok(c, "POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY",
                                                "positionSide": "SHORT", "type": "STOP_MARKET",
                                                "triggerPrice": "51000", "closePosition": "true"})
    code, _ = await err(c, "POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT",
                                                           "side": "BUY", "positionSide": "LONG",
                                                           "type": "STOP_MARKET", "triggerPrice": "51000",
                                                           "closePosition": "true"})
    assert code == -4136
    risk = {r["positionSide"]: r["positionAmt"] for r in await ok(c, "GET", "/fapi/v3/positionRisk")}
    assert risk == {"LONG": "0.020", "SHORT": "-0.020"}
    assert (await err(c, "POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "false"}))[0] == -4068


async def test_every_error_class(fenv: Any) -> None:
    srv, c = await fenv([FLAT] * 5, futures_balance=D(500))
    stop = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "quantity": "0.01", "stopPrice": "49000"}
    assert await err(c, "POST", "/fapi/v1/order", stop) == (
        -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")
    bad = await c.call("POST", "/fapi/v1/batchOrders", {"batchOrders": '[{"symbol":"BTCUSDT","side":"SELL",'
                                                        '"type":"TAKE_PROFIT_MARKET","quantity":"0.01",'
                                                        '"stopPrice":"51000"},{"symbol":"BTCUSDT","side":"SELL",'
                                                        '"type":"MARKET","quantity":"0.01","reduceOnly":"true"}]'})
    assert bad.status_code == 200 and [i.get("code") for i in bad.json()] == [-4120, -2022]
    assert await err(c, "POST", "/fapi/v1/order", order("BUY", "0.2")) == (-2019, "Margin is insufficient.")
    assert await err(c, "POST", "/fapi/v1/order", order("SELL", "0.01", reduceOnly="true")) == (
        -2022, "ReduceOnly Order is rejected.")
    assert await err(c, "POST", "/fapi/v1/order", order("BUY", "0.01", positionSide="LONG")) == (
        -4061, "Order's position side does not match user's setting.")
    assert await err(c, "POST", "/fapi/v1/order", order("BUY", "0.001")) == (
        -4164, "Order's notional must be no smaller than 100 (unless you choose reduce only).")
    assert (await err(c, "POST", "/fapi/v1/order", order("BUY", "0.0011")))[0] == -1111
    assert (await err(c, "POST", "/fapi/v1/order", order("BUY", "0.01", type="LIMIT", timeInForce="GTC",
                                                         price="80000")))[0] == -4016
    assert await err(c, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 126}) == (
        -4028, "Leverage 126 is not valid")
    assert (await err(c, "POST", "/fapi/v1/order", order("BUY", "0.01", type="LIMIT", timeInForce="GTX",
                                                         price="50100")))[0] == -5022
    assert (await err(c, "POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT",
                                                         "side": "SELL", "type": "STOP_MARKET", "quantity": "0.01",
                                                         "triggerPrice": "51000"}))[0] == -2021
    assert (await err(c, "POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT",
                                                         "side": "SELL", "type": "STOP_MARKET", "quantity": "0.01",
                                                         "triggerPrice": "49000", "closePosition": "true"}))[0] == -4137
    assert await err(c, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": 99}) == (-2013,
                                                                                         "Order does not exist.")
    assert await err(c, "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": 99}) == (-2011,
                                                                                            "Unknown order sent.")
    assert (await err(c, "DELETE", "/fapi/v1/algoOrder", {"algoId": 99}))[0] == -2011
    assert await err(c, "POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "CROSSED"}) == (
        -4046, "No need to change margin type.")
    assert (await err(c, "POST", "/fapi/v1/order", order("BUY", "0.01", newClientOrderId="x" * 37)))[0] == -1100
    assert (await err(c, "GET", "/fapi/v1/order", {"symbol": "NOPEUSDT", "orderId": 1}))[0] == -1121
    assert (await err(c, "POST", "/fapi/v1/order", {**order("BUY", "0.01"), "foo": "1"}))[0] == -1104
    # signatures, timestamps, keys: the part-1 gate
    r = await c.call("GET", "/fapi/v3/account", secret="wrong")
    assert r.json()["code"] == -1022
    r = await c.call("GET", "/fapi/v3/account", ts=1)
    assert r.json()["code"] == -1021
    r = await c.call("GET", "/fapi/v3/account", api_key="nope")
    assert r.status_code == 401 and r.json()["code"] == -2015
    assert (await c.http.post("/fapi/v1/listenKey")).json()["code"] == -2014
    # rate limit: futures weights, 429 with Retry-After
    srv.venue.futures.limiter.reset()
    srv.venue.futures.limiter.weight_per_minute = 3
    for _ in range(3):
        await c.http.get("/fapi/v1/ping")
    r = await c.http.get("/fapi/v1/ping")
    assert r.status_code == 429 and r.json()["code"] == -1003 and "retry-after" in r.headers
    assert (await c.http.get("/api/v3/ping")).status_code == 200  # spot counts separately, as on Binance


async def test_funding_on_a_schedule_from_a_csv(fenv: Any, tmp_path: Path) -> None:
    t1, t2 = T0 + 7 * 60_000, T0 + 9 * 60_000
    csv = tmp_path / "funding.csv"
    csv.write_text(f"fundingTime,fundingIntervalHours,fundingRate\n{t1 + 12},8,0.00010000\n{t2 + 3},8,-0.00030000\n")
    bars = [(50000, 50000, 50000, 50000), (50000, 51000, 50000, 51000), (51000, 51000, 51000, 51000),
            (52000, 52000, 52000, 52000), (52000, 52000, 52000, 52000)] + [FLAT] * 3
    srv, c = await fenv(bars, funding_files={"BTCUSDT": str(csv)})
    pi = await ok(c, "GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"})
    assert pi["nextFundingTime"] == t1 and pi["lastFundingRate"] == "0.00010000"
    assert pi["markPrice"] == "50000.00000000"
    await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.1"))
    srv.venue.step_bars(5)
    income = await ok(c, "GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"})
    # bar 7 opens at 51000 (mark at t1); bar 9 opens at 52000 (mark at t2); a long pays +rate, receives -rate
    assert [(i["time"], i["income"]) for i in income] == [(t1, "-0.51000000"), (t2, "1.56000000")]
    hist = await ok(c, "GET", "/fapi/v1/fundingRate", {"symbol": "BTCUSDT", "startTime": T0})
    assert [(h["fundingTime"], h["fundingRate"], h["markPrice"]) for h in hist] == [
        (t1, "0.00010000", "51000.00000000"), (t2, "-0.00030000", "52000.00000000")]


async def test_liquidation_of_an_over_leveraged_position(fenv: Any) -> None:
    bars = [(50000, 50000, 49000, 49000), (49000, 49000, 48000, 48500)] + [FLAT] * 3
    srv, c = await fenv(bars)
    await ok(c, "POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    await ok(c, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 100})
    await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.1"))  # taker at the ask, 50000.1
    await ok(c, "POST", "/fapi/v1/order", order("BUY", "0.1", type="LIMIT", timeInForce="GTC", price="40000"))
    risk = (await ok(c, "GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}))[0]
    liq = D(risk["liquidationPrice"])
    iw = D(risk["isolatedWallet"])
    assert iw == D("50.00010000")  # 0.1 * 50000.1 / 100
    assert abs(liq - (iw - D("5000.01")) / (D("0.1") * D("0.004") - D("0.1"))) < D("0.00001")
    srv.venue.step_bars(2)
    assert await ok(c, "GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}) == []
    trades = await ok(c, "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert trades[-1]["side"] == "SELL" and D(trades[-1]["price"]) == liq.quantize(D("0.1"), rounding="ROUND_FLOOR")
    orders = await ok(c, "GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT"})
    assert orders[-1]["clientOrderId"].startswith("autoclose-") and orders[1]["status"] == "CANCELED"
    acct = await ok(c, "GET", "/fapi/v3/account")
    fee = D(trades[0]["commission"])
    assert D(acct["totalWalletBalance"]) == D(10000) - iw - fee  # the isolated margin is lost, no more


async def test_market_data_and_exchange_info_shapes(fenv: Any) -> None:
    _srv, c = await fenv([FLAT] * 5)
    info = (await c.http.get("/fapi/v1/exchangeInfo")).json()
    real = payload("futures/rest/exchangeInfo_full_2025-03-06.json.gz")
    assert not same_shape(info, real, ignore_missing={"symbols"})
    real_btc = next(s for s in real["symbols"] if s["symbol"] == "BTCUSDT")
    assert not same_shape(info["symbols"][0], real_btc)
    assert [f["filterType"] for f in info["symbols"][0]["filters"]] == [
        "PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "MAX_NUM_ORDERS", "MAX_NUM_ALGO_ORDERS", "MIN_NOTIONAL",
        "PERCENT_PRICE"]
    kl = (await c.http.get("/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 3})).json()
    assert len(kl) == 3 and kl[-1][1] == "50000.0"
    tp = (await c.http.get("/fapi/v1/ticker/price", params={"symbol": "BTCUSDT"})).json()
    assert tp["price"] == "50000.0"
    bt = (await c.http.get("/fapi/v1/ticker/bookTicker", params={"symbol": "BTCUSDT"})).json()
    assert D(bt["askPrice"]) - D(bt["bidPrice"]) == D("0.1")
    assert (await c.http.get("/fapi/v1/ticker/24hr")).json()[0]["symbol"] == "BTCUSDT"
    br = await ok(c, "GET", "/fapi/v1/leverageBracket", {"symbol": "BTCUSDT"})
    assert br[0]["brackets"][0]["initialLeverage"] == 125
