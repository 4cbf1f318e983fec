"""``tradeterm orders``, driven through a parser built with its ``register()``; the Binance
Spot paths talk to the venue on loopback with keys from settings, never flags."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.venue.conftest import btc_source, venue_config
from tradeterm.commands import orders
from tradeterm.config import load_settings
from tradeterm.errors import UserError
from tradeterm.venue.app import VenueServer


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradeterm")
    orders.register(p.add_subparsers(dest="command"))
    return p


async def call(settings: Any, *argv: str) -> int:
    args = parser().parse_args(["orders", *argv])
    return await args.handler(args, settings)


@pytest.fixture
async def venue() -> Any:
    srv = VenueServer(venue_config([btc_source([(100, 100, 100, 100)] * 20)],
                                   balances={"USDT": Decimal(10000), "BTC": Decimal(1)}))  # fmt: skip
    await srv.start()
    yield srv
    await srv.stop()


def settings_for(srv: VenueServer | None, tmp_path: Path, keys: bool = True) -> Any:
    over: dict[str, Any] = {"data_dir": str(tmp_path), "database_url": f"sqlite:///{tmp_path / 'o.db'}"}
    if srv is not None:
        over["binance"] = {"spot_rest_url": srv.rest_url, "spot_ws_api_url": srv.ws_api_url,
                           "usdm_rest_url": srv.rest_url, "usdm_ws_url": srv.ws_url}
        cred = srv.venue.config.credentials[0]
        if keys:
            over["credentials"] = {"api_key": cred.api_key, "api_secret": cred.secret}
    return load_settings(cli_overrides=over, use_default_file=False)


async def test_paper_dry_run_prints_rounded_legs(tmp_path: Path, capsys: Any) -> None:
    rc = await call(settings_for(None, tmp_path), "bracket", "--symbol", "BTCUSDT", "--side", "buy",
                    "--entry", "59000.003", "--stop", "58000", "--tp", "1.5R:40", "--tp", "2R:30",
                    "--tp", "3R:30", "--risk", "1%", "--dry-run")  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "paper BTCUSDT BUY" in out and "@ 59000" in out and "TP1" in out and "TP3" in out
    assert "R:R 1.5" in out and "dry run: nothing sent" in out
    assert "entry 59000.003 -> 59000" in out  # the rounding is shown


async def test_binance_dry_run_reads_exchange_info_without_keys(venue: Any, tmp_path: Path, capsys: Any) -> None:
    before = len(venue.venue.engine.orders["BTCUSDT"])
    rc = await call(settings_for(venue, tmp_path, keys=False), "bracket", "--venue", "binance-spot",
                    "--symbol", "BTCUSDT", "--side", "buy", "--market", "--stop", "95", "--tp", "2R:100",
                    "--risk", "50", "--equity", "10000", "--dry-run")  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    assert "binance-spot BTCUSDT BUY" in out and "@ market" in out
    assert len(venue.venue.engine.orders["BTCUSDT"]) == before  # nothing sent


async def test_binance_place_list_cancel_flatten(venue: Any, tmp_path: Path, capsys: Any) -> None:
    s = settings_for(venue, tmp_path)
    assert await call(s, "bracket", "--venue", "binance-spot", "--symbol", "BTCUSDT", "--side", "buy",
                      "--entry", "99", "--stop", "95", "--tp", "2R:100", "--risk", "50") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "placed d" in out and "ENTRY_WORKING" in out
    did = out.split("placed ", 1)[1].split(":", 1)[0]
    assert await call(s, "list", "--open") == 0
    assert f"tt-{did}-E" in capsys.readouterr().out
    assert await call(s, "cancel", did) == 0
    assert "CANCELED" in capsys.readouterr().out
    assert not venue.venue.engine.open_orders("BTCUSDT")
    assert await call(s, "flatten") == 0
    assert "0 open orders left" in capsys.readouterr().out


async def test_usdm_dry_run_place_cancel_flatten(venue: Any, tmp_path: Path, capsys: Any) -> None:
    eng = venue.venue.futures.engine
    assert await call(settings_for(venue, tmp_path, keys=False), "bracket", "--venue", "binance-usdm",
                      "--symbol", "BTCUSDT", "--side", "buy", "--market", "--stop", "95", "--tp", "2R:100",
                      "--risk", "50", "--leverage", "3", "--equity", "10000", "--dry-run") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "binance-usdm BTCUSDT BUY" in out and "dry run: nothing sent" in out and not eng.orders["BTCUSDT"]
    s = settings_for(venue, tmp_path)
    assert await call(s, "bracket", "--venue", "binance-usdm", "--symbol", "BTCUSDT", "--side", "buy",
                      "--entry", "99", "--stop", "95", "--tp", "2R:100", "--risk", "50", "--leverage", "3") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "placed d" in out and "ENTRY_WORKING" in out and eng.leverage["BTCUSDT"] == 3
    did = out.split("placed ", 1)[1].split(":", 1)[0]
    assert [o.client_order_id for o in eng.open_orders("BTCUSDT")] == [f"tt-{did}-E"]
    assert await call(s, "list", "--open", "--venue", "binance-usdm") == 0
    assert f"tt-{did}-E" in capsys.readouterr().out
    assert await call(s, "cancel", did, "--venue", "binance-usdm") == 0
    assert "CANCELED" in capsys.readouterr().out and not eng.open_orders("BTCUSDT")
    assert await call(s, "flatten", "--venue", "binance-usdm") == 0
    assert "0 open orders left, 0 positions open" in capsys.readouterr().out


async def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="stop below the entry"):
        await call(settings_for(None, tmp_path), "bracket", "--symbol", "BTCUSDT", "--side", "buy",
                   "--entry", "100", "--stop", "101", "--dry-run")  # fmt: skip
    with pytest.raises(UserError, match="no API key"):
        await call(settings_for(None, tmp_path, keys=False), "cancel", "d123")
