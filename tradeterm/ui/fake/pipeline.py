"""FakePipeline: the ReadModel and Intents of the workstation over the fake market and book.

This is the one object the app talks to. It owns the frozen clock (which bar is "now"), the
selection (symbol, timeframe), the pending signals and the version counter, and delegates the
rest: prices and charts to :mod:`.market`, orders and positions to :class:`.book.FakeBook`,
row views to :mod:`.readmodel`, guard states to :mod:`.guards`. Sizing and refusals use the
real pure trading functions, so the bracket panel behaves as it will against the live pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tradeterm.analysis.guards.base import GuardState
from tradeterm.errors import UserError
from tradeterm.market.frame import CandleFrame
from tradeterm.market.synthetic import symbol_spec
from tradeterm.pipeline.chartdata import ChartData
from tradeterm.pipeline.readmodel import (
    AccountView,
    SignalRow,
    Snapshot,
)
from tradeterm.trading import (
    AccountSnapshot,
    KillSwitch,
    LadderSpec,
    ManualTicket,
    Preview,
    RiskAmount,
    RiskConfig,
    TripSource,
    preview,
)
from tradeterm.trading.decimals import fmt

from .book import FakeBook
from .filters import Market, symbol_filters
from .guards import fake_guards
from .market import (
    BASE_BARS,
    CHART_BARS,
    DEFAULT_SYMBOLS,
    MINUTE,
    T0,
    TIMEFRAMES,
    base_frame,
    chart_bundle,
    quantize,
    visible_chart_parts,
)
from .readmodel import order_lines, signal_view, watch_row
from .seed import opening_state

CHART_CACHE_SIZE = 32


class FakePipeline:
    """ReadModel and Intents over seeded synthetic markets; see the package docstring.

    ``placed`` records every ticket accepted by :meth:`place_bracket` (tests assert on it),
    ``rejected`` every rejected signal id, ``calls`` every intent by name.
    """

    def __init__(
        self,
        symbols: Sequence[str] = DEFAULT_SYMBOLS,
        *,
        seed: int = 7,
        market: Market = "spot",
        venue: str | None = None,
        bars: int = BASE_BARS,
        equity: Decimal = Decimal(10_000),
    ) -> None:
        if not symbols:
            raise ValueError("FakePipeline needs at least one symbol")
        self.symbols = tuple(s.upper() for s in symbols)
        self.seed = seed
        self.market: Market = market
        self.venue = venue or ("paper-usdm" if market == "usdm" else "paper")
        self.bars = bars
        self.specs = {s: symbol_spec(s) for s in self.symbols}
        self.filters = {s: symbol_filters(self.specs[s], market) for s in self.symbols}
        self.risk = RiskConfig(risk=RiskAmount.parse("0.5%"), leverage=5 if market == "usdm" else 1)
        self.killswitch = KillSwitch()
        self.auto_trade: dict[str, bool] = dict.fromkeys(self.symbols, False)
        self.placed: list[ManualTicket] = []
        self.rejected: list[str] = []
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self.symbol = self.symbols[0]
        self.tf = "1m"
        self._bar_offset = 0  # bars hidden from the end, so advance() can reveal them
        self._version = 1
        self._snapshot: Snapshot | None = None
        self._chart_cache: dict[tuple[object, ...], ChartData] = {}
        self.book = FakeBook(
            venue=self.venue,
            specs=self.specs,
            equity=equity,
            now=lambda: self.now_ms,
            last_price=self.last_price,
            changed=self._changed,
        )
        self._signals: dict[str, SignalRow] = opening_state(
            self.book, self.symbols, self.specs, self.last_price, self.now_ms
        )

    @property
    def equity(self) -> Decimal:
        """Cash equity (realised PnL included, open positions not)."""
        return self.book.equity

    # ------------------------------------------------------------------ clock and prices

    @property
    def now_ms(self) -> int:
        """The frozen clock: the close of the last visible 1m bar."""
        return T0 + (self.bars - self._bar_offset) * MINUTE

    def _frame(self, symbol: str) -> CandleFrame:
        base = base_frame(symbol, self.seed, self.bars)
        return base if self._bar_offset == 0 else base.slice(0, len(base) - self._bar_offset)

    def last_price(self, symbol: str) -> Decimal:
        return quantize(self._frame(symbol).close[-1], self.specs[symbol].tick_size)

    @property
    def hidden(self) -> int:
        """1m bars still hidden at the end of the history (what :meth:`advance` can reveal)."""
        return self._bar_offset

    def advance(self, bars: int = 1) -> None:
        """Reveal ``bars`` more 1m bars (a fake built with ``bars`` hides none: construct it with
        a larger ``bars`` and call :meth:`rewind` first to replay)."""
        self._bar_offset = max(self._bar_offset - bars, 0)
        self._changed()

    def rewind(self, bars: int) -> None:
        """Hide the last ``bars`` 1m bars, so :meth:`advance` can replay them."""
        self._bar_offset = min(self._bar_offset + bars, self.bars - CHART_BARS)
        self._changed()

    def _changed(self) -> None:
        self._version += 1

    # ------------------------------------------------------------------ ReadModel

    def snapshot(self) -> Snapshot:
        if self._snapshot is None or self._snapshot.version != self._version:
            self._snapshot = self._build()
        return self._snapshot

    def _build(self) -> Snapshot:
        now = self.now_ms
        signals = tuple(
            signal_view(r, now, self.guards(r.signal.symbol)) for r in self._signals.values()
        )
        return Snapshot(
            version=self._version,
            symbol=self.symbol,
            tf=self.tf,
            chart=self._chart(self.symbol, self.tf),
            watchlist=tuple(watch_row(s, self._frame(s), self.guards(s)) for s in self.symbols),
            signals=signals,
            guards=self.guards(self.symbol),
            brackets=tuple(self.book.brackets.values()),
            orders=tuple(self.book.orders),
            positions=tuple(self.book.marked(p) for p in self.book.positions.values()),
            account=self._account(),
            venue=self.venue,
            market="usdm" if self.market == "usdm" else "spot",
            log=tuple(self.book.log),
            auto_trade=self.auto_trade[self.symbol],
            feed_status="replay (frozen)" if self._bar_offset == 0 else "replay",
            timeframes=TIMEFRAMES,
        )

    def _chart(self, symbol: str, tf: str) -> ChartData:
        lines = order_lines(symbol, self.book.brackets.values(), self.book.positions.get(symbol))
        key = (symbol, tf, self._bar_offset, lines)
        data = self._chart_cache.get(key)
        if data is None:
            end_ms = self.now_ms if self._bar_offset else None
            frame, smc, series = visible_chart_parts(symbol, self.seed, self.bars, tf, end_ms)
            data = chart_bundle(frame, smc, series, lines, self.specs[symbol].price_decimals)
            if len(self._chart_cache) > CHART_CACHE_SIZE:
                self._chart_cache.clear()
            self._chart_cache[key] = data
        return data

    def guards(self, symbol: str) -> tuple[GuardState, ...]:
        """Every guard for ``symbol`` (see :func:`.guards.fake_guards`)."""
        return fake_guards(symbol, self.now_ms)

    def _account(self) -> AccountView:
        upnl = self.book.unrealised()
        trip = self.killswitch.trip
        equity = self.book.equity
        return AccountView(
            equity=(equity + upnl).quantize(Decimal("0.01")),
            available=max(
                equity - self.book.margin_used() / self.risk.leverage, Decimal(0)
            ).quantize(Decimal("0.01")),
            quote_asset="USDT",
            day_pnl=upnl.quantize(Decimal("0.01")),
            drawdown_pct=Decimal("0.4"),
            kill_switch=self.killswitch.tripped,
            kill_reason=trip.reason if trip is not None else "",
        )

    # ------------------------------------------------------------------ Intents

    def select(self, symbol: str, tf: str) -> None:
        self.calls.append(("select", (symbol, tf)))
        symbol = symbol.upper()
        if symbol not in self.symbols:
            raise UserError(f"{symbol} is not on the watchlist ({', '.join(self.symbols)})")
        if tf not in TIMEFRAMES:
            raise UserError(f"timeframe {tf!r} is not one of {', '.join(TIMEFRAMES)}")
        self.symbol, self.tf = symbol, tf
        self._changed()

    def reject_signal(self, signal_id: str) -> None:
        self.calls.append(("reject_signal", (signal_id,)))
        row = self._signals.pop(signal_id, None)
        if row is None:
            raise UserError(f"signal {signal_id} is no longer pending")
        self.rejected.append(signal_id)
        self.book.add_log(
            "INFO", "signal", f"{row.signal.symbol} {row.signal.side} signal rejected"
        )

    def ticket_for_signal(self, signal_id: str) -> ManualTicket:
        self.calls.append(("ticket_for_signal", (signal_id,)))
        row = self._signals.get(signal_id)
        if row is None:
            raise UserError(f"signal {signal_id} is no longer pending")
        s = row.signal
        levels = self.risk.ladder.levels
        if len(levels) == len(s.take_profits_r):
            tps = [
                f"{fmt(r)}R:{fmt(lv.percent)}" for r, lv in zip(sorted(s.take_profits_r), levels)
            ]
            ladder = LadderSpec.parse(tps)
        else:
            ladder = LadderSpec.equal(sorted(s.take_profits_r))
        return ManualTicket(
            venue=s.venue,
            symbol=s.symbol,
            side=s.side,
            entry=s.entry,
            stop=s.stop,
            take_profits=ladder,
            risk=self.risk.risk,
            leverage=self.risk.leverage if self.market == "usdm" else None,
            ticket_id=f"sig-{s.signal_id}"[:64],
        )

    def preview(self, ticket: ManualTicket) -> Preview:
        filters = self.filters.get(ticket.symbol)
        if filters is None:
            raise UserError(f"{ticket.symbol} is not on the watchlist")
        acct = self._account()
        return preview(
            ticket,
            AccountSnapshot(equity=self.book.equity, available=acct.available, quote_asset="USDT"),
            filters,
            self.risk,
            self.now_ms,
            guards=[f"{g.name}: {g.reason}" for g in self.guards(ticket.symbol) if g.blocked],
            market_price=self.last_price(ticket.symbol),
            killswitch=self.killswitch,
        )

    async def place_bracket(self, ticket: ManualTicket) -> str:
        self.calls.append(("place_bracket", (ticket,)))
        pv = self.preview(ticket)
        if not pv.ok:
            raise UserError("refused: " + "; ".join(pv.reasons))
        bracket_id = pv.decision.decision_id
        if bracket_id in self.book.brackets:
            raise UserError(f"bracket {bracket_id} was already sent")
        self.placed.append(ticket)
        self.book.open_bracket(bracket_id, pv, ticket.symbol)
        return bracket_id

    async def cancel_bracket(self, bracket_id: str) -> None:
        self.calls.append(("cancel_bracket", (bracket_id,)))
        self.book.cancel_bracket(bracket_id)

    async def close_position(self, symbol: str) -> None:
        self.calls.append(("close_position", (symbol,)))
        self.book.flatten(symbol, "closed by user")

    async def kill_switch(self, reason: str) -> None:
        self.calls.append(("kill_switch", (reason,)))
        self.killswitch.trip_now(TripSource.KEY, reason, self.now_ms)
        self.book.cancel_everything(reason)

    def reset_kill_switch(self) -> None:
        self.calls.append(("reset_kill_switch", ()))
        if not self.killswitch.reset("ui", self.now_ms):
            raise UserError("the kill switch is not tripped")
        self.book.add_log("WARNING", "system", "kill switch reset from the UI")

    def set_auto_trade(self, symbol: str, on: bool) -> None:
        self.calls.append(("set_auto_trade", (symbol, on)))
        self.auto_trade[symbol.upper()] = on
        self.book.add_log("INFO", "system", f"auto-trade {'on' if on else 'off'} for {symbol}")
