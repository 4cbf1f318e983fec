"""The paper account survives a restart: balances (free and locked), resting orders with their
ids, counters and the candle mark come back from the store, before reconciliation, so the
brackets rebuilt from the journal find their orders where they left them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.brokers.crashkit import kill_child_at
from tests.brokers.helpers import candle, decision
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.store import create_store
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue.symbols import SymbolRules

RULES = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                    step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                    min_price=Decimal("0.01"), max_price=Decimal(1000000), max_qty=Decimal(9000))  # fmt: skip
T0 = 1_700_000_000_000


def _transport() -> PaperTransport:
    t = PaperTransport({"BTCUSDT": RULES}, {"USDT": Decimal(10000)})
    t.set_price("BTCUSDT", Decimal(100), T0)
    return t


async def _broker(store: Any) -> PaperBroker:
    b = PaperBroker(_transport(), store=store, risk=RiskConfig(break_even_on_tp1=False))
    await b.start()
    return b


def _account(b: PaperBroker) -> dict[str, Any]:
    """What must be equal before and after a restart."""
    eng = b.transport.engine
    return {
        "balances": {a: (eng.free[a], eng.locked[a]) for a in sorted(eng.free)},
        "open": sorted((o.client_order_id, o.order_id, o.status, o.type, o.price, o.stop_price, o.orig_qty,
                        o.executed_qty, o.order_list_id) for o in eng.open_orders()),
        "brackets": {did: (br.state, br.position, br.entry_filled) for did, br in b.brackets.items()},
        "positions": [(p.decision_id, p.quantity, p.avg_entry, p.protected) for p in b.positions()],
    }


async def _two_brackets(b: PaperBroker) -> tuple[str, str]:
    """A resting limit entry below the market and a marketable one that fills at once."""
    f = b.filters["BTCUSDT"]
    resting = decision(f, venue="paper", entry="97", stop="92", ticket_id="rest")
    filled = decision(f, venue="paper", entry="100.5", stop="95", market_price="100", ticket_id="fill")
    await b.place_bracket(resting)
    await b.place_bracket(filled)
    assert b.bracket(resting.decision_id).state is BracketState.ENTRY_WORKING
    assert b.bracket(filled.decision_id).state is BracketState.EXITS_WORKING
    return resting.decision_id, filled.decision_id


async def test_restart_on_the_same_store_keeps_the_account(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    async with create_store(url) as store:
        b = await _broker(store)
        rest_id, fill_id = await _two_brackets(b)
        before = _account(b)
        ids_before = {o.order_id for o in b.transport.engine.orders["BTCUSDT"].values()}
        await b.close()

    async with create_store(url) as store:
        b2 = await _broker(store)
        report = b2.reconcile_report if hasattr(b2, "reconcile_report") else None
        assert _account(b2) == before
        # Nothing flagged, nothing re-sent: the same engine orders, no new ones.
        assert {o.order_id for o in b2.transport.engine.orders["BTCUSDT"].values()} == ids_before
        assert report is None or not report.foreign_orders
        # The resting entry is still fillable by a later candle, and its exits follow.
        await b2.on_candle(candle("BTCUSDT", 100, 100.2, 96.5, 98, 1))
        assert b2.bracket(rest_id).state is BracketState.EXITS_WORKING
        assert b2.bracket(fill_id).state is BracketState.EXITS_WORKING
        # Engine ids never repeat across the restart.
        new_ids = {o.order_id for o in b2.transport.engine.orders["BTCUSDT"].values()} - ids_before
        assert new_ids and min(new_ids) > max(ids_before)
        await b2.close()


async def test_restart_reconcile_report_is_clean(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    async with create_store(url) as store:
        b = await _broker(store)
        await _two_brackets(b)
        await b.close()
    async with create_store(url) as store:
        b2 = PaperBroker(_transport(), store=store, risk=RiskConfig(break_even_on_tp1=False))
        report = await b2.start()
        assert report.foreign_orders == [] and report.protected == [] and report.unprotected == []
        # Only the dust the exits could not sell (below one step: the entry's commission was
        # taken in BTC) is outside the brackets, as it would be on a real exchange.
        assert set(report.unmanaged_assets) <= {"BTC"}
        assert report.unmanaged_assets.get("BTC", Decimal(0)) < RULES.step_size
        await b2.close()


@pytest.mark.parametrize("point", ["fill_before_journal", "fill_journalled", "oco_sent"])
async def test_killed_around_a_paper_fill_recovers(tmp_path: Path, point: str) -> None:
    """SIGKILL between the engine's fill and its journal write, between that write and the
    exits, and between the first exit pair and its journal write: the next process finds the
    engine state and the journal agreeing, places what is missing once, and the money adds up."""
    from tests.brokers import paper_crash_child as child

    db = tmp_path / "crash.db"
    await kill_child_at("tests.brokers.paper_crash_child", str(db), point, point=point)

    async with create_store(f"sqlite:///{db}") as store:
        b = PaperBroker(child.transport(), store=store, risk=child.RISK)
        report = await b.start()
        assert report.foreign_orders == []
        d = child.the_decision(b)
        br = b.bracket(d.decision_id)
        assert br is not None
        eng = b.transport.engine
        if point == "fill_before_journal":
            # Neither the fill nor its report was saved: the entry still rests, funds locked,
            # and the same bar (its mark was not saved either) fills it now.
            assert br.state is BracketState.ENTRY_WORKING
            assert [o.client_order_id for o in eng.open_orders()] == [br.entry_id]
            assert eng.locked["USDT"] == Decimal(97) * d.quantity
            await b.on_candle(candle("BTCUSDT", *child.FILL_BAR, 1))
        assert br.state is BracketState.EXITS_WORKING
        entry = [o for o in eng.orders["BTCUSDT"].values() if o.client_order_id == br.entry_id]
        assert len(entry) == 1 and entry[0].status == "FILLED"
        opens = eng.open_orders("BTCUSDT")
        cids = [o.client_order_id for o in opens]
        assert len(cids) == len(set(cids)) == 4  # two OCO pairs, each once
        assert {cid for cid in cids} == {cid for cid, r in br.orders.items() if not r.status.is_final}
        held = entry[0].executed_qty - eng.trades["BTCUSDT"][0].commission
        assert eng.free["BTC"] + eng.locked["BTC"] == held
        assert eng.locked["BTC"] == br.position  # each pair locks its slice once
        assert eng.free["USDT"] == Decimal(10000) - Decimal(97) * d.quantity and eng.locked["USDT"] == 0
        fills = await store.list_fills(client_order_id=br.entry_id)
        assert [f.trade_id for f in fills] == [str(eng.trades["BTCUSDT"][0].id)]
        await b.close()


def _reset_args(*argv: str) -> Any:
    import argparse

    from tradeterm.commands import orders

    p = argparse.ArgumentParser(prog="tradeterm")
    orders.register(p.add_subparsers(dest="command"))
    return p.parse_args(["orders", "paper-reset", *argv])


async def test_paper_reset_refuses_working_brackets_then_starts_over(tmp_path: Path, monkeypatch: Any,
                                                                     capsys: Any) -> None:  # fmt: skip
    from types import SimpleNamespace

    from tradeterm.commands.orders import paper_reset_cmd
    from tradeterm.errors import UserError

    url = f"sqlite:///{tmp_path / 'paper.db'}"
    settings = SimpleNamespace(effective_database_url=url)
    async with create_store(url) as store:
        b = await _broker(store)
        rest_id, fill_id = await _two_brackets(b)
        await b.close()
    with pytest.raises(UserError, match=r"still has 5 open orders and 2 working brackets"):
        await paper_reset_cmd(_reset_args("--yes"), settings)
    with pytest.raises(UserError, match="is not a venue name"):
        await paper_reset_cmd(_reset_args("--venue", "Paper Account!"), settings)

    async with create_store(url) as store:  # the user ends both brackets
        b = await _broker(store)
        await b.cancel(rest_id)
        await b.close_position(fill_id)
        await b.close()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UserError, match="pass --yes"):
        await paper_reset_cmd(_reset_args(), settings)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert await paper_reset_cmd(_reset_args(), settings, ask=lambda _: "no") == 1
    async with create_store(url) as store:
        assert await store.load_paper_state("paper") != []  # not confirmed: kept
    assert await paper_reset_cmd(_reset_args(), settings, ask=lambda _: "reset") == 0
    assert "reset: the next start has the configured starting balance" in capsys.readouterr().out

    async with create_store(url) as store:
        b = await _broker(store)
        eng = b.transport.engine
        assert (eng.free["USDT"], eng.locked["USDT"], eng.free["BTC"]) == (Decimal(10000), 0, 0)
        assert eng.open_orders() == []
        assert all(br.state.value in ("CANCELED", "CLOSED") for br in b.brackets.values())
        await b.close()
        assert [a.kind for a in await store.list_audit(kind="paper_reset")] == ["paper_reset"]


async def test_bar_mark_survives_and_follows_a_market_clock_that_went_back(tmp_path: Path) -> None:
    """A bar is applied once; after a restart the saved mark holds, except when the market clock
    itself went back (the demo venue replays a fresh history at each start): then it follows."""
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    async with create_store(url) as store:
        b = await _broker(store)
        await b.on_candle(candle("BTCUSDT", 100, 100.5, 99.5, 100, 5))
        assert b.transport.fed["BTCUSDT"] == candle("BTCUSDT", 1, 1, 1, 1, 5).open_time
        changes = b.transport.changes
        await b.on_candle(candle("BTCUSDT", 100, 100.5, 99.5, 100, 5))  # the same bar again: skipped
        assert b.transport.changes == changes
        await b.close()
    async with create_store(url) as store:
        b2 = await _broker(store)
        assert b2.transport.fed["BTCUSDT"] == candle("BTCUSDT", 1, 1, 1, 1, 5).open_time
        await b2.on_candle(candle("BTCUSDT", 100, 101, 99.5, 101, 2))  # older: a fresh replay
        assert b2.transport.fed["BTCUSDT"] == candle("BTCUSDT", 1, 1, 1, 1, 2).open_time
        assert await b2.transport.last_price("BTCUSDT") == Decimal(101)
        changes = b2.transport.changes
        await b2.on_candle(candle("BTCUSDT", 100, 101, 99.5, 101, 1))  # older than the new mark
        assert b2.transport.changes == changes
        await b2.close()
