"""SQLite backend: the embedded default, one file under the user's data dir.

One connection in WAL mode, so a TUI can read while the daemon writes from another process.
Inside this process the connection belongs to one database thread, fed by a priority queue:
every call is one job on that thread, and a write transaction is *one* job (``BEGIN IMMEDIATE``,
its statements, ``COMMIT``, or ``ROLLBACK`` on an error), so

* cancelling the caller cannot tear a transaction: the caller gets ``CancelledError`` at once
  while the job runs on to its commit (or rollback); the connection is never left inside a
  transaction (before, a task cancelled between its ``BEGIN`` and ``COMMIT`` jobs left it open,
  and every later write failed with "cannot start a transaction within a transaction");
* a write costs one thread hop, not one per statement;
* small writes (decisions, order updates, fills, audit) and reads go ahead of queued candle
  batches, which the order path used to wait behind; and a bulk write (candles, analysis events)
  commits in chunks of ``BULK_CHUNK_ROWS`` rows with small writes let in between, so an order
  update waits for one chunk at most, not for a whole burst (``store.write(bulk=True)``).

Writes take the write lock up front (``IMMEDIATE`` avoids the deadlock of two readers
upgrading at once) and use ``executemany`` over row tuples built from numpy columns; sqlite3's
statement cache reuses the prepared statements (the SQL strings are built once per table).

Durability: ``synchronous=NORMAL`` in WAL mode. A commit appends to the WAL without an fsync;
the WAL is synced at checkpoints. A committed transaction survives a crash or kill of the
process (the OS has the pages), which is what the broker's journal needs: an order's intent is
written before it is sent. Only a power loss or OS crash can lose the last transactions
(never corrupt the database); ``FULL`` would fsync on every commit to cover that too.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from tradeterm.errors import StoreError
from tradeterm.market.frame import CandleFrame
from tradeterm.store import candles as candle_rows
from tradeterm.store.base import SqlStore, T, TxBody, now_ms
from tradeterm.store.migrations import AppliedMigration, Migration
from tradeterm.store.rows import Row
from tradeterm.store.schema import CANDLES, Table
from tradeterm.store.sqlgen import SQLITE, insert_values_sql
from tradeterm.store.url import StoreURL

_MIN_VERSION = (3, 24, 0)  # upsert (INSERT … ON CONFLICT DO UPDATE)
_BUSY_TIMEOUT_S = 10.0
_PRAGMAS = (
    "PRAGMA synchronous=NORMAL",  # see the module docstring: durable against a process crash
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}",
)
_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
    "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)"
)

# Job priorities on the database thread (lower runs first; FIFO within one priority).
SMALL = 0  # writes without candles: decisions, order updates, fills, audit, journal
READ = 1
BULK = 2  # transactions carrying candles
_LAST = 9  # closing: after everything queued
# A bulk write commits in transactions of at most this many rows; a small write queued behind it
# waits for one chunk, not the whole burst of candles and analysis events.
BULK_CHUNK_ROWS = 32


class _Chunks:
    """A job of several transactions run one per turn of the queue; its result is the sum."""

    def __init__(self, jobs: Sequence[Callable[[sqlite3.Connection], int]]) -> None:
        self.jobs = jobs
        self.next = 0
        self.total = 0

    def __call__(self, conn: sqlite3.Connection) -> bool:
        """Run the next transaction; True when none is left."""
        self.total += self.jobs[self.next](conn)
        self.next += 1
        return self.next >= len(self.jobs)


def _settle(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.done():  # the caller was cancelled; the job ran (and committed or rolled back) anyway
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class _Worker:
    """One sqlite3 connection and the one thread that uses it. ``run`` queues a function of the
    connection; once queued it runs whole whatever happens to the awaiting task."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Any, Any]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._loop, name="tradeterm-sqlite", daemon=True)
        self.conn: sqlite3.Connection | None = None
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while True:
            priority, seq, item, fn = self._queue.get()
            if fn is None:
                return
            loop, fut = item
            value: Any
            try:
                result = fn(self.conn)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                ok, value = False, exc
            else:
                ok, value = True, result
                if isinstance(fn, _Chunks):
                    if not result:  # more to do: back in the queue at its place, behind small jobs
                        self._queue.put((priority, seq, item, fn))
                        continue
                    value = fn.total
            try:
                loop.call_soon_threadsafe(_settle, fut, ok, value)
            except RuntimeError:  # the event loop is closed: nobody is waiting
                pass

    async def run(self, fn: Callable[[sqlite3.Connection], T], priority: int = READ) -> T:
        if self._stopped:
            raise StoreError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((priority, next(self._seq), (loop, fut), fn))
        return await fut

    async def run_chunks(self, jobs: Sequence[Callable[[sqlite3.Connection], int]], priority: int = BULK) -> int:
        """Run ``jobs`` (transactions) in order, letting higher-priority jobs in between them;
        the sum of their results. Like ``run``, once queued they all run whatever happens to
        the awaiting task, unless one fails: the rest are dropped and the caller gets the error."""
        if not jobs:
            return 0
        return await self.run(_Chunks(jobs), priority)  # type: ignore[arg-type]

    async def stop(self) -> None:
        """Run what is queued, close the connection, end the thread."""
        if self._stopped:
            return

        def close(conn: sqlite3.Connection | None) -> None:
            if conn is not None:
                conn.close()
            self.conn = None

        try:
            await self.run(close, _LAST)
        finally:
            self._stopped = True
            self._queue.put((_LAST, next(self._seq), None, None))
            await asyncio.to_thread(self._thread.join, 10)


class _SqliteTx:
    """The connection, on the database thread. The methods are coroutines only to share the
    ``Tx`` interface with Postgres: they never suspend, so a transaction body built from them
    is run to completion on the thread by ``_drive``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(args)).rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    async def executemany_count(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """sqlite3 sums the changes over all rows; an upsert whose WHERE is false counts 0."""
        return max(self._conn.executemany(sql, rows).rowcount, 0)

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return self._conn.execute(sql, tuple(args)).fetchall()

    async def insert_id(self, sql: str, args: Sequence[Any], id_col: str) -> int:
        rowid = self._conn.execute(sql, tuple(args)).lastrowid
        assert rowid is not None
        return rowid


def _drive(body: TxBody[T], conn: sqlite3.Connection) -> T:
    """Run a transaction body's coroutine to its end on this thread (it must not suspend)."""
    coro = body(_SqliteTx(conn))
    try:
        coro.send(None)  # type: ignore[attr-defined]
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()  # type: ignore[attr-defined]
    raise RuntimeError("a SQLite transaction body awaited something other than the connection")


def _transaction(body: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    """BEGIN IMMEDIATE … COMMIT as one job; ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


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
    def __init__(self, worker: _Worker, path: str) -> None:
        self._worker = worker
        self._path = path

    async def applied(self) -> list[AppliedMigration]:
        def job(conn: sqlite3.Connection) -> list[Any]:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchall()
            if not exists:
                return []
            return conn.execute(
                "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
            ).fetchall()

        rows = await self._worker.run(job, SMALL)
        return [AppliedMigration(int(v), n, c, int(a)) for v, n, c, a in rows]

    async def apply(self, migration: Migration) -> bool:
        # IMMEDIATE: another process migrating the same file makes us wait here, and then we
        # find its row below instead of re-running its DDL. One job, like every transaction.
        def body(conn: sqlite3.Connection) -> bool:
            conn.execute(_MIGRATIONS_DDL)
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchall()
            if done:
                return False
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, ?)",
                (migration.version, migration.name, migration.checksum, now_ms()),
            )
            return True

        try:
            return await self._worker.run(partial(_transaction, body), SMALL)
        except sqlite3.Error as exc:
            raise StoreError(f"migration {migration.label} failed on {self._path}: {exc}") from exc

    async def timescale(self) -> bool | None:
        return None


def _fetchall(sql: str, conn: sqlite3.Connection) -> list[Any]:
    return conn.execute(sql).fetchall()


async def _enable_wal(worker: _Worker) -> None:
    """Switch the file to WAL (a persistent setting, so usually already done). Changing the
    journal mode answers "database is locked" at once, without waiting for the busy timeout, when
    another connection has the file open at that moment (several processes opening a new
    database together), so it is retried here for as long as the busy timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        rows = await worker.run(partial(_fetchall, "PRAGMA journal_mode"))
        if rows and str(rows[0][0]).lower() in ("wal", "memory"):
            return
        try:
            await worker.run(partial(_fetchall, "PRAGMA journal_mode=WAL"))
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
        self._worker: _Worker | None = None
        self._upsert_sql: dict[tuple[str, str | None], str] = {}

    @property
    def path(self) -> str:
        return self._url.target

    async def connect(self) -> None:
        if self._worker is not None:
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
        worker = _Worker()
        worker.start()

        def open_conn(_: None) -> None:
            worker.conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=_BUSY_TIMEOUT_S, check_same_thread=False
            )

        try:
            await worker.run(open_conn)  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            await worker.stop()
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from None
        try:
            for pragma in _PRAGMAS:
                await worker.run(partial(_fetchall, pragma))
            await _enable_wal(worker)
            # Fail now, with the path in the message, if the file is read-only or not a database.
            await worker.run(partial(_transaction, lambda conn: None))
        except sqlite3.Error as exc:
            await worker.stop()
            raise StoreError(f"cannot use SQLite database {self.path}: {exc}") from None
        except BaseException:
            await worker.stop()
            raise
        self._worker = worker

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.stop()

    def _require(self) -> _Worker:
        if self._worker is None:
            raise StoreError(f"the store {self.url} is not open")
        return self._worker

    @asynccontextmanager
    async def migrator(self) -> AsyncIterator[_SqliteMigrator]:
        yield _SqliteMigrator(self._require(), self.path)

    async def _transact(self, body: TxBody[T], *, bulk: bool = False) -> T:
        worker = self._require()
        job = partial(_transaction, partial(_drive, body))
        try:
            return await worker.run(job, BULK if bulk else SMALL)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    async def _write_bulk(
        self,
        body: TxBody[int],
        tables: Sequence[tuple[Table, list[Row]]],
        groups: Sequence[tuple[int, CandleFrame, bool]],
    ) -> int:
        """The rows in transactions of ``BULK_CHUNK_ROWS``, with small writes let in between. A
        failure leaves the chunks before it committed; they are upserts, so a retry of the whole
        batch rewrites them harmlessly, and a crash leaves what a crash one batch earlier would."""
        n = BULK_CHUNK_ROWS
        bodies: list[TxBody[int]] = []
        for table, rows in tables:
            bodies += [partial(self._upsert, table=table, rows=rows[i:i + n]) for i in range(0, len(rows), n)]
        for series_id, frame, closed in groups:
            bodies += [partial(self._upsert_frame, series_id=series_id, frame=frame.slice(i, i + n), closed=closed)
                       for i in range(0, len(frame), n)]
        jobs = [partial(_transaction, partial(_drive, b)) for b in bodies]
        try:
            return await self._require().run_chunks(jobs, BULK)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        worker = self._require()
        args = tuple(args)
        try:
            return await worker.run(lambda conn: conn.execute(sql, args).fetchall(), READ)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[_SqliteReader]:
        yield _SqliteReader(self)

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
        rows = await self._fetch(sql, args)
        names = candle_rows.FRAME_COLUMNS
        columns = list(zip(*rows)) if rows else [() for _ in names]
        return {
            name: np.array(col, dtype=np.int64 if name in ("open_time", "trades") else np.float64)
            for name, col in zip(names, columns)
        }


class _SqliteReader:
    """Reads outside a transaction: each query is one job on the database thread."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return await self._store._fetch(sql, args)

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        raise TypeError("writes go through a transaction")

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise TypeError("writes go through a transaction")

    async def insert_id(self, sql: str, args: Sequence[Any], id_col: str) -> int:
        raise TypeError("writes go through a transaction")
