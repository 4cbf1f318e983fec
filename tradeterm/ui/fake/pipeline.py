"""FakePipeline: the ReadModel and Intents of the workstation over the fake market and book.

This is the one object the app talks to. It owns the frozen clock (which bar is "now"), the
selection (symbol, timeframe), the pending signals and the version counter, and delegates the
rest: prices and charts to :mod:`.market`, orders and positions to :class:`.book.FakeBook`,
row views to :mod:`.readmodel`, guard states to :mod:`.guards`. Sizing and refusals use the
real pure trading functions, so the bracket panel behaves as it will against the live pipeline.

Markets: by default the fake trades one market (``market=``, spot unless told), which keeps
every snapshot the tests and benches know. ``markets=("spot", "usdm")`` makes it trade both,
like the controller's demo profile: one :class:`.book.FakeBook` per market (a spot and a USD-M
position in the same symbol never net), ``select_market`` switches what the account, venue and
chart lines show, and the ``market=`` arguments of the intents route a ticket or a close the
way the controller does (a market not traded is refused with a :class:`UserError`).
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
    BracketRow,
    LogLine,
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
    SymbolFilters,
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
KNOWN_MARKETS: tuple[Market, ...] = ("spot", "usdm")


def default_venue(market: Market) -> str:
    """The fake broker's venue name per market (a USD-M name says ``usdm``, as real ones do)."""
    return "paper-usdm" if market == "usdm" else "paper"


class FakePipeline:
    """ReadModel and Intents over seeded synthetic markets; see the package docstring.

    ``placed`` records every ticket accepted by :meth:`place_bracket` (tests assert on it) and
    ``placed_markets`` the market each went to, ``rejected`` every rejected signal id, ``calls``
    every intent by name (with the ``market`` argument appended when one was given).
    """

    def __init__(
        self,
        symbols: Sequence[str] = DEFAULT_SYMBOLS,
        *,
        seed: int = 7,
        market: Market = "spot",
        markets: Sequence[Market] | None = None,
        venue: str | None = None,
        bars: int = BASE_BARS,
        equity: Decimal = Decimal(10_000),
    ) -> None:
        if not symbols:
            raise ValueError("FakePipeline needs at least one symbol")
        self.symbols = tuple(s.upper() for s in symbols)
        self.seed = seed
        self.markets: tuple[Market, ...] = tuple(dict.fromkeys(markets)) if markets else (market,)
        unknown = [m for m in self.markets if m not in KNOWN_MARKETS]
        if unknown or market not in self.markets:
            raise ValueError(f"markets {self.markets} must be spot/usdm and include {market!r}")
        self.market: Market = market  # the selected market
        self.venues: dict[Market, str] = {m: default_venue(m) for m in self.markets}
        if venue:
            self.venues[market] = venue
        self.bars = bars
        self.specs = {s: symbol_spec(s) for s in self.symbols}
        self.filters_of = {
            m: {s: symbol_filters(self.specs[s], m) for s in self.symbols} for m in self.markets
        }
        self.risks = {
            m: RiskConfig(risk=RiskAmount.parse("0.5%"), leverage=5 if m == "usdm" else 1)
            for m in self.markets
        }
        self.killswitch = KillSwitch()
        self.auto_trade: dict[str, bool] = dict.fromkeys(self.symbols, False)
        self.placed: list[ManualTicket] = []
        self.placed_markets: list[Market] = []
        self.rejected: list[str] = []
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self.symbol = self.symbols[0]
        self.tf = "1m"
        self._bar_offset = 0  # bars hidden from the end, so advance() can reveal them
        self._version = 1
        self._snapshot: Snapshot | None = None
        self._chart_cache: dict[tuple[object, ...], ChartData] = {}
        self._born: dict[str, int] = {}  # bracket id -> placement number (blotter order)
        log: list[LogLine] = []  # one activity log, whichever account wrote the line
        self.books: dict[Market, FakeBook] = {
            m: FakeBook(
                venue=self.venues[m],
                specs=self.specs,
                equity=equity,
                now=lambda: self.now_ms,
                last_price=self.last_price,
                changed=self._changed,
                market=m,
                log=log,
            )
            for m in self.markets
        }
        for b in self.books.values():
            b.tagged = len(self.markets) > 1
        self._signals: dict[str, SignalRow] = opening_state(
            self.books[market], self.symbols, self.specs, self.last_price, self.now_ms
        )
        self.books[market].stamp_market()

    # ------------------------------------------------------------------ the selected market

    @property
    def book(self) -> FakeBook:
        """The selected market's account."""
        return self.books[self.market]

    @property
    def venue(self) -> str:
        """The selected market's venue (what a new ticket names)."""
        return self.venues[self.market]

    @property
    def filters(self) -> dict[str, SymbolFilters]:
        """The selected market's exchange filters per symbol."""
        return self.filters_of[self.market]

    @property
    def risk(self) -> RiskConfig:
        """The selected market's risk settings (USD-M: leverage 5 by default)."""
        return self.risks[self.market]

    @property
    def equity(self) -> Decimal:
        """Cash equity of the selected market (realised PnL included, open positions not)."""
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
        books = [self.books[m] for m in self.markets]
        brackets: list[BracketRow] = [b for book in books for b in book.brackets.values()]
        orders = [o for book in books for o in book.orders]
        if len(books) > 1:  # interleave the accounts' rows in the order they happened
            brackets.sort(key=lambda b: self._born.get(b.bracket_id, 0))
            orders.sort(key=lambda o: o.event_time)
        return Snapshot(
            version=self._version,
            symbol=self.symbol,
            tf=self.tf,
            chart=self._chart(self.symbol, self.tf),
            watchlist=tuple(watch_row(s, self._frame(s), self.guards(s)) for s in self.symbols),
            signals=signals,
            guards=self.guards(self.symbol),
            brackets=tuple(brackets),
            orders=tuple(orders),
            positions=tuple(book.marked(p) for book in books for p in book.positions.values()),
            account=self._account(self.market),
            venue=self.venue,
            market=self.market,
            markets=self.markets,
            accounts=tuple(self._account(m) for m in self.markets),
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

    def _account(self, market: Market) -> AccountView:
        book = self.books[market]
        upnl = book.unrealised()
        trip = self.killswitch.trip
        equity = book.equity
        return AccountView(
            equity=(equity + upnl).quantize(Decimal("0.01")),
            available=max(
                equity - book.margin_used() / self.risks[market].leverage, Decimal(0)
            ).quantize(Decimal("0.01")),
            quote_asset="USDT",
            day_pnl=upnl.quantize(Decimal("0.01")),
            drawdown_pct=Decimal("0.4"),
            kill_switch=self.killswitch.tripped,
            kill_reason=trip.reason if trip is not None else "",
            market=market,
            venue=self.venues[market],
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

    def select_market(self, market: str) -> None:
        """Which market the account, venue and chart lines show; new tickets default to it."""
        self.calls.append(("select_market", (market,)))
        self.market = self._check_market(market)
        self._changed()

    def _check_market(self, market: str) -> Market:
        """``market`` as a traded market, or a UserError in the controller's words."""
        m = market.lower()
        if m not in KNOWN_MARKETS:
            raise UserError(f"unknown market {market!r}; use spot or usdm")
        if m not in self.markets:
            raise UserError(
                f"{m} is not traded in this profile (markets: {', '.join(self.markets)})"
            )
        return m  # type: ignore[return-value]

    def market_of(self, ticket: ManualTicket, market: str | None = None) -> Market:
        """Where a ticket goes: ``market`` when given; a single-market fake's only market;
        else the ticket venue's (a name saying usdm/futures is USD-M), else spot."""
        if market is not None:
            return self._check_market(market)
        if len(self.markets) == 1:
            return self.markets[0]
        v = ticket.venue.lower()
        return self._check_market("usdm" if "usdm" in v or "futures" in v else "spot")

    def _record(self, name: str, args: tuple[object, ...], market: str | None) -> None:
        self.calls.append((name, args if market is None else (*args, market)))

    def reject_signal(self, signal_id: str) -> None:
        self.calls.append(("reject_signal", (signal_id,)))
        row = self._signals.pop(signal_id, None)
        if row is None:
            raise UserError(f"signal {signal_id} is no longer pending")
        self.rejected.append(signal_id)
        self.book.add_log(
            "INFO", "signal", f"{row.signal.symbol} {row.signal.side} signal rejected"
        )

    def ticket_for_signal(self, signal_id: str, market: str | None = None) -> ManualTicket:
        self._record("ticket_for_signal", (signal_id,), market)
        m = self._check_market(market) if market is not None else self.market
        row = self._signals.get(signal_id)
        if row is None:
            raise UserError(f"signal {signal_id} is no longer pending")
        s = row.signal
        risk = self.risks[m]
        levels = risk.ladder.levels
        if len(levels) == len(s.take_profits_r):
            tps = [
                f"{fmt(r)}R:{fmt(lv.percent)}" for r, lv in zip(sorted(s.take_profits_r), levels)
            ]
            ladder = LadderSpec.parse(tps)
        else:
            ladder = LadderSpec.equal(sorted(s.take_profits_r))
        return ManualTicket(
            venue=s.venue if len(self.markets) == 1 else self.venues[m],
            symbol=s.symbol,
            side=s.side,
            entry=s.entry,
            stop=s.stop,
            take_profits=ladder,
            risk=risk.risk,
            leverage=risk.leverage if m == "usdm" else None,
            ticket_id=f"sig-{s.signal_id}"[:64],
        )

    def preview(self, ticket: ManualTicket, market: str | None = None) -> Preview:
        m = self.market_of(ticket, market)
        filters = self.filters_of[m].get(ticket.symbol)
        if filters is None:
            raise UserError(f"{ticket.symbol} is not on the watchlist")
        acct = self._account(m)
        if len(self.markets) > 1 and ticket.venue != self.venues[m]:
            ticket = ticket.model_copy(update={"venue": self.venues[m]})
        return preview(
            ticket,
            AccountSnapshot(
                equity=self.books[m].equity, available=acct.available, quote_asset="USDT"
            ),
            filters,
            self.risks[m],
            self.now_ms,
            guards=[f"{g.name}: {g.reason}" for g in self.guards(ticket.symbol) if g.blocked],
            market_price=self.last_price(ticket.symbol),
            killswitch=self.killswitch,
        )

    async def place_bracket(
        self, ticket: ManualTicket, t0: float | None = None, market: str | None = None
    ) -> str:
        """``t0`` (the controller's latency clock) is accepted and ignored: nothing is timed."""
        self._record("place_bracket", (ticket,), market)
        m = self.market_of(ticket, market)
        pv = self.preview(ticket, m)
        if not pv.ok:
            raise UserError("refused: " + "; ".join(pv.reasons))
        bracket_id = pv.decision.decision_id
        if any(bracket_id in b.brackets for b in self.books.values()):
            raise UserError(f"bracket {bracket_id} was already sent")
        self.placed.append(ticket)
        self.placed_markets.append(m)
        self._born[bracket_id] = len(self._born) + 1
        self.books[m].open_bracket(bracket_id, pv, ticket.symbol)
        return bracket_id

    async def cancel_bracket(self, bracket_id: str) -> None:
        self.calls.append(("cancel_bracket", (bracket_id,)))
        book = next((b for b in self.books.values() if bracket_id in b.brackets), self.book)
        book.cancel_bracket(bracket_id)

    async def close_position(self, symbol: str, market: str | None = None) -> None:
        """Close ``symbol`` in ``market``; without one, in the only market holding it, or the
        selected market when several do (the controller's rule)."""
        self._record("close_position", (symbol,), market)
        symbol = symbol.upper()
        if market is not None:
            m = self._check_market(market)
        else:
            holding = [m for m in self.markets if symbol in self.books[m].positions]
            m = self.market if self.market in holding or not holding else holding[0]
        self.books[m].flatten(symbol, "closed by user")

    async def kill_switch(self, reason: str) -> None:
        self.calls.append(("kill_switch", (reason,)))
        self.killswitch.trip_now(TripSource.KEY, reason, self.now_ms)
        books = [self.books[m] for m in self.markets]
        for i, book in enumerate(books):
            book.cancel_everything(reason, announce=i == len(books) - 1)

    def reset_kill_switch(self) -> None:
        self.calls.append(("reset_kill_switch", ()))
        if not self.killswitch.reset("ui", self.now_ms):
            raise UserError("the kill switch is not tripped")
        self.book.add_log("WARNING", "system", "kill switch reset from the UI")

    def set_auto_trade(self, symbol: str, on: bool) -> None:
        self.calls.append(("set_auto_trade", (symbol, on)))
        self.auto_trade[symbol.upper()] = on
        self.book.add_log("INFO", "system", f"auto-trade {'on' if on else 'off'} for {symbol}")
