"""The ``Store`` protocol: what the pipeline, the broker, the journal and the UI may ask of the
database, whichever backend is behind it. Code outside ``tradeterm.store`` types against this,
never against ``SqliteStore``/``PostgresStore``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from tradeterm.contracts import CandleV1, Contract, OrderUpdateV1, Timeframe
from tradeterm.market.frame import CandleFrame
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


@runtime_checkable
class Store(Protocol):
    """An open database. Every write is an idempotent upsert in one transaction: writing the same
    thing twice leaves the tables exactly as after the first write, and methods that write return
    how many rows they inserted or changed (0 for a pure re-write)."""

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgres"``."""

    @property
    def url(self) -> str:
        """The URL with any password redacted: safe for logs and messages."""

    async def open(self) -> None:
        """Connect and bring the schema up to date (or refuse a schema this code cannot use)."""

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    # -- candles -----------------------------------------------------------------------------
    async def upsert_candles(self, frame: CandleFrame, venue: str, closed: bool = True) -> int:
        """Bulk path for loaders and backfill; rows with equal ``open_time`` keep the last."""

    async def upsert_candle_events(self, candles: Sequence[CandleV1]) -> int:
        """Candles from the stream; an open candle never overwrites a closed one."""

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
        """Candles with ``start_ms <= open_time < end_ms``, ascending; ``None`` if there are none.
        With ``limit`` and no ``start_ms`` the *latest* ``limit`` candles are returned."""

    async def candle_count(
        self,
        venue: str,
        symbol: str,
        tf: Timeframe | str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> int: ...

    async def list_series(self) -> list[tuple[str, str, str, int, int | None, int | None]]:
        """Stored candle series: (venue, symbol, tf, count, first open_time, last open_time)."""

    # -- events and trading records ---------------------------------------------------------
    async def write(self, items: Sequence[Contract | Record], *, bulk: bool | None = None) -> int:
        """Route each v1 contract (and fills, positions, trades, order lists) to its table, all
        in one transaction, so an order update and its fill land together or not at all.

        ``bulk=True`` lets the write wait behind small ones (the order path's); ``None`` decides
        by content: candles, or more than a few dozen rows, are bulk."""

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
        """Stored events of a topic (e.g. ``"zones.v1"``), oldest first; the time filter applies
        to the event's own time (bar time, ``created_at``, ``event_time``…)."""

    async def get_order(self, client_order_id: str) -> OrderUpdateV1 | None:
        """The newest known state of an order."""

    async def list_orders(
        self,
        *,
        open_only: bool = False,
        venue: str | None = None,
        symbol: str | None = None,
        decision_id: str | None = None,
    ) -> list[OrderUpdateV1]: ...

    async def get_order_list(self, list_id: str) -> OrderList | None: ...

    async def list_fills(
        self,
        *,
        client_order_id: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
    ) -> list[Fill]: ...

    async def list_positions(
        self, *, venue: str | None = None, open_only: bool = True
    ) -> list[Position]: ...

    async def list_trades(
        self,
        *,
        venue: str | None = None,
        symbol: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[TradeRecord]: ...

    # -- paper account (its matching-engine state; written with ``write``) ---------------------
    async def load_paper_state(self, venue: str) -> list[PaperStateRow]:
        """Every stored piece of the paper account ``venue``, oldest write first."""

    async def reset_paper_state(self, venue: str) -> int:
        """Forget the paper account ``venue``; returns the rows deleted (the journal stays)."""

    # -- journal and audit ------------------------------------------------------------------
    async def add_journal_note(
        self,
        body: str,
        *,
        trade_id: str | None = None,
        tags: Sequence[str] = (),
        at_ms: int | None = None,
    ) -> int:
        """Append a note (returns its id). Notes are not upserts: two equal notes are two notes."""

    async def list_journal(
        self, *, trade_id: str | None = None, tag: str | None = None
    ) -> list[JournalNote]: ...

    async def append_audit(
        self,
        kind: str,
        message: str,
        data: Mapping[str, Any] | None = None,
        *,
        at_ms: int | None = None,
    ) -> int:
        """Append to the audit log (returns its id); never put secrets in ``data``."""

    async def list_audit(
        self, *, kind: str | None = None, since_ms: int | None = None, limit: int | None = 100
    ) -> list[AuditEntry]:
        """Newest first."""
