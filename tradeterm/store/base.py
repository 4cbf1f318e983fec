"""What both backends share: the whole Store API written once over a few primitives (a
transaction, a query, a bulk upsert, the candle fast path) that each backend implements.
Keeping one implementation is what makes "both backends pass the same suite" cheap to keep true."""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import numpy as np

from tradeterm.contracts import CandleV1, Contract, OrderUpdateV1, Timeframe
from tradeterm.market.frame import CandleFrame
from tradeterm.store import candles as candle_rows
from tradeterm.store import schema
from tradeterm.store.migrations import Migrator, ensure_schema
from tradeterm.store.records import (
    AuditEntry,
    Fill,
    JournalNote,
    OrderList,
    PaperStateRow,
    Position,
    Record,
    TradeRecord,
)
from tradeterm.store.rows import (
    OPEN_STATUSES,
    Route,
    Row,
    dedupe,
    route_for,
    route_for_type,
    routes_for_topic,
)
from tradeterm.store.sqlgen import Dialect, Where, q, select_sql
from tradeterm.store.url import StoreURL

_VENUE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")
Series = tuple[str, str, str]
T = TypeVar("T")
TxBody = Callable[["Tx"], Awaitable[T]]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Tx(Protocol):
    """A connection inside a transaction (or, for reads, just a connection)."""

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it affected."""

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]: ...

    async def insert_id(self, sql: str, args: Sequence[Any], id_col: str) -> int:
        """Run an INSERT and return the generated ``id_col`` of the new row."""


class SqlStore(ABC):
    """Base of ``SqliteStore`` and ``PostgresStore``; see ``protocol.Store`` for the contract."""

    dialect: str
    sql: Dialect

    def __init__(self, url: StoreURL, *, auto_migrate: bool = True) -> None:
        self._url = url
        self._auto_migrate = auto_migrate
        self._series: dict[Series, int] = {}

    @property
    def url(self) -> str:
        return self._url.redacted

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- backend primitives ------------------------------------------------------------------
    @abstractmethod
    async def connect(self) -> None:
        """Open the connection(s) only; ``open()`` adds the schema step."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def migrator(self) -> AbstractAsyncContextManager[Migrator]: ...

    @abstractmethod
    async def _transact(self, body: TxBody[T], *, bulk: bool = False) -> T:
        """Run ``body(tx)`` as one write transaction: committed when it returns, rolled back when
        it raises. The unit cannot be torn by cancelling the caller: a cancelled caller gets
        ``CancelledError`` at once while the transaction runs on to its commit (or rollback), so
        the connection is never left inside it and the write is wholly in or wholly out.

        ``body`` must await nothing but ``tx`` methods and ``self._upsert*`` (the SQLite backend
        runs it to completion on its database thread in one hop). ``bulk`` marks a transaction
        carrying candles, which may wait behind small ones (orders, decisions, audit)."""

    @abstractmethod
    def _reader(self) -> AbstractAsyncContextManager[Tx]: ...

    @abstractmethod
    async def _upsert(
        self, tx: Tx, table: schema.Table, rows: list[Row], guard: str | None = None
    ) -> int:
        """Upsert already-deduplicated rows; returns rows inserted or changed."""

    @abstractmethod
    async def _upsert_frame(
        self, tx: Tx, series_id: int, frame: CandleFrame, closed: bool
    ) -> int: ...

    @abstractmethod
    async def _candle_columns(self, sql: str, args: Sequence[Any]) -> dict[str, np.ndarray]:
        """Run a candle query selecting ``candles.FRAME_COLUMNS`` and return numpy columns."""

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        await self.connect()
        try:
            await ensure_schema(self, auto_migrate=self._auto_migrate)
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- candles -----------------------------------------------------------------------------
    async def upsert_candles(self, frame: CandleFrame, venue: str, closed: bool = True) -> int:
        if len(frame) == 0:
            return 0
        frame = candle_rows.prepare(frame)
        series_id = await self._series_id(venue, frame.symbol, frame.tf.value, create=True)
        assert series_id is not None  # create=True always yields an id

        async def body(tx: Tx) -> int:
            return await self._upsert_frame(tx, series_id, frame, closed)

        return await self._transact(body, bulk=True)

    async def upsert_candle_events(self, candles: Sequence[CandleV1]) -> int:
        return await self.write(candles)

    async def fetch_candles(
        self,
        venue: str,
        symbol: str,
        tf: Timeframe | str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        *,
        closed_only: bool = False,
    ) -> CandleFrame | None:
        tf = Timeframe(tf)
        series_id = await self._series_id(venue, symbol.upper(), tf.value, create=False)
        if series_id is None:
            return None
        where = self._candle_where(series_id, start_ms, end_ms, closed_only)
        latest = limit is not None and start_ms is None
        cols = ", ".join(q(c) for c in candle_rows.FRAME_COLUMNS)
        order = "DESC" if latest else "ASC"
        sql = (
            f"SELECT {cols} FROM candles{where.sql} ORDER BY open_time {order}{where.limit(limit)}"
        )
        columns = await self._candle_columns(sql, where.args)
        if len(columns["open_time"]) == 0:
            return None
        if latest:
            columns = {name: col[::-1].copy() for name, col in columns.items()}
        return candle_rows.frame_from_columns(symbol, tf, columns)

    async def candle_count(
        self,
        venue: str,
        symbol: str,
        tf: Timeframe | str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> int:
        series_id = await self._series_id(venue, symbol.upper(), Timeframe(tf).value, create=False)
        if series_id is None:
            return 0
        where = self._candle_where(series_id, start_ms, end_ms, closed_only=False)
        async with self._reader() as r:
            rows = await r.fetch(f"SELECT count(*) FROM candles{where.sql}", where.args)
        return int(rows[0][0])

    async def list_series(self) -> list[tuple[str, str, str, int, int | None, int | None]]:
        sql = (
            "SELECT s.venue, s.symbol, s.tf, count(c.open_time), min(c.open_time), max(c.open_time) "
            "FROM candle_series s LEFT JOIN candles c ON c.series_id = s.series_id "
            "GROUP BY s.series_id, s.venue, s.symbol, s.tf ORDER BY s.venue, s.symbol, s.tf"
        )
        async with self._reader() as r:
            rows = await r.fetch(sql)
        return [(v, s, tf, int(n), lo, hi) for v, s, tf, n, lo, hi in rows]

    def _candle_where(
        self, series_id: int, start_ms: int | None, end_ms: int | None, closed_only: bool
    ) -> Where:
        where = Where.new(self.sql).add("series_id", "=", series_id)
        where.add("open_time", ">=", None if start_ms is None else int(start_ms))
        where.add("open_time", "<", None if end_ms is None else int(end_ms))
        if closed_only:
            where.add("closed", "=", self.sql.encode("bool", True))
        return where

    async def _series_id(self, venue: str, symbol: str, tf: str, *, create: bool) -> int | None:
        """The id of a candle series, created in its own short transaction when asked: never
        inside a data transaction, whose rollback would leave a cached id pointing nowhere."""
        key = (venue, symbol, tf)
        cached = self._series.get(key)
        if cached is not None:
            return cached
        if not _VENUE_RE.match(venue):
            raise ValueError(
                f"venue {venue!r} must be lowercase letters, digits, '-' or '_' (like binance-spot)"
            )
        where = (
            Where.new(self.sql)
            .add("venue", "=", venue)
            .add("symbol", "=", symbol)
            .add("tf", "=", tf)
        )
        select = f"SELECT series_id FROM candle_series{where.sql}"
        async with self._reader() as r:
            rows = await r.fetch(select, where.args)
        if not rows and create:
            p = self.sql.ph

            async def body(tx: Tx) -> list[Sequence[Any]]:
                await tx.execute(
                    f"INSERT INTO candle_series (venue, symbol, tf) VALUES ({p(1)}, {p(2)}, {p(3)}) "
                    "ON CONFLICT (venue, symbol, tf) DO NOTHING",
                    key,
                )
                return await tx.fetch(select, where.args)

            rows = await self._transact(body)
        if not rows:
            return None
        self._series[key] = int(rows[0][0])
        return self._series[key]

    # -- events and records ------------------------------------------------------------------
    async def write(self, items: Sequence[Contract | Record], *, bulk: bool | None = None) -> int:
        batches: dict[str, tuple[schema.Table, list[Row]]] = {}
        candle_events: list[CandleV1] = []
        for item in items:
            if isinstance(item, CandleV1):
                candle_events.append(item)
                continue
            route = route_for(item)
            batches.setdefault(route.table.name, (route.table, []))[1].append(route.dump(item))
        groups = []
        for venue, closed, frame in candle_rows.group_events(candle_events):
            frame = candle_rows.prepare(frame)
            series_id = await self._series_id(venue, frame.symbol, frame.tf.value, create=True)
            assert series_id is not None  # create=True always yields an id
            groups.append((series_id, frame, closed))
        if not batches and not groups:
            return 0
        tables = [(table, dedupe(table, rows)) for table, rows in batches.values()]

        async def body(tx: Tx) -> int:
            changed = 0
            for table, rows in tables:
                changed += await self._upsert(tx, table, rows)
            for series_id, frame, closed in groups:
                changed += await self._upsert_frame(tx, series_id, frame, closed)
            return changed

        if bulk is None:
            bulk = bool(groups)
        if bulk:
            return await self._write_bulk(body, tables, groups)
        return await self._transact(body)

    async def _write_bulk(
        self,
        body: TxBody[int],
        tables: Sequence[tuple[schema.Table, list[Row]]],
        groups: Sequence[tuple[int, CandleFrame, bool]],
    ) -> int:
        """Write idempotent upserts (candles, analysis events) that may wait behind small
        writes. This default is ``body`` as one transaction; SQLite splits the rows into chunks
        so that small writes get in between them (Postgres has a pool: nothing to jump)."""
        return await self._transact(body, bulk=True)

    async def read(
        self,
        topic: str,
        *,
        venue: str | None = None,
        symbol: str | None = None,
        tf: Timeframe | str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Contract]:
        routes = routes_for_topic(topic)
        out: list[Contract] = []
        for route in routes:
            names = route.table.names
            where = Where.new(self.sql)
            if route.table is schema.EVENTS:
                where.add("topic", "=", topic)
            if "venue" in names:
                where.add("venue", "=", venue)
            if "symbol" in names:
                where.add("symbol", "=", symbol.upper() if symbol else None)
            if "tf" in names:
                where.add("tf", "=", Timeframe(tf).value if tf else None)
            if route.table.time_col:
                where.add(route.table.time_col, ">=", start_ms).add(
                    route.table.time_col, "<", end_ms
                )
            out.extend(await self._select(route, where, limit))
        if len(routes) > 1:
            order = routes[0].table.order_by
            out.sort(key=lambda e: tuple(getattr(e, c) for c in order))
            out = out[:limit] if limit is not None else out
        return out

    async def get_order(self, client_order_id: str) -> OrderUpdateV1 | None:
        where = Where.new(self.sql).add("client_order_id", "=", client_order_id)
        found = await self._select(route_for_type(OrderUpdateV1), where)
        return found[0] if found else None

    async def list_orders(
        self,
        *,
        open_only: bool = False,
        venue: str | None = None,
        symbol: str | None = None,
        decision_id: str | None = None,
    ) -> list[OrderUpdateV1]:
        where = (
            Where.new(self.sql)
            .add("venue", "=", venue)
            .add("symbol", "=", symbol and symbol.upper())
        )
        where.add("decision_id", "=", decision_id)
        if open_only:
            where.add_in("status", OPEN_STATUSES)
        return await self._select(route_for_type(OrderUpdateV1), where)

    async def get_order_list(self, list_id: str) -> OrderList | None:
        found = await self._select(
            route_for_type(OrderList), Where.new(self.sql).add("list_id", "=", list_id)
        )
        return found[0] if found else None

    async def list_fills(
        self,
        *,
        client_order_id: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
    ) -> list[Fill]:
        where = (
            Where.new(self.sql)
            .add("client_order_id", "=", client_order_id)
            .add("venue", "=", venue)
        )
        where.add("symbol", "=", symbol and symbol.upper())
        return await self._select(route_for_type(Fill), where)

    async def list_positions(
        self, *, venue: str | None = None, open_only: bool = True
    ) -> list[Position]:
        positions: list[Position] = await self._select(
            route_for_type(Position), Where.new(self.sql).add("venue", "=", venue)
        )
        # Quantities are exact decimals (TEXT on SQLite), so "is it zero" is decided in Python.
        return [p for p in positions if p.is_open] if open_only else positions

    async def list_trades(
        self,
        *,
        venue: str | None = None,
        symbol: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[TradeRecord]:
        where = (
            Where.new(self.sql)
            .add("venue", "=", venue)
            .add("symbol", "=", symbol and symbol.upper())
        )
        where.add("opened_at", ">=", start_ms).add("opened_at", "<", end_ms)
        return await self._select(route_for_type(TradeRecord), where)

    # -- paper account -----------------------------------------------------------------------
    async def load_paper_state(self, venue: str) -> list[PaperStateRow]:
        """Every stored piece of the paper account ``venue``, oldest write first."""
        where = Where.new(self.sql).add("venue", "=", venue)
        return await self._select(route_for_type(PaperStateRow), where)

    async def reset_paper_state(self, venue: str) -> int:
        """Forget the paper account ``venue`` (its next start is a fresh account); returns the
        rows deleted. The journal (decisions, orders, fills) is kept: it is history."""
        p = self.sql.ph

        async def body(tx: Tx) -> int:
            return await tx.execute(f"DELETE FROM paper_state WHERE venue = {p(1)}", (venue,))

        return await self._transact(body)

    async def _select(self, route: Route, where: Where, limit: int | None = None) -> list[Any]:
        table = route.table
        sql = select_sql(table, where, limit)
        async with self._reader() as r:
            rows = await r.fetch(sql, where.args)
        decode = self.sql.decode
        return [
            route.load({n: decode(k, v) for (n, k), v in zip(table.columns, row)}) for row in rows
        ]

    # -- journal and audit -------------------------------------------------------------------
    async def add_journal_note(
        self,
        body: str,
        *,
        trade_id: str | None = None,
        tags: Sequence[str] = (),
        at_ms: int | None = None,
    ) -> int:
        body = body.strip()
        if not body:
            raise ValueError("a journal note needs some text")
        clean = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
        p = self.sql.ph
        created = now_ms() if at_ms is None else int(at_ms)

        async def tx_body(tx: Tx) -> int:
            note_id = await tx.insert_id(
                f"INSERT INTO journal (trade_id, created_at, body) VALUES ({p(1)}, {p(2)}, {p(3)})",
                (trade_id, created, body),
                "note_id",
            )
            if clean:
                await tx.executemany(
                    f"INSERT INTO journal_tags (note_id, tag, pos) VALUES ({p(1)}, {p(2)}, {p(3)})",
                    [(note_id, tag, i) for i, tag in enumerate(clean)],
                )
            return note_id

        return await self._transact(tx_body)

    async def list_journal(
        self, *, trade_id: str | None = None, tag: str | None = None
    ) -> list[JournalNote]:
        where = Where.new(self.sql).add("j.trade_id", "=", trade_id)
        if tag is not None:
            where.raw("j.note_id IN (SELECT note_id FROM journal_tags WHERE tag = {})", tag)
        sql = (
            "SELECT j.note_id, j.trade_id, j.created_at, j.body, t.tag FROM journal j "
            f"LEFT JOIN journal_tags t ON t.note_id = j.note_id{where.sql} "
            "ORDER BY j.created_at, j.note_id, t.pos"
        )
        async with self._reader() as r:
            rows = await r.fetch(sql, where.args)
        notes: dict[int, JournalNote] = {}
        for note_id, trade, created, body, tag_value in rows:
            note = notes.get(note_id) or JournalNote(int(note_id), trade, int(created), body)
            notes[note_id] = (
                note
                if tag_value is None
                else JournalNote(
                    note.note_id, note.trade_id, note.created_at, note.body, (*note.tags, tag_value)
                )
            )
        return list(notes.values())

    async def append_audit(
        self,
        kind: str,
        message: str,
        data: Mapping[str, Any] | None = None,
        *,
        at_ms: int | None = None,
    ) -> int:
        p = self.sql.ph
        payload = self.sql.encode("json", dict(data or {}))
        args = (now_ms() if at_ms is None else int(at_ms), kind, message, payload)

        async def body(tx: Tx) -> int:
            return await tx.insert_id(
                f"INSERT INTO audit_log (at, kind, message, data) VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)})",
                args,
                "audit_id",
            )

        return await self._transact(body)

    async def list_audit(
        self, *, kind: str | None = None, since_ms: int | None = None, limit: int | None = 100
    ) -> list[AuditEntry]:
        where = Where.new(self.sql).add("kind", "=", kind).add("at", ">=", since_ms)
        sql = f"SELECT audit_id, at, kind, message, data FROM audit_log{where.sql} ORDER BY at DESC, audit_id DESC"
        sql += where.limit(limit)
        async with self._reader() as r:
            rows = await r.fetch(sql, where.args)
        decode = self.sql.decode
        return [AuditEntry(int(i), int(at), k, m, decode("json", d)) for i, at, k, m, d in rows]
