"""``create_store(url)``: the one way the rest of tradeterm gets a database."""

from __future__ import annotations

from tradeterm.store.base import SqlStore
from tradeterm.store.protocol import Store
from tradeterm.store.url import parse_url


def create_backend(url: str, *, auto_migrate: bool = True) -> SqlStore:
    """The backend object for ``url``, not yet connected (for the migration runner)."""
    parsed = parse_url(url)
    if parsed.dialect == "sqlite":
        from tradeterm.store.sqlite import SqliteStore

        return SqliteStore(parsed, auto_migrate=auto_migrate)
    from tradeterm.store.postgres import PostgresStore

    return PostgresStore(parsed, auto_migrate=auto_migrate)


def create_store(url: str, *, auto_migrate: bool = True) -> Store:
    """A store for ``url`` (``sqlite:///abs/path.db``, ``sqlite:///:memory:``,
    ``postgresql://…``); call ``await store.open()`` or use ``async with``.

    A malformed URL raises :class:`~tradeterm.errors.StoreError` here; an unreachable server
    or unwritable file raises it from ``open()``. With ``auto_migrate`` (the default) ``open()``
    applies pending migrations; without it, a database that is behind is refused with a hint to
    run ``tradeterm db migrate``. A database ahead of this code is always refused.
    """
    return create_backend(url, auto_migrate=auto_migrate)
