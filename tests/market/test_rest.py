"""REST klines client: weight pacing from the headers, Retry-After on 429/418 (against the venue's
fault injection, over real HTTP), retries on 5xx and dropped connections, immediate errors on 4xx.
Sleeping is faked (a recorded clock) so honouring a 120 s ban costs the test nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from tradeterm.contracts import Timeframe
from tradeterm.market.rest import RateLimited, RestClient, RestError, WeightGate
from tradeterm.market.spec import SPOT, USDM
from tradeterm.venue.app import VenueServer
from tradeterm.venue.config import VenueConfig


class FakeTime:
    def __init__(self, start: float = 1_000_020.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


@pytest.fixture
async def venue() -> AsyncIterator[VenueServer]:
    srv = VenueServer(VenueConfig(synthetic=["BTCUSDT"], speed=None, paused=True, history_bars=50))
    await srv.start()
    yield srv
    await srv.stop()


def client(srv: VenueServer, ft: FakeTime, **kw: object) -> RestClient:
    return RestClient(srv.rest_url, SPOT, gate=WeightGate(6000, clock=ft.clock, sleep=ft.sleep), sleep=ft.sleep,
                      **kw)  # type: ignore[arg-type]


async def test_gate_paces_after_soft_and_never_crosses_hard() -> None:
    ft = FakeTime(start=600.0)  # the start of a minute window
    gate = WeightGate(100, soft=0.5, hard=0.9, clock=ft.clock, sleep=ft.sleep)
    spent: dict[int, int] = {}
    waited_at: list[int] = []  # weight already spent in the window when a request had to wait
    for _ in range(30):
        before = len(ft.sleeps)
        w0 = int(ft.now // 60)
        await gate.acquire(10)
        if len(ft.sleeps) > before:
            waited_at.append(spent.get(w0, 0))
        w = int(ft.now // 60)
        spent[w] = spent.get(w, 0) + 10
    assert max(spent.values()) <= 90  # never past hard
    assert min(waited_at) > 50  # no slowing down before soft
    assert len(spent) >= 4 and len(waited_at) >= 6  # paced past soft, across several windows


async def test_gate_trusts_the_servers_count() -> None:
    ft = FakeTime(start=600.0)
    gate = WeightGate(100, clock=ft.clock, sleep=ft.sleep)
    gate.observe(httpx.Headers({"X-MBX-USED-WEIGHT-1M": "95"}))  # another process used our IP's budget
    await gate.acquire(1)
    assert ft.now >= 660.0  # waited for the next window


async def test_klines_over_real_http(venue: VenueServer) -> None:
    ft = FakeTime()
    async with client(venue, ft) as rest:
        rows = await rest.klines("btcusdt", Timeframe.M1, limit=10)
    assert len(rows) == 10 and all(len(r) == 12 for r in rows)
    assert rest.gate.used == 2 * 1  # one request of weight 2, as the venue counted it
    assert rest.requests == 1 and ft.sleeps == []


async def test_429_burst_honours_retry_after_then_succeeds(venue: VenueServer) -> None:
    venue.venue.faults.update({"burst_429": 2})
    ft = FakeTime()
    async with client(venue, ft) as rest:
        rows = await rest.klines("BTCUSDT", Timeframe.M1, limit=5)
    assert len(rows) == 5
    assert rest.rate_limited == 2 and rest.requests == 3
    assert ft.sleeps.count(1.0) == 2  # the venue's Retry-After: 1


async def test_418_ban_waits_out_the_ban_or_gives_up(venue: VenueServer) -> None:
    venue.venue.faults.update({"burst_418": 1})
    ft = FakeTime()
    async with client(venue, ft) as rest:
        assert len(await rest.klines("BTCUSDT", Timeframe.M1, limit=3)) == 3
    assert rest.banned == 1 and 120.0 in ft.sleeps
    venue.venue.faults.update({"burst_418": 1})
    async with client(venue, FakeTime(), max_ban_wait=60.0) as rest:
        with pytest.raises(RateLimited) as exc:
            await rest.klines("BTCUSDT", Timeframe.M1, limit=3)
    assert exc.value.status == 418


async def test_binance_error_is_raised_at_once(venue: VenueServer) -> None:
    ft = FakeTime()
    async with client(venue, ft) as rest:
        with pytest.raises(RestError) as exc:
            await rest.klines("NOPEUSDT", Timeframe.M1)
    assert exc.value.code == -1121 and exc.value.status == 400 and rest.requests == 1


async def test_5xx_and_dropped_connections_are_retried_then_given_up() -> None:
    answers = [httpx.ConnectError("refused"), httpx.Response(503), httpx.Response(502, text="bad gateway"),
               httpx.Response(200, json=[[1, "1", "1", "1", "1", "0", 2, "0", 0, "0", "0", "0"]])]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    ft = FakeTime()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    rest = RestClient("http://fapi.test", USDM, http=http, gate=WeightGate(2400, clock=ft.clock, sleep=ft.sleep),
                      sleep=ft.sleep)
    rows = await rest.klines("BTCUSDT", Timeframe.H1, start_ms=5, end_ms=9, limit=5000)
    assert len(rows) == 1 and rest.retried == 3 and len(ft.sleeps) == 3
    url = seen[-1].url
    assert url.path == "/fapi/v1/klines" and url.params["limit"] == "1500"  # futures page size
    assert (url.params["startTime"], url.params["endTime"], url.params["interval"]) == ("5", "9", "1h")
    assert rest.gate.used == 40  # 4 attempts of limit 1500, 10 each on futures (no server count to correct it)

    answers[:] = [httpx.Response(500)] * 10
    rest2 = RestClient("http://fapi.test", USDM, http=http, retries=2,
                       gate=WeightGate(2400, clock=ft.clock, sleep=ft.sleep), sleep=ft.sleep)
    with pytest.raises(RestError) as exc:
        await rest2.klines("BTCUSDT", Timeframe.H1)
    assert exc.value.status == 500 and rest2.requests == 3
    await http.aclose()


def test_futures_kline_weights_follow_the_limit_tiers() -> None:
    assert [USDM.kline_weight(n) for n in (99, 100, 499, 500, 1000, 1001)] == [1, 2, 2, 5, 5, 10]
    assert SPOT.kline_weight(1000) == 2
    assert replace(SPOT, max_klines=10).max_klines == 10
