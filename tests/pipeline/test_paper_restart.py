"""The demo pipeline restarted on the same database keeps its paper account (balances, resting
orders, brackets), reconciles without flags or duplicate orders; ``--ephemeral`` starts fresh."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import until
from tradeterm.analysis.guards import GuardBoard
from tradeterm.config import load_settings
from tradeterm.contracts import Side
from tradeterm.pipeline.controller import PipelineController, PipelineOptions
from tradeterm.trading.ticket import ManualTicket


def _options(**kw: Any) -> PipelineOptions:
    # Real-time speed: at most a bar or two closes during the test, far from every order's
    # price (10% and 5% away); no guards (their verdict is not the subject here).
    return PipelineOptions(symbols=("BTCUSDT",), timeframes=("1m",), speed=1.0, history_bars=120,
                           guards=lambda: GuardBoard([]), usdm=False, **kw)  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in list(os.environ):
        if key.startswith("TRADETERM_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRADETERM_DATA_DIR", str(tmp_path))
    return load_settings(use_default_file=False)


def _account(c: PipelineController) -> dict[str, Any]:
    assert c.trading is not None
    b = c.trading.broker
    eng = b.transport.engine
    return {
        "balances": {a: (eng.free[a], eng.locked[a]) for a in sorted(eng.free) if eng.free[a] or eng.locked[a]},
        "open": sorted((o.client_order_id, o.order_id, o.status, o.price, o.stop_price, o.orig_qty)
                       for o in eng.open_orders()),
        "brackets": {did: (br.state.value, br.position) for did, br in b.brackets.items()},
    }


async def test_demo_restart_keeps_the_paper_account(settings: Any) -> None:
    async with PipelineController(settings, _options()) as c:
        await until(lambda: c.trading is not None and c.trading.account is not None)
        last = await c.trading.broker.transport.last_price("BTCUSDT")  # type: ignore[union-attr]
        resting = await c.place_bracket(ManualTicket(venue="paper", symbol="BTCUSDT", side=Side.BUY,
                                                     entry=last * Decimal("0.9"), stop=last * Decimal("0.88")))
        filled = await c.place_bracket(ManualTicket(venue="paper", symbol="BTCUSDT", side=Side.BUY, entry=None,
                                                    stop=last * Decimal("0.95")))
        brackets = c.trading.broker.brackets  # type: ignore[union-attr]
        assert brackets[resting].state.value == "ENTRY_WORKING"
        assert brackets[filled].state.value == "EXITS_WORKING"
        before = _account(c)
        equity = c.trading.account.equity  # type: ignore[union-attr]
    assert before["balances"]["USDT"][1] > 0 and before["balances"]["BTC"][1] > 0  # locked by orders

    async with PipelineController(settings, _options()) as c2:
        assert c2.trading is not None
        assert _account(c2) == before
        report = c2.reconcile_report
        assert report.foreign_orders == [] and report.protected == [] and report.unprotected == []
        assert c2.trading.account is not None and c2.trading.account.equity != Decimal(10_000)
        assert abs(c2.trading.account.equity - equity) < equity * Decimal("0.05")  # same holdings

    async with PipelineController(settings, _options(ephemeral=True)) as fresh:
        assert fresh.trading is not None
        acc = _account(fresh)
        assert acc["open"] == [] and acc["brackets"] == {}
        assert acc["balances"] == {"USDT": (Decimal(10_000), Decimal(0))}
