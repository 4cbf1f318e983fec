"""The workstation as a trader starts it: ``tradeterm`` in a real terminal (tmux), keys sent,
the screen read back with ``capture-pane``; it must quit cleanly with no traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], check=False, capture_output=True, text=True).stdout


def _wait_for(session: str, text: str, timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _capture(session)
        if text in screen:
            return screen
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")


def test_demo_workstation_in_tmux(tmp_path: Path) -> None:
    session = f"tt-{uuid.uuid4().hex[:8]}"
    exit_file = tmp_path / "exit"
    exe = Path(sys.executable).parent / "tradeterm"
    cmd = (f"env -u TRADETERM_CONFIG TRADETERM_DATA_DIR={tmp_path} XDG_CONFIG_HOME={tmp_path}/cfg "
           f"{exe} --ephemeral --speed 120; echo $? > {exit_file}; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "140", "-y", "42", cmd], check=True)
    subprocess.run(["tmux", "set-option", "-t", session, "window-size", "manual"], check=False, capture_output=True)
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", "140", "-y", "42"], check=False, capture_output=True)
    try:
        _wait_for(session, "│ live │")
        for part in ("BTCUSDT", "eq 10,000.00 USDT", "NEWS", "Blotter", "UTC"):
            _wait_for(session, part)  # a capture can land between two writes of one frame
        subprocess.run(["tmux", "send-keys", "-t", session, "]"], check=True)  # next timeframe
        _wait_for(session, "BTCUSDT  15m")
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], check=True)
        deadline = time.monotonic() + 20
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
        assert "Traceback" not in _capture(session)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)
