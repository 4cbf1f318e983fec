from __future__ import annotations

import io
import json
import logging

import pytest

from tradeterm.ops.logging import configure_logging, redact, register_secret

SECRET = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
KEY = "EXAMPLEAPIKEY0123456789"


@pytest.fixture
def json_log() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream=stream)
    register_secret(SECRET)
    register_secret(KEY)
    return stream


def test_registered_secret_never_reaches_the_log(json_log: io.StringIO) -> None:
    log = logging.getLogger("tradeterm.test")
    log.info("signing with %s", SECRET)
    log.warning("key in extra", extra={"headers": {"X-MBX-APIKEY": KEY}, "note": f"k={KEY}"})
    try:
        raise RuntimeError(f"exchange said no to secret {SECRET}")
    except RuntimeError:
        log.exception("order failed")
    text = json_log.getvalue()
    assert SECRET not in text and KEY not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["msg"] == "signing with ***"
    assert lines[1]["headers"] == {"X-MBX-APIKEY": "***"}
    assert "***" in lines[2]["exc"] and lines[2]["level"] == "ERROR"
    assert all(line["ts"].endswith("Z") for line in lines)


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v3/order?symbol=BTCUSDT&timestamp=1&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
        "headers={'X-MBX-APIKEY': 'abcdefghijklmnop'}",
        "api_secret=hunter2hunter2",
        "postgresql://trader:pa55word@db.local:5432/tt",
    ],
)
def test_secret_shapes_are_masked_even_unregistered(text: str) -> None:
    out = redact(text)
    assert "***" in out
    for fragment in ("c8db56825ae7", "abcdefghijklmnop", "hunter2", "pa55word"):
        assert fragment not in out


def test_text_mode_is_readable() -> None:
    stream = io.StringIO()
    configure_logging("text", "INFO", stream=stream)
    logging.getLogger("tradeterm.market").info("connected to %s", "stream")
    line = stream.getvalue().strip()
    assert line.endswith("INFO  tradeterm.market  connected to stream")
    with pytest.raises(ValueError):
        configure_logging("xml")
