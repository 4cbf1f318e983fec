"""Database URLs: which backend, where, and how to print them without leaking a password.

Accepted forms:
- ``sqlite:///abs/path.db`` — everything after ``sqlite://`` is the file path and must be absolute
  (a relative path would silently depend on the working directory of a daemon);
- ``sqlite:///:memory:`` — a private in-memory database (tests, throw-away runs);
- ``postgresql://user[:password]@host[:port]/dbname[?param=value…]`` (also ``postgres://`` and
  ``postgresql+asyncpg://``). Query parameters that asyncpg does not know are sent to the server
  as settings, so ``?search_path=myschema`` puts tradeterm's tables in their own schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from tradeterm.errors import StoreError

Dialect = Literal["sqlite", "postgres"]

_PG_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
_SECRET_PARAMS = frozenset({"password", "sslpassword", "passfile"})
_USERINFO_RE = re.compile(r"(://[^:/@?#]*):([^@/?#]*)@")
_HELP = "use sqlite:///ABSOLUTE/PATH.db, sqlite:///:memory: or postgresql://USER@HOST:PORT/DBNAME"


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A parsed database URL. ``target`` is the SQLite path (or ``:memory:``) or the asyncpg DSN."""

    dialect: Dialect
    target: str
    redacted: str
    password: str | None = None

    @property
    def is_memory(self) -> bool:
        return self.dialect == "sqlite" and self.target == ":memory:"

    def scrub(self, message: object) -> str:
        """A driver's error text made safe to show: one line, and the password never in it."""
        text = " ".join(str(message).split())
        if self.password:
            text = text.replace(self.password, "***")
        return text


def redact(url: str) -> str:
    """The URL with any password (in the user info or a query parameter) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
        query = parts.query
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode(
                [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*/:"
            )
        if (netloc, query) == (parts.netloc, parts.query):
            return url  # nothing secret; urlunsplit would also drop the // of sqlite:///…
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        # urlsplit refuses some malformed netlocs; fall back to a plain pattern so that the
        # error message about the bad URL still never shows the password.
        return _USERINFO_RE.sub(r"\1:***@", url)


def parse_url(url: str) -> StoreURL:
    """Parse and validate a database URL; any problem is a one-line :class:`StoreError`."""
    if not url or not url.strip():
        raise StoreError(f"no database URL given; {_HELP}")
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreError(f"database URL {redact(url)!r} has no scheme; {_HELP}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _parse_sqlite(url, rest)
    if scheme in _PG_SCHEMES:
        return _parse_postgres(url, rest)
    raise StoreError(f"unsupported database URL scheme {scheme!r} in {redact(url)!r}; {_HELP}")


def _parse_sqlite(url: str, rest: str) -> StoreURL:
    path = unquote(rest.split("?", 1)[0])
    if path in ("/:memory:", ":memory:"):
        return StoreURL("sqlite", ":memory:", "sqlite:///:memory:")
    if not path.startswith("/"):
        raise StoreError(
            f"SQLite URL {url!r} needs an absolute path, like sqlite:///home/me/tradeterm.db"
        )
    # sqlite:////abs/path (the SQLAlchemy spelling) means the same file as sqlite:///abs/path.
    path = "/" + path.lstrip("/")
    if path == "/" or path.endswith("/"):
        raise StoreError(f"SQLite URL {url!r} names a directory, not a database file")
    return StoreURL("sqlite", path, f"sqlite://{path}")


def _parse_postgres(url: str, rest: str) -> StoreURL:
    dsn = "postgresql://" + rest
    shown = redact(dsn)
    try:
        parts = urlsplit(dsn)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise StoreError(f"malformed Postgres URL {shown!r}: {exc}") from None
    password = unquote(parts.password) if parts.password else None
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "password" and value:
            password = value
    return StoreURL("postgres", dsn, shown, password)
