"""Binance market-data REST (klines) that stays inside the rate limits instead of finding them.

Binance counts request *weight* per IP in fixed one-minute windows and reports the running total
in ``X-MBX-USED-WEIGHT-1M`` on every answer. :class:`WeightGate` keeps that figure (plus what we
have sent since), starts pacing requests once the window is ``soft`` full, and waits for the next
window rather than cross ``hard``. A 429 or 418 still happens (another process on the same IP, a
venue fault): then every request through the gate waits for ``Retry-After`` — continuing after a
429 is what turns it into a ban. Server errors and dropped connections are retried with jittered
backoff; a 4xx with a Binance error code is the caller's mistake and is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self

import httpx
import orjson

from tradeterm.contracts import Timeframe
from tradeterm.market.backoff import Backoff
from tradeterm.market.spec import MarketSpec

__all__ = ["RateLimited", "RestClient", "RestError", "WeightGate"]

log = logging.getLogger("tradeterm.market.rest")

Sleep = Callable[[float], Awaitable[None]]


class RestError(Exception):
    """A REST call failed for good; ``code`` is Binance's error code when it sent one."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RateLimited(RestError):
    """Banned (or limited) for longer than the caller is willing to wait."""


class WeightGate:
    """Request-weight budget of one IP for one market, shared by every request to it."""

    def __init__(
        self,
        limit: int,
        *,
        soft: float = 0.7,
        hard: float = 0.9,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 0 < soft < hard <= 1:
            raise ValueError("need 0 < soft < hard <= 1")
        self.limit = limit
        self.soft = soft
        self.hard = hard
        self._clock = clock
        self._sleep = sleep
        self._window = -1
        self.used = 0
        self.blocked_until = 0.0
        self.waited = 0.0  # seconds spent waiting, for stats and tests

    def _roll(self, now: float) -> None:
        w = int(now // 60)
        if w != self._window:
            self._window, self.used = w, 0

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` can be spent, then reserve it."""
        while True:
            now = self._clock()
            if self.blocked_until > now:
                await self._wait(self.blocked_until - now)
                continue
            self._roll(now)
            window_left = 60.0 - now % 60.0
            if self.used + weight > self.hard * self.limit:
                await self._wait(window_left + 0.05)
                continue
            soft = self.soft * self.limit
            if self.used > soft:
                # Spread what is left of the budget over what is left of the window.
                requests_left = max(1.0, (self.hard * self.limit - self.used) / max(weight, 1))
                await self._wait(window_left / requests_left)
                now = self._clock()
                self._roll(now)
            self.used += weight
            return

    async def _wait(self, seconds: float) -> None:
        self.waited += seconds
        await self._sleep(seconds)

    def observe(self, headers: httpx.Headers) -> None:
        """Take the server's count of this window (it includes other clients on our IP)."""
        raw = headers.get("x-mbx-used-weight-1m")
        if raw is None:
            return
        try:
            used = int(raw)
        except ValueError:
            return
        self._roll(self._clock())
        self.used = used

    def block(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, self._clock() + seconds)


def _retry_after(resp: httpx.Response, default: float) -> float:
    raw = resp.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


class RestClient:
    """Klines (and any other public GET) from one Binance market, weight-aware and retrying."""

    def __init__(
        self,
        base_url: str,
        spec: MarketSpec,
        *,
        http: httpx.AsyncClient | None = None,
        gate: WeightGate | None = None,
        timeout: float = 10.0,
        retries: int = 5,
        max_rate_limit_retries: int = 10,
        max_ban_wait: float = 600.0,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self.gate = gate or WeightGate(spec.weight_limit, sleep=sleep)
        self.retries = retries
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_ban_wait = max_ban_wait
        self._backoff = backoff or Backoff(0.5, 10.0)
        self._sleep = sleep
        self.requests = 0
        self.rate_limited = 0  # 429 answers
        self.banned = 0  # 418 answers
        self.retried = 0  # 5xx / network retries

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(self, path: str, params: dict[str, Any], weight: int) -> Any:
        """GET ``path`` and decode the JSON body; see the module docstring for the retry rules."""
        failures = 0
        limited = 0
        url = f"{self.base_url}{path}"
        while True:
            await self.gate.acquire(weight)
            self.requests += 1
            try:
                resp = await self.http.get(url, params=params)
            except httpx.TransportError as e:
                failures += 1
                if failures > self.retries:
                    raise RestError(f"{self.spec.venue} {path}: {type(e).__name__} ({e})") from None
                self.retried += 1
                await self._sleep(self._backoff_delay(failures))
                continue
            self.gate.observe(resp.headers)
            status = resp.status_code
            if status == 200:
                try:
                    return orjson.loads(resp.content)
                except orjson.JSONDecodeError:
                    raise RestError(f"{self.spec.venue} {path}: answer is not JSON", status=status) from None
            if status in (429, 418):
                limited += 1
                if status == 429:
                    self.rate_limited += 1
                    wait = _retry_after(resp, 60.0 - time.time() % 60.0)
                else:
                    self.banned += 1
                    wait = _retry_after(resp, 120.0)
                log.warning("%s %s: HTTP %d, waiting %.0f s (Retry-After)", self.spec.venue, path, status, wait)
                if wait > self.max_ban_wait or limited > self.max_rate_limit_retries:
                    raise RateLimited(
                        f"{self.spec.venue}: rate limited (HTTP {status}) for {wait:.0f} s", status=status
                    )
                self.gate.block(wait)
                continue
            if status >= 500 or status == 408:
                failures += 1
                if failures > self.retries:
                    raise RestError(f"{self.spec.venue} {path}: HTTP {status} after {failures} tries", status=status)
                self.retried += 1
                await self._sleep(self._backoff_delay(failures))
                continue
            code, msg = _binance_error(resp)
            raise RestError(f"{self.spec.venue} {path}: {msg}", status=status, code=code)

    def _backoff_delay(self, failures: int) -> float:
        self._backoff.attempt = failures - 1
        return self._backoff.next_delay()

    async def klines(
        self,
        symbol: str,
        tf: Timeframe,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Any]:
        """Raw kline rows; ``end_ms`` is inclusive on open time, as Binance treats ``endTime``."""
        lim = min(limit or self.spec.max_klines, self.spec.max_klines)
        params: dict[str, Any] = {"symbol": symbol.upper(), "interval": tf.value, "limit": lim}
        if start_ms is not None:
            params["startTime"] = int(start_ms)
        if end_ms is not None:
            params["endTime"] = int(end_ms)
        body = await self.get(self.spec.klines_path, params, self.spec.kline_weight(lim))
        if not isinstance(body, list):
            raise RestError(f"{self.spec.venue} klines: expected a list, got {type(body).__name__}")
        return body


def _binance_error(resp: httpx.Response) -> tuple[int | None, str]:
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None, f"HTTP {resp.status_code}"
    if isinstance(body, dict) and "msg" in body:
        code = body.get("code")
        return (code if isinstance(code, int) else None), f"{body['msg']} (code {code}, HTTP {resp.status_code})"
    return None, f"HTTP {resp.status_code}"
