"""API keys, signatures and the timestamp window.

Signatures are verified over the request *as received*: the raw query string and the raw body,
each with its ``signature`` parameter cut out, concatenated with no separator (Binance's
totalParams). Re-serialising decoded parameters would accept requests Binance rejects and reject
ones it accepts, since clients differ in how they percent-encode."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tradeterm.venue import errors as E
from tradeterm.venue.clock import ServerClock
from tradeterm.venue.errors import VenueError
from tradeterm.venue.params import Params

MAX_RECV_WINDOW = 60_000


@dataclass(frozen=True)
class Credential:
    """One API key and how its requests are signed: an HMAC secret or an Ed25519 public key."""

    api_key: str
    secret: str | None = None
    ed25519: Ed25519PublicKey | None = None

    @property
    def kind(self) -> str:
        return "HMAC" if self.secret is not None else "Ed25519"


def generate_hmac_credential() -> Credential:
    return Credential(secrets.token_urlsafe(48)[:64], secrets.token_urlsafe(48)[:64])


def load_ed25519_public_key(pem: bytes) -> Ed25519PublicKey:
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")  # noqa: TRY004 - the CLI catches ValueError
    return key


def _strip_signature(raw: str) -> tuple[str, str | None]:
    if not raw:
        return "", None
    kept, sig = [], None
    for part in raw.split("&"):
        if part.startswith("signature="):
            sig = part[len("signature="):]
        else:
            kept.append(part)
    return "&".join(kept), sig


class Authenticator:
    """Checks ``X-MBX-APIKEY``, ``signature``, ``timestamp`` and ``recvWindow``."""

    def __init__(self, credentials: list[Credential], clock: ServerClock) -> None:
        self.by_key = {c.api_key: c for c in credentials}
        self.clock = clock

    def credential(self, api_key: str | None) -> Credential:
        if not api_key:
            raise E.err(E.API_KEY_FORMAT)
        cred = self.by_key.get(api_key)
        if cred is None:
            raise E.err(E.REJECTED_MBX_KEY)
        return cred

    def check_time(self, params: Params) -> None:
        ts = params.int("timestamp", required=True)
        rw_raw = params.raw("recvWindow")
        recv_window = 5000.0
        if rw_raw is not None:
            try:
                recv_window = float(rw_raw)
            except ValueError:
                raise E.illegal("recvWindow", r"^[0-9]{1,20}(\.[0-9]{1,3})?$") from None
            if recv_window > MAX_RECV_WINDOW or recv_window <= 0:
                raise E.err(E.BAD_RECV_WINDOW)
        assert ts is not None
        if ts > 10**14:  # microseconds are accepted on spot
            ts //= 1000
        now = self.clock.now_ms()
        if ts >= now + 1000:
            raise E.err(E.TS_AHEAD)
        if now - ts > recv_window:
            raise E.err(E.TS_OUTSIDE_WINDOW)

    def check_rest(self, api_key: str | None, raw_query: str, raw_body: str, params: Params) -> Credential:
        cred = self.credential(api_key)
        q, sig_q = _strip_signature(raw_query)
        b, sig_b = _strip_signature(raw_body)
        sig = sig_q if sig_q is not None else sig_b
        params.raw("signature")
        if not params.has("timestamp"):
            raise E.mandatory("timestamp")
        if sig is None or sig == "":
            raise E.mandatory("signature")
        self._verify(cred, (q + b).encode(), unquote(sig))
        self.check_time(params)
        return cred

    def check_ws(self, params: dict[str, object]) -> Credential:
        """WebSocket API: sign every param but ``signature``, sorted by name, ``k=v`` joined by ``&``
        (values unencoded per the docs; the percent-encoded form some SDKs sign is accepted too)."""
        api_key = params.get("apiKey")
        cred = self.credential(api_key if isinstance(api_key, str) else None)
        sig = params.get("signature")
        if not isinstance(sig, str) or not sig:
            raise E.mandatory("signature")
        items = sorted((k, _ws_str(v)) for k, v in params.items() if k != "signature")
        plain = "&".join(f"{k}={v}" for k, v in items).encode()
        encoded = urlencode(items).encode()
        try:
            self._verify(cred, plain, sig)
        except VenueError:
            if encoded == plain:
                raise
            self._verify(cred, encoded, sig)
        p = Params(values={k: v for k, v in items})
        self.check_time(p)
        return cred

    @staticmethod
    def _verify(cred: Credential, payload: bytes, sig: str) -> None:
        if cred.secret is not None:
            want = hmac.new(cred.secret.encode(), payload, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, sig.lower()):
                raise E.err(E.INVALID_SIGNATURE)
            return
        assert cred.ed25519 is not None
        try:
            cred.ed25519.verify(base64.b64decode(sig, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            raise E.err(E.INVALID_SIGNATURE) from None


def _ws_str(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def sign_hmac(secret: str, payload: str) -> str:
    """Client-side helper for tests and tools."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def quote_sig(sig: str) -> str:
    return quote(sig, safe="")
