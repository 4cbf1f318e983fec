"""The trading stage: decisions → broker, order updates → activity log and read model.

One stage per market. Spot (:class:`TradingStage`): in the demo and paper profiles the broker is
the paper broker, which fills against the same closed candles the chart shows, with the venue's
own matching engine. USD-M (:class:`UsdmTradingStage`, demo profile): the USD-M broker against the
in-process venue's futures side, whose account is itself simulated (leveraged positions, algo
stops, funding), so it stays offline. Every ticket goes through :func:`tradeterm.trading.decide`
with the current guard verdict, so a BLOCK, a filter violation or a tripped kill switch refuses
the order before anything is sent, whichever UI asked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from tradeterm.analysis.guards import EquitySnapshot, ExposureSnapshot
from tradeterm.brokers.paper import PaperBroker
from tradeterm.bus import EventBus, Policy
from tradeterm.contracts import CandleV1, DecisionStatus, OrderUpdateV1, Timeframe
from tradeterm.errors import UserError
from tradeterm.pipeline.activity import ActivityLog
from tradeterm.pipeline.readmodel import AccountView, BracketRow, Market, PositionRow
from tradeterm.trading.bracket_records import ENDED
from tradeterm.trading.decision import decide
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.risk import AccountSnapshot, RiskConfig
from tradeterm.trading.ticket import ManualTicket

if TYPE_CHECKING:
    from tradeterm.brokers.protocol import ReconcileReport
    from tradeterm.pipeline.metrics import PipelineMetrics
    from tradeterm.pipeline.supervisor import Supervisor

log = logging.getLogger("tradeterm.pipeline.trading")
QUOTE = "USDT"


@dataclass
class TradingStage:
    """The spot market: the paper broker, fed with the spot ingest's closed candles."""

    market: ClassVar[Market] = "spot"  # the read model's label for this stage's rows
    worker_prefix: ClassVar[str] = ""  # supervised worker names: "" spot (historic names), "usdm-"

    symbols: tuple[str, ...]
    bus: EventBus
    activity: ActivityLog
    store: Any = None
    risk: RiskConfig = field(default_factory=RiskConfig)
    fill_tf: Timeframe = Timeframe.M1
    starting_balance: Decimal = Decimal(10_000)
    broker: Any = None  # PaperBroker here; BinanceUsdmBroker in UsdmTradingStage
    account: AccountSnapshot | None = None
    peak_equity: Decimal = Decimal(0)
    day_start_equity: Decimal = Decimal(0)
    orders: dict[str, OrderUpdateV1] = field(default_factory=dict)
    metrics: PipelineMetrics | None = None
    reconcile_report: ReconcileReport | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _place_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Close time of the newest fill-timeframe candle the paper engine has been given, per symbol.
    _fed_through: dict[str, int] = field(default_factory=dict)
    _fed_cond: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_fed(self, symbol: str, close_time: int, timeout: float = 2.0) -> bool:
        """Wait until the paper engine has walked every candle of ``symbol`` closing at or before
        ``close_time``; False if it has not within ``timeout``.

        Why: the analysis and the paper feed consume the same closed candle concurrently. A
        decision made on a bar and placed before the feed walks that bar would then fill
        against the bar's own high and low, prices that were already history when the decision
        was made (look-ahead, in the paper account's favour or against it). Placed after it, the
        order meets only later prices, as on a real exchange."""
        if symbol not in self.symbols:
            return True
        async with self._fed_cond:
            try:
                await asyncio.wait_for(
                    self._fed_cond.wait_for(lambda: self._fed_through.get(symbol, -1) >= close_time), timeout)
            except TimeoutError:
                return False
        return True

    @property
    def venue(self) -> str:
        assert self.broker is not None
        return str(self.broker.venue)

    @property
    def filters(self) -> dict[str, SymbolFilters]:
        """The broker's exchange filters per symbol (empty before start)."""
        return dict(self.broker.filters) if self.broker is not None else {}

    async def start(self, last_prices: dict[str, Decimal], supervisor: Supervisor | None = None) -> None:
        """Start the broker (which reconciles with the exchange and the store) and the workers:
        candles into the paper engine, order updates into the read model (supervised if given)."""
        self.broker = self._make_broker()
        # The saved paper account (balances, resting orders) first: the prices set below are
        # today's market, and the broker's start reconciles the journal against that account.
        await self.broker.restore_account()
        now = int(time.time() * 1000)
        for symbol, price in last_prices.items():
            self.broker.transport.set_price(symbol, price, now)
        self.reconcile_report = await self.broker.start()
        for u in self.broker.known.values():
            self.orders[u.client_order_id] = u
        await self.refresh_account()
        self.peak_equity = self.day_start_equity = self.account.equity if self.account else Decimal(0)
        sub = self.bus.subscribe(CandleV1, policy=Policy.DURABLE, maxsize=10_000, name="paper-broker")
        if supervisor is not None:
            supervisor.spawn("paper-feed", lambda: self._feed(sub))
            supervisor.spawn("order-updates", self._watch_updates)
        else:
            self._tasks = [asyncio.create_task(self._feed(sub), name="paper-feed"),
                           asyncio.create_task(self._watch_updates(), name="order-updates")]

    def _make_broker(self) -> Any:
        return PaperBroker.synthetic(list(self.symbols), {QUOTE: self.starting_balance}, store=self.store,
                                     risk=self.risk)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.broker is not None:
            await self.broker.close()

    async def _feed(self, sub: Any) -> None:
        """Closed candles into the paper engine. All symbols close a bar at the same instant, so
        the account is revalued once per batch of queued candles, not once per candle."""
        async for first in sub:
            batch = [first]
            while True:
                try:
                    batch.append(sub.get_nowait())
                except asyncio.QueueEmpty:
                    break
            fed = False
            for candle in batch:
                if (candle.tf is not self.fill_tf or candle.symbol not in self.symbols or self.broker is None
                        or candle.venue == "binance-usdm"):  # futures prices never fill a spot order
                    continue
                try:
                    await self.broker.on_candle(candle, save=False)
                    fed = True
                except Exception:
                    log.exception("paper broker failed on %s %s", candle.symbol, candle.open_time)
                if candle.closed:  # a decision on this bar may go now (see wait_fed), not after the batch
                    self._fed_through[candle.symbol] = max(self._fed_through.get(candle.symbol, -1),
                                                           candle.close_time)
                    async with self._fed_cond:
                        self._fed_cond.notify_all()
            if fed:
                try:  # fills were saved with their journal; this saves the prices and bar marks
                    await self.broker.save_account()
                except Exception:
                    log.exception("saving the paper account failed (retried after the next bar)")
                await self.refresh_account()

    async def _watch_updates(self) -> None:
        assert self.broker is not None
        updates = self.broker.updates()
        # After a restart of this worker, catch up with what the broker saw in the meantime
        # (``known`` holds the newest state per client order id). No await before iterating, so
        # nothing can slip between this copy and the subscription.
        self.orders.update({u.client_order_id: u for u in self.broker.known.values()})
        async for u in updates:
            self.on_update(u)

    def on_update(self, u: OrderUpdateV1) -> None:
        """One order update into the read model and the activity log."""
        self.orders[u.client_order_id] = u
        fill = f" filled {u.filled_qty}@{u.avg_price}" if u.filled_qty > 0 else ""
        self.activity.add("order", f"{u.symbol} {u.leg.value} {u.side.value} {u.order_type.value} "
                                   f"{u.orig_qty} {u.status.value}{fill}" + (f" ({u.reason})" if u.reason else ""),
                          "WARNING" if u.status.value == "REJECTED" else "INFO")

    async def refresh_account(self) -> None:
        if self.broker is None:
            return
        self.account = await self.broker.account_snapshot(QUOTE)
        self.peak_equity = max(self.peak_equity, self.account.equity)

    # ------------------------------------------------------------------ views
    def account_view(self) -> AccountView | None:
        if self.account is None or self.broker is None:
            return None
        eq = self.account.equity
        dd = (self.peak_equity - eq) / self.peak_equity * 100 if self.peak_equity > 0 else Decimal(0)
        ks = self.broker.killswitch
        return AccountView(equity=eq, available=self.account.available, quote_asset=QUOTE,
                           day_pnl=eq - self.day_start_equity, drawdown_pct=dd.quantize(Decimal("0.01")),
                           kill_switch=ks.tripped, kill_reason=ks.trip.reason if ks.tripped and ks.trip else "",
                           market=self.market, venue=self.venue)

    def equity_input(self) -> EquitySnapshot | None:
        if self.account is None:
            return None
        return EquitySnapshot(self.account.equity, self.peak_equity, self.day_start_equity)

    def exposure_input(self) -> ExposureSnapshot:
        n = len(self.positions())
        return ExposureSnapshot(open_risk_r=Decimal(n), open_positions=n)  # each bracket risks 1R

    def positions(self) -> list[PositionRow]:
        if self.broker is None:
            return []
        rows = []
        for p in self.broker.positions():
            rows.append(PositionRow(p.symbol, p.side.value, p.quantity, p.avg_entry or Decimal(0), None, None, None,
                                    market=self.market))
        return rows

    def brackets(self) -> list[BracketRow]:
        if self.broker is None:
            return []
        rows = []
        for did, b in self.broker.brackets.items():
            rows.append(BracketRow(did, b.symbol, b.side.value, b.state.value, b.quantity, b.entry_filled,
                                   b.entry_price, b.stop_price, tuple(lv.price for lv in b.levels),
                                   market=self.market, leverage=self._leverage(did)))
        return rows

    def _leverage(self, decision_id: str) -> int:
        return 1

    # ------------------------------------------------------------------ intents
    async def place(self, ticket: ManualTicket, filters: SymbolFilters, blocked: list[str],
                    market_price: Decimal | None, t0: float | None = None) -> str:
        """Decide and send. ``t0``: the bus stamp of the candle that raised the signal (auto
        mode), for the close→decision and close→ack latencies."""
        if self.broker is None or self.account is None:
            raise UserError("the broker is not ready yet")
        if ticket.venue != self.venue:
            ticket = ticket.model_copy(update={"venue": self.venue})
        # One placement at a time, each sized on the balance left by the one before: several
        # signals of one bar closing together would otherwise all be sized on the same stale
        # free balance, and the exchange would reject the ones that no longer fit (and enough
        # rejections in a row trip the kill switch).
        async with self._place_lock:
            await self.refresh_account()
            assert self.account is not None
            decision = decide(ticket, self.account, filters, self.risk, blocked or True, int(time.time() * 1000),
                              market_price=market_price, killswitch=self.broker.killswitch)
            if self.metrics is not None:
                self.metrics.observe("decision", t0)
            if decision.status is DecisionStatus.REJECTED:
                raise UserError("refused: " + "; ".join(decision.reasons))
            ack = await self.broker.place_bracket(decision)
            if self.metrics is not None:
                self.metrics.observe("ack", t0)
        self.activity.add("order", f"bracket {decision.decision_id} {decision.side.value} {decision.quantity} "
                                   f"{decision.symbol} sent ({ack.state.value})")
        return decision.decision_id

    async def cancel(self, decision_id: str) -> None:
        self._require(decision_id)
        await self.broker.cancel(decision_id)  # type: ignore[union-attr]

    async def close_symbol(self, symbol: str) -> None:
        assert self.broker is not None
        ids = [p.decision_id for p in self.broker.positions() if p.symbol == symbol]
        if not ids:
            raise UserError(f"no open position in {symbol}")
        for did in ids:
            await self.broker.close_position(did)

    async def cancel_working(self) -> int:
        """Shutdown with ``cancel_on_stop``: withdraw every working entry of our brackets.

        Protective exits stay: a filled position keeps its stop and targets, because a stopped
        daemon must never leave a naked position behind (flattening is the kill switch's job).
        Orders that are not ours are not touched either. Returns the number of brackets whose
        entry was withdrawn."""
        if self.broker is None:
            return 0
        n = 0
        for did, b in list(self.broker.brackets.items()):
            if b.state not in ENDED and not b.entry_final:
                try:
                    await self.broker.cancel(did)
                    n += 1
                except Exception as exc:  # noqa: BLE001 - one refusal must not keep the others working
                    log.error("cancelling the entry of %s on stop failed: %s", did, exc)
        self.activity.add("system", f"withdrew {n} working entr{'y' if n == 1 else 'ies'} on stop; "
                                    "open positions keep their exits", "WARNING" if n else "INFO")
        return n

    async def kill(self, reason: str) -> None:
        assert self.broker is not None
        self.activity.add("system", f"KILL SWITCH: {reason}", "WARNING")
        await self.broker.flatten_all(reason)

    def reset_kill(self) -> None:
        assert self.broker is not None
        if self.broker.reset_kill_switch("ui"):
            self.activity.add("system", "kill switch reset")

    def _require(self, decision_id: str) -> None:
        if self.broker is None or decision_id not in self.broker.brackets:
            raise UserError(f"no bracket {decision_id}")



@dataclass
class UsdmTradingStage(TradingStage):
    """USD-M futures: the USD-M broker against a venue's futures side (demo: the in-process venue,
    whose futures account is simulated). The venue fills the orders itself and reports over the
    user-data stream, so no candles are fed here; the account and the exchange's positions (mark,
    unrealised PnL, liquidation price) are polled every ``poll_s`` and after each fill."""

    async def wait_fed(self, symbol: str, close_time: int, timeout: float = 2.0) -> bool:
        return True  # the venue matches against its own market, which is never behind a signal

    market: ClassVar[Market] = "usdm"
    worker_prefix: ClassVar[str] = "usdm-"

    rest_url: str = ""
    ws_url: str = ""
    api_key: str = ""
    secret: str = ""
    leverage: int = 5  # every followed symbol is set to this at start; a ticket may ask for another
    poll_s: float = 1.0
    exchange_positions: list[Any] = field(default_factory=list)  # FuturesPosition rows, newest poll
    _poke: asyncio.Event = field(default_factory=asyncio.Event)

    def _make_broker(self) -> Any:
        from tradeterm.brokers.binance_usdm import BinanceUsdmBroker, UsdmSetup
        from tradeterm.brokers.signing import HmacSigner

        return BinanceUsdmBroker(self.rest_url, HmacSigner(self.api_key, self.secret), self.ws_url,
                                 setup=UsdmSetup(symbols=tuple(self.symbols), leverage=self.leverage),
                                 store=self.store, risk=self.risk)

    async def start(self, last_prices: dict[str, Decimal], supervisor: Supervisor | None = None) -> None:
        """Start the broker (account setup per symbol, reconciliation, user-data stream) and
        the workers: order updates into the read model, the account poll."""
        self.broker = self._make_broker()
        try:
            self.reconcile_report = await self.broker.start()
        except BaseException:
            await self.broker.close()
            self.broker = None
            raise
        for u in self.broker.known.values():
            self.orders[u.client_order_id] = u
        await self.refresh_account()
        self.peak_equity = self.day_start_equity = self.account.equity if self.account else Decimal(0)
        if supervisor is not None:
            supervisor.spawn("usdm-order-updates", self._watch_updates)
            supervisor.spawn("usdm-account", self._poll_account)
        else:
            self._tasks = [asyncio.create_task(self._watch_updates(), name="usdm-order-updates"),
                           asyncio.create_task(self._poll_account(), name="usdm-account")]

    async def refresh_account(self) -> None:
        if self.broker is None:
            return
        await super().refresh_account()
        self.exchange_positions = await self.broker.position_risk()

    async def _poll_account(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._poke.wait(), self.poll_s)
            except TimeoutError:
                pass
            self._poke.clear()
            await self.refresh_account()

    def on_update(self, u: OrderUpdateV1) -> None:
        super().on_update(u)
        if u.filled_qty > 0:
            self._poke.set()  # a fill moves the position and the margin: poll now

    def _leverage(self, decision_id: str) -> int:
        assert self.broker is not None
        d = self.broker.decisions.get(decision_id)
        return int(d.leverage) if d is not None else self.leverage

    def positions(self) -> list[PositionRow]:
        """The exchange's positions (one per symbol, foreign ones included), with the mark price,
        the unrealised PnL and, where a bracket of ours holds it, that PnL in R."""
        if self.broker is None:
            return []
        stops = {p.symbol: (p.avg_entry, p.stop_price) for p in self.broker.positions()}
        rows = []
        for p in self.exchange_positions:
            qty = abs(p.amount)
            r = None
            entry_stop = stops.get(p.symbol)
            if entry_stop is not None and entry_stop[0] is not None:
                risk = abs(entry_stop[0] - entry_stop[1]) * qty
                r = (p.unrealized_pnl / risk).quantize(Decimal("0.01")) if risk > 0 else None
            lev = self.broker.transport.leverage.get(p.symbol)
            rows.append(PositionRow(p.symbol, "BUY" if p.amount > 0 else "SELL", qty, p.entry_price,
                                    p.mark_price or None, p.unrealized_pnl, r, market=self.market,
                                    leverage=lev, liquidation=p.liquidation_price or None))
        return rows

    async def close_symbol(self, symbol: str) -> None:
        """Close our brackets' positions in ``symbol``; a position no bracket of ours holds (a
        foreign one) is closed reduce-only at market, which can never open or flip one."""
        assert self.broker is not None
        ids = [p.decision_id for p in self.broker.positions() if p.symbol == symbol]
        for did in ids:
            await self.broker.close_position(did)
        if not ids:
            if not any(p.symbol == symbol for p in await self.broker.position_risk(symbol)):
                raise UserError(f"no open USD-M position in {symbol}")
            from tradeterm.contracts.trading import OrderLeg
            from tradeterm.trading.ids import client_order_id, decision_id_for_ticket

            did = decision_id_for_ticket(self.venue, symbol, f"close:{int(time.time() * 1000)}")
            await self.broker.ingest(await self.broker.transport.close_position(
                symbol, client_order_id(did, OrderLeg.CLOSE)))
        self._poke.set()
