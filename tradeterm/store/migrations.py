"""Numbered SQL migrations per dialect, and the runner that applies them.

Files are ``migrations/<dialect>/NNNN_name.sql``; each is applied in one transaction together with
its row in ``schema_migrations`` (version, name, checksum, applied_at), so a failed migration
leaves nothing behind. The runner refuses a database that is ahead of this code or whose applied
migrations were edited afterwards, because running against either silently corrupts data.

Where the files are: inside the installed package (``tradeterm/migrations``, for wheels that ship
them as package data) and else the repository's top-level ``migrations/`` next to the package
(source checkouts and editable installs).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import tradeterm
from tradeterm.errors import StoreError

if TYPE_CHECKING:
    from tradeterm.store.base import SqlStore

_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DIALECTS = ("sqlite", "postgres")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    checksum: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: int

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    url: str
    dialect: str
    current: int
    """Highest applied version (0 for an empty database)."""
    latest: int
    """Highest version this code knows."""
    applied: tuple[AppliedMigration, ...]
    pending: tuple[Migration, ...]
    timescale: bool | None
    """Postgres: whether candles is a TimescaleDB hypertable; ``None`` on SQLite."""

    @property
    def up_to_date(self) -> bool:
        return not self.pending


class Migrator(Protocol):
    """A backend's side of the runner, used inside ``async with store.migrator() as m``, which
    also serialises concurrent runners (an advisory lock on Postgres)."""

    async def applied(self) -> list[AppliedMigration]:
        """What ``schema_migrations`` holds; empty if the table does not exist (no DDL here)."""

    async def apply(self, migration: Migration) -> bool:
        """Apply and record one migration in a transaction; False if it was already recorded."""

    async def timescale(self) -> bool | None: ...


def checksum(sql: str) -> str:
    """SHA-256 of the file with line endings normalised, so a Windows checkout (CRLF) of the same
    file does not look edited."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode()).hexdigest()


def migrations_dir() -> Traversable:
    """The folder holding ``sqlite/`` and ``postgres/``."""
    packaged = resources.files("tradeterm").joinpath("migrations")
    repo = Path(tradeterm.__file__).resolve().parent.parent / "migrations"
    for candidate in (packaged, repo):
        if all(candidate.joinpath(d).is_dir() for d in _DIALECTS):
            return candidate
    raise StoreError(
        f"the SQL migrations are missing from this installation (looked in {repo}); reinstall tradeterm"
    )


def load_migrations(dialect: str, directory: Traversable | Path | None = None) -> list[Migration]:
    """The dialect's migrations in version order; versions must run 1, 2, 3… without gaps."""
    folder = (directory if directory is not None else migrations_dir()).joinpath(dialect)
    if not folder.is_dir():
        raise StoreError(f"no migrations folder for {dialect} at {folder}")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_RE.match(entry.name)
        if not match:
            continue
        sql = entry.read_bytes().decode("utf-8")
        found.append(Migration(int(match.group(1)), match.group(2), checksum(sql), sql))
    found.sort(key=lambda m: m.version)
    for expected, m in enumerate(found, 1):
        if m.version != expected:
            raise StoreError(
                f"{dialect} migrations are not numbered 1, 2, 3…: found {m.label} where {expected:04d} was expected"
            )
    if not found:
        raise StoreError(f"no {dialect} migrations found in {folder}")
    return found


def check(applied: Sequence[AppliedMigration], known: Sequence[Migration]) -> None:
    """Refuse a database this code must not touch."""
    latest = known[-1].version if known else 0
    by_version = {m.version: m for m in known}
    current = max((a.version for a in applied), default=0)
    if current > latest:
        raise StoreError(
            f"database schema is version {current} but this tradeterm knows up to {latest}; upgrade tradeterm"
        )
    for a in applied:
        m = by_version.get(a.version)
        if m is None:
            raise StoreError(
                f"database has migration {a.label}, which this tradeterm does not know; upgrade tradeterm"
            )
        if a.checksum != m.checksum:
            raise StoreError(
                f"migration {m.label} was changed after it was applied to this database "
                f"(checksum {a.checksum[:12]} in the database, {m.checksum[:12]} in the file); "
                "restore the original migration file"
            )


def pending(applied: Sequence[AppliedMigration], known: Sequence[Migration]) -> list[Migration]:
    done = {a.version for a in applied}
    return [m for m in known if m.version not in done]


async def run(migrator: Migrator, known: Sequence[Migration]) -> list[int]:
    """Apply what is pending (after the safety checks); returns the versions applied now."""
    applied = await migrator.applied()
    check(applied, known)
    done: list[int] = []
    for m in pending(applied, known):
        if await migrator.apply(m):
            done.append(m.version)
    return done


async def ensure_schema(store: SqlStore, *, auto_migrate: bool) -> None:
    """On open: migrate, or (with ``auto_migrate=False``) refuse a schema that is behind."""
    known = load_migrations(store.dialect)
    async with store.migrator() as migrator:
        if auto_migrate:
            await run(migrator, known)
            return
        applied = await migrator.applied()
        check(applied, known)
        todo = pending(applied, known)
        if todo:
            current = max((a.version for a in applied), default=0)
            raise StoreError(
                f"database schema is version {current} but this tradeterm needs {known[-1].version}; "
                "run `tradeterm db migrate`"
            )


async def migrate(url: str, *, directory: Traversable | Path | None = None) -> list[int]:
    """Bring the database at ``url`` up to date; returns the versions applied (empty if none).
    Safe to run twice and from several processes at once."""
    store = _backend(url)
    known = load_migrations(store.dialect, directory)
    async with _connected(store), store.migrator() as migrator:
        return await run(migrator, known)


async def status(url: str, *, directory: Traversable | Path | None = None) -> MigrationStatus:
    """Where the database at ``url`` stands; creates no tables. Raises for a database this code
    must not use (newer schema, edited migration), like opening it would."""
    store = _backend(url)
    known = load_migrations(store.dialect, directory)
    async with _connected(store), store.migrator() as migrator:
        applied = await migrator.applied()
        check(applied, known)
        timescale = await migrator.timescale()
    return MigrationStatus(
        url=store.url,
        dialect=store.dialect,
        current=max((a.version for a in applied), default=0),
        latest=known[-1].version,
        applied=tuple(sorted(applied, key=lambda a: a.version)),
        pending=tuple(pending(applied, known)),
        timescale=timescale,
    )


def _backend(url: str) -> SqlStore:
    from tradeterm.store.factory import create_backend

    return create_backend(url, auto_migrate=False)


class _connected(AbstractAsyncContextManager["SqlStore"]):
    """Connect without the schema step of ``open()`` (that is what we are here to do)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def __aenter__(self) -> SqlStore:
        await self._store.connect()
        return self._store

    async def __aexit__(self, *exc: object) -> None:
        await self._store.close()
