"""``tradeterm venue``: flag validation, and a real process that prints its URLs, serves a data
file, and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tradeterm.commands import venue as cmd
from tradeterm.errors import UserError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "candles" / \
    "binance_spot_BTCUSDT_15m_20260121-20260126.csv"
RUNNER = ("import argparse, asyncio, sys\n"
          "from tradeterm.commands import venue as v\n"
          "p = argparse.ArgumentParser(); v.register(p.add_subparsers())\n"
          "a = p.parse_args(sys.argv[1:]); sys.exit(asyncio.run(a.handler(a, None)))\n")


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    cmd.register(p.add_subparsers())
    return p.parse_args(["venue", *argv])


def test_defaults_generate_credentials_and_a_synthetic_market() -> None:
    config, notes = cmd.build_config(parse(), env={})
    assert config.synthetic == ["BTCUSDT"] and config.speed == 60 and notes["hmac"] == "generated"
    assert config.balances == {"USDT": Decimal(10000)} and config.credentials[0].secret


def test_credentials_from_the_environment() -> None:
    config, notes = cmd.build_config(parse("--speed", "max", "--balance", "BTC=0.5", "--balance", "USDT=5"),
                                     env={cmd.ENV_KEY: "k1", cmd.ENV_SECRET: "s1"})
    assert [(c.api_key, c.secret) for c in config.credentials] == [("k1", "s1")] and notes["hmac"] == "given"
    assert config.speed is None and config.balances == {"BTC": Decimal("0.5"), "USDT": Decimal(5)}


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--host", "0.0.0.0"], "--allow-remote"),
    (["--host", "192.168.1.5"], "non-loopback"),
    (["--speed", "fast"], "--speed"),
    (["--speed", "-2"], "--speed"),
    (["--balance", "USDT"], "ASSET=AMOUNT"),
    (["--balance", "USDT=-1"], "non-negative"),
    (["--api-key", "k"], "--api-secret"),
    (["--api-secret", "s"], "API key"),
    (["--data", "/nonexistent.csv"], "not found"),
    (["--ed25519-public-key", "/nonexistent.pem"], "ed25519"),
])
def test_bad_flags_are_one_clear_line(argv: list[str], fragment: str) -> None:
    with pytest.raises(UserError) as ei:
        cmd.build_config(parse(*argv), env={})
    assert fragment in str(ei.value) and "\n" not in str(ei.value)


def test_allow_remote_accepts_a_non_loopback_host() -> None:
    config, _ = cmd.build_config(parse("--host", "0.0.0.0", "--allow-remote"), env={})
    assert config.credentials


def test_process_serves_and_stops_cleanly_on_ctrl_c() -> None:
    env = {**os.environ, cmd.ENV_KEY: "cli-key", cmd.ENV_SECRET: "cli-secret"}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, "venue", "--data", str(DATA), "--speed", "max",
                             "--history", "100"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=Path(__file__).resolve().parents[2])
    try:
        lines = []
        assert proc.stdout is not None
        for _ in range(20):
            line = proc.stdout.readline()
            lines.append(line)
            if "python-binance" in line or not line:
                break
        text = "".join(lines)
        assert "BTCUSDT" in text and "cli-secret" not in text and "cli-key" in text
        rest = next(ln.split()[1] for ln in lines if ln.strip().startswith("REST"))
        assert rest.startswith("http://127.0.0.1:")
        r = httpx.get(rest + "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h", "limit": 3})
        assert r.status_code == 200 and len(r.json()) == 3
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


FUNDING = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "funding" / \
    "binance_um_BTCUSDT_funding_20250101-20260731.csv"
TIERS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "binance_payloads" / "futures" / "rest" / \
    "leverage_tiers_ccxt_format_2024-10.json.gz"


def test_futures_flags() -> None:
    config, _ = cmd.build_config(parse("--funding-file", str(FUNDING), "--premium", "5", "--funding-rate", "0.0002",
                                       "--futures-balance", "2500.5", "--leverage-tiers", str(TIERS)), env={})
    assert config.futures and config.funding_files == {"*": str(FUNDING)}
    assert config.mark_premium == Decimal("0.0005") and config.funding_rate == Decimal("0.0002")
    assert config.futures_balance == Decimal("2500.5") and config.leverage_tiers_file == str(TIERS)
    config, _ = cmd.build_config(parse("--funding-file", f"btcusdt={FUNDING}", "--premium", "-2.5"), env={})
    assert config.funding_files == {"BTCUSDT": str(FUNDING)} and config.mark_premium == Decimal("-0.00025")
    assert not cmd.build_config(parse("--no-futures"), env={})[0].futures


async def test_futures_flags_reach_the_running_venue() -> None:
    from tradeterm.venue.venue import Venue

    config, _ = cmd.build_config(parse("--funding-file", str(FUNDING), "--premium", "10", "--history", "50",
                                       "--speed", "max"), env={})
    venue = Venue(config)
    fm = venue.futures
    assert fm is not None and fm.funding["BTCUSDT"].times[0] == 1735689600000  # the real file, jitter floored
    m = fm.engine.market["BTCUSDT"]
    assert abs(m.mark - m.last * Decimal("1.001")) <= fm.rules["BTCUSDT"].tick_size
    assert cmd.build_config(parse("--no-futures"), env={})[0].futures is False
    assert Venue(cmd.build_config(parse("--no-futures", "--history", "50"), env={})[0]).futures is None


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--premium", "abc"], "--premium"),
    (["--premium", "900"], "-500..500"),
    (["--premium", "nan"], "--premium"),
    (["--funding-rate", "1"], "--funding-rate"),
    (["--futures-balance", "-1"], "--futures-balance"),
    (["--funding-file", "/nonexistent.csv"], "not found"),
    (["--funding-file", "a b=/x.csv"], "[SYMBOL=]CSV"),
    (["--funding-file", str(DATA)], "not a Binance funding CSV"),
    (["--leverage-tiers", str(DATA)], "--leverage-tiers"),
    (["--leverage-tiers", "/nonexistent.json"], "--leverage-tiers"),
    (["--no-futures", "--premium", "3"], "need futures"),
])
def test_bad_futures_flags_are_one_clear_line(argv: list[str], fragment: str) -> None:
    with pytest.raises(UserError) as ei:
        cmd.build_config(parse(*argv), env={})
    assert fragment in str(ei.value) and "\n" not in str(ei.value)


def test_bad_futures_flag_exits_2_with_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "tradeterm", "venue", "--premium", "lots"], capture_output=True,
                          text=True, timeout=60, check=False, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--premium" in lines[0] and "Traceback" not in proc.stderr
