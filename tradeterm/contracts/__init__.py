"""The v1 event contracts: one pydantic model per topic, with JSON Schema export.

``CONTRACTS`` maps each versioned topic name to its model; the bus, the store and the exporter
all key on it, so a new contract is registered here once.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from tradeterm.contracts.analysis import (
    FeaturesV1,
    RegimeV1,
    SignalRawV1,
    SmcEventKind,
    SmcEventV1,
    SwingLabel,
    Trend,
    Volatility,
    ZoneKind,
    ZoneState,
    ZoneV1,
)
from tradeterm.contracts.base import Contract, Direction, Side, iso_to_ms, ms_to_iso
from tradeterm.contracts.market import CandleV1, FundingWindowV1
from tradeterm.contracts.news import Impact, NewsWindowV1
from tradeterm.contracts.timeframe import Timeframe
from tradeterm.contracts.trading import (
    DecisionStatus,
    DecisionV1,
    OrderLeg,
    OrderStatus,
    OrderType,
    OrderUpdateV1,
    TakeProfitLeg,
)

CONTRACTS: dict[str, type[Contract]] = {
    m.TOPIC: m
    for m in (
        CandleV1,
        FeaturesV1,
        SmcEventV1,
        ZoneV1,
        SignalRawV1,
        RegimeV1,
        NewsWindowV1,
        FundingWindowV1,
        DecisionV1,
        OrderUpdateV1,
    )
}


def export_schemas(directory: Path) -> list[Path]:
    """Write one JSON Schema file per contract (``candles.v1.schema.json`` …) and return them."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, model in CONTRACTS.items():
        schema = model.model_json_schema()
        schema["$id"] = f"https://tradeterm.dev/schemas/{topic}.json"
        schema["title"] = topic
        path = directory / f"{topic}.schema.json"
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        written.append(path)
    return written


__all__ = [
    "CONTRACTS",
    "CandleV1",
    "Contract",
    "DecisionStatus",
    "DecisionV1",
    "Direction",
    "FeaturesV1",
    "FundingWindowV1",
    "Impact",
    "NewsWindowV1",
    "OrderLeg",
    "OrderStatus",
    "OrderType",
    "OrderUpdateV1",
    "RegimeV1",
    "Side",
    "SignalRawV1",
    "SmcEventKind",
    "SmcEventV1",
    "SwingLabel",
    "TakeProfitLeg",
    "Timeframe",
    "Trend",
    "Volatility",
    "ZoneKind",
    "ZoneState",
    "ZoneV1",
    "export_schemas",
    "iso_to_ms",
    "ms_to_iso",
]
