"""Postgres backend (asyncpg): the same schema for several daemons and remote TUIs.

Generic upserts send one array per column to a single ``INSERT … SELECT FROM unnest(…) ON
CONFLICT`` (one round trip per table per batch, and the status line gives the change count).
Big candle batches take the bulk path: binary COPY into a session temp table, then one ``MERGE``
bounded to the batch's time range (Postgres 15+), or ``INSERT … ON CONFLICT`` from the temp
table where MERGE is unavailable or a concurrent writer raced us. In ``bench/store_bench.py`` the
MERGE path was 1.2-1.8 times faster than ON CONFLICT (which pays for a speculative insertion
per row): about 250k against 200k rows/s for a first write here.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import numpy as np

from tradeterm.errors import StoreError
from tradeterm.market.frame import CandleFrame
from tradeterm.store import candles as candle_rows
from tradeterm.store.base import SqlStore, T, TxBody, now_ms
from tradeterm.store.migrations import AppliedMigration, Migration
from tradeterm.store.pgcopy import WRITE_COLUMNS, decode_candles, encode_candles
from tradeterm.store.rows import Row
from tradeterm.store.schema import CANDLES, Table
from tradeterm.store.sqlgen import POSTGRES, conflict_clause, insert_unnest_sql, q
from tradeterm.store.url import StoreURL

log = logging.getLogger("tradeterm.store.postgres")

CONNECT_TIMEOUT_S = 10.0
_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)"
)
_LOCK_KEY = "hashtext('tradeterm.migrations:' || coalesce(current_schema(), ''))"
_TEMP = "_tradeterm_candles_in"
_TEMP_DDL = f"CREATE TEMP TABLE IF NOT EXISTS {_TEMP} (LIKE candles) ON COMMIT DELETE ROWS"
_COLS = ", ".join(q(c) for c in WRITE_COLUMNS)
_UPDATE_COLS = [c for c in WRITE_COLUMNS if c not in CANDLES.key]
_INSERT_FROM_TEMP = f"INSERT INTO candles ({_COLS}) SELECT {_COLS} FROM {_TEMP} " + conflict_clause(
    CANDLES, POSTGRES, candle_rows.CLOSED_GUARD
)


def _merge_sql(series_id: int, lo: int, hi: int) -> str:
    # Literal bounds (ints we computed, not user text) let the planner limit the join to the
    # batch's index range instead of considering the whole table.
    olds = ", ".join(f"c.{q(x)}" for x in _UPDATE_COLS)
    news = ", ".join(f"t.{q(x)}" for x in _UPDATE_COLS)
    sets = ", ".join(f"{q(x)} = t.{q(x)}" for x in _UPDATE_COLS)
    guard = candle_rows.CLOSED_GUARD.format(old="c", new="t")
    return (
        f"MERGE INTO candles AS c USING {_TEMP} AS t "
        f"ON c.series_id = {int(series_id)} AND c.open_time BETWEEN {int(lo)} AND {int(hi)} "
        "AND c.open_time = t.open_time "
        f"WHEN MATCHED AND ({olds}) IS DISTINCT FROM ({news}) AND ({guard}) THEN UPDATE SET {sets} "
        f"WHEN NOT MATCHED THEN INSERT ({_COLS}) VALUES ({', '.join(f't.{q(x)}' for x in WRITE_COLUMNS)})"
    )


def _count(status: str) -> int:
    """Rows affected, from a command status such as ``INSERT 0 5`` or ``MERGE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        return _count(await self.conn.execute(sql, *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, list(rows))

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return list(await self.conn.fetch(sql, *args))

    async def insert_id(self, sql: str, args: Sequence[Any], id_col: str) -> int:
        return int(await self.conn.fetchval(f"{sql} RETURNING {q(id_col)}", *args))


class _PgMigrator:
    def __init__(self, conn: asyncpg.Connection, url: StoreURL) -> None:
        self._conn = conn
        self._url = url

    async def applied(self) -> list[AppliedMigration]:
        if await self._conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return []
        rows = await self._conn.fetch(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        )
        return [
            AppliedMigration(r["version"], r["name"], r["checksum"], r["applied_at"]) for r in rows
        ]

    async def apply(self, migration: Migration) -> bool:
        conn = self._conn
        try:
            async with conn.transaction():
                await conn.execute(_MIGRATIONS_DDL)
                if await conn.fetchval(
                    "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
                ):
                    return False
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                    now_ms(),
                )
        except asyncpg.PostgresError as exc:
            raise StoreError(
                f"migration {migration.label} failed on {self._url.redacted}: {self._url.scrub(exc)}"
            ) from None
        return True

    async def timescale(self) -> bool | None:
        conn = self._conn
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
        ):
            return False
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = 'candles' AND hypertable_schema = current_schema())"
            )
        )


def _connect_reason(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return f"no answer within {CONNECT_TIMEOUT_S:g} s"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, OSError) and (
        exc.errno == errno.ECONNREFUSED or "Connect call failed" in str(exc)
    ):
        return "connection refused (is the server running and listening on that port?)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class PostgresStore(SqlStore):
    dialect = "postgres"
    sql = POSTGRES
    copy_min_rows = 2000
    """Below this many candles one unnest upsert beats COPY + MERGE's extra round trips."""

    def __init__(self, url: StoreURL, *, auto_migrate: bool = True) -> None:
        super().__init__(url, auto_migrate=auto_migrate)
        self._pool: asyncpg.Pool | None = None
        self.use_merge = False
        """Bulk candle path: MERGE (set on connect for Postgres 15+) or INSERT … ON CONFLICT."""
        self._statements: dict[tuple[str, str | None], str] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        """Transactions whose caller was cancelled, running on to their commit or rollback."""

    async def connect(self) -> None:
        if self._pool is not None:
            return
        try:
            pool = await asyncpg.create_pool(
                self._url.target,
                min_size=1,
                max_size=4,
                timeout=CONNECT_TIMEOUT_S,
                server_settings={"application_name": "tradeterm"},
            )
        except (
            TimeoutError,
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            ValueError,
        ) as exc:
            reason = self._url.scrub(_connect_reason(exc))
            raise StoreError(f"cannot connect to Postgres at {self.url}: {reason}") from None
        try:
            async with pool.acquire() as conn:
                self.use_merge = conn.get_server_version().major >= 15
                schema = await conn.fetchval("SELECT current_schema()")
        except BaseException:
            await pool.close()
            raise
        if schema is None:
            await pool.close()
            raise StoreError(
                f"no schema to create tables in at {self.url}: the search_path names no existing schema"
            )
        self._pool = pool

    async def close(self) -> None:
        if self._inflight:  # let abandoned transactions finish before the pool goes
            await asyncio.wait(set(self._inflight), timeout=10)
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except TimeoutError:
                pool.terminate()

    def _require(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError(f"the store {self.url} is not open")
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._require()
        try:
            async with pool.acquire() as conn:
                yield conn
        except (
            asyncpg.PostgresConnectionError,
            asyncpg.ConnectionDoesNotExistError,
            OSError,
        ) as exc:
            raise StoreError(
                f"lost the connection to Postgres at {self.url}: {self._url.scrub(exc)}"
            ) from None

    @asynccontextmanager
    async def migrator(self) -> AsyncIterator[_PgMigrator]:
        async with self._connection() as conn:
            # Several daemons may start at once against one database: one migrates, the others
            # wait here and then find nothing left to do.
            await conn.execute(f"SELECT pg_advisory_lock({_LOCK_KEY})")
            try:
                yield _PgMigrator(conn, self._url)
            finally:
                await conn.execute(f"SELECT pg_advisory_unlock({_LOCK_KEY})")

    async def _run_tx(self, body: TxBody[T]) -> T:
        async with self._connection() as conn, conn.transaction():
            return await body(_PgTx(conn))

    async def _transact(self, body: TxBody[T], *, bulk: bool = False) -> T:
        """The transaction (acquire, BEGIN, body, COMMIT/ROLLBACK, release) runs in a task of its
        own behind ``asyncio.shield``: cancelling the caller raises ``CancelledError`` in it at
        once, but does not interrupt asyncpg mid-protocol (which would have it cancel the query
        on the server and hand the pool a connection still busy or inside the transaction, and
        keep the cancelled caller waiting for that clean-up)."""
        return await self._shielded(self._run_tx(body))

    async def _shielded(self, coro: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(coro)
        self._inflight.add(task)
        task.add_done_callback(self._tx_done)
        return await asyncio.shield(task)

    def _tx_done(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Retrieved here so an abandoned task's failure is not reported as never retrieved;
            # a caller still waiting gets it through the shield as usual.
            log.debug("transaction failed: %s", task.exception())

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[_PgReader]:
        yield _PgReader(self)

    async def _fetch_job(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        async with self._connection() as conn:
            return list(await conn.fetch(sql, *args))

    def _statement(self, table: Table, guard: str | None) -> str:
        key = (table.name, guard)
        if key not in self._statements:
            self._statements[key] = insert_unnest_sql(table, guard)
        return self._statements[key]

    async def _upsert(
        self, tx: Any, table: Table, rows: list[Row], guard: str | None = None
    ) -> int:
        if not rows:
            return 0
        enc = POSTGRES.encode
        arrays = [[enc(kind, row[name]) for row in rows] for name, kind in table.columns]
        return _count(await tx.conn.execute(self._statement(table, guard), *arrays))

    async def _upsert_frame(self, tx: Any, series_id: int, frame: CandleFrame, closed: bool) -> int:
        conn: asyncpg.Connection = tx.conn
        n = len(frame)
        if n < self.copy_min_rows:
            cols = candle_rows.value_columns(frame)
            arrays = [
                [series_id] * n,
                *(cols[c].tolist() for c in candle_rows.VALUE_COLUMNS),
                [closed] * n,
            ]
            return _count(
                await conn.execute(self._statement(CANDLES, candle_rows.CLOSED_GUARD), *arrays)
            )
        await conn.execute(_TEMP_DDL)
        # One transaction may carry several frames; the temp table is only emptied at commit.
        await conn.execute(f"TRUNCATE {_TEMP}")
        await conn.copy_to_table(
            _TEMP,
            source=encode_candles(series_id, frame, closed),
            columns=list(WRITE_COLUMNS),
            format="binary",
        )
        if self.use_merge:
            try:
                async with conn.transaction():  # a savepoint, so a failed MERGE can fall back
                    return _count(
                        await conn.execute(
                            _merge_sql(series_id, int(frame.open_time[0]), int(frame.open_time[-1]))
                        )
                    )
            except asyncpg.UniqueViolationError:
                # A concurrent writer inserted some of these rows first: MERGE cannot resolve
                # that race, INSERT … ON CONFLICT below can.
                log.debug("MERGE raced a concurrent writer on series %s; using ON CONFLICT", series_id)
            except asyncpg.FeatureNotSupportedError:
                self.use_merge = False  # e.g. an old TimescaleDB that cannot MERGE into hypertables
        return _count(await conn.execute(_INSERT_FROM_TEMP))

    async def _candle_columns(self, sql: str, args: Sequence[Any]) -> dict[str, np.ndarray]:
        buf = bytearray()

        async def sink(chunk: bytes) -> None:
            buf.extend(chunk)

        async def job() -> None:
            async with self._connection() as conn:
                await conn.copy_from_query(sql, *args, output=sink, format="binary")

        await self._shielded(job())
        return decode_candles(buf)


class _PgReader:
    """Reads outside a transaction: each query takes a pool connection for itself, in a shielded
    task (see ``PostgresStore._transact``), so a cancelled reader returns at once and the
    connection goes back to the pool idle."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return await self._store._shielded(self._store._fetch_job(sql, tuple(args)))

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        raise TypeError("writes go through a transaction")

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise TypeError("writes go through a transaction")

    async def insert_id(self, sql: str, args: Sequence[Any], id_col: str) -> int:
        raise TypeError("writes go through a transaction")
