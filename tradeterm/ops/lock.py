"""One daemon per data directory: two daemons trading one account would place every order twice.

An advisory ``flock`` on a file in the data dir: the kernel releases it when the process dies,
even on SIGKILL, so a crash never leaves a stale lock behind (a pid file alone would).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Self

from tradeterm.errors import UserError


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"another tradeterm daemon (pid {holder}) is running on {self.path.parent}; "
                "two daemons must never trade one account"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
