"""The activity log the trader reads: order updates, guard flips, signals, reconnects, errors.

A bounded ring (old lines fall off; the full record is in the store's audit log and the process
log) plus a logging handler that copies WARNING and above from ``tradeterm.*`` loggers into it, so
a reconnect or a rejected frame logged deep inside the market stage reaches the screen without
the stage knowing a screen exists.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from tradeterm.ops.logging import redact
from tradeterm.pipeline.readmodel import LogKind, LogLevel, LogLine


class ActivityLog:
    def __init__(self, capacity: int = 500) -> None:
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self.version = 0

    def add(self, kind: LogKind, text: str, level: LogLevel = "INFO", at_ms: int | None = None) -> None:
        stamp = at_ms if at_ms is not None else int(time.time() * 1000)
        self._lines.append(LogLine(stamp, level, kind, redact(text)))
        self.version += 1

    def lines(self) -> tuple[LogLine, ...]:
        return tuple(self._lines)


class ActivityHandler(logging.Handler):
    """Feeds WARNING+ records from the pipeline's loggers into an :class:`ActivityLog`."""

    def __init__(self, log: ActivityLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "in_activity", False):
            return  # the emitter already wrote its own line for the trader
        try:
            level: LogLevel = "ERROR" if record.levelno >= logging.ERROR else "WARNING"
            kind: LogKind = "feed" if record.name.startswith("tradeterm.market") else (
                "order" if record.name.startswith("tradeterm.brokers") else "system")
            self.log.add(kind, record.getMessage(), level, int(record.created * 1000))
        except Exception:  # noqa: BLE001 - a log line must never break the pipeline
            self.handleError(record)
