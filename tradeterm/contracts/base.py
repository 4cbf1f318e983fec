"""Shared building blocks for the v1 event contracts.

Inside the engine every time is an integer of epoch milliseconds (cheap to compare, exact,
what Binance sends); on the wire (JSON) it is an ISO-8601 UTC string so that a human reading a
log or an export sees a date. Both forms are accepted when parsing, so an engine-side dict and
a wire-side document validate alike.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch-ms bounds: 2000-01-01 .. 2200-01-01. A seconds value (10 digits) or microseconds (16)
# lands outside and is refused instead of silently meaning 1970 or the year 50000.
_MIN_MS = 946_684_800_000
_MAX_MS = 7_258_118_400_000


def ms_to_iso(ms: int) -> str:
    """Epoch milliseconds -> ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (exact, millisecond precision)."""
    seconds, millis = divmod(int(ms), 1000)
    dt = datetime.fromtimestamp(seconds, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def iso_to_ms(text: str) -> int:
    """Parse an ISO-8601 timestamp with an explicit UTC offset into epoch milliseconds."""
    try:
        dt = datetime.fromisoformat(text)  # 3.11+ reads a trailing Z
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}") from exc
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset; times must be UTC")
    delta = dt - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def _parse_time(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected epoch milliseconds or an ISO-8601 string, got a boolean")  # noqa: TRY004 - pydantic reports ValueError
    if isinstance(value, int):
        ms = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("epoch milliseconds must be a whole number")
        ms = int(value)
    elif isinstance(value, str):
        ms = int(value) if value.isdigit() else iso_to_ms(value)
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime has no timezone; times must be UTC")
        ms = iso_to_ms(value.isoformat())
    else:
        raise ValueError(f"expected epoch milliseconds or an ISO-8601 string, got {type(value).__name__}")  # noqa: TRY004
    if not _MIN_MS <= ms <= _MAX_MS:
        raise ValueError(f"time {ms} is outside 2000..2200 in epoch milliseconds (seconds or µs given?)")
    return ms


EpochMs = Annotated[
    int,
    BeforeValidator(_parse_time),
    PlainSerializer(ms_to_iso, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "UTC time; ISO-8601 on the wire, epoch milliseconds inside the engine",
        }
    ),
]
"""A UTC instant: int epoch-ms in Python, ISO-8601 string in JSON."""


def _parse_decimal(value: Any) -> Any:
    # Floats are converted through their shortest repr so 0.1 becomes Decimal("0.1"), not the
    # binary expansion; strings and Decimals pass through untouched.
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return Decimal(repr(value))
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    Field(allow_inf_nan=False),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "exact decimal"}),
]
"""An exact decimal amount (price, quantity, fee); a plain decimal string on the wire."""

PositiveMoney = Annotated[Money, Field(gt=0)]
NonNegMoney = Annotated[Money, Field(ge=0)]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
"""Analysis value: float64, never NaN/inf on the wire (warm-up values are ``None``)."""

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")


def _parse_symbol(value: Any) -> Any:
    if isinstance(value, str):
        upper = value.upper()
        if not _SYMBOL_RE.match(upper):
            raise ValueError(f"symbol {value!r} must be 2-20 letters or digits, like BTCUSDT")
        return upper
    return value


Symbol = Annotated[str, BeforeValidator(_parse_symbol)]
Venue = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$", examples=["binance-spot"])]


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Direction(StrEnum):
    """Market direction of a structure event or zone."""

    BULL = "BULL"
    BEAR = "BEAR"


class Contract(BaseModel):
    """Base of every event: immutable, strict about unknown fields, versioned by topic."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    TOPIC: ClassVar[str]

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Contract:
        return cls.model_validate_json(data)
