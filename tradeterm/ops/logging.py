"""Structured logging: JSON lines for the daemon, readable lines for the TUI and the console.

Every handler gets a :class:`RedactingFilter`. Known secret values are registered at start-up
(``register_secret``) and masked wherever they appear — message, arguments, extra fields or
exception text — and a few shapes that always carry secrets (Binance's ``signature=``, the
``X-MBX-APIKEY`` header, ``api_secret=…``) are masked even when the value was never registered.
Belt and braces: secrets are also held as ``SecretStr`` so they rarely reach a log at all.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any, TextIO

import orjson

MASK = "***"
_registered: set[str] = set()
_SHAPES = [
    re.compile(r"(?i)(signature=)[0-9a-fA-F]{16,}"),
    re.compile(r"(?i)(X-MBX-APIKEY[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)((?:api[_-]?secret|api[_-]?key|secret[_-]?key|password)[\"']?\s*[:=]\s*[\"']?)[^\s&\"',}]{4,}"),
    re.compile(r"(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+(@)"),
]
# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is emitted.
_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def register_secret(value: str | None) -> None:
    """Mask this exact value in every log line from now on (values shorter than 4 are ignored,
    as masking every 'a' would make logs unreadable without protecting anything)."""
    if value and len(value) >= 4:
        _registered.add(value)


def redact(text: str) -> str:
    for secret in _registered:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _SHAPES:
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(2) if m.lastindex and m.lastindex >= 2 else ""), text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrite the record in place so that no formatter or handler downstream sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STD_ATTRS:
                setattr(record, key, _redact_value(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO UTC), level, logger, msg, plus any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and key not in out:
                out[key] = value
        if record.exc_text:
            out["exc"] = record.exc_text
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """Readable line for a terminal or the TUI log panel: ``12:00:01 INFO  market  message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(name)s  %(message)s", datefmt="%H:%M:%S")
        self.converter = time.gmtime


def configure_logging(mode: str = "text", level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Install one handler on the ``tradeterm`` logger (idempotent) and return it."""
    if mode not in ("json", "text"):
        raise ValueError("logging mode must be 'json' or 'text'")
    logger = logging.getLogger("tradeterm")
    for h in list(logger.handlers):
        if getattr(h, "_tradeterm", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if mode == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    handler._tradeterm = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return handler
