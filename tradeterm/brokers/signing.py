"""Request signing: HMAC-SHA256 and Ed25519, with Binance's percent-encoding rule.

Since 2026-01-15 Spot verifies the signature over the *percent-encoded* payload, so the rule
here is: encode every parameter once, sign exactly those bytes, send exactly those bytes.
The WebSocket API instead signs the sorted, unencoded ``k=v`` pairs (its own documented rule).
Secrets are registered with the log redactor the moment a signer is built.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tradeterm.ops.logging import register_secret


def param_str(value: Any) -> str:
    """Binance's textual form of a parameter value (booleans lowercase, Decimals plain)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "to_eng_string") and not isinstance(value, str):
        return format(value, "f")
    return str(value)


def encode_params(params: Mapping[str, Any]) -> str:
    """``k=v&…`` with every key and value percent-encoded (nothing left "safe")."""
    return "&".join(
        f"{quote(k, safe='')}={quote(param_str(v), safe='')}" for k, v in params.items()
    )


class Signer(Protocol):
    api_key: str

    def sign(self, payload: bytes) -> str:
        """The signature as it goes on the wire (already percent-encoded where needed)."""

    def sign_ws(self, payload: bytes) -> str:
        """The signature for a WebSocket API ``params`` object (not percent-encoded)."""


class HmacSigner:
    """HMAC-SHA256, lowercase hex (hex needs no encoding)."""

    def __init__(self, api_key: str, secret: str) -> None:
        register_secret(api_key)
        register_secret(secret)
        self.api_key = api_key
        self._secret = secret.encode()

    def __repr__(self) -> str:
        return "HmacSigner(api_key=***)"

    def sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def sign_ws(self, payload: bytes) -> str:
        return self.sign(payload)


class Ed25519Signer:
    """Ed25519 over the payload bytes, base64; percent-encoded on REST (``+ / =``)."""

    def __init__(self, api_key: str, private_key: Ed25519PrivateKey) -> None:
        register_secret(api_key)
        self.api_key = api_key
        self._key = private_key

    def __repr__(self) -> str:
        return "Ed25519Signer(api_key=***)"

    @classmethod
    def from_pem_file(cls, api_key: str, path: Path, password: bytes | None = None) -> Ed25519Signer:
        key = load_pem_private_key(path.read_bytes(), password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")  # noqa: TRY004 - a bad file, not a bad type
        return cls(api_key, key)

    def sign_ws(self, payload: bytes) -> str:
        return base64.b64encode(self._key.sign(payload)).decode()

    def sign(self, payload: bytes) -> str:
        return quote(self.sign_ws(payload), safe="")


def signed_query(signer: Signer, params: Mapping[str, Any]) -> str:
    """The encoded query with ``signature`` appended last, as Binance requires."""
    query = encode_params(params)
    return f"{query}&signature={signer.sign(query.encode())}"


def ws_payload(params: Mapping[str, Any]) -> bytes:
    """WebSocket API payload: every param but ``signature``, sorted by name, unencoded."""
    return "&".join(
        f"{k}={param_str(v)}" for k, v in sorted(params.items()) if k != "signature"
    ).encode()


def sign_ws_params(signer: Signer, params: dict[str, Any]) -> dict[str, Any]:
    out = {**params, "apiKey": signer.api_key}
    out["signature"] = signer.sign_ws(ws_payload(out))
    return out
