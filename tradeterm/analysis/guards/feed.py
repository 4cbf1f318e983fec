"""Feed (heartbeat) guard: no new entries on a stale market feed.

Named ``heartbeat`` on the board (the UI's ``HBT`` badge): it is the trading-side half of the
pipeline's heartbeat, whose self-check feeds it the update times.

Signals, sizing and guards all assume the candle book is the present. A dead socket that has not
noticed it is dead (no FIN, no error, just silence), a stalled venue or a frozen ingest leaves the
book frozen while the account can still trade on it. The guard blocks when a followed series of
the symbol has had no candle update for ``stale_after_ms``, or no *closed* candle for
``stale_bars`` bars of its timeframe — the second catches a feed that still sends updates of a
candle that never closes.

It is pure: the caller hands over when each series last changed (wall-clock ms, as received) in
:class:`FeedFreshness`; nothing here reads a clock. No data at all (a backtest, a profile without
a live feed) is SAFE unless configured to fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.analysis.guards.base import GuardInputs, GuardState, Memo, block, missing, safe


@dataclass(frozen=True, slots=True)
class SeriesFreshness:
    """When one series (symbol × timeframe) last changed, in wall-clock epoch ms.

    ``since_ms`` is when the feed started watching it: a series that never updated is judged
    from then, so a feed that dies before its first message still turns stale."""

    tf: str
    tf_ms: int
    since_ms: int
    last_update_ms: int | None = None
    last_close_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FeedFreshness:
    """Every followed series of one symbol."""

    symbol: str
    series: tuple[SeriesFreshness, ...]


class FeedGuardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stale_after_ms: int = Field(default=30_000, gt=0, description="no candle update for this long = stale")
    stale_bars: int = Field(default=3, ge=1, description="no closed candle for this many bars = stale")
    fail_closed: bool = False


class FeedGuard:
    def __init__(self, config: FeedGuardConfig | None = None, name: str = "heartbeat") -> None:
        self.config = config or FeedGuardConfig()
        self.name = name
        self._memo = Memo()

    def evaluate(self, inputs: GuardInputs, now_ms: int) -> GuardState:
        f = inputs.feed
        hit = self._memo.get(f, now_ms)
        if hit is not None:
            return hit
        cfg = self.config
        if f is None or not f.series:
            return self._memo.put(f, 0, None, missing(self.name, "feed data", cfg.fail_closed))
        stale: list[str] = []
        turns_stale: list[int] = []  # first instant at which each limit would be crossed
        for s in f.series:
            upd = s.last_update_ms if s.last_update_ms is not None else s.since_ms
            close = s.last_close_ms if s.last_close_ms is not None else s.since_ms
            close_limit = cfg.stale_bars * s.tf_ms
            if now_ms - upd > cfg.stale_after_ms:
                stale.append(f"{s.tf} no update for {_secs(now_ms - upd)} (limit {_secs(cfg.stale_after_ms)})")
            elif now_ms - close > close_limit:
                stale.append(f"{s.tf} no closed candle for {_secs(now_ms - close)} "
                             f"({cfg.stale_bars} bars = {_secs(close_limit)})")
            else:
                turns_stale.append(min(upd + cfg.stale_after_ms, close + close_limit) + 1)
        if stale:
            # Lifts only when data arrives (a new FeedFreshness): no end time. Not memoised: the
            # reason carries the age, which grows with ``now_ms``.
            return block(self.name, f"{f.symbol} feed stale: " + "; ".join(stale))
        until = min(turns_stale)
        return self._memo.put(f, now_ms, until, safe(self.name, f"{f.symbol} feed fresh", until))


def _secs(ms: int) -> str:
    s = ms / 1000
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"
