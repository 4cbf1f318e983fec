"""Binance kline intervals and their bucket arithmetic (UTC boundaries)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# 1970-01-01 was a Thursday; Binance weeks start on Monday 00:00 UTC.
_WEEK_OFFSET_MS = 4 * DAY_MS


class Timeframe(StrEnum):
    """Every interval Binance serves, spelled as Binance spells it."""

    S1 = "1s"
    M1 = "1m"
    M3 = "3m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H2 = "2h"
    H4 = "4h"
    H6 = "6h"
    H8 = "8h"
    H12 = "12h"
    D1 = "1d"
    D3 = "3d"
    W1 = "1w"
    MO1 = "1M"

    @property
    def ms(self) -> int:
        """Nominal length in ms (a month is variable: use :meth:`bucket_end` for it)."""
        return _NOMINAL_MS[self]

    @property
    def is_calendar(self) -> bool:
        return self is Timeframe.MO1

    def bucket_start(self, t_ms: int) -> int:
        """Open time of the bar containing ``t_ms``."""
        if self is Timeframe.MO1:
            dt = datetime.fromtimestamp(t_ms // 1000, tz=UTC)
            return int(datetime(dt.year, dt.month, 1, tzinfo=UTC).timestamp() * 1000)
        if self is Timeframe.W1:
            return t_ms - (t_ms - _WEEK_OFFSET_MS) % self.ms
        return t_ms - t_ms % self.ms

    def bucket_end(self, open_ms: int) -> int:
        """Open time of the next bar (exclusive end)."""
        if self is Timeframe.MO1:
            dt = datetime.fromtimestamp(open_ms // 1000, tz=UTC)
            year, month = (dt.year + 1, 1) if dt.month == 12 else (dt.year, dt.month + 1)
            return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)
        return open_ms + self.ms

    def close_time(self, open_ms: int) -> int:
        """Binance's ``closeTime``: the last millisecond inside the bar."""
        return self.bucket_end(open_ms) - 1


_NOMINAL_MS: dict[Timeframe, int] = {
    Timeframe.S1: 1000,
    Timeframe.M1: MINUTE_MS,
    Timeframe.M3: 3 * MINUTE_MS,
    Timeframe.M5: 5 * MINUTE_MS,
    Timeframe.M15: 15 * MINUTE_MS,
    Timeframe.M30: 30 * MINUTE_MS,
    Timeframe.H1: HOUR_MS,
    Timeframe.H2: 2 * HOUR_MS,
    Timeframe.H4: 4 * HOUR_MS,
    Timeframe.H6: 6 * HOUR_MS,
    Timeframe.H8: 8 * HOUR_MS,
    Timeframe.H12: 12 * HOUR_MS,
    Timeframe.D1: DAY_MS,
    Timeframe.D3: 3 * DAY_MS,
    Timeframe.W1: 7 * DAY_MS,
    Timeframe.MO1: 31 * DAY_MS,
}
