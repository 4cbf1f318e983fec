"""The matching engine's lookup indexes (clientOrderId -> orders, listClientOrderId -> lists, the
open-order set) against brute-force scans of the full history, through a long seeded sequence of
placements, fills, IOC/FOK expiries, OCO/OTO/OTOCO lists, cancels and cancel-alls with a small
pool of reused client ids. Also: the faster ``new_client_id`` draws the same ids per seed, and
event snapshots are plain copies."""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from decimal import Decimal as D

import pytest

from tests.venue.conftest import btc_source, venue_config
from tradeterm.venue.errors import VenueError
from tradeterm.venue.matching import _ALNUM, MatchingEngine, Order, OrderList, OrderSpec
from tradeterm.venue.venue import Venue

SYM = "BTCUSDT"
POOL = ["c0", "c1", "c2", "c3", "c4"]
LIST_POOL = ["l0", "l1", "l2"]
DUPLICATE = "Duplicate order sent."


def _ref_find_order(eng: MatchingEngine, cid: str) -> Order | None:
    hits = [o for o in eng.orders[SYM].values() if o.client_order_id == cid]
    open_hits = [o for o in hits if o.is_open]
    return (open_hits or hits)[-1] if hits else None


def _ref_find_list(eng: MatchingEngine, cid: str) -> OrderList | None:
    hits = [ol for ol in eng.lists.values() if ol.list_client_order_id == cid]
    open_hits = [ol for ol in hits if ol.is_open]
    return (open_hits or hits)[-1] if hits else None


def _check(eng: MatchingEngine) -> None:
    every = list(eng.orders[SYM].values())
    for cid in POOL + [o.client_order_id for o in every[-5:]]:
        assert eng.find_order(SYM, client_id=cid) is _ref_find_order(eng, cid)
        assert eng._client_id_open(SYM, cid) == any(o.is_open and o.client_order_id == cid for o in every)
    for lcid in LIST_POOL + [ol.list_client_order_id for ol in list(eng.lists.values())[-3:]]:
        assert eng.find_list(client_id=lcid) is _ref_find_list(eng, lcid)
    assert eng.find_order(SYM, client_id="never-used") is None
    assert eng.find_list(client_id="never-used") is None
    assert eng.find_order(SYM) is None and eng.find_list() is None
    assert sorted(o.order_id for o in eng.open_orders(SYM)) == [o.order_id for o in every if o.is_open]
    # every order is indexed exactly once, under its own id
    indexed = [o for hits in eng._by_client_id[SYM].values() for o in hits]
    assert sorted(o.order_id for o in indexed) == [o.order_id for o in every]
    assert all(o.client_order_id == cid for cid, hits in eng._by_client_id[SYM].items() for o in hits)
    lists = [ol for hits in eng._lists_by_client_id.values() for ol in hits]
    assert sorted(ol.order_list_id for ol in lists) == sorted(eng.lists)


def _px(rng: random.Random, lo: float, hi: float) -> str:
    return f"{rng.uniform(lo, hi):.2f}"


def _spec(side: str, type_: str, qty: str, price: str | None = None, stop: str | None = None,
          tif: str | None = None, cid: str | None = None) -> OrderSpec:
    return OrderSpec(SYM, side, type_, quantity=D(qty), price=D(price) if price else None,
                     stop_price=D(stop) if stop else None, time_in_force=tif, client_order_id=cid)


def _random_op(v: Venue, rng: random.Random, counts: dict[str, int]) -> None:
    eng = v.engine
    t = v.market_ms
    mid = float(eng.market[SYM].price)
    op = rng.choice(["limit", "limit", "limit", "ioc", "market", "oco", "oto", "otoco", "cancel", "cancel",
                     "cancel_list", "cancel_all", "step", "step"])
    cid = rng.choice(POOL + [None])
    if op in ("limit", "ioc"):
        side = rng.choice(["BUY", "SELL"])
        tif = "GTC" if op == "limit" else rng.choice(["IOC", "FOK"])
        price = _px(rng, mid * 0.96, mid * 1.01) if side == "BUY" else _px(rng, mid * 0.99, mid * 1.04)
        dup = cid is not None and any(o.is_open and o.client_order_id == cid for o in eng.orders[SYM].values())
        try:
            eng.place_order(_spec(side, "LIMIT", "0.1", price, tif=tif, cid=cid), t)
            assert not dup
            counts["placed"] += 1
        except VenueError as e:
            assert (e.msg == DUPLICATE) == dup, e.msg
            counts["duplicates"] += dup
            counts["rejected"] += 1
    elif op == "market":
        try:
            eng.place_order(_spec(rng.choice(["BUY", "SELL"]), "MARKET", "0.1", cid=cid), t)
            counts["placed"] += 1
        except VenueError:
            counts["rejected"] += 1
    elif op == "oco":
        lcid = rng.choice(LIST_POOL + [None])
        dup = lcid is not None and any(ol.is_open and ol.list_client_order_id == lcid for ol in eng.lists.values())
        above = _spec("SELL", "LIMIT_MAKER", "0.1", _px(rng, mid * 1.005, mid * 1.03), cid=rng.choice(POOL + [None]))
        below = _spec("SELL", "STOP_LOSS", "0.1", stop=_px(rng, mid * 0.97, mid * 0.995), cid=None)
        try:
            eng.place_oco(SYM, above, below, lcid, t)
            assert not dup
            counts["lists"] += 1
        except VenueError as e:
            assert e.msg != DUPLICATE or dup or eng._client_id_open(SYM, above.client_order_id or "")
            counts["rejected"] += 1
    elif op in ("oto", "otoco"):
        lcid = rng.choice(LIST_POOL + [None])
        entry = float(_px(rng, mid * 0.97, mid * 0.999))
        working = _spec("BUY", "LIMIT", "0.1", f"{entry:.2f}", tif="GTC", cid=cid)
        if op == "oto":
            pending = [_spec("SELL", "LIMIT", "0.08", f"{entry * 1.02:.2f}", tif="GTC", cid=rng.choice(POOL + [None]))]
        else:
            pending = [_spec("SELL", "LIMIT_MAKER", "0.08", f"{entry * 1.02:.2f}"),
                       _spec("SELL", "STOP_LOSS", "0.08", stop=f"{entry * 0.98:.2f}")]
        try:
            eng.place_oto(SYM, working, pending, lcid, t)
            counts["lists"] += 1
        except VenueError:
            counts["rejected"] += 1
    elif op == "cancel":
        target = eng.find_order(SYM, client_id=rng.choice(POOL + [o.client_order_id for o in eng.open_orders(SYM)]))
        if target is not None and target.is_open:
            eng.cancel_order(SYM, target, t)
            counts["canceled"] += 1
    elif op == "cancel_list":
        ol = eng.find_list(client_id=rng.choice(LIST_POOL))
        if ol is not None and ol.is_open:
            eng.cancel_list(ol, t)
            counts["canceled"] += 1
    elif op == "cancel_all":
        if eng.open_orders(SYM):
            eng.cancel_all(SYM, t)
            counts["canceled"] += 1
    else:
        v.step(rng.randint(1, 3))
    eng.drain_events()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_indexes_agree_with_full_scans_through_a_long_random_session(seed: int) -> None:
    rng = random.Random(seed)
    bars = []
    price = 100.0
    for _ in range(400):  # oscillating bars so resting orders, stops and targets keep filling
        o = price
        c = o * rng.uniform(0.985, 1.015)
        bars.append((o, max(o, c) * rng.uniform(1.0, 1.01), min(o, c) * rng.uniform(0.99, 1.0), c))
        price = c
    v = Venue(venue_config([btc_source(bars)], futures=False,
                           balances={"USDT": D(10_000_000), "BTC": D(1000)}))
    counts = {"placed": 0, "rejected": 0, "duplicates": 0, "lists": 0, "canceled": 0}
    for _ in range(1500):
        _random_op(v, rng, counts)
        _check(v.engine)
    statuses = {o.status for o in v.engine.orders[SYM].values()}
    # the session really went through every path the indexes must survive
    assert {"NEW", "FILLED", "CANCELED", "EXPIRED"} <= statuses
    assert counts["placed"] > 100 and counts["lists"] > 20 and counts["canceled"] > 20 and counts["duplicates"] > 5
    reused = [hits for hits in v.engine._by_client_id[SYM].values() if len(hits) > 1]
    assert reused, "client ids must be reused for the test to mean anything"


def test_duplicate_list_client_id_rejected_only_while_the_list_is_open() -> None:
    v = Venue(venue_config([btc_source([(100, 100.5, 99.5, 100)] * 3)], futures=False))
    eng = v.engine
    ol, _ = eng.place_oco(SYM, _spec("SELL", "LIMIT_MAKER", "0.5", "102"), _spec("SELL", "STOP_LOSS", "0.5", stop="98"),
                          "same-list", v.market_ms)
    with pytest.raises(VenueError) as ei:
        eng.place_oco(SYM, _spec("SELL", "LIMIT_MAKER", "0.1", "102"), _spec("SELL", "STOP_LOSS", "0.1", stop="98"),
                      "same-list", v.market_ms)
    assert ei.value.msg == DUPLICATE
    eng.cancel_list(ol, v.market_ms)
    ol2, _ = eng.place_oco(SYM, _spec("SELL", "LIMIT_MAKER", "0.5", "102"),
                           _spec("SELL", "STOP_LOSS", "0.5", stop="98"), "same-list", v.market_ms)
    assert eng.find_list(client_id="same-list") is ol2
    eng.cancel_list(ol2, v.market_ms)
    assert eng.find_list(client_id="same-list") is ol2  # none open: the newest


def test_rejected_list_is_not_indexed() -> None:
    v = Venue(venue_config([btc_source([(100, 100.5, 99.5, 100)] * 3)], futures=False,
                           balances={"USDT": D(10), "BTC": D("0.001")}))
    with pytest.raises(VenueError):  # not enough BTC to lock
        v.engine.place_oco(SYM, _spec("SELL", "LIMIT_MAKER", "0.5", "102"), _spec("SELL", "STOP_LOSS", "0.5", stop="98"),
                           "poor", v.market_ms)
    assert v.engine.find_list(client_id="poor") is None and not v.engine.lists


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_generated_client_ids_are_the_same_draws_as_random_choice(seed: int) -> None:
    eng = MatchingEngine({}, {}, seed=seed)
    ref = random.Random(seed)
    for _ in range(300):
        assert eng.new_client_id() == "".join(ref.choice(_ALNUM) for _ in range(22))


def test_order_snapshot_is_an_independent_equal_copy() -> None:
    v = Venue(venue_config([btc_source([(100, 100.5, 99.5, 100)] * 3)], futures=False))
    o, _ = v.engine.place_order(_spec("BUY", "LIMIT", "0.1", "99", tif="GTC", cid="snap"), v.market_ms)
    snap = o.snapshot()
    assert snap == replace(o) and asdict(snap) == asdict(o) and snap is not o
    o.status = "CANCELED"
    assert snap.status == "NEW"
