from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeterm import __version__
from tradeterm.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TRADETERM_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "tradeterm", *args], check=False, capture_output=True, text=True,
                          env=full_env, timeout=60)


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"tradeterm {__version__}"


def test_help_lists_only_real_commands() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for word in ("--profile", "--config", "contracts"):
        assert word in out.stdout
    assert "not implemented" not in out.stdout.lower()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--profile", "yolo"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["contracts"], "required"),
        (["--config", "/nonexistent/tradeterm.toml", "contracts", "export", "x"], "does not exist"),
        (["--speed", "fast"], "--speed must be a positive number or 'max'"),
        (["--speed", "-3"], "--speed must be a positive number or 'max'"),
        (["--theme", "neon-pink", "--ephemeral"], "unknown theme 'neon-pink'"),
    ],
)
def test_errors_are_one_line_exit_2(args: list[str], words: str) -> None:
    out = run_cli(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("tradeterm")
    assert "Traceback" not in out.stderr


def test_bad_env_is_one_line(tmp_path: Path) -> None:
    out = run_cli("contracts", "export", str(tmp_path), env={"TRADETERM_LOG_LEVEL": "chatty"})
    assert out.returncode == 2 and "'log_level'" in out.stderr and "Traceback" not in out.stderr


def test_contracts_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "export", str(tmp_path / "schemas")]) == 0
    files = sorted((tmp_path / "schemas").glob("*.schema.json"))
    assert len(files) == 10
    assert json.loads(files[0].read_text())["$id"].startswith("https://")


def test_contracts_export_to_a_file_path_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["contracts", "export", str(target)]) == 2
    assert "is not a directory" in capsys.readouterr().err
