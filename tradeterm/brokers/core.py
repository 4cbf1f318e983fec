"""The venue-independent broker: brackets driven by order updates, intents turned into orders,
leg-level idempotency, reconciliation and the kill switch. Paper, Binance Spot and Binance USD-M
differ only in their :class:`~tradeterm.brokers.transport.Transport` (and small overrides).

Concurrency: every order state (answers, stream events, paper fills) goes through one inbox,
drained under one lock, so a bracket sees its updates one at a time and in arrival order, and
the intents an update produces are sent before the next update is applied.

Idempotency at this level: an order is never sent when its client id is already known for the
bracket (the exchange reported it) or was already sent by this process. The transport adds the
request level (query by client id after an unknown outcome). During reconciliation every send
is preceded by a query, and by waiting out the recvWindow of a request a dead process may
have signed, because that process's answer was never seen.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradeterm.brokers.errors import (
    BrokerError,
    KillSwitchTripped,
    OrderRejected,
    UnknownSymbol,
    WouldTrigger,
)
from tradeterm.brokers.protocol import Balance, BracketAck, PositionView, ReconcileReport
from tradeterm.brokers.transport import Report, Transport
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import (
    DecisionStatus,
    DecisionV1,
    OrderLeg,
    OrderStatus,
    OrderType,
    OrderUpdateV1,
)
from tradeterm.store.protocol import Store
from tradeterm.trading.bracket import Bracket
from tradeterm.trading.bracket_records import ENDED, BracketState
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.ids import client_order_id, decision_id_for_ticket, parse_client_order_id
from tradeterm.trading.intents import (
    CancelLegs,
    ClosePosition,
    Intent,
    MoveStop,
    OrderSpec,
    PlaceEntry,
    PlaceExits,
)
from tradeterm.trading.killswitch import ErrorRateWindow, KillSwitch, TripSource, check_guards
from tradeterm.trading.risk import AccountSnapshot, RiskConfig

log = logging.getLogger("tradeterm.brokers")
ZERO = Decimal(0)
_RANK = {OrderStatus.PENDING_NEW: 0, OrderStatus.NEW: 1, OrderStatus.PARTIALLY_FILLED: 2}
WINDOW_GRACE_MS = 300
MAX_REJECTS = 5  # per bracket: past this the broker stops sending and asks for a human
KILL_STATE = "kill_switch_state"  # audit kind: the switch's whole state after each trip or reset


def _replay_key(u: OrderUpdateV1) -> tuple[int, int, int]:
    """Exchange time, entry before exits (an instant fill and its exits share a timestamp),
    then lifecycle order."""
    return (u.event_time, int(u.leg is not OrderLeg.ENTRY), _RANK.get(u.status, 3))


def _groups(orders: Sequence[OrderSpec]) -> list[list[OrderSpec]]:
    """OCO pairs together (by list id), lone orders alone, in the intent's order."""
    out: list[list[OrderSpec]] = []
    by_list: dict[str, list[OrderSpec]] = {}
    for spec in orders:
        if spec.list_client_order_id is None:
            out.append([spec])
        elif spec.list_client_order_id in by_list:
            by_list[spec.list_client_order_id].append(spec)
        else:
            group = [spec]
            by_list[spec.list_client_order_id] = group
            out.append(group)
    return out


def _revision(cid: str) -> int:
    parsed = parse_client_order_id(cid)
    return parsed.revision if parsed else 0


class TradingBroker:
    """Implements :class:`~tradeterm.brokers.protocol.Broker` over a transport."""

    def __init__(
        self,
        transport: Transport,
        *,
        store: Store | None = None,
        risk: RiskConfig | None = None,
        killswitch: KillSwitch | None = None,
        protect: str = "stop",
        resume_pending: bool = True,
        kill_sell_symbols: Sequence[str] = (),
        error_window: ErrorRateWindow | None = None,
    ) -> None:
        if protect not in ("stop", "alert"):
            raise ValueError("protect must be 'stop' or 'alert'")
        self.transport = transport
        self.venue = transport.venue
        self.store = store
        self.risk = risk or RiskConfig()
        self.killswitch = killswitch or KillSwitch()
        self.protect = protect
        self.resume_pending = resume_pending
        self.kill_sell_symbols = tuple(kill_sell_symbols)
        self.errors = error_window or ErrorRateWindow(60_000, max_errors=5, min_samples=5)
        self.filters: dict[str, SymbolFilters] = {}
        self.brackets: dict[str, Bracket] = {}
        self.decisions: dict[str, DecisionV1] = {}
        self.known: dict[str, OrderUpdateV1] = {}  # newest state per client id seen
        self._sent: set[str] = set()
        self._inbox: deque[Report] = deque()
        self._lock = asyncio.Lock()
        self._subscribers: list[asyncio.Queue[OrderUpdateV1]] = []
        self._fees: dict[str, dict[str, Decimal]] = {}
        self._fill_qty: dict[str, dict[str, Decimal]] = {}  # per client id, per trade id
        self._reconciling = False
        self._window_clear_at: int | None = None
        self._auto_kill = False
        self._rejects: dict[str, int] = {}
        self._persisting: set[asyncio.Task[None]] = set()
        transport.set_sink(self.ingest)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> ReconcileReport:
        await self.transport.start()
        self.filters = await self.transport.exchange_info()
        await self.restore_kill_switch()
        return await self.reconcile()

    async def close(self) -> None:
        if self._persisting:
            await asyncio.gather(*self._persisting, return_exceptions=True)
        await self.transport.close()

    # ------------------------------------------------------------------ kill switch persistence
    async def restore_kill_switch(self) -> bool:
        """A switch tripped before a restart stays tripped: the newest saved state (audit kind
        ``kill_switch_state``) is loaded when this process has not tripped it itself. Fails
        closed: a reset that was not saved before a crash leaves the switch tripped. The state is
        global to the store (a trip means "stop trading", whichever broker saw it). True when
        the switch came back tripped."""
        if self.store is None or self.killswitch.tripped:
            return False
        saved = await self.store.list_audit(kind=KILL_STATE, limit=1)
        if not saved or not saved[0].data.get("tripped"):
            return False
        state = KillSwitch.from_dict({k: v for k, v in saved[0].data.items() if k != "venue"})
        for name in KillSwitch.model_fields:
            setattr(self.killswitch, name, getattr(state, name))
        log.warning("kill switch restored as tripped: %s", self.killswitch.refusal())
        return True

    async def persist_kill_switch(self) -> None:
        """Save the switch's state now (after a trip or a reset)."""
        if self.store is not None:
            trip = self.killswitch.trip
            text = f"tripped: {trip.reason}" if self.killswitch.tripped and trip else \
                f"reset by {self.killswitch.reset_by}"  # fmt: skip
            await self.store.append_audit(KILL_STATE, text, {**self.killswitch.to_dict(), "venue": self.venue})

    async def exchange_info(self) -> Mapping[str, SymbolFilters]:
        if not self.filters:
            self.filters = await self.transport.exchange_info()
        return self.filters

    # ------------------------------------------------------------------ the inbox
    async def ingest(self, reports: Iterable[Report]) -> None:
        """Entry point for unsolicited order states (stream, paper fills)."""
        self._inbox.extend(reports)
        if self._lock.locked():
            return  # the holder drains it before releasing
        async with self._lock:
            await self._drain()
        await self._after_lock()

    async def _drain(self) -> None:
        while self._inbox:
            if self.store is None:
                u, fill, fills_qty = self._settle(*self._inbox.popleft())
                await self._handle(u, fills_qty)
                continue
            # Journal everything that has arrived in one store call (one transaction, one hop to
            # the database thread) before the first of it is acted on. Each state is still
            # durable before anything it causes is sent, and before the command that caused it
            # returns; states behind it in the batch are only written earlier than one by one.
            # The store collapses repeated states of an order as one-by-one writes would.
            batch = list(self._inbox)
            self._inbox.clear()
            settled = [self._settle(u, fill) for u, fill in batch]
            items: list[Any] = []
            for u, fill, _ in settled:
                items += (u, fill) if fill is not None else (u,)
            try:
                await self.store.write(items)
            except BaseException:
                self._inbox.extendleft(reversed(batch))  # as before: unjournalled states wait
                raise
            for u, _, fills_qty in settled:
                await self._handle(u, fills_qty)

    async def _after_lock(self) -> None:
        if self._auto_kill:
            self._auto_kill = False
            await self._flatten_tripped(self.killswitch.trip.reason if self.killswitch.trip else "auto")

    def _settle(self, u: OrderUpdateV1, fill: Any) -> tuple[OrderUpdateV1, Any, Decimal]:
        """Count the fill's commission and quantity (by trade id, so a repeat counts once); the
        update with the order's whole commission so far, the fill, and the quantity reported
        by fills so far (as of this update: a batch is settled before it is handled)."""
        cid = u.client_order_id
        if fill is not None:
            self._fees.setdefault(cid, {})[fill.trade_id] = fill.fee
            self._fill_qty.setdefault(cid, {})[fill.trade_id] = fill.quantity
        tally = self._fees.get(cid)
        if tally:
            total = sum(tally.values(), ZERO)
            if total > u.fee:
                u = u.model_copy(update={"fee": total, "fee_asset": u.fee_asset or fill_asset(fill)})
        return u, fill, sum(self._fill_qty.get(cid, {}).values(), ZERO)

    async def _handle(self, u: OrderUpdateV1, fills_qty: Decimal) -> None:
        """Apply one settled update (journalled already when there is a store)."""
        cid = u.client_order_id
        prev = self.known.get(cid)
        if prev is None or (u.sequence, _RANK.get(u.status, 3)) >= (prev.sequence, _RANK.get(prev.status, 3)):
            self.known[cid] = u
        elif prev.status.is_final and u.fee > prev.fee and fills_qty >= prev.filled_qty:
            # The last missing fill report came after the order's final state (a reordered
            # stream, or a fill first learnt from a REST query): once every execution has been
            # reported (``fills_qty``), the final state with its whole commission is the news,
            # once (a spot entry's base-asset fee resizes its exits).
            u = self.known[cid] = prev.model_copy(update={"fee": u.fee, "fee_asset": u.fee_asset or prev.fee_asset})
        for q in self._subscribers:
            q.put_nowait(u)
        b = self.brackets.get(u.decision_id) if u.decision_id else None
        if b is None or b.symbol != u.symbol:
            return
        intents = b.apply(u)
        if intents:
            await self._execute(b, intents)

    # ------------------------------------------------------------------ intents → orders
    async def _execute(self, b: Bracket, intents: Sequence[Intent]) -> None:
        for it in intents:
            if isinstance(it, PlaceEntry | ClosePosition):
                await self._place(b, [it.order])
            elif isinstance(it, PlaceExits):
                replan = await self._against_market(b, it.orders)
                if replan is not None:
                    await self._execute(b, replan)
                    continue
                groups = _groups(it.orders)
                if getattr(self.transport, "parallel_exits", False) and len(groups) > 1:
                    # USD-M: independent orders (no OCO to keep whole), so they go out together:
                    # the position is protected one round trip after the fill, not four. Each
                    # keeps its own idempotency (ids, lookups); answers join the inbox as they come.
                    await asyncio.gather(*(self._place(b, g) for g in groups))
                else:
                    for group in groups:
                        await self._place(b, group)
            elif isinstance(it, MoveStop):
                replan = await self._against_market(b, it.place)
                if replan is not None:
                    # The new stop is already crossed (or a target is): what replaces it does
                    # the job; the old exits are cancelled by it or superseded.
                    if it.cancel and not any(isinstance(r, CancelLegs) for r in replan):
                        replan = [CancelLegs(decision_id=b.decision_id, client_order_ids=it.cancel,
                                             reason=it.reason), *replan]  # fmt: skip
                    await self._execute(b, replan)
                    continue
                if getattr(self.transport, "place_before_cancel", False):
                    # USD-M: reduce-only stops lock nothing, so the new one goes first and the
                    # position is never without a stop, not even between two requests.
                    for group in _groups(it.place):
                        await self._place(b, group)
                    for cid in it.cancel:
                        await self._cancel(b, cid)
                    continue
                for cid in it.cancel:  # spot: the old OCO locks the base the new one needs
                    await self._cancel(b, cid)
                for group in _groups(it.place):
                    await self._place(b, group)
            elif isinstance(it, CancelLegs):
                for cid in it.client_order_ids:
                    await self._cancel(b, cid)

    async def _against_market(self, b: Bracket, specs: Sequence[OrderSpec]) -> list[Intent] | None:
        """Exits the market already passed, re-planned by the bracket (stop crossed: close at
        market; spot target crossed: that slice at market); None to send them as planned."""
        if not specs or b.position <= 0:
            return None
        try:
            last = await self.transport.last_price(b.symbol)
        except BrokerError as exc:  # no price: send as planned, the reject path still applies
            log.info("no last price for %s before placing exits: %s", b.symbol, exc)
            return None
        intents = b.exits_against_price(specs, last)
        if intents is not None:
            await self._audit("exits_crossed", b.log[-1] if b.log else "exits re-planned",
                              {"decision_id": b.decision_id, "last_price": str(last),
                               "client_order_ids": [s.client_order_id for s in specs]})  # fmt: skip
        return intents

    async def _crossed_on_send(self, b: Bracket, specs: list[OrderSpec], exc: OrderRejected) -> bool:
        """Fallback when the price moved between the check and the send: an exit refused for its
        price relationship (spot OCO -2010) or for triggering at once (USD-M -2021) is the market
        having passed it, not an error. Re-plan once against a fresh price; True if handled."""
        price_reject = isinstance(exc, WouldTrigger) or (
            exc.code == -2010 and "relationship of the prices" in exc.msg
        )
        if not price_reject or any(s.leg not in (OrderLeg.TP, OrderLeg.STOP) for s in specs):
            return False
        replan = await self._against_market(b, specs)
        if replan is None:
            return False
        await self._audit("exit_crossed_on_send", str(exc), {"client_order_ids": [s.client_order_id for s in specs]})
        retried = {s.client_order_id for s in specs}
        self._sent.difference_update(retried)  # refused: those ids never existed on the venue
        await self._execute(b, replan)
        return True

    def _closing(self, b: Bracket) -> bool:
        """The bracket's latest market close was sent and has not ended yet."""
        if b.close_revision < 0:
            return False
        cid = client_order_id(b.decision_id, OrderLeg.CLOSE, 0, b.close_revision)
        rec = b.orders.get(cid)
        return cid in self._sent and (rec is None or not rec.status.is_final)

    async def _place(self, b: Bracket, specs: list[OrderSpec]) -> None:
        ids = [s.client_order_id for s in specs]
        if all(i in b.orders for i in ids):
            return
        exits_only = all(s.leg in (OrderLeg.TP, OrderLeg.STOP) for s in specs)
        if exits_only and not self._reconciling and self._closing(b):
            return  # a market close of the whole position is on its way (e.g. a crossed stop)
        if self._reconciling:
            if await self._found_on_exchange(b, ids):
                return
        elif any(i in self._sent for i in ids):
            return
        if self._rejects.get(b.decision_id, 0) >= MAX_REJECTS:
            # A fuse: a bracket whose orders keep being refused (e.g. spot exits short of the
            # base asset the entry's commission took) must not loop through revisions.
            await self._audit("bracket_halted", f"{b.decision_id}: {MAX_REJECTS} rejected orders, "
                              "not sending more", {"client_order_ids": ids})  # fmt: skip
            return
        self._sent.update(ids)
        now = self.transport.now_ms()
        try:
            if len(specs) == 1:
                reports = await self.transport.place_order(b.symbol, specs[0])
            else:
                reports = await self._place_pair(b, specs)
        except OrderRejected as exc:
            if not self._reconciling and await self._crossed_on_send(b, specs, exc):
                return
            self._rejects[b.decision_id] = self._rejects.get(b.decision_id, 0) + 1
            self._record(now, error=True)
            await self._audit("order_rejected", str(exc), {"client_order_ids": ids})
            self._inbox.extend((self._rejected(b, s, exc.msg, now), None) for s in specs)
            return
        except BrokerError as exc:
            # Unresolved (circuit open, ban, still unknown): never guess; reconcile decides.
            self._record(now, error=True)
            await self._audit("order_unresolved", str(exc), {"client_order_ids": ids})
            log.warning("order %s unresolved: %s", ids, exc)
            return
        self._record(now, error=False)
        self._inbox.extend(reports)

    async def _place_pair(self, b: Bracket, specs: list[OrderSpec]) -> list[Report]:
        tp = next(s for s in specs if s.leg is OrderLeg.TP)
        stop = next(s for s in specs if s.leg is OrderLeg.STOP)
        # Exits of a long are SELLs: target above the price, stop below; a short the reverse.
        above, below = (tp, stop) if tp.side is Side.SELL else (stop, tp)
        assert tp.list_client_order_id is not None
        return await self.transport.place_oco(
            b.symbol, tp.side, tp.quantity, tp.list_client_order_id, above, below
        )

    async def _found_on_exchange(self, b: Bracket, ids: list[str]) -> bool:
        """Reconcile: adopt what exists; if nothing does, wait until a request the dead process
        may have signed can no longer execute, then look once more."""
        for attempt in range(2):
            found = [u for i in ids if (u := await self.transport.query_order(b.symbol, i))]
            if found:
                self._inbox.extend((u, None) for u in found)
                return True
            if attempt == 0:
                await self._await_window()
        return False

    async def _await_window(self) -> None:
        if self._window_clear_at is None:
            return
        wait_ms = self._window_clear_at - self.transport.now_ms()
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)

    async def _cancel(self, b: Bracket, cid: str) -> None:
        rec = b.orders.get(cid)
        if rec is not None and rec.status.is_final:
            return
        try:
            self._inbox.extend(await self.transport.cancel_order(b.symbol, cid))
        except BrokerError as exc:
            await self._audit("cancel_unresolved", str(exc), {"client_order_id": cid})

    def _rejected(self, b: Bracket, s: OrderSpec, reason: str, now: int) -> OrderUpdateV1:
        parsed = parse_client_order_id(s.client_order_id)
        return OrderUpdateV1(
            venue=self.venue, symbol=b.symbol, client_order_id=s.client_order_id,
            decision_id=b.decision_id, leg=s.leg, leg_index=min(s.index, 32), side=s.side,
            order_type=s.order_type, status=OrderStatus.REJECTED, price=s.price,
            stop_price=s.stop_price, orig_qty=s.quantity, reason=reason, event_time=now,
            sequence=now if parsed else 0,
        )  # fmt: skip

    def _record(self, now: int, *, error: bool) -> None:
        self.errors.record(now, error=error)
        if error and check_guards(self.killswitch, now, errors=self.errors):
            self._auto_kill = True

    async def _audit(self, kind: str, message: str, data: Mapping[str, Any] | None = None) -> None:
        if self.store is not None:
            await self.store.append_audit(kind, message, data)

    # ------------------------------------------------------------------ commands
    async def place_bracket(self, decision: DecisionV1) -> BracketAck:
        refusal = self.killswitch.refusal()
        if refusal:
            raise KillSwitchTripped(refusal)
        if decision.status is not DecisionStatus.APPROVED:
            raise BrokerError(f"decision {decision.decision_id} is {decision.status.value}")
        if decision.venue != self.venue:
            raise BrokerError(f"decision is for {decision.venue}, this broker trades {self.venue}")
        existing = self.brackets.get(decision.decision_id)
        if existing is not None:
            return BracketAck(decision.decision_id, existing.entry_id, existing.state, duplicate=True)
        filters = self.filters.get(decision.symbol)
        if filters is None:
            raise UnknownSymbol(f"{self.venue} does not list {decision.symbol}")
        b = Bracket.from_decision(decision, filters, self.risk)
        async with self._lock:
            self.brackets[decision.decision_id] = b
            self.decisions[decision.decision_id] = decision
            if self.store is not None:  # the intent is durable before anything is sent
                await self.store.write([decision])
            await self._execute(b, b.start())
            await self._drain()
        await self._after_lock()
        return BracketAck(decision.decision_id, b.entry_id, b.state)

    def _get(self, decision_id: str) -> Bracket:
        b = self.brackets.get(decision_id)
        if b is None:
            raise BrokerError(f"no bracket {decision_id} on {self.venue}")
        return b

    async def _command(self, b: Bracket, intents: list[Intent]) -> None:
        await self._execute(b, intents)
        await self._drain()

    async def amend_stop(self, decision_id: str, new_stop: Decimal) -> None:
        b = self._get(decision_id)
        async with self._lock:
            intents = b.move_stop(new_stop, "moved by user")
            if not intents:
                raise BrokerError(b.log[-1] if b.log else f"stop of {decision_id} cannot move now")
            await self._command(b, intents)

    async def amend_targets(self, decision_id: str, prices: Mapping[int, Decimal]) -> None:
        """New target prices for take-profit slices (by 1-based index). Spot targets live in the
        OCO pairs, so the working pairs are re-placed under the next revision."""
        b = self._get(decision_id)
        async with self._lock:
            levels = {lv.index: lv for lv in b.levels}
            for index, price in prices.items():
                if index not in levels:
                    raise BrokerError(f"bracket {decision_id} has no take profit {index}")
                rounded = b.filters.round_target(b.side, price)
                ref = b.avg_entry or b.entry_price or b.stop_price
                if (rounded <= ref) if b.long else (rounded >= ref):
                    raise BrokerError(f"take profit {rounded} is not beyond the entry {ref}")
                levels[index].price = rounded
            if b.state is BracketState.EXITS_WORKING and b.position > 0:
                # The state machine's own re-place path (same as its re-protection) re-issues
                # every pair at the current stop with the new targets.
                await self._command(b, b._move_stop(b.stop_price, "targets amended"))

    async def cancel(self, decision_id: str) -> None:
        b = self._get(decision_id)
        async with self._lock:
            await self._command(b, b.cancel("canceled by user"))

    async def close_position(self, decision_id: str) -> None:
        b = self._get(decision_id)
        async with self._lock:
            await self._command(b, b.flatten("closed by user"))

    async def cancel_all(self) -> int:
        """Cancel every open order on the venue, ours or not."""
        async with self._lock:
            n = await self._cancel_everything()
            await self._drain()
        return n

    async def _cancel_everything(self) -> int:
        opens = await self.transport.open_orders()
        n = 0
        for symbol in sorted({u.symbol for u in opens}):
            reports = await self.transport.cancel_open_orders(symbol)
            n += len(reports)
            self._inbox.extend(reports)
        return n

    async def flatten_all(self, reason: str, source: TripSource = TripSource.COMMAND) -> None:
        """The kill switch: refuse new decisions, cancel every open order, close positions."""
        self.killswitch.trip_now(source, reason, self.transport.now_ms())
        await self._flatten_tripped(reason)

    async def _flatten_tripped(self, reason: str) -> None:
        await self._audit("kill_switch", reason, self.killswitch.to_dict())
        await self.persist_kill_switch()
        async with self._lock:
            for b in list(self.brackets.values()):
                if b.state not in ENDED or b.position > 0:
                    await self._execute(b, b.flatten(f"kill switch: {reason}"))
            await self._drain()
            await self._cancel_everything()
            await self._drain()
            await self._sell_balances()
            await self._drain()

    async def _sell_balances(self) -> None:
        """Configured spot symbols: sell the whole free base balance back to quote."""
        if not self.kill_sell_symbols:
            return
        balances = await self.transport.balances()
        stamp = str(self.killswitch.trip.at_ms if self.killswitch.trip else 0)
        for symbol in self.kill_sell_symbols:
            f = self.filters.get(symbol)
            if f is None or f.base_asset is None:
                continue
            qty = f.round_qty(balances.get(f.base_asset, (ZERO, ZERO))[0], market_order=True)
            price = await self.transport.last_price(symbol)
            if qty <= 0 or f.validate(None, qty, Side.SELL, OrderType.MARKET, price):
                continue
            did = decision_id_for_ticket(self.venue, symbol, "kill:" + stamp)
            spec = OrderSpec(
                client_order_id=client_order_id(did, OrderLeg.OTHER), leg=OrderLeg.OTHER,
                side=Side.SELL, order_type=OrderType.MARKET, quantity=qty,
            )  # fmt: skip
            try:
                self._inbox.extend(await self.transport.place_order(symbol, spec))
            except BrokerError as exc:
                await self._audit("kill_sell_failed", str(exc), {"symbol": symbol})

    def reset_kill_switch(self, by: str) -> bool:
        """Re-arm trading. Synchronous for its callers (UI, daemon); the new state is saved in
        the background (awaited by :meth:`close`)."""
        done = self.killswitch.reset(by, self.transport.now_ms())
        if done and self.store is not None:
            try:
                task = asyncio.get_running_loop().create_task(self.persist_kill_switch())
            except RuntimeError:  # no loop (a script): the next start stays tripped (fails closed)
                return done
            self._persisting.add(task)
            task.add_done_callback(self._persisting.discard)
        return done

    # ------------------------------------------------------------------ reconciliation
    async def reconcile(self) -> ReconcileReport:
        """Match the exchange's open orders and balances to our brackets (see module doc)."""
        async with self._lock:
            await self._drain()
            self._reconciling = True
            self._window_clear_at = self.transport.now_ms() + self.transport.recv_window_ms + (
                WINDOW_GRACE_MS if self.transport.recv_window_ms else 0
            )
            try:
                report = await self._reconcile()
            finally:
                self._reconciling = False
        await self._after_lock()
        return report

    async def _decisions(self) -> dict[str, DecisionV1]:
        out = dict(self.decisions)
        if self.store is not None:
            for d in await self.store.read("decision.v1", venue=self.venue):
                assert isinstance(d, DecisionV1)
                out.setdefault(d.decision_id, d)
        return {k: d for k, d in out.items() if d.status is DecisionStatus.APPROVED}

    async def _reconcile(self) -> ReconcileReport:
        report = ReconcileReport()
        opens = await self.transport.open_orders()
        decisions = await self._decisions()
        for u in opens:
            if u.decision_id is None or u.decision_id not in decisions:
                report.foreign_orders.append(u.client_order_id)
                await self._audit(
                    "foreign_order", f"open order {u.client_order_id} on {u.symbol} is not ours",
                    {"symbol": u.symbol, "client_order_id": u.client_order_id},
                )  # fmt: skip
        for did, decision in sorted(decisions.items()):
            if decision.symbol not in self.filters:
                continue
            await self._reconcile_one(decision, [u for u in opens if u.decision_id == did], report)
        await self._drain()
        await self._check_balances(report)
        return report

    async def _reconcile_one(
        self, decision: DecisionV1, opens: list[OrderUpdateV1], report: ReconcileReport
    ) -> None:
        did = decision.decision_id
        truth: dict[str, OrderUpdateV1] = {}
        if self.store is not None:
            truth.update({u.client_order_id: u for u in await self.store.list_orders(decision_id=did)})
        truth.update({cid: u for cid, u in self.known.items() if u.decision_id == did})
        await self._stored_entry_fee(decision, truth)
        probe = Bracket.rebuild(decision, self.filters[decision.symbol], self.risk,
                                sorted(truth.values(), key=_replay_key))  # fmt: skip
        if probe.state in ENDED and all(u.status.is_final for u in truth.values()) and not opens:
            self.brackets.setdefault(did, probe)
            return  # finished before: nothing to ask the exchange
        for u in opens:
            truth[u.client_order_id] = u
        ask = {cid for cid, u in truth.items() if not u.status.is_final} - {u.client_order_id for u in opens}
        ask.add(probe.entry_id)
        for cid in sorted(ask):
            found = await self.transport.query_order(decision.symbol, cid)
            if found is not None:
                truth[cid] = _keep_fee(truth.get(cid), found)
        b = Bracket.from_decision(decision, self.filters[decision.symbol], self.risk)
        intents: list[Intent] = []
        for u in sorted(truth.values(), key=_replay_key):
            intents += b.apply(u)
        if self.killswitch.tripped and (b.state not in ENDED or b.position > 0):
            intents += b.flatten("kill switch (after restart)")
        self.brackets[did] = b
        self.decisions[did] = decision
        report.adopted.append(did)
        await self._audit("adopted", f"bracket {did} reconciled: {b.state.value}", {"orders": sorted(truth)})
        await self._execute(b, self._still_needed(b, intents, decision))
        await self._drain()
        await self._ensure_stop(b, report)

    async def _stored_entry_fee(self, decision: DecisionV1, truth: dict[str, OrderUpdateV1]) -> None:
        """The entry's commission from its stored fills: an order state is stored only when it
        is newer, so a commission reported after the final state (a late fill report) lives in
        the fills table alone. Spot exits are sized on what the entry holds net of it."""
        if self.store is None:
            return
        eid = client_order_id(decision.decision_id, OrderLeg.ENTRY)
        fills = await self.store.list_fills(client_order_id=eid, venue=self.venue)
        if not fills:
            return
        self._fees.setdefault(eid, {}).update({f.trade_id: f.fee for f in fills})
        self._fill_qty.setdefault(eid, {}).update({f.trade_id: f.quantity for f in fills})
        fee = sum(self._fees[eid].values(), ZERO)
        u = truth.get(eid)
        if u is not None and fee > u.fee:
            truth[eid] = u.model_copy(update={"fee": fee, "fee_asset": u.fee_asset or fills[-1].fee_asset})

    def _still_needed(self, b: Bracket, intents: list[Intent], decision: DecisionV1) -> list[Intent]:
        """Replaying history re-emits what was already done; keep what the final state needs."""
        out: list[Intent] = []
        close: ClosePosition | None = None
        for it in intents:
            if isinstance(it, PlaceEntry):
                continue
            if isinstance(it, ClosePosition):
                close = it
            elif isinstance(it, PlaceExits | MoveStop):
                place = tuple(s for s in (it.orders if isinstance(it, PlaceExits) else it.place)
                              if _revision(s.client_order_id) == b.stop_revision and b.position > 0)  # fmt: skip
                if isinstance(it, PlaceExits):
                    out.append(it.model_copy(update={"orders": place}))
                else:
                    out.append(it.model_copy(update={"place": place}))
            else:
                out.append(it)
        working_close = any(r.leg is OrderLeg.CLOSE and not r.status.is_final for r in b.orders.values())
        if close is not None and b.position > 0 and not working_close:
            out.append(close)
        expired = decision.expires_at is not None and decision.expires_at <= self.transport.now_ms()
        if b.state is BracketState.PENDING and b.entry_order is None and self.resume_pending and not expired:
            out = list(b.start()) + out
        return out

    async def _ensure_stop(self, b: Bracket, report: ReconcileReport) -> None:
        """A position must never be left without a working stop."""
        if b.position <= 0 or b.state in ENDED or b.flattening:
            return
        if any(r.leg is OrderLeg.STOP and not r.status.is_final for r in b.orders.values()):
            return
        if self.protect == "alert":
            report.unprotected.append(b.decision_id)
            await self._audit("unprotected", f"bracket {b.decision_id} holds {b.position} without a stop")
            return
        report.protected.append(b.decision_id)
        await self._audit("protect", f"bracket {b.decision_id}: re-placing the stop at {b.stop_price}")
        # The state machine's re-protect path: every remaining slice under a new revision.
        await self._execute(b, b._move_stop(b.stop_price, "reconcile: no working stop"))
        await self._drain()

    async def _check_balances(self, report: ReconcileReport) -> None:
        """Spot positions are balances: flag base assets no bracket accounts for."""
        balances = await self.transport.balances()
        held: dict[str, Decimal] = {}
        for b in self.brackets.values():
            if b.filters.base_asset and b.position > 0:
                held[b.filters.base_asset] = held.get(b.filters.base_asset, ZERO) + b.position
        quotes = {f.quote_asset for f in self.filters.values()}
        for asset, (free, locked) in sorted(balances.items()):
            extra = free + locked - held.get(asset, ZERO)
            if asset not in quotes and extra > 0:
                report.unmanaged_assets[asset] = extra

    # ------------------------------------------------------------------ views
    async def balances(self) -> list[Balance]:
        return [Balance(a, f, lk) for a, (f, lk) in sorted((await self.transport.balances()).items())]

    async def account_snapshot(self, quote_asset: str = "USDT") -> AccountSnapshot:
        """Equity in ``quote_asset`` (bases valued at the last price) and the free quote."""
        balances = await self.transport.balances()
        equity = sum(balances.get(quote_asset, (ZERO, ZERO)), ZERO)
        for sym, f in self.filters.items():
            if f.quote_asset == quote_asset and f.base_asset in balances:
                amount = sum(balances[f.base_asset], ZERO)
                if amount > 0:
                    equity += amount * await self.transport.last_price(sym)
        free = balances.get(quote_asset, (ZERO, ZERO))[0]
        return AccountSnapshot(equity=equity, available=free, quote_asset=quote_asset)

    def positions(self) -> list[PositionView]:
        out = []
        for b in self.brackets.values():
            if b.position > 0:
                protected = any(r.leg is OrderLeg.STOP and not r.status.is_final for r in b.orders.values())
                out.append(PositionView(b.decision_id, b.symbol, b.side, b.position, b.avg_entry,
                                        b.stop_price, protected))  # fmt: skip
        return out

    def bracket(self, decision_id: str) -> Bracket | None:
        return self.brackets.get(decision_id)

    async def updates(self) -> AsyncIterator[OrderUpdateV1]:
        q: asyncio.Queue[OrderUpdateV1] = asyncio.Queue()
        self._subscribers.append(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._subscribers.remove(q)


def fill_asset(fill: Any) -> str | None:
    return getattr(fill, "fee_asset", None)


def _keep_fee(known: OrderUpdateV1 | None, found: OrderUpdateV1) -> OrderUpdateV1:
    """An order query (REST) reports no commission; the stream did. Commission on one order only
    grows, so the larger known figure is kept — losing it would size exits above what a spot buy
    actually holds once its base-asset fee was taken."""
    if known is not None and known.fee > found.fee:
        return found.model_copy(update={"fee": known.fee, "fee_asset": known.fee_asset})
    return found
