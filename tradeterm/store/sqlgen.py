"""SQL text and value conversion for the two dialects, generated from ``schema.Table``.

The generated upserts are the heart of idempotency: a conflicting row is only rewritten when a
value actually differs (``policy="update"``) or when the incoming state is newer
(``policy="newer"``), so re-writing the same data leaves every row, and on Postgres every row
version (``xmin``), as it was. Identifiers are always quoted: ``open``, ``close``, ``time`` are
keywords somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson

from tradeterm.store.schema import Kind, Table


def q(name: str) -> str:
    return f'"{name}"'


def _col(column: str) -> str:
    return q(column) if column.isidentifier() else column


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot store {type(value).__name__} in a JSON column")


def dumps_json(value: Any) -> str:
    """Sorted keys so the same dict always gives the same text (SQLite compares JSON as text)."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True, slots=True)
class Dialect:
    name: Literal["sqlite", "postgres"]

    @property
    def distinct(self) -> str:
        # SQLite has IS DISTINCT FROM only since 3.39; IS NOT means the same and is older.
        return "IS NOT" if self.name == "sqlite" else "IS DISTINCT FROM"

    def ph(self, i: int) -> str:
        """Placeholder for the 1-based parameter ``i``."""
        return "?" if self.name == "sqlite" else f"${i}"

    def encode(self, kind: Kind, value: Any) -> Any:
        if value is None:
            return None
        if kind == "dec":
            d = value if isinstance(value, Decimal) else Decimal(str(value))
            return format(d, "f") if self.name == "sqlite" else d
        if kind == "json":
            return dumps_json(value)
        if kind == "bool":
            return int(bool(value)) if self.name == "sqlite" else bool(value)
        if kind == "text":
            return value if type(value) is str else str(value)
        if kind == "int":
            return int(value)
        return float(value)

    def decode(self, kind: Kind, value: Any) -> Any:
        if value is None:
            return None
        if kind == "dec":
            return value if isinstance(value, Decimal) else Decimal(value)
        if kind == "json":
            return orjson.loads(value)
        if kind == "bool":
            return bool(value)
        return value


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgres")

_PG_ARRAY_TYPES: dict[Kind, str] = {
    "int": "bigint",
    "float": "float8",
    "text": "text",
    "dec": "numeric",
    "bool": "boolean",
    "json": "text",
}


def conflict_clause(table: Table, dialect: Dialect, guard: str | None = None) -> str:
    """``ON CONFLICT …`` for the table's policy. ``guard`` is an extra condition on the update
    written with ``{old}`` / ``{new}`` for the existing and incoming row."""
    target = f"ON CONFLICT ({', '.join(q(k) for k in table.key)})"
    if table.policy == "ignore":
        return f"{target} DO NOTHING"
    old, new = q(table.name), "excluded"
    sets = ", ".join(f"{q(c)} = {new}.{q(c)}" for c in table.non_key)
    if table.policy == "newer":
        cols = table.newer
        cond = f"({', '.join(f'{new}.{q(c)}' for c in cols)}) > ({', '.join(f'{old}.{q(c)}' for c in cols)})"
    else:
        cols = table.non_key
        olds = ", ".join(f"{old}.{q(c)}" for c in cols)
        news = ", ".join(f"{new}.{q(c)}" for c in cols)
        cond = f"({olds}) {dialect.distinct} ({news})"
    if guard:
        cond = f"{cond} AND ({guard.format(old=old, new=new)})"
    return f"{target} DO UPDATE SET {sets} WHERE {cond}"


def insert_values_sql(table: Table, dialect: Dialect, guard: str | None = None) -> str:
    """One-row upsert with placeholders, for ``executemany``."""
    cols = ", ".join(q(c) for c in table.names)
    phs = ", ".join(dialect.ph(i) for i in range(1, len(table.names) + 1))
    return f"INSERT INTO {q(table.name)} ({cols}) VALUES ({phs}) {conflict_clause(table, dialect, guard)}"


def insert_unnest_sql(table: Table, guard: str | None = None) -> str:
    """Postgres multi-row upsert taking one array per column: one statement for a whole batch,
    whose status line says how many rows it inserted or changed."""
    cols = ", ".join(q(c) for c in table.names)
    arrays = ", ".join(f"${i}::{_PG_ARRAY_TYPES[k]}[]" for i, k in enumerate(table.kinds, 1))
    picks = ", ".join(f"u.{q(c)}::jsonb" if k == "json" else f"u.{q(c)}" for c, k in table.columns)
    return (
        f"INSERT INTO {q(table.name)} ({cols}) SELECT {picks} FROM unnest({arrays}) AS u({cols}) "
        f"{conflict_clause(table, POSTGRES, guard)}"
    )


@dataclass
class Where:
    """Accumulates ``AND``-ed conditions and their arguments with the right placeholders."""

    dialect: Dialect
    parts: list[str]
    args: list[Any]

    @classmethod
    def new(cls, dialect: Dialect) -> Where:
        return cls(dialect, [], [])

    def add(self, column: str, op: str, value: Any) -> Where:
        """``column op value``, skipped when ``value`` is None (an absent filter). A qualified
        column (``j.trade_id``) is used as written, a bare one is quoted."""
        if value is not None:
            self.args.append(value)
            self.parts.append(f"{_col(column)} {op} {self.dialect.ph(len(self.args))}")
        return self

    def add_in(self, column: str, values: Sequence[Any]) -> Where:
        phs = []
        for v in values:
            self.args.append(v)
            phs.append(self.dialect.ph(len(self.args)))
        self.parts.append(f"{_col(column)} IN ({', '.join(phs)})")
        return self

    def raw(self, sql: str, *values: Any) -> Where:
        """A condition with ``{}`` for each value's placeholder."""
        phs = []
        for v in values:
            self.args.append(v)
            phs.append(self.dialect.ph(len(self.args)))
        self.parts.append(sql.format(*phs))
        return self

    def limit(self, n: int | None) -> str:
        if n is None:
            return ""
        self.args.append(int(n))
        return f" LIMIT {self.dialect.ph(len(self.args))}"

    @property
    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.parts)}" if self.parts else ""


def select_sql(
    table: Table, where: Where, limit: int | None = None, descending: bool = False
) -> str:
    cols = ", ".join(q(c) for c in table.names)
    direction = " DESC" if descending else ""
    order = ", ".join(f"{q(c)}{direction}" for c in (table.order_by or table.key))
    return f"SELECT {cols} FROM {q(table.name)}{where.sql} ORDER BY {order}{where.limit(limit)}"
