from __future__ import annotations

import random
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.bracket_driver import Driver, make_bracket, make_decision
from tests.trading.helpers import D, make_spot, make_usdm
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import (
    CLIENT_ORDER_ID_PATTERN,
    DecisionStatus,
    OrderLeg,
    OrderStatus,
    OrderType,
    OrderUpdateV1,
)
from tradeterm.trading.bracket import Bracket, BracketState
from tradeterm.trading.intents import CancelLegs, ClosePosition, MoveStop, PlaceEntry, PlaceExits
from tradeterm.trading.risk import RiskConfig

NEW, PART, FILLED = OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
CANCELED, EXPIRED, REJECTED = OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED
SPOT = make_spot(step="0.00001", min_qty="0.00001")
USDM = make_usdm()


def fill_entry(d: Driver) -> list:
    d.start()
    d.send(d.id("E"), NEW)
    return d.send(d.id("E"), FILLED, "0.5", "62000")


def ack_all(d: Driver, suffixes: list[str]) -> None:
    for s in suffixes:
        d.send(d.id(s), NEW)


def without_log(b: Bracket) -> dict:
    out = b.to_dict()
    out.pop("log")
    return out


# ------------------------------------------------------------------ spot
def test_spot_happy_path_with_break_even() -> None:
    d = Driver(make_bracket(SPOT))
    b = d.b
    (entry,) = d.start()
    assert isinstance(entry, PlaceEntry) and entry.order.client_order_id == d.id("E")
    assert (entry.order.price, entry.order.quantity, entry.order.order_type) == (
        D(62000),
        D("0.5"),
        OrderType.LIMIT,
    )
    assert b.state is BracketState.PENDING
    d.send(d.id("E"), NEW)
    assert b.state is BracketState.ENTRY_WORKING
    assert d.send(d.id("E"), PART, "0.2", "62000") == []
    assert b.state is BracketState.ENTRY_PARTIAL and b.position == D("0.2")
    (exits,) = d.send(d.id("E"), FILLED, "0.5", "62000")
    assert b.state is BracketState.ENTRY_FILLED
    assert isinstance(exits, PlaceExits) and exits.oco
    assert [
        (
            o.client_order_id.rsplit("-", 1)[1],
            o.order_type,
            o.quantity,
            o.price,
            o.stop_price,
            o.list_client_order_id is not None,
        )
        for o in exits.orders
    ] == [
        ("T1", OrderType.LIMIT_MAKER, D("0.2"), D(62300), None, True),
        (
            "S1",
            OrderType.STOP_LOSS_LIMIT,
            D("0.2"),
            D("61491.00"),
            D(61800),
            True,
        ),  # limit 61800 x 0.995
        ("T2", OrderType.LIMIT_MAKER, D("0.15"), D(62400), None, True),
        ("S2", OrderType.STOP_LOSS_LIMIT, D("0.15"), D("61491.00"), D(61800), True),
        ("T3", OrderType.LIMIT_MAKER, D("0.15"), D(62600), None, True),
        ("S3", OrderType.STOP_LOSS_LIMIT, D("0.15"), D("61491.00"), D(61800), True),
    ]
    ack_all(d, ["T1", "S1", "T2", "S2", "T3", "S3"])
    assert b.state is BracketState.EXITS_WORKING
    # OCO: the exchange expires S1 when T1 fills (here the expiry is reported first).
    assert d.send(d.id("S1"), EXPIRED) == []
    (move,) = d.send(d.id("T1"), FILLED, "0.2", "62300")
    # Break-even with 0.1 % both ways: 62000 x 1.001 / 0.999 = 62124.124... -> up: 62124.13.
    assert isinstance(move, MoveStop) and move.new_price == D("62124.13")
    assert set(move.cancel) == {d.id(s) for s in ("T2", "S2", "T3", "S3")}
    assert [o.client_order_id.rsplit("-", 1)[1] for o in move.place] == [
        "T2r1",
        "S2r1",
        "T3r1",
        "S3r1",
    ]
    assert all(o.stop_price == D("62124.13") for o in move.place if o.stop_price)
    assert b.stop_price == D("62124.13") and b.position == D("0.3")
    for s in ("T2", "S2", "T3", "S3"):
        assert d.send(d.id(s), CANCELED) == []  # replaced: no re-protection
    ack_all(d, ["T2r1", "S2r1", "T3r1", "S3r1"])
    d.send(d.id("T2r1"), FILLED, "0.15", "62400")
    d.send(d.id("S2r1"), EXPIRED)
    assert (
        d.send(d.id("T3r1"), FILLED, "0.15", "62600") == []
    )  # S3r1 is the OCO partner: no cancel needed
    assert b.state is BracketState.CLOSED and b.position == 0 and b.is_flat
    pnl = b.realized_pnl()
    assert (pnl[d.id("T1")], pnl[d.id("T2r1")], pnl[d.id("T3r1")]) == (D(60), D(60), D(90))
    assert b.total_realized_pnl == D(210)
    for intent in d.collect([]) + [entry, exits, move]:
        for spec in getattr(intent, "orders", ()) + getattr(intent, "place", ()):
            assert re.match(CLIENT_ORDER_ID_PATTERN, spec.client_order_id)


def test_spot_stop_hit_closes_every_slice() -> None:
    d = Driver(make_bracket(SPOT))
    fill_entry(d)
    ack_all(d, ["T1", "S1", "T2", "S2", "T3", "S3"])
    for s, q in (("S1", "0.2"), ("S2", "0.15"), ("S3", "0.15")):
        intents = d.send(d.id(s), FILLED, q, "61790")
    assert intents == [] and d.b.state is BracketState.CLOSED
    assert d.b.total_realized_pnl == D("-105")  # 0.5 x (61790 - 62000): slippage below the stop


def test_spot_slice_cancelled_outside_is_re_protected() -> None:
    d = Driver(make_bracket(SPOT))
    fill_entry(d)
    ack_all(d, ["T1", "S1", "T2", "S2", "T3", "S3"])
    assert (
        d.send(d.id("T2"), CANCELED) == []
    )  # partner S2 still working: the exchange finishes the OCO
    (move,) = d.send(d.id("S2"), CANCELED)
    assert (
        isinstance(move, MoveStop)
        and move.new_price == D(61800)
        and move.reason.startswith("re-protect")
    )
    assert [o.client_order_id.rsplit("-", 1)[1] for o in move.place] == [
        "T1r1",
        "S1r1",
        "T2r1",
        "S2r1",
        "T3r1",
        "S3r1",
    ]
    assert d.b.state is BracketState.EXITS_WORKING and d.b.stop_revision == 1


# ------------------------------------------------------------------ futures
def test_futures_happy_path_break_even_resize_and_trail() -> None:
    risk = RiskConfig(leverage=5, trail_atr_multiple=D(2))
    d = Driver(make_bracket(USDM, risk))
    b = d.b
    (exits,) = fill_entry(d)
    assert isinstance(exits, PlaceExits) and not exits.oco
    assert [
        (
            o.client_order_id.rsplit("-", 1)[1],
            o.order_type,
            o.quantity,
            o.price,
            o.stop_price,
            o.reduce_only,
            o.close_position,
        )
        for o in exits.orders
    ] == [
        ("T1", OrderType.LIMIT, D("0.2"), D(62300), None, True, False),
        ("T2", OrderType.LIMIT, D("0.15"), D(62400), None, True, False),
        ("T3", OrderType.LIMIT, D("0.15"), D(62600), None, True, False),
        ("S", OrderType.STOP_MARKET, D("0.5"), None, D(61800), True, False),
    ]
    ack_all(d, ["T1", "T2", "T3", "S"])
    (move,) = d.send(d.id("T1"), FILLED, "0.2", "62300")
    # 62124.124... rounded up to the 0.1 tick.
    assert isinstance(move, MoveStop) and move.new_price == D("62124.2")
    assert move.cancel == (d.id("S"),) and [o.client_order_id for o in move.place] == [d.id("Sr1")]
    assert move.place[0].reduce_only and move.place[0].quantity == D("0.3")
    d.send(d.id("S"), CANCELED)
    d.send(d.id("Sr1"), NEW)
    assert b.trail(D(63000), D(100)) == []  # not before TP2
    # TP2 done: the stop (0.3) is larger than the position (0.15), so it is re-placed smaller.
    (resize,) = d.send(d.id("T2"), FILLED, "0.15", "62400")
    assert isinstance(resize, MoveStop) and resize.new_price == D("62124.2")
    assert resize.cancel == (d.id("Sr1"),) and resize.place[0].client_order_id == d.id("Sr2")
    assert resize.place[0].quantity == D("0.15") and b.stop_quantity == D("0.15")
    assert b.trailing
    d.send(d.id("Sr1"), CANCELED)
    d.send(d.id("Sr2"), NEW)
    (trail,) = d.collect(b.trail(D(63000), D(100), last_price=D(62950)))
    assert (
        isinstance(trail, MoveStop)
        and trail.new_price == D(62800)
        and trail.cancel == (d.id("Sr2"),)
        and trail.place[0].quantity == D("0.15")
    )
    assert b.trail(D(62900), D(100)) == []  # 62700 would loosen the stop
    d.send(d.id("Sr2"), CANCELED)
    d.send(d.id("Sr3"), NEW)
    (cancel,) = d.send(d.id("T3"), FILLED, "0.15", "62600")
    assert isinstance(cancel, CancelLegs) and cancel.client_order_ids == (d.id("Sr3"),)
    assert b.state is BracketState.CLOSED and b.total_realized_pnl == D(210)


def test_futures_partial_take_profit_keeps_the_stop_until_it_completes() -> None:
    d = Driver(make_bracket(USDM, RiskConfig(leverage=5, break_even_on_tp1=False)))
    fill_entry(d)
    ack_all(d, ["T1", "T2", "T3", "S"])
    assert d.send(d.id("T2"), PART, "0.05", "62400") == []  # reduce-only caps the stop meanwhile
    (resize,) = d.send(d.id("T2"), CANCELED, "0.05", "62400")  # ended: what it closed is final
    assert isinstance(resize, MoveStop) and resize.new_price == D(61800)
    assert resize.place[0].quantity == D("0.45") and resize.cancel == (d.id("S"),)


def test_futures_stop_hit_cancels_the_take_profits() -> None:
    d = Driver(make_bracket(USDM, RiskConfig(leverage=5)))
    fill_entry(d)
    ack_all(d, ["T1", "T2", "T3", "S"])
    (cancel,) = d.send(d.id("S"), FILLED, "0.5", "61800")
    assert isinstance(cancel, CancelLegs)
    assert cancel.client_order_ids == tuple(sorted(d.id(s) for s in ("T1", "T2", "T3")))
    assert d.b.state is BracketState.CLOSED and d.b.total_realized_pnl == D(-100)
    for s in ("T1", "T2", "T3"):
        assert d.send(d.id(s), CANCELED) == []
    assert d.b.state is BracketState.CLOSED


def test_futures_stop_cancelled_outside_is_re_placed() -> None:
    d = Driver(make_bracket(USDM, RiskConfig(leverage=5)))
    fill_entry(d)
    ack_all(d, ["T1", "T2", "T3", "S"])
    assert d.send(d.id("T2"), CANCELED) == []  # a TP gone: the stop still covers the quantity
    (move,) = d.send(d.id("S"), EXPIRED)
    assert (
        isinstance(move, MoveStop)
        and move.new_price == D(61800)
        and move.place[0].client_order_id == d.id("Sr1")
    )


def test_spot_entry_commission_learned_late_shrinks_the_exits() -> None:
    """The entry's fill came from a REST query (no commission); the stream's report brings
    0.0005 BTC of commission after the OCO pairs went out on the gross 0.5: they are re-placed
    (same stop, next revision) for the 0.4995 really held, the last slice giving way."""
    d = Driver(make_bracket(SPOT))
    (exits,) = fill_entry(d)
    assert sum(o.quantity for o in exits.orders if o.leg is OrderLeg.TP) == D("0.5")
    ack_all(d, ["T1", "S1", "T2", "S2", "T3", "S3"])
    late = d.update(d.id("E"), FILLED, "0.5", "62000").model_copy(update={"fee": D("0.0005"), "fee_asset": "BTC"})
    (move,) = d.collect(d.b.apply(late))
    assert isinstance(move, MoveStop) and move.new_price == d.b.stop_price and d.b.stop_revision == 1
    assert sorted(move.cancel) == sorted(d.id(x) for x in ("T1", "S1", "T2", "S2", "T3", "S3"))
    tps = [o for o in move.place if o.leg is OrderLeg.TP]
    stops = [o for o in move.place if o.leg is OrderLeg.STOP]
    assert sum(o.quantity for o in tps) == sum(o.quantity for o in stops) == D("0.4995") == d.b.position
    assert [o.quantity for o in tps][:2] == [D("0.2"), D("0.15")]  # the first slices keep their size
    assert d.b.orders[d.id("E")].fee == D("0.0005")
    assert d.b.apply(late) == []  # the same report again changes nothing
    # Commission in another asset (BNB) leaves the holding, hence the exits, alone.
    b = Driver(make_bracket(SPOT))
    fill_entry(b)
    bnb = b.update(b.id("E"), FILLED, "0.5", "62000").model_copy(update={"fee": D("0.01"), "fee_asset": "BNB"})
    assert b.b.apply(bnb) == [] and b.b.orders[b.id("E")].fee == D("0.01")


# ------------------------------------------------------------------ entry endings
def test_partial_entry_fill_then_cancel_protects_what_filled() -> None:
    d = Driver(make_bracket(SPOT))
    d.start()
    d.send(d.id("E"), PART, "0.2", "62000")
    (cancel,) = d.b.cancel()
    assert isinstance(cancel, CancelLegs) and cancel.client_order_ids == (d.id("E"),)
    (exits,) = d.send(d.id("E"), CANCELED, "0.2", "62000")
    assert isinstance(exits, PlaceExits) and d.b.state is BracketState.ENTRY_FILLED
    # 0.2 split 40/30/30 like the plan: 0.08 / 0.06 / 0.06, each OCO pair the same.
    assert [o.quantity for o in exits.orders] == [
        D("0.08"),
        D("0.08"),
        D("0.06"),
        D("0.06"),
        D("0.06"),
        D("0.06"),
    ]
    assert sum(lv.quantity for lv in d.b.levels) == D("0.2")
    assert "exits re-split" in d.b.log[-1]


def test_tiny_partial_fill_is_merged_or_flattened() -> None:
    d = Driver(make_bracket(SPOT))
    d.start()
    # 0.0002 BTC: slices of 0.00008 are worth ~4.9 < NOTIONAL 5 -> everything folds into one OCO.
    (exits,) = d.send(d.id("E"), CANCELED, "0.0002", "62000")
    assert isinstance(exits, PlaceExits)
    assert [o.quantity for o in exits.orders] == [D("0.0002"), D("0.0002")]
    d2 = Driver(make_bracket(SPOT))
    d2.start()
    # 0.00005 BTC (3.1 USDT) cannot carry any exit on spot: ERROR, and the broker is told to close it.
    intents = d2.send(d2.id("E"), CANCELED, "0.00005", "62000")
    assert d2.b.state is BracketState.ERROR
    assert d2.b.errors == [
        "entry filled only 0.00005 of 0.5; exit of 0.00005: Filter failure: NOTIONAL (notional 3.115 below NOTIONAL minimum 5)"
    ]
    (close,) = intents
    assert isinstance(close, ClosePosition) and close.order.quantity == D("0.00005")


def test_entry_cancelled_or_expired_unfilled() -> None:
    d = Driver(make_bracket(SPOT))
    d.start()
    d.send(d.id("E"), NEW)
    d.send(d.id("E"), CANCELED)
    assert d.b.state is BracketState.CANCELED

    e = Driver(make_bracket(SPOT))
    e.start()
    e.send(e.id("E"), NEW)
    assert e.b.check_expiry(e.b.expires_at - 1) == []  # type: ignore[operator]
    (cancel,) = e.b.check_expiry(e.b.expires_at)  # type: ignore[arg-type]
    assert isinstance(cancel, CancelLegs) and cancel.reason == "expired"
    e.send(e.id("E"), CANCELED, t=e.b.expires_at)
    assert e.b.state is BracketState.EXPIRED

    x = Driver(make_bracket(SPOT))
    x.start()
    x.send(x.id("E"), EXPIRED)  # GTD/IOC expiry reported by the exchange
    assert x.b.state is BracketState.EXPIRED


def test_cancel_before_placement_and_a_late_fill() -> None:
    d = Driver(make_bracket(SPOT))
    d.start()
    (cancel,) = d.b.cancel()
    assert isinstance(cancel, CancelLegs)
    assert d.b.state is BracketState.CANCELED and cancel.client_order_ids == (d.id("E"),)
    # The entry had been placed after all: a NEW is cancelled again, a fill is an error to flatten.
    (again,) = d.send(d.id("E"), NEW)
    assert isinstance(again, CancelLegs)
    intents = d.send(d.id("E"), FILLED, "0.5", "62000")
    assert d.b.state is BracketState.ERROR and "after the bracket was CANCELED" in d.b.errors[0]
    assert isinstance(intents[-1], ClosePosition) and intents[-1].order.quantity == D("0.5")


def test_flatten() -> None:
    d = Driver(make_bracket(USDM, RiskConfig(leverage=5)))
    fill_entry(d)
    ack_all(d, ["T1", "T2", "T3", "S"])
    cancel, close = d.collect(d.b.flatten("kill switch"))
    assert isinstance(cancel, CancelLegs) and len(cancel.client_order_ids) == 4
    assert isinstance(close, ClosePosition) and close.order.client_order_id == d.id("C")
    assert (
        close.order.order_type,
        close.order.side,
        close.order.quantity,
        close.order.reduce_only,
    ) == (OrderType.MARKET, Side.SELL, D("0.5"), True)
    for s in ("T1", "T2", "T3", "S"):
        assert d.send(d.id(s), CANCELED) == []  # no re-protection while flattening
    d.send(d.id("C"), FILLED, "0.5", "61900")
    assert d.b.state is BracketState.CLOSED and d.b.total_realized_pnl == D(-50)


# ------------------------------------------------------------------ bad streams
def test_impossible_updates_set_error_instead_of_raising() -> None:
    d = Driver(make_bracket(USDM, RiskConfig(leverage=5)))
    d.start()
    d.specs[d.id("T1")] = d.specs[d.id("E")].model_copy(
        update={"client_order_id": d.id("T1"), "side": Side.SELL}
    )
    d.send(d.id("T1"), FILLED, "0.5", "62300")  # a take profit fills with no position
    assert d.b.state is BracketState.ERROR and "more than the entry's 0" in d.b.errors[0]

    r = Driver(make_bracket(USDM, RiskConfig(leverage=5)))
    r.start()
    r.send(r.id("E"), REJECTED, reason="Margin is insufficient.")
    assert r.b.state is BracketState.ERROR and r.b.errors == [
        "entry rejected by the exchange: Margin is insufficient."
    ]

    s = Driver(make_bracket(USDM, RiskConfig(leverage=5)))
    fill_entry(s)
    intents = s.send(s.id("S"), REJECTED, reason="Order would immediately trigger.")
    assert s.b.state is BracketState.ERROR
    assert isinstance(intents[-1], ClosePosition) and intents[-1].order.quantity == D("0.5")

    g = Driver(make_bracket(USDM, RiskConfig(leverage=5)))
    g.start()
    g.send(g.id("E"), PART, "0.3", "62000")
    u = g.update(g.id("E"), PART, "0.1", "62000")  # later sequence, less filled
    assert g.b.apply(u) == []
    assert g.b.state is BracketState.ERROR and "went back from 0.3 to 0.1" in g.b.errors[0]


def test_foreign_updates_are_ignored() -> None:
    d = Driver(make_bracket(SPOT))
    d.start()
    u = d.update(d.id("E"), NEW)
    for other in (
        u.model_copy(update={"client_order_id": "x-HNA2TXFJ123"}),
        u.model_copy(update={"client_order_id": "tt-someoneelse-E"}),
        u.model_copy(update={"symbol": "ETHUSDT"}),
    ):
        assert d.b.apply(other) == []
    assert d.b.state is BracketState.PENDING and d.b.orders == {} and len(d.b.log) == 3


def test_final_is_final_and_stale_is_ignored() -> None:
    d = Driver(make_bracket(SPOT))
    fill_entry(d)
    before = without_log(d.b)
    late = d.update(d.id("E"), PART, "0.3", "62000")  # higher sequence, but FILLED is final
    stale = d.journal[1]  # the NEW, sequence 1
    assert d.b.apply(late) == [] and d.b.apply(stale) == [] and d.b.apply(d.journal[-1]) == []
    assert without_log(d.b) == before


FUT_RISK = RiskConfig(leverage=5)
FUT_DECISION = make_decision(USDM, FUT_RISK)


def replay(updates: list[OrderUpdateV1]) -> Bracket:
    return Bracket.rebuild(FUT_DECISION, USDM, FUT_RISK, updates)


def happy_journal() -> tuple[Bracket, list[OrderUpdateV1]]:
    d = Driver(Bracket.from_decision(FUT_DECISION, USDM, FUT_RISK))
    fill_entry(d)
    d.send(d.id("E"), FILLED, "0.5", "62000")
    ack_all(d, ["T1", "T2", "T3", "S"])
    d.send(d.id("T1"), PART, "0.1", "62300")
    d.send(d.id("T1"), FILLED, "0.2", "62300")
    d.send(d.id("S"), CANCELED)
    d.send(d.id("Sr1"), NEW)
    d.send(d.id("T2"), FILLED, "0.15", "62400")
    return d.b, d.journal


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), extra=st.integers(1, 15))
def test_duplicated_and_reordered_updates_give_the_same_bracket(seed: int, extra: int) -> None:
    clean, journal = happy_journal()
    rng = random.Random(seed)
    noisy = list(journal)
    for _ in range(extra):
        # Re-deliver an old update somewhere after its original position (duplicate or stale).
        i = rng.randrange(len(journal))
        noisy.insert(rng.randrange(noisy.index(journal[i]) + 1, len(noisy) + 1), journal[i])
    replayed = replay(noisy)
    assert without_log(replayed) == without_log(clean)


def test_out_of_order_within_one_order() -> None:
    clean, journal = happy_journal()
    t1 = [u for u in journal if u.client_order_id.endswith("-T1")]
    swapped = [u for u in journal if u not in t1]
    # T1's FILLED arrives before its NEW and its partial fill.
    at = swapped.index(
        next(u for u in swapped if u.client_order_id.endswith("-S") and u.status is CANCELED)
    )
    swapped[at:at] = [t1[2], t1[0], t1[1]]
    replayed = replay(swapped)
    assert without_log(replayed) == without_log(clean)


def test_restart_snapshot_equals_replay() -> None:
    clean, journal = happy_journal()
    snapshot = orjson.loads(orjson.dumps(clean.to_dict()))  # through real JSON, as persisted
    restored = Bracket.from_dict(snapshot)
    replayed = replay(journal)
    assert restored == clean and replayed == clean
    assert restored.position == D("0.15") and restored.stop_price == D("62124.2")
    # Both continue identically.
    final = OrderUpdateV1.model_validate(
        journal[-1].model_dump()
        | {
            "client_order_id": f"tt-{clean.decision_id}-T3",
            "filled_qty": D("0.15"),
            "orig_qty": D("0.15"),
            "avg_price": D(62600),
            "stop_price": D(62600),
            "sequence": 5,
        }
    )
    assert restored.apply(final) == replayed.apply(final)
    assert restored == replayed and restored.state is BracketState.CLOSED


def test_a_stop_move_the_replay_missed_is_adopted_from_its_ack() -> None:
    clean, journal = happy_journal()
    d = Driver(Bracket.from_dict(clean.to_dict()))
    d.b.trailing = True
    d.b.trail_atr_multiple = D(2)
    (move,) = d.collect(d.b.trail(D(63000), D(100)))  # a command, not an update: not in the journal
    assert isinstance(move, MoveStop)
    # Sr2 is the resize after TP2 (in the journal's replay); the trail is the third revision.
    assert move.place[0].client_order_id.endswith("-Sr3")
    d.journal = list(journal)
    d.send(d.id("Sr3"), NEW)
    rebuilt = replay(d.journal)
    assert (rebuilt.stop_revision, rebuilt.stop_price, rebuilt.stop_quantity) == (3, D(62800), D("0.15"))


def test_rejected_decision_cannot_become_a_bracket() -> None:
    bad = FUT_DECISION.model_copy(
        update={"status": DecisionStatus.REJECTED, "reasons": ["guard BLOCK"]}
    )
    with pytest.raises(ValueError, match="only APPROVED"):
        Bracket.from_decision(bad, USDM, FUT_RISK)


def test_a_second_move_cancels_orders_not_yet_acknowledged() -> None:
    d = Driver(make_bracket(SPOT))
    fill_entry(d)
    ack_all(d, ["T1", "S1", "T2", "S2", "T3", "S3"])
    d.send(d.id("T1"), FILLED, "0.2", "62300")  # break-even: pairs r1 asked for, not acknowledged
    (move,) = d.collect(d.b.move_stop(D("62200.004"), "manual"))
    assert isinstance(move, MoveStop) and move.new_price == D(
        "62200.01"
    )  # stop rule: long rounds up
    assert move.cancel == tuple(sorted(d.id(s) for s in ("T2r1", "S2r1", "T3r1", "S3r1")))
    assert [o.client_order_id.rsplit("-", 1)[1] for o in move.place] == [
        "T2r2",
        "S2r2",
        "T3r2",
        "S3r2",
    ]
    assert d.b.move_stop(D(62100), "looser") == []  # never loosened
    assert "refused" in d.b.log[-1]



def test_spot_buy_commission_in_base_is_not_sold_twice() -> None:
    """A spot buy's fee comes out of the coins received (no BNB): the exits must sell only what
    the account holds, or the last one is rejected for insufficient balance."""
    d = Driver(make_bracket(SPOT))
    assert d.b.filters.base_asset == "BTC"
    d.start()
    d.send(d.id("E"), NEW)
    fill = d.update(d.id("E"), FILLED, "0.5", "62000").model_copy(update={"fee": D("0.0005"), "fee_asset": "BTC"})
    d.journal.append(fill)
    intents = d.collect(d.b.apply(fill))
    assert d.b.entry_filled == D("0.5")
    assert d.b.entry_held == d.b.position == D("0.4995")
    (exits,) = [i for i in intents if isinstance(i, PlaceExits)]
    take_profits = [o for o in exits.orders if o.leg.value == "TP"]
    stops = [o for o in exits.orders if o.leg.value == "STOP"]
    assert sum(o.quantity for o in take_profits) == D("0.4995")
    assert sum(o.quantity for o in stops) == D("0.4995")


def test_commission_in_quote_leaves_position_whole() -> None:
    d = Driver(make_bracket(SPOT))
    d.start()
    d.send(d.id("E"), NEW)
    fill = d.update(d.id("E"), FILLED, "0.5", "62000").model_copy(update={"fee": D("31"), "fee_asset": "USDT"})
    d.collect(d.b.apply(fill))
    assert d.b.position == D("0.5")
