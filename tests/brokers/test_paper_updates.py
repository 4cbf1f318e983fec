"""The paper broker builds its order updates without pydantic validation when every rule of
``OrderUpdateV1`` is known to hold (``updates._construct``): the result must be exactly what
validation gives, field by field (type and Decimal digits too), and anything validation would
refuse must still be refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tests.brokers.helpers import candle, decision
from tradeterm.brokers import updates
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.contracts.trading import OrderStatus, OrderUpdateV1
from tradeterm.trading.bracket_records import BracketState
from tradeterm.trading.risk import RiskConfig
from tradeterm.venue.symbols import SymbolRules

RULES = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.01"),
                    step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5),
                    min_price=Decimal("0.01"), max_price=Decimal(1000000), max_qty=Decimal(9000))  # fmt: skip


def _same(a: OrderUpdateV1, b: OrderUpdateV1) -> None:
    assert a == b
    assert a.model_fields_set == b.model_fields_set
    for name in OrderUpdateV1.model_fields:
        x, y = getattr(a, name), getattr(b, name)
        assert type(x) is type(y), name
        if isinstance(x, Decimal):
            assert x.as_tuple() == y.as_tuple(), name
    assert a.model_dump_json() == b.model_dump_json()


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every trusted build is compared with full validation of the same fields."""
    seen: dict[str, Any] = {"fast": 0, "validated": 0, "statuses": set()}
    original = updates._construct
    plain_assemble = updates._assemble

    def spy_assemble(f: dict[str, Any]) -> OrderUpdateV1:
        seen["fast"] += 1
        return plain_assemble(f)

    def check(fields: dict[str, Any]) -> OrderUpdateV1:
        try:
            expected = OrderUpdateV1(**fields)
        except ValidationError:
            with pytest.raises(ValidationError):
                original(fields)
            seen["validated"] += 1
            raise
        got = original(fields)
        _same(got, expected)
        seen["statuses"].add(got.status)
        return got

    monkeypatch.setattr(updates, "_assemble", spy_assemble)
    monkeypatch.setattr(updates, "_construct", check)
    return seen


async def _broker() -> PaperBroker:
    t = PaperTransport({"BTCUSDT": RULES}, {"USDT": Decimal(10000), "BTC": Decimal(1)})
    t.set_price("BTCUSDT", Decimal(100), 1_700_000_000_000)
    b = PaperBroker(t, risk=RiskConfig(break_even_on_tp1=True))
    await b.start()
    return b


async def test_trusted_updates_equal_validated_ones(checked: dict[str, Any]) -> None:
    b = await _broker()
    f = b.filters["BTCUSDT"]
    # Instant fill (TRADE with a BTC commission), OCO pairs, then a bar through TP1 (break-even
    # stop move: cancels and a new revision) and TP2.
    d1 = decision(f, venue="paper", entry="100.5", stop="95", market_price="100", ticket_id="a")
    await b.place_bracket(d1)
    await b.on_candle(candle("BTCUSDT", 100, 106, 99.5, 105.5, 1))
    await b.on_candle(candle("BTCUSDT", 105.5, 112, 105, 111, 2))
    # A resting entry, cancelled by the user.
    d2 = decision(f, venue="paper", entry="90", stop="85", ticket_id="b")
    await b.place_bracket(d2)
    await b.cancel(d2.decision_id)
    # A filled entry stopped out, and one closed at market by the kill switch.
    d3 = decision(f, venue="paper", entry="111.5", stop="105", market_price="111", ticket_id="c")
    await b.place_bracket(d3)
    await b.on_candle(candle("BTCUSDT", 111, 111.2, 100, 101, 3))
    d4 = decision(f, venue="paper", entry="101.5", stop="95", market_price="101", ticket_id="d")
    await b.place_bracket(d4)
    await b.flatten_all("drill")

    assert b.bracket(d1.decision_id).state is BracketState.CLOSED
    assert b.bracket(d2.decision_id).state is BracketState.CANCELED
    assert b.bracket(d3.decision_id).state is BracketState.CLOSED
    assert b.bracket(d4.decision_id).position == 0
    assert {OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.CANCELED} <= checked["statuses"]
    assert checked["fast"] > 20 and checked["validated"] == 0


async def test_a_time_the_contract_refuses_still_raises(checked: dict[str, Any]) -> None:
    """A synthetic paper market starts at time 0, outside the contract's range: placing before
    the first candle fails validation, as it did before the trusted path."""
    b = PaperBroker.synthetic(["BTCUSDT"])
    await b.start()
    d = decision(b.filters["BTCUSDT"], venue="paper", entry="59000", stop="58000")
    with pytest.raises(ValidationError, match="event_time"):
        await b.place_bracket(d)
    assert checked["validated"] >= 1


def test_each_broken_rule_falls_back_to_validation() -> None:
    good: dict[str, Any] = {
        "venue": "paper", "symbol": "BTCUSDT", "client_order_id": "tt-dabc-E", "exchange_order_id": "7",
        "decision_id": "dabc", "leg": updates.OrderLeg.ENTRY, "leg_index": 0, "side": updates.Side.BUY,
        "order_type": updates.OrderType.LIMIT, "status": OrderStatus.FILLED, "price": Decimal("100.5"),
        "stop_price": None, "orig_qty": Decimal("0.1"), "filled_qty": Decimal("0.1"), "avg_price": Decimal(100),
        "last_fill_qty": Decimal("0.1"), "last_fill_price": Decimal(100), "fee": Decimal("0.0001"),
        "fee_asset": "BTC", "reason": None, "event_time": 1_700_000_000_000, "sequence": 1_700_000_000_000,
    }  # fmt: skip
    _same(updates._construct(dict(good)), OrderUpdateV1(**good))
    broken = [
        {"venue": "Paper!"}, {"symbol": "btcusdt"}, {"client_order_id": "has space"},
        {"fee_asset": " BTC"}, {"reason": "why "}, {"event_time": 0}, {"sequence": -1},
        {"orig_qty": Decimal(0)}, {"fee": Decimal(-1)}, {"price": Decimal("NaN")},
        {"filled_qty": Decimal("0.2")}, {"filled_qty": Decimal("0.05")},
        {"status": OrderStatus.NEW, "avg_price": None}, {"leg_index": 33},
    ]  # fmt: skip
    for change in broken:
        fields = {**good, **change}
        try:
            expected: OrderUpdateV1 | None = OrderUpdateV1(**fields)
        except ValidationError:
            expected = None
        if expected is None:
            with pytest.raises(ValidationError):
                updates._construct(fields)
        else:  # validation changes it (strips, upper-cases): the fallback must too
            _same(updates._construct(fields), expected)
