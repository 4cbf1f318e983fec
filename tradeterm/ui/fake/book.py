"""The fake's imitated exchange: brackets, orders, positions, equity and the activity log.

Why it is its own object: this is the only state the intents change, and keeping it apart from
the read model (which only *reads* it) and from the market (which only moves prices) makes each
rule easy to find — a placed bracket becomes a working bracket (limit) or a position (market)
at once; cancelling and flattening cancel the bracket's resting orders; the kill switch does
both for everything. Sizes and prices come from the real :func:`tradeterm.trading.preview`, so
nothing here rounds anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from tradeterm.contracts import OrderUpdateV1
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderStatus, OrderType
from tradeterm.errors import UserError
from tradeterm.market.synthetic import SymbolSpec
from tradeterm.pipeline.readmodel import (
    BracketRow,
    LogKind,
    LogLevel,
    LogLine,
    Market,
    PositionRow,
    market_label,
)
from tradeterm.trading import Preview, client_order_id
from tradeterm.trading.decimals import fmt

FINISHED = ("CANCELED", "CLOSED", "EXPIRED")
LOG_KEEP = 500
_LIVE = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_NEW)


def of_bracket(bracket_id: str) -> Callable[[OrderUpdateV1], bool]:
    """A filter for :meth:`FakeBook.cancel_orders`: the orders of one bracket."""
    return lambda o: o.decision_id == bracket_id


class FakeBook:
    """Orders, brackets and positions of one paper account (of one ``market``).

    ``now`` and ``last_price`` come from the market (the frozen clock), ``changed`` is called on
    every mutation so the read model's version moves. A fake trading two markets has one book
    per market, exactly as the controller has one broker per market: a spot and a USD-M
    position in the same symbol are two accounts' positions, never netted together. Every row
    the book makes carries its ``market`` (and on USD-M its leverage and liquidation price).
    ``log`` is shared between books when the pipeline passes one list to all of them.
    """

    def __init__(
        self,
        *,
        venue: str,
        specs: dict[str, SymbolSpec],
        equity: Decimal,
        now: Callable[[], int],
        last_price: Callable[[str], Decimal],
        changed: Callable[[], None],
        market: Market = "spot",
        log: list[LogLine] | None = None,
    ) -> None:
        self.venue = venue
        self.market: Market = market
        self.specs = specs
        self.equity = equity
        self._now = now
        self._last_price = last_price
        self._changed = changed
        self.seq = 0
        self.brackets: dict[str, BracketRow] = {}
        self.orders: list[OrderUpdateV1] = []
        self.positions: dict[str, PositionRow] = {}
        self.position_risk: dict[str, Decimal] = {}  # 1R in quote per position
        self.log: list[LogLine] = log if log is not None else []
        self.liquidation: dict[str, Decimal] = {}  # USD-M: the preview's estimate per position
        self.leverage: dict[str, int] = {}  # USD-M: the leverage the position was opened at

    # ------------------------------------------------------------------ reading

    def marked(self, p: PositionRow) -> PositionRow:
        """``p`` marked to the last price, with unrealised PnL in quote and in R."""
        mark = self._last_price(p.symbol)
        sign = 1 if p.side == "BUY" else -1
        pnl = (mark - p.entry) * p.quantity * sign
        r = self.position_risk.get(p.symbol)
        usdm = self.market == "usdm"
        return replace(
            p,
            market=self.market,
            leverage=self.leverage.get(p.symbol) if usdm else None,
            liquidation=self.liquidation.get(p.symbol) if usdm else None,
            mark=mark,
            unrealised=pnl.quantize(Decimal("0.01")),
            unrealised_r=(pnl / r).quantize(Decimal("0.01")) if r else None,
        )

    def unrealised(self) -> Decimal:
        return sum(
            (self.marked(p).unrealised or Decimal(0) for p in self.positions.values()), Decimal(0)
        )

    def margin_used(self) -> Decimal:
        return sum((p.quantity * p.entry for p in self.positions.values()), Decimal(0))

    tagged: bool = False  # set by a fake trading several markets: log lines name the market

    @property
    def _tag(self) -> str:
        return f"[{market_label(self.market)}] " if self.tagged else ""

    def stamp_market(self) -> None:
        """Label rows put straight into ``brackets``/``positions`` (the seed) with this book's
        market, so a seeded USD-M book shows USD-M rows."""
        self.brackets = {k: replace(b, market=self.market) for k, b in self.brackets.items()}
        self.positions = {k: replace(p, market=self.market) for k, p in self.positions.items()}

    # ------------------------------------------------------------------ the log

    def add_log(self, level: LogLevel, kind: LogKind, text: str) -> None:
        self.log.append(LogLine(self._now(), level, kind, text))
        del self.log[:-LOG_KEEP]
        self._changed()

    # ------------------------------------------------------------------ orders

    def order(
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
        """A new order update with the next sequence number (not yet added to ``orders``)."""
        self.seq += 1
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
            event_time=self._now(),
            sequence=self.seq,
        )

    def open_bracket(self, bracket_id: str, pv: Preview, symbol: str) -> None:
        """Accept a previewed bracket: a limit entry rests, a market entry fills at once and its
        stop and targets start working."""
        market = pv.order_type is OrderType.MARKET
        fill = pv.entry_estimate if market else pv.entry
        assert fill is not None
        exit_side = Side.SELL if pv.side is Side.BUY else Side.BUY
        self.orders.append(
            self.order(
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
            self.orders.append(
                self.order(
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
                self.orders.append(
                    self.order(
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
            self.add_position(symbol, pv.side, pv.quantity, fill, pv.risk_quote)
            if self.market == "usdm":
                self.leverage[symbol] = pv.leverage
                if pv.liquidation_price is not None:
                    self.liquidation[symbol] = pv.liquidation_price
        self.brackets[bracket_id] = BracketRow(
            bracket_id=bracket_id,
            symbol=symbol,
            side=pv.side.value,
            state=state,
            quantity=pv.quantity,
            filled=pv.quantity if market else Decimal(0),
            entry=pv.entry,
            stop=pv.stop,
            targets=tuple(t.price for t in pv.targets),
            market=self.market,
            leverage=pv.leverage if self.market == "usdm" else 1,
        )
        what = "MARKET" if market else f"LIMIT {fmt(pv.entry)}"
        self.add_log(
            "INFO",
            "order",
            f"{self._tag}{symbol} {pv.side} {fmt(pv.quantity)} {what} stop {fmt(pv.stop)} "
            f"{len(pv.targets)} TP: bracket {bracket_id} accepted",
        )

    def add_position(
        self, symbol: str, side: Side, qty: Decimal, price: Decimal, risk: Decimal
    ) -> None:
        """Net a fill into the symbol's one position (same side: averaged entry)."""
        held = self.positions.get(symbol)
        if held is None or held.side == side.value:
            q0 = held.quantity if held else Decimal(0)
            e0 = held.entry if held else Decimal(0)
            entry = ((q0 * e0 + qty * price) / (q0 + qty)).quantize(self.specs[symbol].tick_size)
            self.positions[symbol] = PositionRow(
                symbol, side.value, q0 + qty, entry, None, None, None
            )
            self.position_risk[symbol] = self.position_risk.get(symbol, Decimal(0)) + risk
            return
        rest = held.quantity - qty
        if rest > 0:
            self.positions[symbol] = replace(held, quantity=rest)
        elif rest < 0:
            self.positions[symbol] = PositionRow(symbol, side.value, -rest, price, None, None, None)
            self.position_risk[symbol] = risk
        else:
            del self.positions[symbol]

    def cancel_orders(self, which: Callable[[OrderUpdateV1], bool], reason: str) -> None:
        for i, o in enumerate(self.orders):
            if o.status in _LIVE and which(o):
                self.seq += 1
                self.orders[i] = o.model_copy(
                    update={"status": OrderStatus.CANCELED, "reason": reason, "sequence": self.seq}
                )
        self._changed()

    # ------------------------------------------------------------------ what the intents do

    def cancel_bracket(self, bracket_id: str) -> None:
        b = self.brackets.get(bracket_id)
        if b is None or b.state in FINISHED:
            raise UserError(f"bracket {bracket_id} is not working")
        if b.state != "ENTRY_WORKING":
            raise UserError(f"bracket {bracket_id} is {b.state}: close the position instead")
        self.brackets[bracket_id] = replace(b, state="CANCELED")
        self.cancel_orders(of_bracket(bracket_id), "canceled by user")
        self.add_log("INFO", "order", f"{self._tag}{b.symbol} bracket {bracket_id} canceled")

    def flatten(self, symbol: str, why: str) -> None:
        """Close ``symbol``'s position at the mark, book its PnL, finish its brackets."""
        p = self.positions.get(symbol)
        if p is None:
            where = f" on {market_label(self.market)}" if self._tag else ""
            raise UserError(f"no open position in {symbol}{where}")
        pnl = self.marked(p).unrealised or Decimal(0)
        del self.positions[symbol]
        self.liquidation.pop(symbol, None)
        self.leverage.pop(symbol, None)
        self.equity += pnl
        for b in list(self.brackets.values()):
            if b.symbol == symbol and b.state not in FINISHED:
                self.brackets[b.bracket_id] = replace(b, state="CLOSED")
                self.cancel_orders(of_bracket(b.bracket_id), why)
        self.add_log(
            "INFO", "order", f"{self._tag}{symbol} position closed ({why}), PnL {fmt(pnl)} USDT"
        )

    def cancel_everything(self, reason: str, *, announce: bool = True) -> None:
        """The kill switch's effect: cancel working entries and every order, flatten all
        (``announce=False``: the caller logs the trip once for several books)."""
        for b in list(self.brackets.values()):
            if b.state == "ENTRY_WORKING":
                self.brackets[b.bracket_id] = replace(b, state="CANCELED")
        self.cancel_orders(lambda o: True, "kill switch")
        for symbol in list(self.positions):
            self.flatten(symbol, "kill switch")
        if announce:
            self.add_log("ERROR", "system", f"KILL SWITCH tripped: {reason}")
