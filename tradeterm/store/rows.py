"""Which table each stored thing goes to, and how it becomes a row and comes back.

Rows here are dicts of plain Python values (Decimal, int, float, str, bool, lists/dicts for JSON
columns); turning them into driver values is the backend's job (see ``sqlgen.Codec``). Both
backends share this module, which is what keeps them storing the same thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradeterm.contracts import (
    CONTRACTS,
    Contract,
    DecisionV1,
    FeaturesV1,
    FundingWindowV1,
    NewsWindowV1,
    OrderStatus,
    OrderUpdateV1,
    RegimeV1,
    SignalRawV1,
    SmcEventKind,
    SmcEventV1,
    ZoneV1,
)
from tradeterm.store import schema
from tradeterm.store.records import Fill, OrderList, PaperStateRow, Position, TradeRecord
from tradeterm.store.schema import Table

Row = dict[str, Any]

# Ties on (sequence, event_time) are broken by how far along the lifecycle a status is, so two
# updates stamped in the same millisecond (NEW and FILLED of a market order) settle on FILLED
# whatever order they arrive in.
STATUS_RANK: dict[OrderStatus, int] = {
    OrderStatus.PENDING_NEW: 0,
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.PENDING_CANCEL: 3,
    OrderStatus.FILLED: 4,
    OrderStatus.CANCELED: 4,
    OrderStatus.REJECTED: 4,
    OrderStatus.EXPIRED: 4,
    OrderStatus.EXPIRED_IN_MATCH: 4,
}
OPEN_STATUSES: tuple[str, ...] = tuple(s.value for s in OrderStatus if not s.is_final)


@dataclass(frozen=True, slots=True)
class Route:
    table: Table
    dump: Callable[[Any], Row]
    load: Callable[[Row], Any]


def _contract_route(
    table: Table,
    model: type[Contract],
    renames: dict[str, str] | None = None,
    derived: Callable[[Any], Row] | None = None,
) -> Route:
    """A route for a contract whose fields map one-to-one onto columns (``renames``: field →
    column); ``derived`` adds columns computed from the model, which are dropped on load."""
    renames = renames or {}
    back = {column: field for field, column in renames.items()}
    fields = set(model.model_fields)
    field_columns = {renames.get(f, f) for f in fields}

    def dump(item: Contract) -> Row:
        data = item.model_dump()
        row = {renames.get(k, k): v for k, v in data.items()}
        if derived is not None:
            row.update(derived(item))
        return row

    def load(row: Row) -> Contract:
        return model.model_validate(
            {back.get(k, k): v for k, v in row.items() if k in field_columns}
        )

    return Route(table, dump, load)


def _event_route(
    model: type[Contract], key: Callable[[Any], str], time: Callable[[Any], int]
) -> Route:
    """Contracts without a table of their own go to ``events`` as their wire JSON."""

    def dump(item: Any) -> Row:
        return {
            "topic": model.TOPIC,
            "event_key": key(item),
            "venue": getattr(item, "venue", None),
            "symbol": getattr(item, "symbol", None),
            "time": time(item),
            "payload": item.model_dump(mode="json"),
        }

    def load(row: Row) -> Contract:
        return model.model_validate(row["payload"])

    return Route(schema.EVENTS, dump, load)


def _record_route(table: Table, cls: type, tuples: tuple[str, ...] = ()) -> Route:
    names = [f.name for f in dataclasses.fields(cls)]

    def dump(item: Any) -> Row:
        return {name: getattr(item, name) for name in names}

    def load(row: Row) -> Any:
        return cls(**{n: (tuple(row[n]) if n in tuples else row[n]) for n in names})

    return Route(table, dump, load)


_SWING_KINDS = frozenset({SmcEventKind.SWING_HIGH, SmcEventKind.SWING_LOW})

_SWINGS = _contract_route(schema.SWINGS, SmcEventV1)
_SMC = _contract_route(schema.SMC_EVENTS, SmcEventV1)
_ROUTES: dict[type, Route] = {
    FeaturesV1: _contract_route(schema.FEATURES, FeaturesV1, {"values": "feature_values"}),
    ZoneV1: _contract_route(schema.ZONES, ZoneV1),
    SignalRawV1: _contract_route(schema.SIGNALS, SignalRawV1),
    RegimeV1: _contract_route(schema.REGIMES, RegimeV1),
    DecisionV1: _contract_route(schema.DECISIONS, DecisionV1),
    OrderUpdateV1: _contract_route(
        schema.ORDERS, OrderUpdateV1, derived=lambda o: {"status_rank": STATUS_RANK[o.status]}
    ),
    NewsWindowV1: _event_route(NewsWindowV1, key=lambda n: n.event_id, time=lambda n: n.event_time),
    FundingWindowV1: _event_route(
        FundingWindowV1,
        key=lambda f: f"{f.venue}:{f.symbol}:{f.observed_at}",
        time=lambda f: f.observed_at,
    ),
    Fill: _record_route(schema.FILLS, Fill),
    Position: _record_route(schema.POSITIONS, Position),
    TradeRecord: _record_route(schema.TRADES, TradeRecord),
    OrderList: _record_route(schema.ORDER_LISTS, OrderList, tuples=("client_order_ids",)),
    PaperStateRow: _record_route(schema.PAPER_STATE, PaperStateRow),
}
_TOPIC_ROUTES: dict[str, tuple[Route, ...]] = {
    model.TOPIC: (route,) for model, route in _ROUTES.items() if issubclass(model, Contract)
}
_TOPIC_ROUTES[SmcEventV1.TOPIC] = (_SWINGS, _SMC)


def route_for(item: object) -> Route:
    """The table an item is written to; ``TypeError`` for something the store does not keep."""
    if isinstance(item, SmcEventV1):
        return _SWINGS if item.kind in _SWING_KINDS else _SMC
    route = _ROUTES.get(type(item))
    if route is None:
        raise TypeError(f"the store does not keep {type(item).__name__} objects")
    return route


def routes_for_topic(topic: str) -> tuple[Route, ...]:
    """The tables holding a contract topic (``smc_events.v1`` spans two)."""
    routes = _TOPIC_ROUTES.get(topic)
    if routes is None:
        known = ", ".join(sorted(_TOPIC_ROUTES))
        hint = " (candles are read with fetch_candles)" if topic in CONTRACTS else ""
        raise ValueError(f"no stored topic {topic!r}{hint}; stored topics: {known}")
    return routes


def route_for_type(cls: type) -> Route:
    return _ROUTES[cls]


def dedupe(table: Table, rows: list[Row]) -> list[Row]:
    """Collapse rows with the same key to the one the database would keep had they been written
    one by one. Needed because a single multi-row statement may not touch a row twice (Postgres
    refuses it), and it keeps both backends giving the same answer."""
    if len(rows) < 2:
        return rows
    winners: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        key = tuple(row[k] for k in table.key)
        old = winners.get(key)
        if old is None:
            winners[key] = row
        elif table.policy == "update":
            # Re-insert so the winner takes the position of the last write.
            del winners[key]
            winners[key] = row
        elif table.policy == "newer" and _newer(table, row, old):
            winners[key] = row
    return list(winners.values())


def _newer(table: Table, new: Row, old: Row) -> bool:
    return tuple(new[c] for c in table.newer) > tuple(old[c] for c in table.newer)
