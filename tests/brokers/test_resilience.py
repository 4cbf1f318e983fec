"""Signing, error mapping, the header-fed rate limiter and the circuit breaker (no network)."""

from __future__ import annotations

import base64
import random
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tradeterm.brokers.errors import (
    AuthError,
    ExecutionUnknown,
    InvalidTimestamp,
    IpBanned,
    NoSuchOrder,
    OrderRejected,
    RateLimited,
    UnknownOrder,
    map_error,
)
from tradeterm.brokers.ratelimit import BreakerState, CircuitBreaker, RateLimiter, backoff_delays
from tradeterm.brokers.signing import (
    Ed25519Signer,
    HmacSigner,
    encode_params,
    signed_query,
    ws_payload,
)
from tradeterm.ops.logging import redact

DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"


def test_hmac_matches_binance_documented_example() -> None:
    s = HmacSigner("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A", DOC_SECRET)
    assert s.sign(DOC_QUERY.encode()) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_payload_is_percent_encoded_before_signing() -> None:
    params = {"symbol": "BTCUSDT", "listClientOrderId": "a:b/c d", "price": Decimal("0.10000000")}
    assert encode_params(params) == "symbol=BTCUSDT&listClientOrderId=a%3Ab%2Fc%20d&price=0.10000000"
    s = HmacSigner("k" * 16, "s" * 16)
    q = signed_query(s, params)
    body, sig = q.rsplit("&signature=", 1)
    assert sig == s.sign(body.encode())  # exactly the bytes on the wire were signed


def test_ed25519_signature_verifies_and_is_url_safe() -> None:
    key = Ed25519PrivateKey.generate()
    s = Ed25519Signer("k" * 16, key)
    sig = s.sign(b"a=1&b=2")
    assert "+" not in sig and "/" not in sig and "=" not in sig
    from urllib.parse import unquote

    key.public_key().verify(base64.b64decode(unquote(sig)), b"a=1&b=2")


def test_ws_payload_sorted_unencoded() -> None:
    assert ws_payload({"timestamp": 5, "apiKey": "k", "signature": "x", "b": "a b"}) == b"apiKey=k&b=a b&timestamp=5"


def test_error_mapping_by_status_and_code() -> None:
    assert isinstance(map_error(503, {"code": -1006, "msg": "x"}), ExecutionUnknown)
    assert isinstance(map_error(408, {"code": -1007, "msg": "x"}), ExecutionUnknown)
    assert isinstance(map_error(502, None), ExecutionUnknown)
    assert isinstance(map_error(400, {"code": -1021, "msg": "x"}), InvalidTimestamp)
    assert isinstance(map_error(400, {"code": -1022, "msg": "x"}), AuthError)
    assert isinstance(map_error(400, {"code": -2011, "msg": "x"}), UnknownOrder)
    assert isinstance(map_error(400, {"code": -2013, "msg": "x"}), NoSuchOrder)
    dup = map_error(400, {"code": -2010, "msg": "Duplicate order sent."})
    assert isinstance(dup, OrderRejected) and dup.duplicate
    assert isinstance(map_error(400, {"code": -1013, "msg": "Filter failure: NOTIONAL"}), OrderRejected)
    limited = map_error(429, {"code": -1003, "msg": "x"}, 3)
    assert isinstance(limited, RateLimited) and not isinstance(limited, IpBanned) and limited.retry_after == 3
    assert isinstance(map_error(418, {"code": -1003, "msg": "x"}, 120), IpBanned)
    err = map_error(400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"})
    assert str(err) == "Binance error -1013: Filter failure: LOT_SIZE" and err.code == -1013


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_slows_down_before_the_limit_and_honours_retry_after() -> None:
    clock = FakeClock()
    rl = RateLimiter(weight_per_minute=100, orders_per_10s=10, clock=clock)
    assert rl.delay(1) == 0
    rl.observe({"x-mbx-used-weight-1m": "89", "x-mbx-order-count-10s": "3"})
    assert rl.delay(1) == 0
    assert rl.delay(5) == 60  # would pass 90 % of the limit: wait for the minute to roll
    clock.t += 30
    assert rl.delay(5) == 30
    rl.observe({"x-mbx-used-weight-1m": "1", "x-mbx-order-count-10s": "9"})
    assert rl.delay(1, order=True) == 10 and rl.delay(1) == 0
    rl.block(7)
    assert rl.delay(1) == 7


def test_circuit_breaker_closed_open_half_open() -> None:
    clock = FakeClock()
    cb = CircuitBreaker(threshold=3, cooldown=5, clock=clock)
    for _ in range(2):
        cb.failure()
    assert cb.state is BreakerState.CLOSED and cb.allow()
    cb.failure()
    assert cb.state is BreakerState.OPEN and not cb.allow()
    clock.t += 5
    assert cb.state is BreakerState.HALF_OPEN
    assert cb.allow() and not cb.allow()  # one probe at a time
    cb.failure()
    assert cb.state is BreakerState.OPEN  # the probe failed: open again
    clock.t += 5
    assert cb.allow()
    cb.success()
    assert cb.state is BreakerState.CLOSED and cb.allow()


def test_backoff_is_jittered_and_capped() -> None:
    d = backoff_delays(6, base=0.1, cap=1.0, rng=random.Random(1))
    assert all(0 <= x <= min(1.0, 0.1 * 2**k) for k, x in enumerate(d))
    assert len(set(d)) == 6


def test_signer_registers_secrets_for_redaction() -> None:
    HmacSigner("APIKEY-abcdefgh12345", "SECRET-zyxwvut98765")
    assert "SECRET-zyxwvut98765" not in redact("oops SECRET-zyxwvut98765 leaked")
    assert "APIKEY-abcdefgh12345" not in redact("key APIKEY-abcdefgh12345")
    assert "SECRET" not in repr(HmacSigner("APIKEY-abcdefgh12345", "SECRET-zyxwvut98765"))
