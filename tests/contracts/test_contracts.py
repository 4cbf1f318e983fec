from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tests.contracts.samples import BAD, GOOD
from tradeterm.contracts import (
    CONTRACTS,
    CandleV1,
    OrderUpdateV1,
    export_schemas,
    iso_to_ms,
    ms_to_iso,
)


def test_every_contract_has_a_sample() -> None:
    assert set(GOOD) == set(CONTRACTS) and len(CONTRACTS) == 10


@pytest.mark.parametrize("topic", sorted(GOOD))
def test_round_trip_through_json(topic: str) -> None:
    model = CONTRACTS[topic]
    event = model.model_validate(GOOD[topic])
    wire = event.to_json()
    again = model.from_json(wire)
    assert again == event
    assert again.to_json() == wire
    # Times are ISO-8601 UTC on the wire and epoch ms inside.
    doc = json.loads(wire)
    for name, value in doc.items():
        if name.endswith(("_time", "_at", "time")) and value is not None and name != "ttl_bars":
            assert isinstance(value, str) and value.endswith("Z"), name
            assert isinstance(getattr(event, name), int), name


@pytest.mark.parametrize(("topic", "field", "value", "words"), BAD, ids=[f"{t}-{f}" for t, f, _, _ in BAD])
def test_bad_payload_names_the_problem(topic: str, field: str, value: object, words: str) -> None:
    payload = dict(GOOD[topic])
    payload[field] = value
    with pytest.raises(ValidationError) as info:
        CONTRACTS[topic].model_validate(payload)
    text = str(info.value)
    assert words in text


def test_bad_json_document_is_rejected_with_field_name() -> None:
    with pytest.raises(ValidationError, match="open_time"):
        CandleV1.from_json(b'{"venue":"binance-spot","symbol":"BTCUSDT","tf":"1m","open":1}')
    with pytest.raises(ValidationError):
        CandleV1.from_json(b"not json")


def test_decimals_are_exact() -> None:
    payload = dict(GOOD["order_update.v1"], orig_qty="0.00000003", filled_qty="0.00000001", last_fill_qty="0.00000001")
    event = OrderUpdateV1.model_validate(payload)
    assert event.filled_qty == Decimal("0.00000001")
    assert json.loads(event.to_json())["orig_qty"] == "0.00000003"


def test_float_input_to_decimal_uses_shortest_repr() -> None:
    event = OrderUpdateV1.model_validate(dict(GOOD["order_update.v1"], price=0.1))
    assert event.price == Decimal("0.1")


def test_contracts_are_immutable() -> None:
    event = CandleV1.model_validate(GOOD["candles.v1"])
    with pytest.raises(ValidationError):
        event.close = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("ms", [946_684_800_000, 1_709_294_400_000, 1_709_294_400_999, 4_102_444_800_123])
def test_iso_ms_conversions_are_exact(ms: int) -> None:
    assert iso_to_ms(ms_to_iso(ms)) == ms


def test_iso_with_offset_is_normalised() -> None:
    assert iso_to_ms("2024-03-01T13:00:00+01:00") == iso_to_ms("2024-03-01T12:00:00Z")


def test_export_schemas(tmp_path) -> None:
    written = export_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{t}.schema.json" for t in CONTRACTS)
    schema = json.loads((tmp_path / "candles.v1.schema.json").read_text())
    assert schema["title"] == "candles.v1"
    assert schema["properties"]["open_time"]["format"] == "date-time"
    assert "open_time" in schema["required"]
