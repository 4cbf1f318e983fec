"""What a UI may read from the pipeline, and what it may ask of it.

The screen never touches the exchange, the store or the analysis objects: it renders these
immutable snapshots and calls :class:`Intents`. That keeps trading logic out of ``ui/`` and lets
the same UI run against the live controller, a replay, or a fixed fake in snapshot tests.
Snapshots are plain frozen dataclasses (cheap to build, safe to hand across tasks); ``version``
increases on every change so a widget can skip a repaint when nothing moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from tradeterm.analysis.guards.base import GuardState
from tradeterm.contracts import OrderUpdateV1, SignalRawV1
from tradeterm.pipeline.chartdata import ChartData
from tradeterm.trading.preview import Preview
from tradeterm.trading.ticket import ManualTicket

Market = Literal["spot", "usdm"]
# How a market is named on screen (blotter tag, bracket panel, notifications).
MARKET_LABELS: dict[str, str] = {"spot": "SPOT", "usdm": "USD-M"}


def market_label(market: str) -> str:
    """The on-screen name of a market (``usdm`` -> ``USD-M``); unknown names upper-cased."""
    return MARKET_LABELS.get(market, market.upper())


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogKind = Literal["order", "guard", "signal", "feed", "system", "error"]


@dataclass(frozen=True, slots=True)
class WatchRow:
    symbol: str
    last: float | None
    change_pct: float | None  # over the last 24 h of the chart timeframe's data
    spark: tuple[float, ...]  # recent closes, oldest first
    guard_blocked: bool
    guard_reason: str = ""


@dataclass(frozen=True, slots=True)
class SignalRow:
    signal: SignalRawV1
    age_bars: int
    guard_blocked: bool
    guard_reasons: tuple[str, ...] = ()
    risk_reward: tuple[Decimal, ...] = ()  # the R multiples of the targets


@dataclass(frozen=True, slots=True)
class BracketRow:
    bracket_id: str
    symbol: str
    side: str
    state: str  # the bracket state machine's state name
    quantity: Decimal
    filled: Decimal
    entry: Decimal | None
    stop: Decimal
    targets: tuple[Decimal, ...]
    market: Market = "spot"  # which account the bracket trades in
    leverage: int = 1  # USD-M: the decision's leverage (spot: 1)


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    side: str
    quantity: Decimal
    entry: Decimal
    mark: Decimal | None
    unrealised: Decimal | None  # quote currency
    unrealised_r: Decimal | None
    market: Market = "spot"  # which account holds it (spot: a bracket's bought base; usdm: a futures position)
    leverage: int | None = None  # USD-M: the symbol's leverage setting
    liquidation: Decimal | None = None  # USD-M: the exchange's liquidation price


@dataclass(frozen=True, slots=True)
class AccountView:
    equity: Decimal
    available: Decimal
    quote_asset: str = "USDT"
    day_pnl: Decimal = Decimal(0)
    drawdown_pct: Decimal = Decimal(0)
    kill_switch: bool = False
    kill_reason: str = ""
    market: Market = "spot"  # spot: the paper account; usdm: the futures account (margin balance)
    venue: str = ""  # the broker's venue name (what a ticket for this account names)


@dataclass(frozen=True, slots=True)
class LogLine:
    at_ms: int
    level: LogLevel
    kind: LogKind
    text: str


@dataclass(frozen=True, slots=True)
class HeartbeatCheck:
    name: str  # feeds | clock | broker | store
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class HeartbeatView:
    """The pipeline's last self-check (see ``pipeline/heartbeat.py``)."""

    at_ms: int
    ok: bool
    checks: tuple[HeartbeatCheck, ...] = ()
    clock_offset_ms: int | None = None  # venue clock minus local clock
    stale: tuple[str, ...] = ()  # "BTCUSDT 1m" for each stale series


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """A supervised pipeline worker: restarted with backoff when it fails."""

    name: str
    state: str  # running | restarting | stopped | starting
    restarts: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the workstation shows, for the selected symbol and timeframe."""

    version: int
    symbol: str
    tf: str
    chart: ChartData | None
    watchlist: tuple[WatchRow, ...] = ()
    signals: tuple[SignalRow, ...] = ()
    guards: tuple[GuardState, ...] = ()
    brackets: tuple[BracketRow, ...] = ()
    orders: tuple[OrderUpdateV1, ...] = ()
    positions: tuple[PositionRow, ...] = ()
    account: AccountView | None = None
    log: tuple[LogLine, ...] = ()
    auto_trade: bool = False
    feed_status: str = "starting"
    timeframes: tuple[str, ...] = field(default=("1m", "5m", "15m", "1h", "4h", "1d"))
    venue: str = "paper"  # where a manual ticket goes (the broker's venue)
    market: Market = "spot"  # the selected market: decides whether the bracket panel asks for leverage
    heartbeat: HeartbeatView | None = None  # None until the first self-check ran
    workers: tuple[WorkerRow, ...] = ()  # supervised stage workers, for a health badge
    auto_symbols: tuple[str, ...] = ()  # every symbol with auto-trade on (auto_trade is the selected one)
    # Every market the pipeline trades (demo: spot and usdm). ``brackets``, ``orders`` and
    # ``positions`` hold the rows of all of them (each row says its market); ``account``,
    # ``venue``, ``guards`` and ``chart`` are the selected market's; ``accounts`` has one per market.
    markets: tuple[Market, ...] = ("spot",)
    accounts: tuple[AccountView, ...] = ()


@runtime_checkable
class ReadModel(Protocol):
    def snapshot(self) -> Snapshot:
        """The current state; cheap enough to call at the UI's frame rate."""


@runtime_checkable
class Intents(Protocol):
    """Requests from a UI. Each returns quickly; results show up in later snapshots.
    Methods that can be refused raise :class:`tradeterm.errors.UserError` with the reason.

    ``market`` arguments: where a profile trades more than one market (``Snapshot.markets``,
    the demo's spot and USD-M), the UI names the market a ticket or a close is for instead of
    leaving the pipeline to guess from a venue name or the symbol. ``None`` keeps the old
    meaning (the ticket's venue, else the selected market), so single-market UIs need not care.
    A market the profile does not trade is refused with a UserError naming the ones it does."""

    def select(self, symbol: str, tf: str) -> None: ...

    def select_market(self, market: str) -> None:
        """Which market the snapshot's account, venue, guards and chart are for, and the default
        market of new tickets."""

    def reject_signal(self, signal_id: str) -> None: ...

    def ticket_for_signal(self, signal_id: str, market: str | None = None) -> ManualTicket:
        """A ticket prefilled from a pending signal (the 'approve' key opens the bracket panel),
        for ``market`` (default: the selected one; USD-M tickets carry the default leverage)."""

    def preview(self, ticket: ManualTicket, market: str | None = None) -> Preview:
        """Size, rounding, risk, R:R and fees of a ticket, without sending anything (USD-M:
        with the leverage, margin and liquidation price)."""

    async def place_bracket(
        self, ticket: ManualTicket, t0: float | None = None, market: str | None = None
    ) -> str:
        """Send a bracket; returns its id. Refused (UserError) if the filters or guards forbid it."""

    async def cancel_bracket(self, bracket_id: str) -> None: ...

    async def close_position(self, symbol: str, market: str | None = None) -> None:
        """Close ``symbol``'s position in ``market`` (``None``: the one market holding it, or
        the selected market when several do)."""

    async def kill_switch(self, reason: str) -> None: ...

    def reset_kill_switch(self) -> None: ...

    def set_auto_trade(self, symbol: str, on: bool) -> None: ...


__all__: Sequence[str] = (
    "MARKET_LABELS", "AccountView", "BracketRow", "HeartbeatCheck", "HeartbeatView", "Intents",
    "LogLine", "Market", "PositionRow", "ReadModel", "SignalRow", "Snapshot", "WatchRow",
    "WorkerRow", "market_label",
)
