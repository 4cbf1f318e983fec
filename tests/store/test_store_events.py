"""Contracts and trading records on both backends: each kind written and read back, idempotent
re-writes, order states that never regress, exact decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradeterm.contracts import CONTRACTS, CandleV1, OrderStatus, OrderUpdateV1
from tradeterm.store import Fill, OrderList, Position, TradeRecord

T0 = 1_700_000_000_000


async def test_each_contract_round_trips(store, samples) -> None:
    assert await store.write(samples) == len(samples)
    topics = {s.TOPIC for s in samples}
    assert topics == set(CONTRACTS) - {CandleV1.TOPIC}  # every stored topic is covered here
    for topic in topics:
        want = [s for s in samples if s.TOPIC == topic]
        got = await store.read(topic)
        assert got == want, topic
        assert [type(g) for g in got] == [type(w) for w in want]


async def test_rewriting_the_same_events_changes_nothing(store, raw, samples) -> None:
    await store.write(samples)
    before = await raw.dump()
    assert await store.write(samples) == 0
    assert await store.write(list(reversed(samples))) == 0
    assert await raw.dump() == before


async def test_read_filters(store, samples) -> None:
    await store.write(samples)
    swings_and_bos = await store.read(
        "smc_events.v1", venue="binance-spot", symbol="btcusdt", tf="1h"
    )
    assert [e.event_id for e in swings_and_bos] == [
        "sw-1",
        "bos-1",
    ]  # oldest first across both tables
    assert [e.event_id for e in await store.read("smc_events.v1", start_ms=T0)] == ["bos-1"]
    assert await store.read("smc_events.v1", tf="4h") == []
    assert len(await store.read("zones.v1", limit=1)) == 1
    assert await store.read("funding_window.v1", venue="binance-spot") == []
    assert len(await store.read("news_window.v1", start_ms=T0, end_ms=T0 + 3 * 3_600_000)) == 1
    with pytest.raises(ValueError, match="candles are read with fetch_candles"):
        await store.read("candles.v1")


async def test_a_changed_event_replaces_the_stored_one(store, samples) -> None:
    regime = next(s for s in samples if s.TOPIC == "regime.v1")
    await store.write([regime])
    updated = type(regime).model_validate({**regime.model_dump(), "trend": "FLAT"})
    assert await store.write([updated]) == 1
    assert await store.read("regime.v1") == [updated]


async def test_the_last_of_several_states_in_one_batch_wins(store, samples) -> None:
    regime = next(s for s in samples if s.TOPIC == "regime.v1")
    flat = type(regime).model_validate({**regime.model_dump(), "trend": "FLAT"})
    down = type(regime).model_validate({**regime.model_dump(), "trend": "DOWN"})
    assert await store.write([flat, down, regime]) == 1
    assert await store.read("regime.v1") == [regime]
    assert await store.write([regime, flat, down]) == 1
    assert await store.read("regime.v1") == [down]


async def test_order_updates_never_regress(store, make_order) -> None:
    filled = make_order("FILLED", sequence=3, event_time=T0 + 30)
    assert await store.write([filled]) == 1
    # A lower sequence arriving late, even with a later timestamp, is ignored.
    assert (
        await store.write(
            [make_order("PARTIALLY_FILLED", sequence=2, event_time=T0 + 99, filled="1")]
        )
        == 0
    )
    # Same sequence, older event time: ignored.
    assert await store.write([make_order("NEW", sequence=3, event_time=T0 + 10)]) == 0
    assert await store.get_order("o-1") == filled
    # Same sequence and time: the status further along the lifecycle wins, whatever the order.
    a = make_order("NEW", sequence=5, event_time=T0 + 50, cid="o-2")
    b = make_order("CANCELED", sequence=5, event_time=T0 + 50, cid="o-2")
    await store.write([b])
    assert await store.write([a]) == 0
    assert (await store.get_order("o-2")).status is OrderStatus.CANCELED


async def test_order_updates_out_of_order_in_one_batch(store, make_order) -> None:
    updates = [
        make_order("PARTIALLY_FILLED", sequence=2, event_time=T0 + 20, filled="0.5"),
        make_order("FILLED", sequence=4, event_time=T0 + 40),
        make_order("NEW", sequence=1, event_time=T0 + 10),
        make_order("PARTIALLY_FILLED", sequence=3, event_time=T0 + 30, filled="1.5"),
    ]
    await store.write(updates)
    assert await store.get_order("o-1") == updates[1]
    newer = make_order("PARTIALLY_FILLED", sequence=1, event_time=T0 + 10, cid="o-3", filled="1")
    await store.write([newer, make_order("NEW", sequence=0, event_time=T0, cid="o-3")])
    assert await store.get_order("o-3") == newer


async def test_list_orders(store, make_order) -> None:
    await store.write(
        [
            make_order("NEW", sequence=1, event_time=T0, cid="a", decision_id="d-9"),
            make_order("FILLED", sequence=2, event_time=T0 + 1, cid="b", decision_id="d-9"),
            make_order("CANCELED", sequence=2, event_time=T0 + 2, cid="c"),
            make_order("PARTIALLY_FILLED", sequence=2, event_time=T0 + 3, cid="d", filled="1"),
        ]
    )
    assert [o.client_order_id for o in await store.list_orders()] == ["a", "b", "c", "d"]
    assert [o.client_order_id for o in await store.list_orders(open_only=True)] == ["a", "d"]
    assert [o.client_order_id for o in await store.list_orders(decision_id="d-9")] == ["a", "b"]
    assert await store.list_orders(symbol="BTCUSDT") == []
    assert await store.get_order("nope") is None


async def test_decimals_are_exact(store, make_order) -> None:
    tiny, big = Decimal("0.00000001"), Decimal("123456789.12345678")
    upd = OrderUpdateV1(
        venue="binance-spot",
        symbol="BTCUSDT",
        client_order_id="dec-1",
        side="BUY",
        order_type="LIMIT",
        status="PARTIALLY_FILLED",
        price=tiny,
        orig_qty=big,
        filled_qty=tiny,
        avg_price=tiny,
        fee=tiny,
        event_time=T0,
    )
    fill = Fill(
        "binance-spot",
        "BTCUSDT",
        "t-1",
        "dec-1",
        "BUY",
        tiny,
        big,
        big * tiny,
        tiny,
        "BNB",
        True,
        T0,
    )
    await store.write([upd, fill])
    got = await store.get_order("dec-1")
    assert got is not None
    for value, want in (
        (got.price, tiny),
        (got.orig_qty, big),
        (got.filled_qty, tiny),
        (got.fee, tiny),
    ):
        assert (
            isinstance(value, Decimal) and value == want and format(value, "f") == format(want, "f")
        )
    (stored_fill,) = await store.list_fills(client_order_id="dec-1")
    assert stored_fill == fill
    assert format(stored_fill.quote_quantity, "f") == "1.2345678912345678"


async def test_fills_are_recorded_once_per_trade_id(store) -> None:
    f1 = Fill(
        "binance-spot",
        "BTCUSDT",
        "777",
        "d-1-E",
        "BUY",
        Decimal("42000.1"),
        Decimal("0.001"),
        Decimal("42.0001"),
        Decimal("0.000001"),
        "BTC",
        False,
        T0,
    )
    f2 = Fill(
        "binance-spot",
        "BTCUSDT",
        "778",
        "d-1-E",
        "BUY",
        Decimal("42000.2"),
        Decimal("0.002"),
        Decimal("84.0004"),
        Decimal("0.000002"),
        "BTC",
        True,
        T0 + 1,
    )
    assert await store.write([f1, f2, f1]) == 2
    assert await store.write([f1]) == 0
    # Same trade id on another symbol is another fill.
    other = Fill(
        "binance-spot",
        "ETHUSDT",
        "777",
        "x",
        "SELL",
        Decimal(1),
        Decimal(1),
        Decimal(1),
        Decimal(0),
        None,
        False,
        T0,
    )
    assert await store.write([other]) == 1
    assert await store.list_fills(client_order_id="d-1-E") == [f1, f2]
    assert await store.list_fills(symbol="ethusdt") == [other]


async def test_positions_keep_the_newest_state(store) -> None:
    def pos(qty: str, at: int, side: str = "BOTH") -> Position:
        return Position(
            "binance-usdm",
            "BTCUSDT",
            side,
            Decimal(qty),
            Decimal("42000.5"),
            Decimal(0),
            Decimal("1.25"),
            5,
            at,
        )

    assert await store.write([pos("0.010", T0 + 10), pos("0.005", T0 + 5)]) == 1
    assert await store.list_positions() == [pos("0.010", T0 + 10)]
    assert await store.write([pos("0", T0 + 20), pos("-0.5", T0 + 20, side="SHORT")]) == 2
    assert await store.list_positions() == [pos("-0.5", T0 + 20, side="SHORT")]
    assert len(await store.list_positions(open_only=False)) == 2


async def test_trades_and_order_lists(store) -> None:
    trade = TradeRecord(
        "tr-1",
        "binance-spot",
        "BTCUSDT",
        "BUY",
        "d-1",
        "OPEN",
        T0,
        None,
        Decimal("0.003"),
        Decimal("42000.10"),
        None,
        Decimal("0.60015"),
        None,
        Decimal("0.0000012"),
        None,
    )
    closed = TradeRecord(
        "tr-1",
        "binance-spot",
        "BTCUSDT",
        "BUY",
        "d-1",
        "CLOSED",
        T0,
        T0 + 99,
        Decimal("0.003"),
        Decimal("42000.10"),
        Decimal("42300.18"),
        Decimal("0.60015"),
        Decimal("0.90024"),
        Decimal("0.0000024"),
        Decimal("1.5"),
    )
    olist = OrderList(
        "ol-1",
        "binance-spot",
        "BTCUSDT",
        "d-1",
        "OTOCO",
        "EXECUTING",
        ("d-1-E", "d-1-S", "d-1-T1"),
        "5551",
        T0,
    )
    assert await store.write([trade, olist]) == 2
    assert await store.write([closed]) == 1
    assert await store.list_trades() == [closed]
    assert await store.list_trades(start_ms=T0 + 1) == []
    assert await store.get_order_list("ol-1") == olist
    assert await store.get_order_list("nope") is None


async def test_a_failed_write_leaves_nothing(store, make_order) -> None:
    bad_fill = Fill(
        "binance-spot",
        "BTCUSDT",
        "9",
        None,
        "BUY",
        Decimal(1),
        Decimal(1),
        Decimal(1),
        Decimal(0),
        None,
        False,
        T0,
    )  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"(?i)not[ -]null"):  # the driver's constraint error
        await store.write([make_order("NEW", sequence=1, event_time=T0), bad_fill])
    assert await store.get_order("o-1") is None
    assert await store.list_fills() == []
    with pytest.raises(TypeError, match="does not keep"):
        await store.write([object()])


async def test_journal_notes_and_tags(store) -> None:
    a = await store.add_journal_note(
        "Entered on the OB retest", trade_id="tr-1", tags=["retest", "a+", "retest"], at_ms=T0
    )
    b = await store.add_journal_note("  Moved stop to BE  ", trade_id="tr-1", at_ms=T0 + 5)
    c = await store.add_journal_note("Missed the London open", tags=["a+"], at_ms=T0 + 9)
    assert a < b < c
    notes = await store.list_journal(trade_id="tr-1")
    assert [(n.body, n.tags, n.created_at) for n in notes] == [
        ("Entered on the OB retest", ("retest", "a+"), T0),
        ("Moved stop to BE", (), T0 + 5),
    ]
    assert [n.note_id for n in await store.list_journal(tag="a+")] == [a, c]
    with pytest.raises(ValueError):
        await store.add_journal_note("   ")


async def test_audit_log(store) -> None:
    first = await store.append_audit(
        "kill_switch", "kill switch armed", {"by": "user", "limit": "0.05"}, at_ms=T0
    )
    second = await store.append_audit("order", "placed d-1-E", at_ms=T0 + 1)
    entries = await store.list_audit()
    assert [(e.audit_id, e.kind, e.message, e.data) for e in entries] == [
        (second, "order", "placed d-1-E", {}),
        (first, "kill_switch", "kill switch armed", {"by": "user", "limit": "0.05"}),
    ]
    assert [e.audit_id for e in await store.list_audit(kind="kill_switch")] == [first]
    assert [e.audit_id for e in await store.list_audit(since_ms=T0 + 1)] == [second]
    assert len(await store.list_audit(limit=1)) == 1
