"""The tables as data: column kinds, keys and conflict policy, shared by both backends.

The SQL that creates the tables lives in ``migrations/<dialect>/``; this module is what the code
reads and writes through. ``tests/store`` checks that every column named here exists in a freshly
migrated database, so the two cannot drift apart silently.

Column kinds decide the storage type per dialect: ``dec`` is NUMERIC on Postgres and TEXT on
SQLite (both exact), ``json`` is JSONB / TEXT, ``bool`` is BOOLEAN / INTEGER, times are ``int``
(epoch ms in BIGINT / INTEGER).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "float", "text", "dec", "bool", "json"]
Policy = Literal["update", "ignore", "newer"]


@dataclass(frozen=True, slots=True)
class Table:
    """One table. ``policy`` says what a write does to an existing row with the same key:

    - ``update``: overwrite, but only when some value differs (a re-write changes nothing);
    - ``ignore``: keep the existing row (facts that never change, e.g. an exchange fill);
    - ``newer``: overwrite only when the ``newer`` columns, compared as a tuple, are greater
      (order states: a late, lower-sequence update must not regress a newer state).
    """

    name: str
    columns: tuple[tuple[str, Kind], ...]
    key: tuple[str, ...]
    policy: Policy = "update"
    newer: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ()
    time_col: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def kinds(self) -> tuple[Kind, ...]:
        return tuple(kind for _, kind in self.columns)

    @property
    def non_key(self) -> tuple[str, ...]:
        return tuple(name for name in self.names if name not in self.key)


_DERIVED_HEAD: tuple[tuple[str, Kind], ...] = (
    ("venue", "text"),
    ("symbol", "text"),
    ("tf", "text"),
    ("time", "int"),
    ("confirmed_at", "int"),
)
_SERIES_KEY = ("venue", "symbol", "tf")

FEATURES = Table(
    "features",
    (*_DERIVED_HEAD, ("feature_values", "json")),
    key=(*_SERIES_KEY, "time"),
    order_by=("time",),
    time_col="time",
)
_SMC_COLS: tuple[tuple[str, Kind], ...] = (
    *_DERIVED_HEAD,
    ("event_id", "text"),
    ("kind", "text"),
    ("direction", "text"),
    ("price", "float"),
    ("label", "text"),
    ("ref_time", "int"),
)
# Swings and the other structure events share a contract (SmcEventV1) but not a table: the chart
# reads swing labels and structure lines separately, and swings are by far the most numerous.
SWINGS = Table(
    "swings",
    _SMC_COLS,
    key=(*_SERIES_KEY, "event_id"),
    order_by=("time", "event_id"),
    time_col="time",
)
SMC_EVENTS = Table(
    "smc_events",
    _SMC_COLS,
    key=(*_SERIES_KEY, "event_id"),
    order_by=("time", "event_id"),
    time_col="time",
)
ZONES = Table(
    "zones",
    (
        *_DERIVED_HEAD,
        ("zone_id", "text"),
        ("kind", "text"),
        ("direction", "text"),
        ("top", "float"),
        ("bottom", "float"),
        ("state", "text"),
        ("fill_pct", "float"),
    ),
    key=(*_SERIES_KEY, "zone_id", "confirmed_at"),
    order_by=("confirmed_at", "zone_id"),
    time_col="time",
)
SIGNALS = Table(
    "signals",
    (
        ("signal_id", "text"),
        *_DERIVED_HEAD,
        ("strategy", "text"),
        ("side", "text"),
        ("entry", "dec"),
        ("stop", "dec"),
        ("take_profits_r", "json"),
        ("score", "float"),
        ("ttl_bars", "int"),
        ("zone_id", "text"),
        ("reasons", "json"),
    ),
    key=("signal_id",),
    order_by=("time", "signal_id"),
    time_col="time",
)
REGIMES = Table(
    "regimes",
    (
        *_DERIVED_HEAD,
        ("volatility", "text"),
        ("trend", "text"),
        ("atr_percentile", "float"),
        ("ema_slope", "float"),
    ),
    key=(*_SERIES_KEY, "time"),
    order_by=("time",),
    time_col="time",
)
DECISIONS = Table(
    "decisions",
    (
        ("decision_id", "text"),
        ("signal_id", "text"),
        ("venue", "text"),
        ("symbol", "text"),
        ("side", "text"),
        ("status", "text"),
        ("order_type", "text"),
        ("entry", "dec"),
        ("stop", "dec"),
        ("quantity", "dec"),
        ("take_profits", "json"),
        ("risk_amount", "dec"),
        ("leverage", "int"),
        ("reasons", "json"),
        ("created_at", "int"),
        ("expires_at", "int"),
    ),
    key=("decision_id",),
    order_by=("created_at", "decision_id"),
    time_col="created_at",
)
ORDERS = Table(
    "orders",
    (
        ("client_order_id", "text"),
        ("venue", "text"),
        ("symbol", "text"),
        ("exchange_order_id", "text"),
        ("decision_id", "text"),
        ("leg", "text"),
        ("leg_index", "int"),
        ("side", "text"),
        ("order_type", "text"),
        ("status", "text"),
        ("price", "dec"),
        ("stop_price", "dec"),
        ("orig_qty", "dec"),
        ("filled_qty", "dec"),
        ("avg_price", "dec"),
        ("last_fill_qty", "dec"),
        ("last_fill_price", "dec"),
        ("fee", "dec"),
        ("fee_asset", "text"),
        ("reduce_only", "bool"),
        ("reason", "text"),
        ("event_time", "int"),
        ("sequence", "int"),
        ("status_rank", "int"),
    ),
    key=("client_order_id",),
    policy="newer",
    newer=("sequence", "event_time", "status_rank"),
    order_by=("event_time", "client_order_id"),
    time_col="event_time",
)
EVENTS = Table(
    "events",
    (
        ("topic", "text"),
        ("event_key", "text"),
        ("venue", "text"),
        ("symbol", "text"),
        ("time", "int"),
        ("payload", "json"),
    ),
    key=("topic", "event_key"),
    order_by=("time", "event_key"),
    time_col="time",
)
ORDER_LISTS = Table(
    "order_lists",
    (
        ("list_id", "text"),
        ("venue", "text"),
        ("symbol", "text"),
        ("decision_id", "text"),
        ("kind", "text"),
        ("status", "text"),
        ("client_order_ids", "json"),
        ("exchange_list_id", "text"),
        ("updated_at", "int"),
    ),
    key=("list_id",),
    order_by=("updated_at", "list_id"),
    time_col="updated_at",
)
FILLS = Table(
    "fills",
    (
        ("venue", "text"),
        ("symbol", "text"),
        ("trade_id", "text"),
        ("client_order_id", "text"),
        ("side", "text"),
        ("price", "dec"),
        ("quantity", "dec"),
        ("quote_quantity", "dec"),
        ("fee", "dec"),
        ("fee_asset", "text"),
        ("is_maker", "bool"),
        ("time", "int"),
    ),
    key=("venue", "symbol", "trade_id"),
    policy="ignore",
    order_by=("time", "trade_id"),
    time_col="time",
)
POSITIONS = Table(
    "positions",
    (
        ("venue", "text"),
        ("symbol", "text"),
        ("position_side", "text"),
        ("quantity", "dec"),
        ("entry_price", "dec"),
        ("realized_pnl", "dec"),
        ("unrealized_pnl", "dec"),
        ("leverage", "int"),
        ("updated_at", "int"),
    ),
    key=("venue", "symbol", "position_side"),
    policy="newer",
    newer=("updated_at",),
    order_by=("venue", "symbol", "position_side"),
    time_col="updated_at",
)
TRADES = Table(
    "trades",
    (
        ("trade_id", "text"),
        ("venue", "text"),
        ("symbol", "text"),
        ("side", "text"),
        ("decision_id", "text"),
        ("status", "text"),
        ("opened_at", "int"),
        ("closed_at", "int"),
        ("quantity", "dec"),
        ("entry_price", "dec"),
        ("exit_price", "dec"),
        ("risk_amount", "dec"),
        ("pnl", "dec"),
        ("fees", "dec"),
        ("r_multiple", "dec"),
    ),
    key=("trade_id",),
    order_by=("opened_at", "trade_id"),
    time_col="opened_at",
)
# The paper account's engine state (tradeterm.brokers.paper), written in the same transaction as
# the broker's journal of the events that changed it. ``data`` is JSON as text: compared and
# restored as written, amounts as exact decimal strings.
PAPER_STATE = Table(
    "paper_state",
    (
        ("venue", "text"),
        ("kind", "text"),
        ("item_key", "text"),
        ("version", "int"),
        ("data", "text"),
        ("updated_at", "int"),
    ),
    key=("venue", "kind", "item_key"),
    policy="newer",
    newer=("version",),
    order_by=("version", "kind", "item_key"),
)

# Tables written through their own SQL (not the generic upsert): listed so the schema check in
# the tests covers them too.
CANDLE_SERIES_COLUMNS = ("series_id", "venue", "symbol", "tf")
CANDLE_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("series_id", "int"),
    ("open_time", "int"),
    ("close_time", "int"),
    ("open", "float"),
    ("high", "float"),
    ("low", "float"),
    ("close", "float"),
    ("volume", "float"),
    ("quote_volume", "float"),
    ("trades", "int"),
    ("taker_buy_base", "float"),
    ("taker_buy_quote", "float"),
    ("closed", "bool"),
)
CANDLES = Table("candles", CANDLE_COLUMNS, key=("series_id", "open_time"), order_by=("open_time",))
JOURNAL_COLUMNS = ("note_id", "trade_id", "created_at", "body")
JOURNAL_TAG_COLUMNS = ("note_id", "tag")
AUDIT_COLUMNS = ("audit_id", "at", "kind", "message", "data")

TABLES: tuple[Table, ...] = (
    FEATURES,
    SWINGS,
    SMC_EVENTS,
    ZONES,
    SIGNALS,
    REGIMES,
    DECISIONS,
    ORDERS,
    EVENTS,
    ORDER_LISTS,
    FILLS,
    POSITIONS,
    TRADES,
    PAPER_STATE,
)
