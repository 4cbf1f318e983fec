"""SIGKILL a child broker process at a named point: the child prints ``AT:<point>`` when it
reaches it and waits there, and the parent kills it at once, as a power cut or ``kill -9``
would (no ``finally``, no flush)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def kill_child_at(module: str, *args: str, point: str, env: dict[str, str] | None = None) -> None:
    """Run ``python -m module args…`` (``point`` among them, where the child expects it) from the
    repo root and SIGKILL it once it reports ``point``."""
    child_env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, cwd=ROOT, env=child_env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        assert line, "child exited early"
        if line == f"AT:{point}":
            break
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
