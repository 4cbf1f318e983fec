"""SIGKILL a broker process at several points of placing a bracket; a new process must
reconcile to one consistent state: no leg twice, a filled entry protected, the bracket equal
to the venue. The venue lives in this process, so it outlives the child."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.brokers.crashkit import kill_child_at
from tests.brokers.helpers import decision
from tests.brokers.test_binance_spot import assert_matches_venue, assert_protected
from tradeterm.store import create_store
from tradeterm.trading.bracket_records import BracketState


@pytest.mark.parametrize("point", ["before_entry", "after_entry_sent", "before_oco", "after_oco_sent"])
async def test_killed_mid_bracket_recovers(env: Any, tmp_path: Path, point: str) -> None:
    e = await env()
    db = tmp_path / "crash.db"
    child_env = {"TT_KEY": e.api_key, "TT_SECRET": e.secret}
    await kill_child_at("tests.brokers.crash_child", e.server.rest_url, e.server.ws_api_url, str(db), point,
                        point=point, env=child_env)

    async with create_store(f"sqlite:///{db}") as store:
        b = await e.broker(store=store, start=False)
        await b.start()
        d = decision(b.filters["BTCUSDT"], venue="binance-spot", entry="100.5", market_price="100")
        br = b.bracket(d.decision_id)
        assert br is not None
        assert len(e.orders_with(br.entry_id)) == 1
        # Net of the buy's BTC commission when its report reached the store, gross otherwise.
        assert br.state is BracketState.EXITS_WORKING and br.position == br.entry_held <= d.quantity
        assert_matches_venue(e, br)
        assert_protected(e, br)
        assert len(e.open_orders()) == 4  # two OCO pairs, each once


@pytest.mark.parametrize("point", ["after_entry_sent", "before_stop", "after_stop_sent"])
async def test_usdm_killed_mid_bracket_recovers(env: Any, tmp_path: Path, point: str) -> None:
    """USD-M: killed after the entry filled, before or after the algo stop went out (the take
    profits go out alongside): the next process has the position under exactly one stop."""
    from tests.brokers.usdm_helpers import (
        algos,
        engine_orders,
        open_engine,
        usdm_broker,
        usdm_decision,
    )
    from tests.brokers.usdm_helpers import (
        assert_matches_venue as usdm_matches,
    )
    from tests.brokers.usdm_helpers import (
        assert_protected as usdm_protected,
    )

    e = await env()
    db = tmp_path / "crash.db"
    child_env = {"TT_KEY": e.api_key, "TT_SECRET": e.secret}
    await kill_child_at("tests.brokers.crash_child", e.server.rest_url, e.server.ws_url, str(db), point, "usdm",
                        point=point, env=child_env)

    async with create_store(f"sqlite:///{db}") as store:
        b = await usdm_broker(e, store=store)
        d = usdm_decision(b.filters["BTCUSDT"])
        br = b.bracket(d.decision_id)
        assert br is not None and br.state is BracketState.EXITS_WORKING and br.position == d.quantity
        assert len(engine_orders(e, br.entry_id)) == 1 and len(algos(e, f"tt-{d.decision_id}-S")) == 1
        usdm_matches(e, br)
        usdm_protected(e, br)
        assert len(open_engine(e)) == 2  # both take profits, each once
