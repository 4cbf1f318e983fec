"""The daemon as a user runs it: a subprocess, real HTTP, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADETERM_")}
    env.update({
        "TRADETERM_DATA_DIR": str(tmp_path / "data"),
        "TRADETERM_DAEMON__PORT": "0",
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
    })
    env.update(extra)
    return env


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tradeterm", "--daemon"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_ready_line(stream: IO[str], timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        record = json.loads(line)  # every stdout line must be JSON
        if record["msg"] == "daemon ready":
            return record
    raise AssertionError("daemon never logged 'daemon ready'")


@pytest.fixture
def daemon(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = _env(tmp_path)
    proc = _start(env)
    try:
        ready = _wait_ready_line(proc.stdout)  # type: ignore[arg-type]
        yield proc, str(ready["endpoint"]), env
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_daemon_serves_health_ready_and_metrics_then_stops_on_sigterm(daemon) -> None:  # type: ignore[no-untyped-def]
    proc, endpoint, _ = daemon
    assert endpoint.startswith("http://127.0.0.1:")
    health = httpx.get(f"{endpoint}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "alive"
    ready = httpx.get(f"{endpoint}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"] == {"ok": True, "detail": "sqlite reachable"}
    assert ready.json()["checks"]["feeds"]["ok"] is True
    metrics = httpx.get(f"{endpoint}/metrics", timeout=5)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'tradeterm_check_ok{check="store"} 1.0' in metrics.text
    assert "tradeterm_uptime_seconds" in metrics.text
    assert 'tradeterm_bus_events_total{outcome="published",topic="candles.v1"}' in metrics.text

    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - t0 < 5.0
    rest = proc.stdout.read()  # type: ignore[union-attr]
    messages = [json.loads(line)["msg"] for line in rest.splitlines()]
    assert messages[-1] == "daemon stopped"
    assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]


def test_second_daemon_on_same_data_dir_is_refused(daemon) -> None:  # type: ignore[no-untyped-def]
    _, _, env = daemon
    second = subprocess.run([sys.executable, "-m", "tradeterm", "--daemon"], check=False, env=env, capture_output=True,
                            text=True, timeout=30)
    assert second.returncode == 2
    assert "another tradeterm daemon" in second.stderr and "Traceback" not in second.stderr


def test_daemon_audit_trail_survives_restart(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for _ in range(2):
        proc = _start(env)
        _wait_ready_line(proc.stdout)  # type: ignore[arg-type]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    import asyncio

    from tradeterm.store import create_store

    async def audit() -> list[str]:
        async with create_store(f"sqlite:///{tmp_path / 'data' / 'tradeterm.db'}") as store:
            return [e.message for e in await store.list_audit(kind="daemon")]

    assert asyncio.run(audit()) == ["stopped", "started", "stopped", "started"]


def test_daemon_with_command_or_bad_port_is_one_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "tradeterm", "--daemon", "db", "status"], check=False, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "cannot be combined" in out.stderr
    out = subprocess.run([sys.executable, "-m", "tradeterm", "--daemon"], check=False, env=_env(tmp_path, TRADETERM_DAEMON__PORT="99999"),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "'daemon.port'" in out.stderr
