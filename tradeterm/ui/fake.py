"""A deterministic stand-in for the pipeline: ReadModel + Intents over a seeded synthetic market.

Why it exists: the workstation must be buildable, testable and demonstrable without the live
controller. Snapshot tests need every pixel to be the same on every run (seeded candles, a frozen
clock, fixed signals), and ``tradeterm --replay``/the demo fallback need something tradable with
no network. The fake therefore sizes and checks brackets with the *real* pure trading functions
(:func:`tradeterm.trading.preview`, filters built from the synthetic symbol specs), so the bracket
panel shows the same rounding and refusals the live pipeline would. Only the "exchange" is
imitated: a placed bracket becomes a working bracket (limit) or a position (market) at once.

Nothing here ever sleeps or reads the wall clock; :meth:`FakePipeline.advance` moves the market
by whole bars for a caller that wants motion (a demo timer), and tests leave it frozen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from tradeterm.analysis.guards.base import GuardState, block, fmt_ms, safe
from tradeterm.analysis.smc import SmcConfig, analyze
from tradeterm.contracts import OrderUpdateV1, SignalRawV1
from tradeterm.contracts.base import Side
from tradeterm.contracts.timeframe import Timeframe
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType
from tradeterm.errors import UserError
from tradeterm.market.aggregate import aggregate
from tradeterm.market.frame import CandleFrame
from tradeterm.market.synthetic import SymbolSpec, SyntheticMarket, symbol_spec
from tradeterm.pipeline.readmodel import (
    AccountView,
    BracketRow,
    LogKind,
    LogLevel,
    LogLine,
    PositionRow,
    SignalRow,
    Snapshot,
    WatchRow,
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
    client_order_id,
    preview,
)
from tradeterm.trading.decimals import fmt
from tradeterm.ui.widgets.chart import ChartData, Series, chart_data, indicator_series

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC: where every fake market starts
MINUTE = 60_000
BASE_BARS = 24_000  # 1m bars of history (~16.7 days): enough for 300 bars of 1h
CHART_BARS = 300
TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h")
DEFAULT_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
GUARD_NAMES: tuple[str, ...] = (
    "news",
    "funding",
    "session",
    "regime",
    "drawdown",
    "exposure",
    "heartbeat",
)

Market = Literal["spot", "usdm"]


@lru_cache(maxsize=16)
def _base_frame(symbol: str, seed: int, bars: int) -> CandleFrame:
    """1m history of one symbol; cached per process because tests build many fakes."""
    return SyntheticMarket(symbol, seed=seed, start_ms=T0).generate(bars)


@lru_cache(maxsize=64)
def _chart_parts(
    symbol: str, seed: int, bars: int, tf: str
) -> tuple[CandleFrame, object, tuple[Series, ...]]:
    """The last ``CHART_BARS`` bars of ``tf``, their SMC pass and indicator overlays."""
    base = _base_frame(symbol, seed, bars)
    frame = base if tf == "1m" else aggregate(base, tf)
    start = max(len(frame) - CHART_BARS, 0)
    frame = frame.slice(start, len(frame))
    return frame, analyze(frame, SmcConfig()), indicator_series(frame)


def _q(value: float | Decimal, quantum: Decimal) -> Decimal:
    return Decimal(repr(float(value))).quantize(quantum)


def symbol_filters(spec: SymbolSpec, market: Market) -> SymbolFilters:
    """Exchange filters for a synthetic symbol, in exchangeInfo form so the real parser reads them
    (the same numbers the built-in venue serves)."""
    tick, step = str(spec.tick_size), str(spec.step_size)
    price = {
        "filterType": "PRICE_FILTER",
        "minPrice": tick,
        "maxPrice": "10000000",
        "tickSize": tick,
    }
    lot = {
        "filterType": "LOT_SIZE",
        "minQty": str(spec.min_qty),
        "maxQty": "90000",
        "stepSize": step,
    }
    common = {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base_asset,
        "quoteAsset": spec.quote_asset,
    }
    if market == "usdm":
        return SymbolFilters.from_exchange_info(
            {
                **common,
                "contractType": "PERPETUAL",
                "marginAsset": spec.quote_asset,
                "pricePrecision": spec.price_decimals,
                "quantityPrecision": spec.qty_decimals,
                "maintMarginPercent": "2.5000",
                "orderTypes": [
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET",
                ],
                "filters": [
                    price,
                    lot,
                    {**lot, "filterType": "MARKET_LOT_SIZE"},
                    {"filterType": "MIN_NOTIONAL", "notional": str(spec.min_notional)},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                ],
            }
        )
    return SymbolFilters.from_exchange_info(
        {
            **common,
            "baseAssetPrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "filters": [
                price,
                lot,
                {
                    "filterType": "NOTIONAL",
                    "minNotional": str(spec.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
            ],
        }
    )


class FakePipeline:
    """ReadModel and Intents over seeded synthetic markets; see the module docstring.

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
        self.equity = equity
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
        self._seq = 0
        self._brackets: dict[str, BracketRow] = {}
        self._orders: list[OrderUpdateV1] = []
        self._positions: dict[str, PositionRow] = {}
        self._position_risk: dict[str, Decimal] = {}  # 1R in quote per position
        self._log: list[LogLine] = []
        self._signals: dict[str, SignalRow] = {}
        self._seed_state()

    # ------------------------------------------------------------------ clock and prices

    @property
    def now_ms(self) -> int:
        """The frozen clock: the close of the last visible 1m bar."""
        return T0 + (self.bars - self._bar_offset) * MINUTE

    def _frame(self, symbol: str) -> CandleFrame:
        base = _base_frame(symbol, self.seed, self.bars)
        return base if self._bar_offset == 0 else base.slice(0, len(base) - self._bar_offset)

    def last_price(self, symbol: str) -> Decimal:
        return _q(self._frame(symbol).close[-1], self.specs[symbol].tick_size)

    def advance(self, bars: int = 1) -> None:
        """Reveal ``bars`` more 1m bars (a fake built with ``bars`` hides none: construct it with
        a larger ``bars`` and call :meth:`rewind` first to replay)."""
        self._bar_offset = max(self._bar_offset - bars, 0)
        self._changed()

    def rewind(self, bars: int) -> None:
        """Hide the last ``bars`` 1m bars, so :meth:`advance` can replay them."""
        self._bar_offset = min(self._bar_offset + bars, self.bars - CHART_BARS)
        self._changed()

    # ------------------------------------------------------------------ ReadModel

    def snapshot(self) -> Snapshot:
        if self._snapshot is None or self._snapshot.version != self._version:
            self._snapshot = self._build()
        return self._snapshot

    def _build(self) -> Snapshot:
        signals = tuple(self._signal_view(r) for r in self._signals.values())
        return Snapshot(
            version=self._version,
            symbol=self.symbol,
            tf=self.tf,
            chart=self._chart(self.symbol, self.tf),
            watchlist=tuple(self._watch_row(s) for s in self.symbols),
            signals=signals,
            guards=self.guards(self.symbol),
            brackets=tuple(self._brackets.values()),
            orders=tuple(self._orders),
            positions=tuple(self._marked(p) for p in self._positions.values()),
            account=self._account(),
            venue=self.venue,
            market="usdm" if self.market == "usdm" else "spot",
            log=tuple(self._log),
            auto_trade=self.auto_trade[self.symbol],
            feed_status="replay (frozen)" if self._bar_offset == 0 else "replay",
            timeframes=TIMEFRAMES,
        )

    def _chart(self, symbol: str, tf: str) -> ChartData:
        lines: list[tuple[str, float, str]] = []
        for b in self._brackets.values():
            if b.symbol != symbol or b.state in ("CANCELED", "CLOSED", "EXPIRED"):
                continue
            if b.entry is not None and b.state == "ENTRY_WORKING":
                lines.append(("entry", float(b.entry), "Entry"))
            lines.append(("stop", float(b.stop), "SL"))
            lines += [("target", float(t), f"TP{i}") for i, t in enumerate(b.targets, 1)]
        if symbol in self._positions:
            lines.append(("entry", float(self._positions[symbol].entry), "Pos"))
        key = (symbol, tf, self._bar_offset, tuple(lines))
        data = self._chart_cache.get(key)
        if data is None:
            frame, smc, series = _chart_parts(symbol, self.seed, self.bars, tf)
            if self._bar_offset:
                end_ms = self.now_ms
                keep = int((frame.open_time + Timeframe(tf).ms <= end_ms).sum())
                frame = frame.slice(0, max(keep, 1))
                smc = analyze(frame, SmcConfig())
                series = indicator_series(frame)
            data = chart_data(
                frame,
                smc=smc,  # type: ignore[arg-type]
                series=series,
                orders=lines,
                price_decimals=self.specs[symbol].price_decimals,
            )
            if len(self._chart_cache) > 32:
                self._chart_cache.clear()
            self._chart_cache[key] = data
        return data

    def _watch_row(self, symbol: str) -> WatchRow:
        close = self._frame(symbol).close
        day_ago = close[-min(len(close), 1440)]
        blocked = [g for g in self.guards(symbol) if g.blocked]
        return WatchRow(
            symbol=symbol,
            last=float(close[-1]),
            change_pct=float((close[-1] / day_ago - 1.0) * 100.0),
            spark=tuple(float(x) for x in close[-60::3]),
            guard_blocked=bool(blocked),
            guard_reason="; ".join(f"{g.name}: {g.reason}" for g in blocked),
        )

    def guards(self, symbol: str) -> tuple[GuardState, ...]:
        """Every guard for ``symbol``; SOLUSDT's funding window is the one BLOCK, so the demo
        shows both states (and its signal cannot be sent)."""
        now = self.now_ms
        hour = 60 * MINUTE
        funding_at = (now // (8 * hour) + 1) * 8 * hour
        if symbol == "SOLUSDT":
            funding = block(
                "funding",
                f"funding {fmt_ms(funding_at)} at 0.12% (limit 0.10%)",
                until_ms=funding_at + 15 * MINUTE,
            )
        else:
            funding = safe("funding", f"next funding {fmt_ms(funding_at)} at 0.01%", funding_at)
        return (
            safe("news", "no high-impact news before US CPI", until_ms=now + 95 * MINUTE),
            funding,
            safe("session", "London/New York overlap"),
            safe("regime", "volatility NORMAL, trend UP"),
            safe("drawdown", "day -0.4% of the -3% limit"),
            safe("exposure", "open risk 1.0R of 3R"),
            safe("heartbeat", "feed and user stream alive"),
        )

    def _signal_view(self, row: SignalRow) -> SignalRow:
        age = max((self.now_ms - row.signal.confirmed_at) // MINUTE, 0)
        blocked = [f"{g.name}: {g.reason}" for g in self.guards(row.signal.symbol) if g.blocked]
        return replace(
            row, age_bars=int(age), guard_blocked=bool(blocked), guard_reasons=tuple(blocked)
        )

    def _marked(self, p: PositionRow) -> PositionRow:
        mark = self.last_price(p.symbol)
        sign = 1 if p.side == "BUY" else -1
        pnl = (mark - p.entry) * p.quantity * sign
        r = self._position_risk.get(p.symbol)
        return replace(
            p,
            mark=mark,
            unrealised=pnl.quantize(Decimal("0.01")),
            unrealised_r=(pnl / r).quantize(Decimal("0.01")) if r else None,
        )

    def _account(self) -> AccountView:
        upnl = sum(
            (self._marked(p).unrealised or Decimal(0) for p in self._positions.values()), Decimal(0)
        )
        used = sum((p.quantity * p.entry for p in self._positions.values()), Decimal(0))
        trip = self.killswitch.trip
        return AccountView(
            equity=(self.equity + upnl).quantize(Decimal("0.01")),
            available=max(self.equity - used / self.risk.leverage, Decimal(0)).quantize(
                Decimal("0.01")
            ),
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
        self._add_log("INFO", "signal", f"{row.signal.symbol} {row.signal.side} signal rejected")

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
            AccountSnapshot(equity=self.equity, available=acct.available, quote_asset="USDT"),
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
        if bracket_id in self._brackets:
            raise UserError(f"bracket {bracket_id} was already sent")
        self.placed.append(ticket)
        self._open_bracket(bracket_id, pv, ticket.symbol)
        return bracket_id

    async def cancel_bracket(self, bracket_id: str) -> None:
        self.calls.append(("cancel_bracket", (bracket_id,)))
        b = self._brackets.get(bracket_id)
        if b is None or b.state in ("CANCELED", "CLOSED", "EXPIRED"):
            raise UserError(f"bracket {bracket_id} is not working")
        if b.state != "ENTRY_WORKING":
            raise UserError(f"bracket {bracket_id} is {b.state}: close the position instead")
        self._brackets[bracket_id] = replace(b, state="CANCELED")
        self._cancel_orders(lambda o: o.decision_id == bracket_id, "canceled by user")
        self._add_log("INFO", "order", f"{b.symbol} bracket {bracket_id} canceled")

    async def close_position(self, symbol: str) -> None:
        self.calls.append(("close_position", (symbol,)))
        self._flatten(symbol, "closed by user")

    async def kill_switch(self, reason: str) -> None:
        self.calls.append(("kill_switch", (reason,)))
        self.killswitch.trip_now(TripSource.KEY, reason, self.now_ms)
        for b in list(self._brackets.values()):
            if b.state == "ENTRY_WORKING":
                self._brackets[b.bracket_id] = replace(b, state="CANCELED")
        self._cancel_orders(lambda o: True, "kill switch")
        for symbol in list(self._positions):
            self._flatten(symbol, "kill switch")
        self._add_log("ERROR", "system", f"KILL SWITCH tripped: {reason}")

    def reset_kill_switch(self) -> None:
        self.calls.append(("reset_kill_switch", ()))
        if not self.killswitch.reset("ui", self.now_ms):
            raise UserError("the kill switch is not tripped")
        self._add_log("WARNING", "system", "kill switch reset from the UI")

    def set_auto_trade(self, symbol: str, on: bool) -> None:
        self.calls.append(("set_auto_trade", (symbol, on)))
        self.auto_trade[symbol.upper()] = on
        self._add_log("INFO", "system", f"auto-trade {'on' if on else 'off'} for {symbol}")

    # ------------------------------------------------------------------ the imitated exchange

    def _changed(self) -> None:
        self._version += 1

    def _add_log(self, level: LogLevel, kind: LogKind, text: str) -> None:
        self._log.append(LogLine(self.now_ms, level, kind, text))
        del self._log[:-500]
        self._changed()

    def _order(
        self,
        decision_id: str,
        symbol: str,
        leg: OrderLeg,
        index: int,
        side: Side,
        otype: OrderType,
        qty: Decimal,
        price: Decimal | None,
        *,
        status: OrderStatus = OrderStatus.NEW,
        stop_price: Decimal | None = None,
    ) -> OrderUpdateV1:
        self._seq += 1
        filled = qty if status is OrderStatus.FILLED else Decimal(0)
        return OrderUpdateV1(
            venue=self.venue,
            symbol=symbol,
            client_order_id=client_order_id(decision_id, leg, index),
            decision_id=decision_id,
            leg=leg,
            leg_index=index,
            side=side,
            order_type=otype,
            status=status,
            price=price,
            stop_price=stop_price,
            orig_qty=qty,
            filled_qty=filled,
            avg_price=price if filled else None,
            reduce_only=leg is not OrderLeg.ENTRY,
            event_time=self.now_ms,
            sequence=self._seq,
        )

    def _open_bracket(self, bracket_id: str, pv: Preview, symbol: str) -> None:
        market = pv.order_type is OrderType.MARKET
        fill = pv.entry_estimate if market else pv.entry
        assert fill is not None
        exit_side = Side.SELL if pv.side is Side.BUY else Side.BUY
        self._orders.append(
            self._order(
                bracket_id,
                symbol,
                OrderLeg.ENTRY,
                0,
                pv.side,
                pv.order_type,
                pv.quantity,
                fill,
                status=OrderStatus.FILLED if market else OrderStatus.NEW,
            )
        )
        state = "ENTRY_WORKING"
        if market:
            state = "EXITS_WORKING"
            self._orders.append(
                self._order(
                    bracket_id,
                    symbol,
                    OrderLeg.STOP,
                    0,
                    exit_side,
                    OrderType.STOP_MARKET,
                    pv.quantity,
                    None,
                    stop_price=pv.stop,
                )
            )
            for t in pv.targets:
                self._orders.append(
                    self._order(
                        bracket_id,
                        symbol,
                        OrderLeg.TP,
                        t.index,
                        exit_side,
                        OrderType.LIMIT,
                        t.quantity,
                        t.price,
                    )
                )
            self._add_position(symbol, pv.side, pv.quantity, fill, pv.risk_quote)
        self._brackets[bracket_id] = BracketRow(
            bracket_id=bracket_id,
            symbol=symbol,
            side=pv.side.value,
            state=state,
            quantity=pv.quantity,
            filled=pv.quantity if market else Decimal(0),
            entry=pv.entry,
            stop=pv.stop,
            targets=tuple(t.price for t in pv.targets),
        )
        what = "MARKET" if market else f"LIMIT {fmt(pv.entry)}"
        self._add_log(
            "INFO",
            "order",
            f"{symbol} {pv.side} {fmt(pv.quantity)} {what} stop {fmt(pv.stop)} "
            f"{len(pv.targets)} TP: bracket {bracket_id} accepted",
        )

    def _add_position(
        self, symbol: str, side: Side, qty: Decimal, price: Decimal, risk: Decimal
    ) -> None:
        """Net a fill into the symbol's one position (same side: averaged entry)."""
        held = self._positions.get(symbol)
        if held is None or held.side == side.value:
            q0 = held.quantity if held else Decimal(0)
            e0 = held.entry if held else Decimal(0)
            entry = ((q0 * e0 + qty * price) / (q0 + qty)).quantize(self.specs[symbol].tick_size)
            self._positions[symbol] = PositionRow(
                symbol, side.value, q0 + qty, entry, None, None, None
            )
            self._position_risk[symbol] = self._position_risk.get(symbol, Decimal(0)) + risk
            return
        rest = held.quantity - qty
        if rest > 0:
            self._positions[symbol] = replace(held, quantity=rest)
        elif rest < 0:
            self._positions[symbol] = PositionRow(
                symbol, side.value, -rest, price, None, None, None
            )
            self._position_risk[symbol] = risk
        else:
            del self._positions[symbol]

    def _cancel_orders(self, which: object, reason: str) -> None:
        live = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_NEW)
        for i, o in enumerate(self._orders):
            if o.status in live and which(o):  # type: ignore[operator]
                self._seq += 1
                self._orders[i] = o.model_copy(
                    update={"status": OrderStatus.CANCELED, "reason": reason, "sequence": self._seq}
                )
        self._changed()

    def _flatten(self, symbol: str, why: str) -> None:
        p = self._positions.pop(symbol, None)
        if p is None:
            raise UserError(f"no open position in {symbol}")
        pnl = self._marked(p).unrealised or Decimal(0)
        self.equity += pnl
        for b in list(self._brackets.values()):
            if b.symbol == symbol and b.state not in ("CANCELED", "CLOSED", "EXPIRED"):
                self._brackets[b.bracket_id] = replace(b, state="CLOSED")
                self._cancel_orders(lambda o, d=b.bracket_id: o.decision_id == d, why)
        self._add_log("INFO", "order", f"{symbol} position closed ({why}), PnL {fmt(pnl)} USDT")

    # ------------------------------------------------------------------ the opening state

    def _seed_state(self) -> None:
        """A position, a working bracket, three pending signals and a short history of log lines,
        all derived from the seeded frames so every run shows the same thing."""
        first = self.symbols[0]
        now = self.now_ms
        for line in (
            (
                "INFO",
                "feed",
                f"replay feed started: {', '.join(self.symbols)} 1m from {fmt_ms(T0)}",
            ),
            ("WARNING", "feed", "kline stream reconnected after 2.1 s (no gap)"),
            ("INFO", "guard", "funding BLOCK for SOLUSDT: rate 0.12% above 0.10%"),
        ):
            self._log.append(LogLine(now - 40 * MINUTE, line[0], line[1], line[2]))  # type: ignore[arg-type]
        # An open long with its exits working.
        spec = self.specs[first]
        last = self.last_price(first)
        entry = _q(float(last) * 0.996, spec.tick_size)
        stop = _q(float(entry) * 0.985, spec.tick_size)
        qty = _q(40 / float(entry - stop), spec.step_size)
        dist = entry - stop
        targets = tuple(
            (entry + dist * r).quantize(spec.tick_size) for r in (Decimal(2), Decimal(3))
        )
        bid = "seed-long-1"
        self._positions[first] = PositionRow(first, "BUY", qty, entry, None, None, None)
        self._position_risk[first] = (qty * dist).quantize(Decimal("0.01"))
        self._brackets[bid] = BracketRow(
            bid, first, "BUY", "EXITS_WORKING", qty, qty, entry, stop, targets
        )
        self._orders.append(
            self._order(
                bid,
                first,
                OrderLeg.ENTRY,
                0,
                Side.BUY,
                OrderType.LIMIT,
                qty,
                entry,
                status=OrderStatus.FILLED,
            )
        )
        self._orders.append(
            self._order(
                bid,
                first,
                OrderLeg.STOP,
                0,
                Side.SELL,
                OrderType.STOP_MARKET,
                qty,
                None,
                stop_price=stop,
            )
        )
        self._log.append(
            LogLine(
                now - 31 * MINUTE,
                "INFO",
                "order",
                f"{first} BUY {fmt(qty)} filled at {fmt(entry)}; exits working",
            )
        )
        # A resting short entry on the second symbol.
        if len(self.symbols) > 1:
            sym = self.symbols[1]
            sp = self.specs[sym]
            px = self.last_price(sym)
            e = _q(float(px) * 1.006, sp.tick_size)
            s = _q(float(e) * 1.005, sp.tick_size)
            q = _q(30 / float(s - e), sp.step_size)
            tps = tuple(
                (e - (s - e) * r).quantize(sp.tick_size) for r in (Decimal("1.5"), Decimal(3))
            )
            bid = "seed-short-2"
            self._brackets[bid] = BracketRow(
                bid, sym, "SELL", "ENTRY_WORKING", q, Decimal(0), e, s, tps
            )
            self._orders.append(
                self._order(bid, sym, OrderLeg.ENTRY, 0, Side.SELL, OrderType.LIMIT, q, e)
            )
            self._log.append(
                LogLine(
                    now - 12 * MINUTE,
                    "INFO",
                    "order",
                    f"{sym} SELL {fmt(q)} LIMIT {fmt(e)} working",
                )
            )
        # Pending signals: one per symbol, alternating sides, ages 2, 5, 8 bars.
        for i, sym in enumerate(self.symbols):
            sp = self.specs[sym]
            px_f = float(self.last_price(sym))
            side = Side.BUY if i % 2 == 0 else Side.SELL
            sign = -1 if side is Side.BUY else 1
            e = _q(px_f * (1 + sign * 0.0015), sp.tick_size)
            s = _q(float(e) * (1 + sign * 0.012), sp.tick_size)
            age = 2 + 3 * i
            t = now - (age + 1) * MINUTE
            sig = SignalRawV1(
                venue=self.venue,
                symbol=sym,
                tf=Timeframe.M1,
                time=t,
                confirmed_at=t + MINUTE,
                signal_id=f"sig-{sym.lower()}-{i + 1}",
                strategy="smc_retest",
                side=side,
                entry=e,
                stop=s,
                score=round(0.78 - 0.11 * i, 2),
                ttl_bars=20 + 10 * i,
                reasons=["retest of an order block", "structure in favour"],
            )
            self._signals[sig.signal_id] = SignalRow(
                sig, age, False, (), tuple(sorted(sig.take_profits_r))
            )
            self._log.append(
                LogLine(
                    t + MINUTE,
                    "INFO",
                    "signal",
                    f"{sym} {side} signal {fmt(e)} stop {fmt(s)} score {sig.score:.2f}",
                )
            )
        self._log.append(
            LogLine(
                now - MINUTE,
                "ERROR",
                "error",
                "order rejected by venue: -2010 account has insufficient balance",
            )
        )
        self._log.sort(key=lambda line: line.at_ms)
