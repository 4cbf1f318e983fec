"""The controller's operational side: supervised stages, heartbeat, metrics, shutdown order."""

from __future__ import annotations

import asyncio
import logging
import os
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.waiting import until
from tradeterm.analysis.guards import GuardBoard, default_board
from tradeterm.config import load_settings
from tradeterm.contracts import Side
from tradeterm.errors import UserError
from tradeterm.pipeline.controller import PipelineController, PipelineOptions
from tradeterm.pipeline.metrics import ControllerCollector
from tradeterm.pipeline.supervisor import BackoffPolicy
from tradeterm.trading.ticket import ManualTicket


def _calm_board() -> GuardBoard:
    return GuardBoard([g for g in default_board().guards if g.name != "regime"])


@pytest.fixture
async def controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for key in list(os.environ):
        if key.startswith("TRADETERM_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRADETERM_DATA_DIR", str(tmp_path))
    c = PipelineController(load_settings(use_default_file=False), PipelineOptions(
        symbols=("BTCUSDT",), timeframes=("1m",), speed=1200, history_bars=200, guards=_calm_board,
        heartbeat_s=0.2, backoff=BackoffPolicy(base_s=0.01, cap_s=0.05)))
    async with c:
        yield c


def _resting_buy(c: PipelineController) -> ManualTicket:
    frame = c.frame("BTCUSDT", "1m")
    assert frame is not None
    last = Decimal(str(frame.close[-1])).quantize(Decimal("0.01"))
    return ManualTicket(venue="binance-spot", symbol="BTCUSDT", side=Side.BUY, entry=last * Decimal("0.9"),
                        stop=last * Decimal("0.88"))


async def test_crashed_trading_worker_is_restarted_and_shown(controller: PipelineController,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    c = controller
    await until(lambda: c.trading is not None and c.trading.account is not None and c.frame("BTCUSDT", "1m") is not None)
    assert c.trading is not None
    real = c.trading.on_update
    crashed = []

    def buggy(u):  # type: ignore[no-untyped-def]
        if not crashed:
            crashed.append(u.client_order_id)
            raise KeyError("injected fault in the order-update worker")
        real(u)

    c.trading.on_update = buggy  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="tradeterm.pipeline.supervisor"):
        did = await c.place_bracket(_resting_buy(c))
        await until(lambda: c.supervisor.workers["order-updates"].restarts >= 1
                     and c.supervisor.workers["order-updates"].state == "running")
    assert crashed and any("worker order-updates failed: KeyError" in r.getMessage() for r in caplog.records)
    snap = c.snapshot()
    (row,) = [w for w in snap.workers if w.name == "order-updates"]
    assert row.restarts >= 1 and "injected fault" in row.last_error
    assert any(line.kind == "error" and "worker order-updates failed" in line.text for line in snap.log)
    # After the restart the worker caught up: the update that crashed it is in the read model.
    await until(lambda: any(o.client_order_id.startswith(did) or o.decision_id == did for o in c.snapshot().orders))
    text = _scrape(c)
    assert 'tradeterm_worker_restarts_total{worker="order-updates"}' in text
    assert _sample(text, 'tradeterm_worker_restarts_total{worker="order-updates"}') >= 1
    assert _sample(text, 'tradeterm_worker_up{worker="analysis"}') == 1.0


async def test_heartbeat_reaches_the_read_model(controller: PipelineController) -> None:
    c = controller
    await until(lambda: c.heartbeat.last is not None and c.heartbeat.feed.last_candle is not None
                 and c.trading is not None and c.trading.account is not None)
    await until(lambda: c.heartbeat.last is not None and c.heartbeat.last.ok
                 and c.heartbeat.last.checks[-1].detail == "sqlite writable")
    hb = c.snapshot().heartbeat
    assert hb is not None and hb.ok and hb.stale == ()
    checks = {chk.name: chk for chk in hb.checks}
    assert set(checks) == {"feeds", "clock", "broker", "store"}
    assert checks["store"].detail == "sqlite writable"
    assert hb.clock_offset_ms is not None and abs(hb.clock_offset_ms) < 1000  # same host, same clock
    assert "reconciled" in checks["broker"].detail
    for _ in range(600):  # readiness of every followed series (/readyz asks the same)
        if await c.series_not_ready() == []:
            break
        await asyncio.sleep(0.1)
    assert await c.series_not_ready() == []


async def test_stale_feed_blocks_entries_through_the_feed_guard(controller: PipelineController,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    c = controller
    caplog.set_level(logging.INFO, logger="tradeterm.pipeline.heartbeat")
    await until(lambda: c.trading is not None and c.trading.account is not None and c.frame("BTCUSDT", "1m") is not None)
    assert c.board("BTCUSDT").get("heartbeat").status == "SAFE"
    # The feed goes silent: the venue's replay clock stops, and what the watcher saw is aged
    # past the limit (synchronously, so no update can race in).
    clock = c.venue_server.venue.clock
    clock.pause()
    await asyncio.sleep(0.5)  # let anything already sent arrive
    watch = c.heartbeat.feed
    for key in watch.last_update:
        watch.last_update[key] -= 120_000
        watch.last_close[key] = watch.last_update[key]
    watch.since_ms -= 120_000
    watch._cache.clear()
    state = c.board("BTCUSDT").get("heartbeat")
    assert state.status == "BLOCK" and "BTCUSDT feed stale: 1m no update" in state.reason
    with pytest.raises(UserError, match="guard BLOCK: heartbeat: BTCUSDT feed stale"):
        await c.place_bracket(_resting_buy(c))
    await until(lambda: c.heartbeat.last is not None and not c.heartbeat.last.ok)
    hb = c.snapshot().heartbeat
    assert hb is not None and hb.stale == ("BTCUSDT 1m",) and not hb.checks[0].ok
    assert any(r.levelno == logging.WARNING and r.getMessage().startswith("heartbeat feeds FAILED: stale: BTCUSDT 1m")
               for r in caplog.records)
    assert any("heartbeat feeds FAILED" in line.text for line in c.snapshot().log)  # shown to the trader
    # Data flowing again lifts the block by itself, and the recovery is logged too.
    clock.resume()
    await until(lambda: c.board("BTCUSDT").get("heartbeat").status == "SAFE")
    await until(lambda: c.heartbeat.last is not None and c.heartbeat.last.checks[0].ok)
    assert any(r.getMessage().startswith("heartbeat feeds recovered") for r in caplog.records)


async def test_metrics_families_have_samples(controller: PipelineController) -> None:
    c = controller
    await until(lambda: c.heartbeat.last is not None and c.trading is not None and c.trading.account is not None)
    c.set_auto_trade("BTCUSDT", True)
    await until(lambda: c.analysis is not None and c.analysis.events_out > 0)
    text = _scrape(c)
    for needle in ('tradeterm_stage_latency_seconds_count{stage="features"}',
                   'tradeterm_stage_latency_seconds_count{stage="smc"}',
                   'tradeterm_events_per_second{topic="candles.v1"}',
                   'tradeterm_feed_reconnects_total{market="binance-spot",reason="drop"}',
                   'tradeterm_rate_limit_weight_used{market="binance-spot"}',
                   'tradeterm_orders{status="NEW"}',
                   'tradeterm_guard_blocked{guard="heartbeat",symbol="BTCUSDT"}',
                   'tradeterm_equity{quote="USDT"} 10000',
                   'tradeterm_drawdown_ratio', 'tradeterm_auto_trade{symbol="BTCUSDT"} 1.0',
                   'tradeterm_heartbeat_ok{check="store"}', 'tradeterm_clock_offset_seconds'):
        assert needle in text, needle
    assert _sample(text, 'tradeterm_stage_latency_seconds_count{stage="features"}') > 0


async def test_shutdown_stops_decisions_first(controller: PipelineController) -> None:
    c = controller
    await until(lambda: c.trading is not None and c.trading.account is not None and c.frame("BTCUSDT", "1m") is not None)
    c.set_auto_trade("BTCUSDT", True)
    c.stop_decisions()
    assert not c.auto_trade("BTCUSDT") and not c.accepting
    with pytest.raises(UserError, match="shutting down"):
        await c.place_bracket(_resting_buy(c))
    with pytest.raises(UserError, match="shutting down"):
        c.set_auto_trade("BTCUSDT", True)


async def test_stop_with_cancel_orders_cancels_working_orders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("TRADETERM_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRADETERM_DATA_DIR", str(tmp_path))
    c = PipelineController(load_settings(use_default_file=False), PipelineOptions(
        symbols=("BTCUSDT",), timeframes=("1m",), speed=1200, history_bars=200, guards=_calm_board))
    await c.start()
    try:
        await until(lambda: c.trading is not None and c.trading.account is not None
                     and c.frame("BTCUSDT", "1m") is not None)
        did = await c.place_bracket(_resting_buy(c))
        await until(lambda: any(o.decision_id == did and o.status.value == "NEW" for o in c.snapshot().orders))
    finally:
        await c.stop(cancel_orders=True)
    from tradeterm.store import create_store

    async with create_store(f"sqlite:///{tmp_path / 'tradeterm.db'}") as store:
        orders = await store.list_orders(decision_id=did)
    assert orders and all(o.status.value == "CANCELED" for o in orders)  # flushed to the store before close
    assert any("withdrew 1 working entry on stop" in line.text for line in c.activity.lines())


def _scrape(c: PipelineController) -> str:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ControllerCollector(c))
    return generate_latest(registry).decode()


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no sample {name}")
