"""Binance Spot REST over httpx: signing, server-time offset, pacing, retries, breakers.

Rules this client keeps, each for a failure seen in the field:

* Only *safe* requests (reads) are retried blindly, with jittered exponential backoff. A POST
  that got no answer is never resent here: it raises :class:`ExecutionUnknown` and the caller
  asks the exchange by client order id first (see ``binance_spot.py``).
* ``-1021`` (timestamp outside recvWindow): resync the offset once and re-sign; the first
  request was definitely rejected, so a second one cannot double anything.
* 429/418 block every request until Retry-After; the usage headers slow us down before that.
* Exceptions carry Binance's code and message but never the URL, whose query holds the
  signature.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from tradeterm.brokers.errors import (
    BinanceError,
    CircuitOpen,
    ExecutionUnknown,
    InvalidTimestamp,
    IpBanned,
    RateLimited,
    map_error,
)
from tradeterm.brokers.ratelimit import CircuitBreaker, RateLimiter, backoff_delays
from tradeterm.brokers.signing import Signer, encode_params, signed_query

MAX_RETRY_AFTER_WAIT = 5.0  # a read waits out a short 429 itself; longer ones surface


class SpotHttp:
    def __init__(
        self,
        base_url: str,
        signer: Signer | None = None,
        *,
        recv_window: int = 5000,
        timeout: float = 5.0,
        retries: int = 3,
        limiter: RateLimiter | None = None,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        time_path: str = "/api/v3/time",
        error_mapper: Callable[[int, Any, float | None], BinanceError] = map_error,
    ) -> None:
        """``time_path`` and ``error_mapper`` make the same client serve USD-M
        (``/fapi/v1/time``, :func:`~tradeterm.brokers.errors.map_futures_error`)."""
        self.signer = signer
        self.time_path = time_path
        self.map_error = error_mapper
        self.recv_window = recv_window
        self.retries = retries
        self.limiter = limiter or RateLimiter()
        self.offset_ms = 0
        self._breaker_args = (breaker_threshold, breaker_cooldown)
        self.breakers: dict[str, CircuitBreaker] = {}
        self._rng = rng or random.Random()
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # ------------------------------------------------------------------ time
    def now_ms(self) -> int:
        """Our best estimate of the server's clock."""
        return int(time.time() * 1000) + self.offset_ms

    async def sync_time(self) -> int:
        """offset = serverTime − midpoint(send, receive); returns the new offset."""
        t0 = time.time() * 1000
        body = await self.request("GET", self.time_path, family="market")
        t1 = time.time() * 1000
        self.offset_ms = int(body["serverTime"] - (t0 + t1) / 2)
        return self.offset_ms

    # ------------------------------------------------------------------ plumbing
    def breaker(self, family: str) -> CircuitBreaker:
        if family not in self.breakers:
            self.breakers[family] = CircuitBreaker(*self._breaker_args)
        return self.breakers[family]

    def _query(self, params: Mapping[str, Any], signed: bool) -> str:
        if not signed:
            return encode_params(params)
        if self.signer is None:
            raise BinanceError(-2014, "no API credentials configured for a signed request")
        full = {**params, "recvWindow": self.recv_window, "timestamp": self.now_ms()}
        return signed_query(self.signer, full)

    async def _send_once(
        self, method: str, path: str, params: Mapping[str, Any], signed: bool, family: str, weight: int,
        keyed: bool = False,
    ) -> Any:
        breaker = self.breaker(family)
        if not breaker.allow():
            raise CircuitOpen(family, breaker.retry_in())
        wait = self.limiter.delay(weight, order=family == "order")
        if wait > 0:
            await asyncio.sleep(wait)
        query = self._query(params, signed)
        headers = {"X-MBX-APIKEY": self.signer.api_key} if (signed or keyed) and self.signer else {}
        url = f"{path}?{query}" if query else path
        try:
            resp = await self._client.request(method, url, headers=headers)
        except httpx.TimeoutException:
            breaker.failure()
            raise ExecutionUnknown(0, "no answer before the client timeout", 0) from None
        except httpx.TransportError as exc:
            breaker.failure()
            raise ExecutionUnknown(0, f"connection failed ({type(exc).__name__})", 0) from None
        self.limiter.observe(resp.headers)
        try:
            body = orjson.loads(resp.content) if resp.content else {}
        except orjson.JSONDecodeError:
            body = {}
        if resp.status_code < 400:
            breaker.success()
            return body
        retry_after = resp.headers.get("Retry-After")
        err = self.map_error(resp.status_code, body, float(retry_after) if retry_after else None)
        if isinstance(err, ExecutionUnknown):
            breaker.failure()
        else:
            breaker.success()  # the server answered: the endpoint works, the request did not
        if isinstance(err, RateLimited):
            self.limiter.block(err.retry_after)
        raise err

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        signed: bool = False,
        family: str = "query",
        weight: int = 1,
        safe: bool | None = None,
        keyed: bool = False,
    ) -> Any:
        """Send and return the decoded JSON. ``safe`` (default: GET) allows blind retries.
        ``keyed``: send the API key header on an unsigned request (USER_STREAM endpoints)."""
        params = params or {}
        safe = method == "GET" if safe is None else safe
        delays = backoff_delays(self.retries, rng=self._rng) if safe else []
        resynced = False
        attempt = 0
        while True:
            try:
                return await self._send_once(method, path, params, signed, family, weight, keyed)
            except InvalidTimestamp:
                if resynced:
                    raise
                resynced = True
                await self.sync_time()
            except IpBanned:
                raise
            except RateLimited as exc:
                if not safe or attempt >= len(delays) or exc.retry_after > MAX_RETRY_AFTER_WAIT:
                    raise
                await asyncio.sleep(exc.retry_after)
                attempt += 1
            except ExecutionUnknown:
                if attempt >= len(delays):
                    raise
                await asyncio.sleep(delays[attempt])
                attempt += 1
