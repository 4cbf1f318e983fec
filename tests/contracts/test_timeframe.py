from __future__ import annotations

import pytest

from tradeterm.contracts import Timeframe, iso_to_ms


@pytest.mark.parametrize(
    ("tf", "t", "start"),
    [
        ("15m", "2024-03-01T12:14:59Z", "2024-03-01T12:00:00Z"),
        ("4h", "2024-03-01T03:59:59Z", "2024-03-01T00:00:00Z"),
        ("1d", "2024-03-01T23:00:00Z", "2024-03-01T00:00:00Z"),
        ("1w", "2024-03-03T23:59:59Z", "2024-02-26T00:00:00Z"),  # weeks start Monday 00:00 UTC
        ("1w", "2024-03-04T00:00:00Z", "2024-03-04T00:00:00Z"),
        ("1M", "2024-02-29T12:00:00Z", "2024-02-01T00:00:00Z"),
    ],
)
def test_bucket_start(tf: str, t: str, start: str) -> None:
    assert Timeframe(tf).bucket_start(iso_to_ms(t)) == iso_to_ms(start)


def test_month_end_and_close_time() -> None:
    feb = iso_to_ms("2024-02-01T00:00:00Z")
    assert Timeframe.MO1.bucket_end(feb) == iso_to_ms("2024-03-01T00:00:00Z")
    assert Timeframe.MO1.bucket_end(iso_to_ms("2024-12-01T00:00:00Z")) == iso_to_ms("2025-01-01T00:00:00Z")
    assert Timeframe.M1.close_time(feb) == feb + 59_999


def test_unknown_interval_is_rejected() -> None:
    with pytest.raises(ValueError):
        Timeframe("7m")
