"""Request parameters read the way Binance reads them.

Query string and form body may be mixed; a name in both takes the query value; a name twice in
one place is ``-1101``. Every getter marks the name as read, and :meth:`Params.finish` rejects
what was sent but never read (``-1104``) — that is how Binance answers unknown parameters."""

from __future__ import annotations

import builtins
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from tradeterm.venue import errors as E
from tradeterm.venue.errors import VenueError

_DEC = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INT = re.compile(r"^-?[0-9]{1,20}$")
_CID = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
DEC_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INT_RANGE = r"^[0-9]{1,20}$"
CID_RANGE = r"^[a-zA-Z0-9-_]{1,36}$"
_ALWAYS = ("timestamp", "recvWindow", "signature")


def _pairs(raw: str) -> list[tuple[str, str]]:
    """``parse_qsl(raw, keep_blank_values=True)``; with nothing to decode (no ``%``, no ``+``) it
    is a plain split, done here without parse_qsl's per-field overhead."""
    if "%" in raw or "+" in raw:
        return parse_qsl(raw, keep_blank_values=True)
    out = []
    for field in raw.split("&"):
        if field:
            k, _, v = field.partition("=")
            out.append((k, v))
    return out


def _parse(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if not raw:
        return out
    for k, v in _pairs(raw):
        if k in out:
            raise E.err(E.DUPLICATE_PARAM)
        out[k] = v
    return out


class Params:
    """The merged parameters of one request."""

    def __init__(self, query: str = "", body: str = "", values: dict[str, str] | None = None) -> None:
        if values is not None:
            self.values = dict(values)
        else:
            merged = _parse(body)
            merged.update(_parse(query))
            self.values = merged
        self.read: set[str] = set()

    def has(self, name: str) -> bool:
        return name in self.values

    def raw(self, name: str) -> str | None:
        self.read.add(name)
        return self.values.get(name)

    def str(self, name: str, required: bool = False) -> str | None:
        v = self.raw(name)
        if v is None or v == "":
            if required:
                raise E.mandatory(name)
            if v == "":
                raise E.empty(name)
            return None
        return v

    def decimal(self, name: builtins.str, required: builtins.bool = False,
                max_decimals: builtins.int = 8) -> Decimal | None:
        v = self.str(name, required)
        if v is None:
            return None
        if not _DEC.match(v):
            raise E.illegal(name, DEC_RANGE)
        try:
            d = Decimal(v)
        except InvalidOperation:
            raise E.illegal(name, DEC_RANGE) from None
        exp = d.normalize().as_tuple().exponent
        if isinstance(exp, int) and -exp > max_decimals:
            raise E.precision(name)
        return d

    def int(self, name: builtins.str, required: builtins.bool = False) -> builtins.int | None:
        v = self.str(name, required)
        if v is None:
            return None
        if not _INT.match(v):
            raise E.illegal(name, INT_RANGE)
        return int(v)

    def client_id(self, name: builtins.str) -> builtins.str | None:
        v = self.raw(name)
        if v is None:
            return None
        if v == "":
            raise E.err(E.EMPTY_NEW_CL_ORD_ID)
        if not _CID.match(v):
            raise E.illegal(name, CID_RANGE)
        return v

    def enum(self, name: builtins.str, allowed: tuple[builtins.str, ...], required: builtins.bool = False,
             error: tuple[builtins.int, builtins.str] = E.INVALID_PARAMETER) -> builtins.str | None:
        v = self.str(name, required)
        if v is not None and v not in allowed:
            raise VenueError(*error)
        return v

    def bool(self, name: builtins.str) -> builtins.bool | None:
        v = self.str(name)
        if v is None:
            return None
        if v.lower() not in ("true", "false"):
            raise E.err(E.INVALID_PARAMETER)
        return v.lower() == "true"

    def not_allowed(self, *names: builtins.str) -> None:
        """Parameters that make no sense for this request (``-1106``)."""
        for n in names:
            if n in self.values:
                raise E.not_required(n)

    def finish(self) -> None:
        self.read.update(n for n in _ALWAYS if n in self.values)
        unread = [k for k in self.values if k not in self.read]
        if unread:
            raise E.unread(len(self.values) - len(unread), len(self.values))
