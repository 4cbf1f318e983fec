from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeterm.contracts.trading import CLIENT_ORDER_ID_PATTERN, OrderLeg
from tradeterm.trading.ids import (
    MAX_INDEX,
    MAX_REVISION,
    client_order_id,
    decision_id_for_signal,
    decision_id_for_ticket,
    list_client_order_id,
    parse_client_order_id,
)

FUTURES = re.compile(CLIENT_ORDER_ID_PATTERN)
PORTABLE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")  # what spot's FIX/order-list checks accept
DECISION_IDS = st.from_regex(r"\A[A-Za-z0-9_-]{1,24}\Z")


def test_examples() -> None:
    assert client_order_id("d-000001", OrderLeg.ENTRY) == "tt-d-000001-E"
    assert client_order_id("d-000001", OrderLeg.STOP) == "tt-d-000001-S"
    assert client_order_id("d-000001", OrderLeg.TP, 1) == "tt-d-000001-T1"
    assert client_order_id("d-000001", OrderLeg.STOP, 2, 3) == "tt-d-000001-S2r3"
    assert list_client_order_id("d-000001", 2) == "tt-d-000001-L2"


def test_decision_ids_are_stable_and_distinct() -> None:
    a = decision_id_for_signal("binance-spot", "BTCUSDT", "smc-retest-1")
    assert a == decision_id_for_signal("binance-spot", "btcusdt", "smc-retest-1")  # restart, retry
    assert a != decision_id_for_signal("binance-spot", "BTCUSDT", "smc-retest-2")
    assert a != decision_id_for_signal("binance-usdm", "BTCUSDT", "smc-retest-1")
    assert a != decision_id_for_ticket("binance-spot", "BTCUSDT", "smc-retest-1")
    assert re.fullmatch(r"d[0-9a-f]{20}", a)


@settings(max_examples=300, deadline=None)
@given(
    decision_id=DECISION_IDS,
    leg=st.sampled_from(list(OrderLeg)),
    index=st.integers(0, MAX_INDEX),
    revision=st.integers(0, MAX_REVISION),
)
def test_every_id_is_valid_and_parses_back(
    decision_id: str, leg: OrderLeg, index: int, revision: int
) -> None:
    cid = client_order_id(decision_id, leg, index, revision)
    assert FUTURES.match(cid) and PORTABLE.match(cid) and len(cid) <= 36
    parsed = parse_client_order_id(cid)
    assert parsed is not None
    assert (parsed.decision_id, parsed.leg, parsed.index, parsed.revision) == (
        decision_id,
        leg,
        index,
        revision,
    )
    assert cid == client_order_id(decision_id, leg, index, revision)  # stable
    lid = list_client_order_id(decision_id, max(index, 1), revision)
    assert PORTABLE.match(lid) and parse_client_order_id(lid).is_list  # type: ignore[union-attr]


@settings(max_examples=100, deadline=None)
@given(a=DECISION_IDS, b=DECISION_IDS)
def test_ids_are_unique_per_leg_and_decision(a: str, b: str) -> None:
    legs = [
        (leg, i, r)
        for leg in OrderLeg
        for i in (0, 1, 2, 10, MAX_INDEX)
        for r in (0, 1, 12, MAX_REVISION)
    ]
    ids_a = {client_order_id(a, *x) for x in legs}
    assert len(ids_a) == len(legs)
    if a != b:
        assert ids_a.isdisjoint(client_order_id(b, *x) for x in legs)


@settings(max_examples=100, deadline=None)
@given(signal_id=st.text(min_size=1, max_size=128), symbol=st.from_regex(r"\A[A-Z0-9]{2,20}\Z"))
def test_decision_id_from_any_signal_fits_the_contract(signal_id: str, symbol: str) -> None:
    did = decision_id_for_signal("binance-spot", symbol, signal_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,24}", did)
    assert len(client_order_id(did, OrderLeg.STOP, MAX_INDEX, MAX_REVISION)) <= 36


def test_foreign_ids_are_not_ours() -> None:
    for text in (
        "x-HNA2TXFJabc",
        "tt-",
        "tt-abc",
        "tt-abc-Q",
        "tt-abc-T0",
        "tt-abc-Sr0",
        "tt-a b-E",
        "tt-" + "a" * 30 + "-E",
    ):
        assert parse_client_order_id(text) is None, text


def test_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        client_order_id("d" * 25, OrderLeg.ENTRY)
    with pytest.raises(ValueError):
        client_order_id("d1", OrderLeg.TP, MAX_INDEX + 1)
    with pytest.raises(ValueError):
        client_order_id("d1", OrderLeg.STOP, 0, MAX_REVISION + 1)
