"""Storage: one ``Store`` protocol, an SQLite backend (the embedded default) and a Postgres
backend, the same schema and the same tests for both. Start at :func:`create_store`."""

from tradeterm.store.factory import create_store
from tradeterm.store.migrations import MigrationStatus, migrate, status
from tradeterm.store.protocol import Store
from tradeterm.store.records import (
    AuditEntry,
    Fill,
    JournalNote,
    OrderList,
    PaperStateRow,
    Position,
    TradeRecord,
)
from tradeterm.store.url import redact

__all__ = [
    "AuditEntry",
    "Fill",
    "JournalNote",
    "MigrationStatus",
    "OrderList",
    "PaperStateRow",
    "Position",
    "Store",
    "TradeRecord",
    "create_store",
    "migrate",
    "redact",
    "status",
]
