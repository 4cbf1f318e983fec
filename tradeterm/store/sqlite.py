"""SQLite backend (aiosqlite): the embedded default, one file under the user's data dir.

One connection in WAL mode, so a TUI can read while the daemon writes from another process;
inside this process an asyncio lock serialises use of the connection. Writes are one
``BEGIN IMMEDIATE`` transaction each (taking the write lock up front avoids the deadlock of two
readers upgrading at once) with ``executemany`` over row tuples built from numpy columns.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import numpy as np

from tradeterm.errors import StoreError
from tradeterm.market.frame import CandleFrame
from tradeterm.store import candles as candle_rows
from tradeterm.store.base import SqlStore, now_ms
from tradeterm.store.migrations import AppliedMigration, Migration
from tradeterm.store.rows import Row
from tradeterm.store.schema import CANDLES, Table
from tradeterm.store.sqlgen import SQLITE, insert_values_sql
from tradeterm.store.url import StoreURL

_MIN_VERSION = (3, 24, 0)  # upsert (INSERT … ON CONFLICT DO UPDATE)
_BUSY_TIMEOUT_S = 10.0
_PRAGMAS = (
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}",
)
_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
    "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)"
)


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        async with self._conn.execute(sql, tuple(args)) as cur:
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.executemany_count(sql, rows)

    async def executemany_count(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """sqlite3 sums the changes over all rows; an upsert whose WHERE is false counts 0."""
        async with self._conn.executemany(sql, rows) as cur:
            return max(cur.rowcount, 0)

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return list(await self._conn.execute_fetchall(sql, tuple(args)))

    async def insert_id(self, sql: str, args: Sequence[Any], id_col: str) -> int:
        async with self._conn.execute(sql, tuple(args)) as cur:
            assert cur.lastrowid is not None
            return cur.lastrowid


def split_statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3 runs one at a time inside our transaction;
    ``executescript`` would commit first). ``complete_statement`` knows about trigger bodies and
    quotes; a statement must end its line."""
    statements: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    rest = "\n".join(ln for ln in buf.splitlines() if not ln.strip().startswith("--")).strip()
    if rest:
        statements.append(rest)
    return statements


class _SqliteMigrator:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._path = path

    async def applied(self) -> list[AppliedMigration]:
        exists = await self._conn.execute_fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
        if not list(exists):
            return []
        rows = await self._conn.execute_fetchall(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        )
        return [AppliedMigration(int(v), n, c, int(a)) for v, n, c, a in rows]

    async def apply(self, migration: Migration) -> bool:
        conn = self._conn
        try:
            # IMMEDIATE: another process migrating the same file makes us wait here, and then
            # we find its row below instead of re-running its DDL.
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute(_MIGRATIONS_DDL)
            done = await conn.execute_fetchall(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            )
            if list(done):
                await conn.execute("ROLLBACK")
                return False
            for statement in split_statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, ?)",
                (migration.version, migration.name, migration.checksum, now_ms()),
            )
            await conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"migration {migration.label} failed on {self._path}: {exc}"
                ) from exc
            raise
        return True

    async def timescale(self) -> bool | None:
        return None


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch the file to WAL (a persistent setting, so usually already done). Changing the
    journal mode answers "database is locked" at once, without waiting for the busy timeout, when
    another connection has the file open at that moment (several processes opening a new
    database together), so it is retried here for as long as the busy timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        rows = list(await conn.execute_fetchall("PRAGMA journal_mode"))
        if rows and str(rows[0][0]).lower() in ("wal", "memory"):
            return
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)


class SqliteStore(SqlStore):
    dialect = "sqlite"
    sql = SQLITE

    def __init__(self, url: StoreURL, *, auto_migrate: bool = True) -> None:
        super().__init__(url, auto_migrate=auto_migrate)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._upsert_sql: dict[tuple[str, str | None], str] = {}

    @property
    def path(self) -> str:
        return self._url.target

    async def connect(self) -> None:
        if self._conn is not None:
            return
        if sqlite3.sqlite_version_info < _MIN_VERSION:
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old; tradeterm needs 3.24 or newer"
            )
        if not self._url.is_memory:
            parent = Path(self.path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the directory {parent} for the SQLite database: {exc.strerror}"
                ) from None
        try:
            # Open once with plain sqlite3 first: when aiosqlite's own connect fails, its worker
            # thread outlives the call and may report into a closed event loop.
            await asyncio.to_thread(lambda: sqlite3.connect(self.path).close())
            conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=_BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from None
        try:
            for pragma in _PRAGMAS:
                await conn.execute(pragma)
            await _enable_wal(conn)
            # Fail now, with the path in the message, if the file is read-only or not a database.
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreError(f"cannot use SQLite database {self.path}: {exc}") from None
        self._conn = conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _require(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self.url} is not open")
        return self._conn

    @asynccontextmanager
    async def migrator(self) -> AsyncIterator[_SqliteMigrator]:
        conn = self._require()
        async with self._lock:
            yield _SqliteMigrator(conn, self.path)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[_SqliteTx]:
        conn = self._require()
        async with self._lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _SqliteTx(conn)
                    await conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[_SqliteTx]:
        conn = self._require()
        async with self._lock:
            try:
                yield _SqliteTx(conn)
            except sqlite3.OperationalError as exc:
                raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    def _statement(self, table: Table, guard: str | None) -> str:
        key = (table.name, guard)
        if key not in self._upsert_sql:
            self._upsert_sql[key] = insert_values_sql(table, SQLITE, guard)
        return self._upsert_sql[key]

    async def _upsert(
        self, tx: Any, table: Table, rows: list[Row], guard: str | None = None
    ) -> int:
        if not rows:
            return 0
        enc = SQLITE.encode
        values = [tuple(enc(kind, row[name]) for name, kind in table.columns) for row in rows]
        return await tx.executemany_count(self._statement(table, guard), values)

    async def _upsert_frame(self, tx: Any, series_id: int, frame: CandleFrame, closed: bool) -> int:
        rows = candle_rows.iter_rows(series_id, frame, 1 if closed else 0)
        return await tx.executemany_count(self._statement(CANDLES, candle_rows.CLOSED_GUARD), rows)

    async def _candle_columns(self, sql: str, args: Sequence[Any]) -> dict[str, np.ndarray]:
        async with self._reader() as r:
            rows = await r.fetch(sql, args)
        names = candle_rows.FRAME_COLUMNS
        columns = list(zip(*rows)) if rows else [() for _ in names]
        return {
            name: np.array(col, dtype=np.int64 if name in ("open_time", "trades") else np.float64)
            for name, col in zip(names, columns)
        }
