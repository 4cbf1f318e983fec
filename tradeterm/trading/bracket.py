"""The bracket state machine: one decision's orders, driven by the exchange's order updates.

States: PENDING → ENTRY_WORKING → ENTRY_PARTIAL → ENTRY_FILLED → EXITS_WORKING → CLOSED, or
CANCELED / EXPIRED (entry ended unfilled) / ERROR (something the plan did not allow for).

Design choices, each for a failure seen in real brokers:

* Updates are matched to legs by *parsing* the client order id (``ids.py``), not by a table of
  what was sent, so the state is a function of the decision and the updates alone: replaying
  the journal after a restart rebuilds the same bracket as the persisted snapshot.
* Per order, an update that is not newer (lower ``sequence``; same sequence and no progress)
  is ignored, and a final order state is final: duplicated and reordered streams are harmless.
  Fills are read as cumulative quantities, so a skipped intermediate update loses nothing.
* Nothing raises on a bad stream: an impossible transition sets ERROR with a reason, keeps
  accounting, and still emits the safety intents (protect a fill, cancel leftovers, flatten).
* Outputs are intents (``intents.py``) with every id, price and quantity filled in.

Exits are placed once the entry is final (filled, or cancelled/expired after a partial fill, in
which case the filled part is re-split over the ladder). While the entry is ENTRY_PARTIAL the
filled part has no stop yet; the entry's time-to-live bounds that window.

Exits: spot places one OCO per take-profit slice (LIMIT_MAKER target + STOP_LOSS_LIMIT stop of
the same quantity); USD-M places reduce-only LIMIT slices and one reduce-only STOP_MARKET algo
order for the position, and the broker cancels siblings itself (no native OCO): when the stop
fills the take profits are cancelled; when a take profit completes, the stop is re-placed for
what is left (algo orders cannot be amended), at break-even after TP1. Moving a stop means new
orders under a new revision (``-S1r2``); on spot every remaining OCO pair is re-placed.

Commands (:meth:`Bracket.cancel`, :meth:`Bracket.flatten`, :meth:`Bracket.move_stop`,
:meth:`Bracket.trail`, :meth:`Bracket.check_expiry`) emit intents and may bump revision
counters; persist the snapshot after calling them. A replay that missed a command catches up
when the acknowledgement of the command's order arrives (its revision is in its id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from tradeterm.contracts.trading import (
    DecisionStatus,
    DecisionV1,
    OrderLeg,
    OrderStatus,
    OrderType,
    OrderUpdateV1,
)
from tradeterm.trading.bracket_records import (
    ENDED,
    EXIT_LEGS,
    ZERO,
    BracketBook,
    BracketState,
    ExitLevel,
    OrderRecord,
)
from tradeterm.trading.decimals import fmt, round_to_step, split_exact
from tradeterm.trading.exits import (
    already_crossed,
    close_order,
    exit_shape,
    stop_order,
    take_profit_now,
    take_profit_order,
)
from tradeterm.trading.filters import Market, SymbolFilters
from tradeterm.trading.ids import MAX_REVISION, client_order_id, parse_client_order_id
from tradeterm.trading.intents import (
    CancelLegs,
    ClosePosition,
    Intent,
    MoveStop,
    OrderSpec,
    PlaceEntry,
    PlaceExits,
)
from tradeterm.trading.ladder import (
    PlannedLeg,
    atr_trail_stop,
    bracket_quantity_step,
    break_even_stop,
    fit_legs,
)
from tradeterm.trading.risk import RiskConfig

LOG_LIMIT = 200  # the log is for humans reading a snapshot; keep snapshots bounded


class Bracket(BracketBook):
    """One decision's orders and position; see the module docstring for the rules."""

    # ---------------------------------------------------------------- creation
    @classmethod
    def from_decision(
        cls, decision: DecisionV1, filters: SymbolFilters, risk: RiskConfig
    ) -> Bracket:
        """A bracket for an approved decision. A rejected one is a caller bug, hence raises."""
        if decision.status is not DecisionStatus.APPROVED:
            raise ValueError(
                f"decision {decision.decision_id} is {decision.status}, only APPROVED ones are placed"
            )
        levels = [
            ExitLevel(index=i + 1, r_multiple=tp.r_multiple, price=tp.price, quantity=tp.quantity)
            for i, tp in enumerate(decision.take_profits)
        ]
        return cls(
            decision_id=decision.decision_id,
            venue=decision.venue,
            symbol=decision.symbol,
            side=decision.side,
            entry_type=decision.order_type,
            entry_price=decision.entry,
            quantity=decision.quantity,
            initial_stop=decision.stop,
            stop_price=decision.stop,
            levels=levels,
            expires_at=decision.expires_at,
            filters=filters,
            fees=risk.fees,
            break_even_on_tp1=risk.break_even_on_tp1,
            trail_atr_multiple=risk.trail_atr_multiple,
            stop_limit_slippage=risk.stop_limit_slippage,
        )

    @classmethod
    def rebuild(
        cls,
        decision: DecisionV1,
        filters: SymbolFilters,
        risk: RiskConfig,
        updates: Iterable[OrderUpdateV1],
    ) -> Bracket:
        """Replay a journal of updates. Intents produced on the way are dropped: after a restart
        the broker reconciles with the exchange instead of re-sending blindly."""
        bracket = cls.from_decision(decision, filters, risk)
        for u in updates:
            bracket.apply(u)
        return bracket

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bracket:
        return cls.model_validate(data)

    # ----------------------------------------------------------- plumbing
    def _note(self, text: str) -> None:
        self.log.append(text)
        del self.log[:-LOG_LIMIT]

    def _set_state(self, state: BracketState) -> None:
        if self.state is not BracketState.ERROR:  # ERROR is sticky: a human must look
            self.state = state

    def _fail(self, reason: str) -> None:
        self.errors.append(reason)
        self.state = BracketState.ERROR

    def _stop(self, index: int, revision: int, quantity: Decimal) -> OrderSpec:
        return stop_order(
            self.decision_id, self.filters, self.side, index, revision, quantity, self.stop_price,
            self.stop_limit_slippage,
        )  # fmt: skip

    def _take_profit(self, level: ExitLevel, revision: int, quantity: Decimal) -> OrderSpec:
        return take_profit_order(
            self.decision_id, self.filters, self.side, level.index, revision, quantity, level.price
        )

    def _spot_pairs(self, revision: int) -> list[OrderSpec]:
        """OCO pairs for every slice with something left to close (one lone stop if no TPs)."""
        if not self.levels:
            return [self._stop(0, revision, self.position)]
        specs: list[OrderSpec] = []
        for level in self.levels:
            left = self._level_remaining(level)
            if left > 0:
                specs += [
                    self._take_profit(level, revision, left),
                    self._stop(level.index, revision, left),
                ]
        return specs

    def _close_intents(self, reason: str) -> list[Intent]:
        """Cancel what still works and flatten what is open."""
        intents: list[Intent] = []
        working = self._working_exit_ids()
        if working:
            intents.append(
                CancelLegs(
                    decision_id=self.decision_id, client_order_ids=tuple(working), reason=reason
                )
            )
        if self.position > 0 and self.close_revision < MAX_REVISION:
            self.close_revision += 1
            order = close_order(
                self.decision_id, self.filters, self.side, self.close_revision, self.position
            )
            intents.append(ClosePosition(decision_id=self.decision_id, order=order, reason=reason))
        return intents

    def _cancel_entry(self, reason: str) -> list[Intent]:
        return [
            CancelLegs(
                decision_id=self.decision_id, client_order_ids=(self.entry_id,), reason=reason
            )
        ]

    # ---------------------------------------------------------------- commands
    def start(self) -> list[Intent]:
        """The entry order; the same intent (same id) if called again before it is acknowledged."""
        if self.state is not BracketState.PENDING or self.entry_order is not None:
            return []
        spec = OrderSpec(
            client_order_id=self.entry_id,
            leg=OrderLeg.ENTRY,
            side=self.side,
            order_type=self.entry_type,
            quantity=self.quantity,
            price=self.entry_price,
            expires_at=self.expires_at,
        )
        return [PlaceEntry(decision_id=self.decision_id, order=spec)]

    def check_expiry(self, now_ms: int) -> list[Intent]:
        """Past ``expires_at`` with the entry not done: cancel it. The entry's CANCELED update then
        ends the bracket as EXPIRED (a partial fill is protected instead)."""
        if self.expires_at is None or now_ms < self.expires_at:
            return []
        if self.state is BracketState.PENDING and self.entry_order is None:
            self._set_state(BracketState.EXPIRED)
            return self._cancel_entry("expired")
        if self.state in (BracketState.ENTRY_WORKING, BracketState.ENTRY_PARTIAL):
            return self._cancel_entry("expired")
        return []

    def cancel(self, reason: str = "canceled by user") -> list[Intent]:
        """Withdraw the entry; whatever already filled keeps its exits (see :meth:`flatten`)."""
        if self.state in ENDED:
            return []
        if self.entry_order is None:  # maybe never placed: end now, cancel in case it was
            self._set_state(BracketState.CANCELED)
            return self._cancel_entry(reason)
        return [] if self.entry_final else self._cancel_entry(reason)

    def flatten(self, reason: str = "flatten") -> list[Intent]:
        """Kill-switch path: cancel the entry and every exit, close the position at market."""
        self.flattening = True
        intents = self.cancel(reason)
        if self.position > 0:
            intents += self._close_intents(reason)
        return intents

    def move_stop(self, new_price: Decimal, reason: str) -> list[Intent]:
        """Tighten the stop (rounded by the stop rule); a looser stop is refused."""
        if self.state is not BracketState.EXITS_WORKING or self.position <= 0:
            return []
        new_price = self.filters.round_stop(self.side, new_price)
        if (new_price <= self.stop_price) if self.long else (new_price >= self.stop_price):
            self._note(
                f"stop move to {fmt(new_price)} refused: not tighter than {fmt(self.stop_price)}"
            )
            return []
        return self._move_stop(new_price, reason)

    def trail(
        self, extreme: Decimal, atr: Decimal, *, last_price: Decimal | None = None
    ) -> list[Intent]:
        """After TP2 (when configured): follow the best price at ``trail_atr_multiple`` x ATR."""
        if (
            not self.trailing
            or self.trail_atr_multiple is None
            or self.state is not BracketState.EXITS_WORKING
        ):
            return []
        new = atr_trail_stop(
            self.side,
            self.stop_price,
            extreme,
            atr,
            self.trail_atr_multiple,
            self.filters,
            last_price=last_price,
        )
        return (
            []
            if new is None
            else self._move_stop(new, f"ATR trail {fmt(self.trail_atr_multiple)}x {fmt(atr)}")
        )

    def _move_stop(self, new_price: Decimal, reason: str) -> list[Intent]:
        """New stop orders under the next revision; cancel every order of the previous one that
        may be live, acknowledged or not (an unacknowledged one may still appear)."""
        if self.stop_revision >= MAX_REVISION:
            self._fail(f"stop moved {MAX_REVISION} times; refusing to move it again")
            return self._close_intents("stop cannot be moved again")
        prev = self.stop_revision
        if self.market is Market.SPOT:
            live = [lv for lv in self.levels if self._level_remaining(lv) > 0]
            maybe_live = [(leg, lv.index) for lv in live for leg in (OrderLeg.TP, OrderLeg.STOP)]
            if not self.levels:
                maybe_live = [(OrderLeg.STOP, 0)]
            if self.levels and not self._refit_remaining(new_price):
                return self._close_intents("remaining slices cannot be protected")
        else:
            maybe_live = [(OrderLeg.STOP, 0)]
        cancel = []
        for leg, index in maybe_live:
            cid = client_order_id(self.decision_id, leg, index, prev)
            rec = self.orders.get(cid)
            if rec is None or not rec.status.is_final:
                cancel.append(cid)
        self.stop_revision = prev + 1
        self.stop_price = new_price
        if self.market is Market.SPOT:
            place = self._spot_pairs(self.stop_revision)
        else:
            place = [self._stop(0, self.stop_revision, self.position)]
            self.stop_quantity = self.position
        move = MoveStop(
            decision_id=self.decision_id,
            new_price=new_price,
            reason=reason,
            cancel=tuple(sorted(cancel)),
            place=tuple(place),
        )
        return [move]

    def _refit_remaining(self, stop: Decimal) -> bool:
        """Spot: what is left of each slice after partial fills must still pass the filters as an
        OCO pair at the new stop; merge those that cannot. False (and ERROR) if none can."""
        left = [(lv, self._level_remaining(lv)) for lv in self.levels]
        planned = [PlannedLeg(lv.index, lv.r_multiple, lv.price, q) for lv, q in left if q > 0]
        if not planned:
            return True
        entry = self.avg_entry or self.entry_price or stop
        result = fit_legs(
            self.side,
            entry,
            stop,
            planned,
            self.filters,
            reference=entry,
            stop_slippage=self.stop_limit_slippage,
        )
        if not result.ok:
            self._fail(f"cannot protect the remaining {fmt(self.position)}: {result.failure}")
            return False
        new_left = {leg.r_multiple: leg.quantity for leg in result.legs}
        for note in result.notes:
            self._note(note)
        for lv, q in left:
            lv.quantity = lv.quantity - q + new_left.get(lv.r_multiple, ZERO)
        return True

    # ----------------------------------------------------------------- updates
    def exits_against_price(
        self, orders: Sequence[OrderSpec], last: Decimal
    ) -> list[Intent] | None:
        """Re-plan exit orders (a PlaceExits' or MoveStop's ``place``) the market already passed
        at ``last``; None when nothing is crossed (send them as planned).

        * A stop already crossed "triggered" before it could be placed: cancel what works and
          close the whole position at market (the venue would refuse the stop: spot OCO -2010,
          USD-M -2021).
        * A spot take profit already crossed: that slice is sold at market, alone (a LIMIT_MAKER
          would be refused); the other slices keep their OCO pairs, so the stop still works.
        """
        if self.position <= 0 or self.flattening or self.state in ENDED:
            return None
        if any(s.leg is OrderLeg.STOP and already_crossed(self.side, s, last) for s in orders):
            reason = (f"stop {fmt(self.stop_price)} already crossed (last {fmt(last)}) before it "
                      "could be placed: closing at market")  # fmt: skip
            self._note(reason)
            return self._close_intents(reason)
        hit = {
            s.index
            for s in orders
            if s.leg is OrderLeg.TP
            and s.order_type is OrderType.LIMIT_MAKER
            and already_crossed(self.side, s, last)
        }
        if not hit:
            return None
        out: list[OrderSpec] = []
        for s in orders:
            if s.index in hit and s.list_client_order_id is not None:
                if s.leg is OrderLeg.TP:
                    out.append(take_profit_now(s))
                    self._note(f"take profit {s.index} at {fmt(s.price)} already crossed (last "
                               f"{fmt(last)}): {fmt(s.quantity)} sold at market")  # fmt: skip
                continue  # its stop half: nothing left to protect once the slice is sold
            out.append(s)
        return [PlaceExits(decision_id=self.decision_id, orders=tuple(out), oco=True)]

    def apply(self, u: OrderUpdateV1) -> list[Intent]:
        """Advance on one order update; returns what the broker must do now."""
        parsed = parse_client_order_id(u.client_order_id)
        if (
            u.symbol != self.symbol
            or u.venue != self.venue
            or parsed is None
            or parsed.decision_id != self.decision_id
            or parsed.leg in (None, OrderLeg.OTHER)
        ):
            self._note(f"ignored {u.client_order_id}: not an order of this bracket")
            return []
        prev = self.orders.get(u.client_order_id)
        if prev is not None:
            if prev.status.is_final and self._fee_news(prev, u):
                return self._on_fee_learned(prev, u)
            if prev.supersedes(u):
                if prev.status.is_final and (u.status, u.filled_qty) != (
                    prev.status,
                    prev.filled_qty,
                ):
                    self._note(
                        f"ignored {u.client_order_id} {u.status.value}: already final {prev.status.value}"
                    )
                return []
            if u.filled_qty < prev.filled_qty:
                self._fail(
                    f"{u.client_order_id} filled quantity went back from {fmt(prev.filled_qty)} to {fmt(u.filled_qty)}"
                )
                return []
        old_filled = prev.filled_qty if prev else ZERO
        rec = OrderRecord.from_update(u, parsed)
        if prev is not None and prev.fee > rec.fee:
            # Commission on one order only grows; an update that does not report it (a REST
            # query) must not erase what the stream reported.
            rec = rec.model_copy(update={"fee": prev.fee, "fee_asset": prev.fee_asset})
        self.orders[u.client_order_id] = rec
        if rec.leg in (OrderLeg.STOP, OrderLeg.TP) and rec.revision > self.stop_revision:
            # An order from a command this replay did not see (module docstring).
            self.stop_revision = rec.revision
            if rec.leg is OrderLeg.STOP and u.stop_price is not None:
                self.stop_price = u.stop_price
            if rec.leg is OrderLeg.STOP and self.market is Market.USDM:
                self.stop_quantity = rec.orig_qty
        if rec.leg is OrderLeg.ENTRY:
            return self._on_entry(rec, old_filled)
        return self._on_exit(rec)

    @staticmethod
    def _fee_news(prev: OrderRecord, u: OrderUpdateV1) -> bool:
        """The same final state, now with the commission (a fill first learned from a REST query,
        which reports none; the stream's execution report brings it later)."""
        return (u.status, u.filled_qty) == (prev.status, prev.filled_qty) and u.fee > prev.fee

    def _on_fee_learned(self, prev: OrderRecord, u: OrderUpdateV1) -> list[Intent]:
        """Record the commission; on spot, if it was taken in the base asset from an entry whose
        exits are already working, they were sized on the gross fill and would sell coins the
        account does not hold from this trade: shrink the slices from the last one and re-place
        the pairs (same stop, next revision) for what is really held."""
        held_before = self.entry_held
        rec = prev.model_copy(update={"fee": u.fee, "fee_asset": u.fee_asset or prev.fee_asset})
        self.orders[u.client_order_id] = rec
        self._note(f"{u.client_order_id} commission {fmt(u.fee)} {u.fee_asset or ''}".rstrip())
        if rec.leg is not OrderLeg.ENTRY or self.market is not Market.SPOT or not self.exits_placed:
            return []
        excess = held_before - self.entry_held
        working = self.state in (BracketState.ENTRY_FILLED, BracketState.EXITS_WORKING)
        if excess <= 0 or self.flattening or not working or self.position <= 0:
            return []
        for level in reversed(self.levels):
            if excess <= 0:
                break
            cut = min(excess, self._level_remaining(level))
            level.quantity -= cut
            excess -= cut
        self.levels = [lv for lv in self.levels if lv.quantity > 0]
        return self._move_stop(self.stop_price, f"exits resized: entry commission {fmt(u.fee)} in the base asset")

    def _on_entry(self, rec: OrderRecord, old_filled: Decimal) -> list[Intent]:
        if self.state in ENDED:
            if rec.filled_qty > old_filled:
                self._fail(
                    f"entry filled {fmt(rec.filled_qty)} after the bracket was {self.state.value}"
                )
                return self._close_intents("entry filled after the bracket ended")
            return (
                []
                if rec.status.is_final
                else self._cancel_entry(f"bracket already {self.state.value}")
            )
        if not rec.status.is_final:
            if rec.filled_qty > 0:
                self._set_state(BracketState.ENTRY_PARTIAL)
            elif self.state is BracketState.PENDING:
                self._set_state(BracketState.ENTRY_WORKING)
            return []
        if rec.filled_qty == 0:
            if rec.status is OrderStatus.REJECTED:
                self._fail(f"entry rejected by the exchange: {rec.reason or 'no reason given'}")
            elif rec.status is OrderStatus.EXPIRED or (
                self.expires_at is not None and rec.event_time >= self.expires_at
            ):
                self._set_state(BracketState.EXPIRED)
            else:
                self._set_state(BracketState.CANCELED)
            return []
        self._set_state(BracketState.ENTRY_FILLED)
        if self.flattening:
            return self._close_intents("flatten")
        return self._place_exits()

    def _place_exits(self) -> list[Intent]:
        if self.exits_placed:
            return []
        self.exits_placed = True
        filled = self.entry_held
        if filled != self.quantity and self.levels and not self._resplit(filled):
            return self._close_intents("filled quantity cannot be protected")
        shape = exit_shape(self.market)
        if shape.oco_per_leg:
            orders = self._spot_pairs(0)
        else:
            orders = [self._take_profit(lv, 0, lv.quantity) for lv in self.levels]
            orders.append(self._stop(0, 0, self.position))
            self.stop_quantity = self.position
        return [
            PlaceExits(decision_id=self.decision_id, orders=tuple(orders), oco=shape.oco_per_leg)
        ]

    def _resplit(self, filled: Decimal) -> bool:
        """A partial entry: split what filled in the ladder's proportions and re-fit it."""
        step = bracket_quantity_step(self.filters, market_entry=self.entry_type is OrderType.MARKET)
        protectable = round_to_step(filled, step, "down")
        if protectable != filled:
            self._note(
                f"{fmt(filled - protectable)} below the step {fmt(step)} gets no take profit"
            )
        if protectable <= 0:
            self.levels = []
            return True
        parts = split_exact(protectable, [lv.quantity for lv in self.levels], step)
        planned = [
            PlannedLeg(lv.index, lv.r_multiple, lv.price, q)
            for lv, q in zip(self.levels, parts, strict=True)
        ]
        entry = self.avg_entry or self.entry_price or self.stop_price
        result = fit_legs(
            self.side, entry, self.stop_price, planned, self.filters, reference=entry,
            stop_slippage=self.stop_limit_slippage,
        )  # fmt: skip
        if not result.ok:
            self._fail(f"entry filled only {fmt(filled)} of {fmt(self.quantity)}; {result.failure}")
            return False
        self._note(f"entry filled {fmt(filled)} of {fmt(self.quantity)}: exits re-split")
        for note in result.notes:
            self._note(note)
        by_r = {leg.r_multiple: leg.quantity for leg in result.legs}
        self.levels = [
            lv.model_copy(update={"quantity": by_r[lv.r_multiple]})
            for lv in self.levels
            if lv.r_multiple in by_r
        ]
        return True

    def _on_exit(self, rec: OrderRecord) -> list[Intent]:
        position = self.position  # constant below: the record is stored, nothing fills here
        if position < 0:
            self._fail(
                f"exits filled {fmt(self.exit_filled)}, more than the entry's {fmt(self.entry_filled)}"
            )
            return []
        if self.state is BracketState.ENTRY_FILLED and rec.status is not OrderStatus.REJECTED:
            self._set_state(BracketState.EXITS_WORKING)
        intents: list[Intent] = []
        if rec.status is OrderStatus.REJECTED:
            self._fail(
                f"{rec.client_order_id} rejected by the exchange: {rec.reason or 'no reason given'}"
            )
            if rec.leg is OrderLeg.STOP and position > 0:
                intents += self._close_intents("stop rejected: position unprotected")
            return intents
        managing = not self.flattening and self.state is not BracketState.ERROR
        if (
            managing
            and rec.leg is OrderLeg.TP
            and rec.status is OrderStatus.FILLED
            and position > 0
        ):
            indexes = sorted(lv.index for lv in self.levels)
            if (
                indexes
                and rec.index == indexes[0]
                and self.break_even_on_tp1
                and not self.break_even_done
            ):
                intents += self._break_even()
            if len(indexes) > 1 and rec.index == indexes[1] and self.trail_atr_multiple is not None:
                self.trailing = True
        if (
            managing
            and not intents
            and self.market is Market.USDM
            and rec.leg is OrderLeg.TP
            and rec.status.is_final
            and rec.filled_qty > 0
            and position > 0
        ):
            intents += self._resize_stop(rec)
        if self.entry_final and self.entry_filled > 0 and position == 0:
            if self.flat_at is not None:
                return intents  # already flat: late cancels of leftovers change nothing
            self.flat_at = rec.event_time
            self._set_state(BracketState.CLOSED)
            leftovers = self._leftovers()
            if leftovers:
                intents.append(
                    CancelLegs(
                        decision_id=self.decision_id,
                        client_order_ids=leftovers,
                        reason="position closed",
                    )
                )
            return intents
        unfilled_end = rec.status.is_final and rec.filled_qty < rec.orig_qty
        if not self.flattening and unfilled_end and position > 0 and not intents:
            intents += self._reprotect_if_needed(rec)
        return intents

    def _resize_stop(self, rec: OrderRecord) -> list[Intent]:
        """USD-M: a take profit completed, so the stop is larger than the position. Reduce-only
        would cap it at trigger time, but a stop that states the wrong size misleads every
        reader (reconciliation, the blotter) and would be re-checked against open orders; so it
        is re-placed at the same price for what is left. Partial fills of a still-working take
        profit do not re-place it (that would churn algo orders); the cap covers them."""
        if self.stop_quantity is not None and self.stop_quantity <= self.position:
            return []
        return self._move_stop(self.stop_price, f"stop resized after {rec.client_order_id} filled")

    def _break_even(self) -> list[Intent]:
        self.break_even_done = True
        avg = self.avg_entry
        if avg is None:
            return []
        new = break_even_stop(self.side, avg, self.fees, self.filters)
        if (new <= self.stop_price) if self.long else (new >= self.stop_price):
            self._note(f"break-even {fmt(new)} is not tighter than the stop {fmt(self.stop_price)}")
            return []
        return self._move_stop(new, "break-even after TP1")

    def _leftovers(self) -> tuple[str, ...]:
        """Orders still working once flat; spot OCO partners of a finished leg end by themselves."""
        out = []
        for r in self.orders.values():
            if r.leg not in EXIT_LEGS or r.status.is_final:
                continue
            if self.market is Market.SPOT and r.index:
                partner = OrderLeg.STOP if r.leg is OrderLeg.TP else OrderLeg.TP
                if any(p.status.is_final for p in self._orders(partner, r.index, r.revision)):
                    continue
            out.append(r.client_order_id)
        if (
            self.market is Market.USDM
            and self.exits_placed
            and not self._orders(OrderLeg.STOP, 0, self.stop_revision)
        ):
            out.append(
                client_order_id(self.decision_id, OrderLeg.STOP, 0, self.stop_revision)
            )  # in flight
        return tuple(sorted(out))

    def _reprotect_if_needed(self, rec: OrderRecord) -> list[Intent]:
        """An exit ended unfilled while a position remains: if that leaves quantity without a
        stop (cancelled outside the bracket, expired), re-place the stop at the same price."""
        if rec.leg is OrderLeg.CLOSE or rec.revision < self.stop_revision:
            return []  # a close order, or an order that a stop move already replaced
        if self.market is Market.USDM:
            if rec.leg is not OrderLeg.STOP:
                self._note(
                    f"{rec.client_order_id} ended {rec.status.value}; the stop still covers its quantity"
                )
                return []
        else:
            pair = self._orders(OrderLeg.TP, rec.index, rec.revision) + self._orders(
                OrderLeg.STOP, rec.index, rec.revision
            )
            finishing = any(not r.status.is_final or r.status is OrderStatus.FILLED for r in pair)
            if finishing or len(pair) < (2 if rec.index else 1):
                return []  # the OCO partner is still working or filled: the exchange is finishing the pair
        self._note(
            f"{rec.client_order_id} ended {rec.status.value} unfilled: re-placing protection"
        )
        return self._move_stop(
            self.stop_price, f"re-protect after {rec.client_order_id} {rec.status.value}"
        )
