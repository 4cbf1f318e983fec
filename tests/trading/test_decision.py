from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.trading.helpers import T0, D, make_spot, make_usdm, usdm_symbols
from tradeterm.contracts.analysis import SignalRawV1
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import DecisionStatus, DecisionV1, OrderType
from tradeterm.trading.decision import decide
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.ids import decision_id_for_signal
from tradeterm.trading.killswitch import KillSwitch, TripSource
from tradeterm.trading.risk import AccountSnapshot, RiskConfig
from tradeterm.trading.ticket import ManualTicket

SPOT = make_spot(step="0.00001", min_qty="0.00001")
RICH = AccountSnapshot(equity=D(10_000), available=D(1_000_000))
CFG = RiskConfig()
BAR_15M = 15 * 60_000


def ticket(**change: Any) -> ManualTicket:
    data: dict[str, Any] = {
        "venue": "binance-spot",
        "symbol": "BTCUSDT",
        "side": "buy",
        "entry": "62000",
        "stop": "61800",
    }
    return ManualTicket.parse({**data, **change})


def signal(**change: Any) -> SignalRawV1:
    data: dict[str, Any] = {
        "venue": "binance-spot",
        "symbol": "BTCUSDT",
        "tf": "15m",
        "time": T0,
        "confirmed_at": T0 + BAR_15M - 1,
        "signal_id": "smc-retest-1",
        "strategy": "smc_retest",
        "side": "BUY",
        "entry": "62000",
        "stop": "61800",
        "take_profits_r": ["1.5", "2", "3"],
        "score": 0.7,
        "ttl_bars": 8,
    }
    return SignalRawV1.model_validate({**data, **change})


def rejected(d: DecisionV1) -> list[str]:
    assert d.status is DecisionStatus.REJECTED
    assert d.quantity == 0 and d.take_profits == []
    return d.reasons


# ------------------------------------------------------------------ approved
def test_signal_is_approved_with_rounded_legs() -> None:
    now = T0 + BAR_15M
    d = decide(signal(), RICH, SPOT, CFG, True, now)
    assert d.status is DecisionStatus.APPROVED and d.reasons == []
    assert d.decision_id == decision_id_for_signal("binance-spot", "BTCUSDT", "smc-retest-1")
    assert (d.order_type, d.entry, d.stop, d.quantity, d.risk_amount) == (
        OrderType.LIMIT,
        D(62000),
        D(61800),
        D("0.5"),
        D(100),
    )
    assert [(tp.r_multiple, tp.price, tp.quantity) for tp in d.take_profits] == [
        (D("1.5"), D(62300), D("0.2")),
        (D(2), D(62400), D("0.15")),
        (D(3), D(62600), D("0.15")),
    ]
    # TTL: 8 bars of 15 minutes after the bar that confirmed the signal.
    assert d.expires_at == T0 + BAR_15M - 1 + 8 * BAR_15M
    assert DecisionV1.from_json(d.to_json()) == d
    assert decide(signal(), RICH, SPOT, CFG, True, now) == d  # deterministic: same id, same legs


def test_signal_levels_take_the_config_splits_or_equal_ones() -> None:
    d = decide(signal(take_profits_r=["1", "2", "4"]), RICH, SPOT, CFG, [], T0 + BAR_15M)
    assert [tp.quantity for tp in d.take_profits] == [D("0.2"), D("0.15"), D("0.15")]
    two = decide(signal(take_profits_r=["2", "3"]), RICH, SPOT, CFG, True, T0 + BAR_15M)
    assert [tp.quantity for tp in two.take_profits] == [D("0.25"), D("0.25")]
    assert "equal splits" in two.reasons[0]


def test_ticket_prices_are_rounded_by_the_house_rules() -> None:
    d = decide(ticket(entry="62000.129", stop="61800.001"), RICH, SPOT, CFG, True, T0)
    # Entry down to 62000.12, stop up to 61800.01: risk per unit 200.11 (was 200.128)
    # -> 100 / 200.11 = 0.499725... -> 0.49972.
    assert (d.entry, d.stop, d.quantity) == (D("62000.12"), D("61800.01"), D("0.49972"))
    assert d.quantity * (d.entry - d.stop) <= 100  # type: ignore[operator]


def test_short_ticket() -> None:
    d = decide(
        ticket(side="sell", entry="62000", stop="62200", risk="50"), RICH, SPOT, CFG, True, T0
    )
    assert d.side is Side.SELL and d.quantity == D("0.25")
    assert [tp.price for tp in d.take_profits] == [D(61700), D(61600), D(61400)]


def test_market_entry_is_sized_at_the_market_price() -> None:
    d = decide(
        ticket(entry="market", stop="61900", ttl_ms=60_000),
        RICH,
        SPOT,
        CFG,
        True,
        T0,
        market_price=D(62100),
    )
    assert d.order_type is OrderType.MARKET and d.entry is None
    assert d.quantity == D("0.5")  # 100 / (62100 - 61900)
    assert d.take_profits[0].price == D(62400)  # 62100 + 1.5 x 200
    assert d.expires_at == T0 + 60_000


def test_approved_decision_carries_its_notes() -> None:
    poor = AccountSnapshot(equity=D(10_000), available=D(10_000))
    d = decide(ticket(leverage=5), poor, SPOT, CFG, True, T0)
    assert d.status is DecisionStatus.APPROVED and d.leverage == 1
    assert d.reasons == [
        "leverage 5x ignored on spot",
        "size capped by available 10000: 0.16112 instead of 0.5",
    ]


def test_futures_bracket_with_leverage(usdm_btc: SymbolFilters) -> None:
    acct = AccountSnapshot(equity=D(10_000), available=D(10_000))
    d = decide(
        ticket(venue="binance-usdm"),
        acct,
        usdm_btc,
        RiskConfig(leverage=5),
        True,
        T0,
        market_price=D(62000),
    )
    assert d.status is DecisionStatus.APPROVED and d.leverage == 5 and d.quantity == D("0.5")


# ------------------------------------------------------------------ rejected
def test_guard_block_and_kill_switch_reasons_are_all_listed() -> None:
    ks = KillSwitch()
    ks.trip_now(TripSource.DRAWDOWN, "drawdown 5% reached", T0)
    d = decide(
        ticket(), RICH, SPOT, CFG, ["news (FOMC until 14:00Z)", "funding"], T0, killswitch=ks
    )
    assert rejected(d) == [
        "kill switch tripped (DRAWDOWN: drawdown 5% reached) at 2024-03-01T12:00:00.000Z",
        "guard BLOCK: news (FOMC until 14:00Z)",
        "guard BLOCK: funding",
    ]
    assert rejected(decide(ticket(), RICH, SPOT, CFG, False, T0)) == ["guard BLOCK"]
    ks.reset("ops", T0 + 1)
    assert (
        decide(ticket(), RICH, SPOT, CFG, True, T0, killswitch=ks).status is DecisionStatus.APPROVED
    )


def test_symbol_mismatch_and_status() -> None:
    eth = make_spot(symbol="ETHUSDT")
    assert (
        rejected(decide(ticket(), RICH, eth, CFG, True, T0))[0]
        == "the filters are for ETHUSDT, not BTCUSDT"
    )
    settling = next(s for s in usdm_symbols() if s["status"] == "SETTLING")
    f = SymbolFilters.from_exchange_info(settling)
    d = decide(ticket(venue="binance-usdm", symbol=settling["symbol"]), RICH, f, CFG, True, T0)
    assert f"{settling['symbol']} is SETTLING, not TRADING" in rejected(d)


def test_expired_signal() -> None:
    late = T0 + 20 * BAR_15M
    assert rejected(decide(signal(), RICH, SPOT, CFG, True, late)) == [
        "signal expired at 2024-03-01T14:14:59.999Z"
    ]


def test_market_entry_needs_a_price() -> None:
    assert rejected(decide(ticket(entry="market"), RICH, SPOT, CFG, True, T0)) == [
        "a market entry needs the current market price to be sized"
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"entry": "100.004", "stop": "99.999"}, "stop distance is zero (entry 100, stop 100)"),
        (
            {"entry": "100.009", "stop": "100.001"},
            "a buy needs its stop below the entry: stop 100.01, entry 100",
        ),
        ({"entry": "0.001", "stop": "0.0001"}, "entry 0.001 rounds to 0 at tick 0.01"),
        (
            {"side": "sell", "entry": "0.002", "stop": "0.005"},
            "stop 0.005 rounds to 0 at tick 0.01",
        ),
    ],
)
def test_prices_that_do_not_survive_rounding(change: dict[str, str], reason: str) -> None:
    assert rejected(decide(ticket(**change), RICH, SPOT, CFG, True, T0)) == [reason]


def test_market_price_through_the_stop() -> None:
    d = decide(ticket(entry="market"), RICH, SPOT, CFG, True, T0, market_price=D(61700))
    assert rejected(d) == ["a buy needs its stop below the entry: stop 61800, entry 61700"]


def test_zero_equity_and_zero_quantity() -> None:
    broke = AccountSnapshot(equity=D(0), available=D(0))
    assert rejected(decide(ticket(), broke, SPOT, CFG, True, T0)) == ["1R is zero (1% of equity 0)"]
    d = decide(ticket(risk="0.001"), RICH, SPOT, CFG, True, T0)
    assert rejected(d) == [
        "quantity rounds to 0 at step 0.00001 (1R 0.001 / loss per unit 200 = 0.000005)"
    ]


def test_zero_quantity_from_a_balance_cap_names_the_cap() -> None:
    """1% of a large equity would buy 0.0031, but almost nothing is available: the trader must
    read that the balance is the limit, not that the step is too coarse for the risk."""
    poor = AccountSnapshot(equity=D(62000), available=D("0.5"))
    d = decide(ticket(), poor, SPOT, CFG, True, T0)
    reasons = rejected(d)
    assert len(reasons) == 1
    assert reasons[0].startswith("quantity is 0: size capped by available 0.5: 0 instead of ")
    assert "rounds to 0" not in reasons[0]


def test_quantity_below_min_qty_after_rounding() -> None:
    f = make_spot(step="0.00001", min_qty="0.0001", min_notional="1")
    d = decide(ticket(risk="0.01"), RICH, f, CFG, True, T0)  # 0.01 / 200 = 0.00005
    assert rejected(d) == [
        "entry: quantity 0.00005 below LOT_SIZE minQty 0.0001 after rounding (Filter failure: LOT_SIZE)"
    ]


def test_notional_below_minimum() -> None:
    d = decide(ticket(risk="0.01"), RICH, SPOT, CFG, True, T0)  # 0.00005 x 62000 = 3.1 < 5
    assert rejected(d) == [
        "entry: notional 3.1 below NOTIONAL minimum 5 after rounding (Filter failure: NOTIONAL)"
    ]


def test_entry_outside_the_percent_price_band() -> None:
    d = decide(
        ticket(entry="62000", stop="61800"), RICH, SPOT, CFG, True, T0, market_price=D(12000)
    )
    assert rejected(d) == [
        "entry: BUY price 62000 above 5 x reference 12000 after rounding (Filter failure: PERCENT_PRICE_BY_SIDE)"
    ]


def test_market_entry_on_a_symbol_without_market_orders() -> None:
    raw: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT"],
        "baseAssetPrecision": 8,
        "quoteAssetPrecision": 8,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "0", "tickSize": "0.01"}
        ],
    }
    f = SymbolFilters.from_exchange_info(raw)
    d = decide(ticket(entry="market"), RICH, f, CFG, True, T0, market_price=D(62000))
    assert rejected(d) == [
        "entry: MARKET is not allowed for BTCUSDT after rounding (Unsupported order combination)"
    ]


def test_exit_slice_that_cannot_stand_alone() -> None:
    # Entry 0.000162 x 62000 = 10.04 passes NOTIONAL 10, but the OCO stop-limit at 61800 x 0.995
    # = 61491 is worth 9.96: a one-slice ladder cannot be protected on spot.
    f = make_spot(step="0.000001", min_qty="0.000001", min_notional="10")
    d = decide(ticket(risk="0.0324", take_profits=["1.5R:100"]), RICH, f, CFG, True, T0)
    (reason,) = rejected(d)
    assert reason.startswith(
        "take profits: exit of 0.000162: Filter failure: NOTIONAL (notional 9.961542 below"
    )


def test_stop_outside_the_price_filter() -> None:
    f = make_usdm()
    d = decide(
        ticket(venue="binance-usdm", entry="300", stop="200", risk="100"), RICH, f, CFG, True, T0
    )
    assert rejected(d) == [
        "stop: stopPrice 200 below minPrice 261.1 after rounding (Filter failure: PRICE_FILTER)"
    ]


def test_stop_beyond_liquidation() -> None:
    # 20x long at 62000 with maintenance 2.5 %: 62000 x 0.95 / 0.975 = 60410.26 (rounded up).
    f = make_usdm()
    acct = AccountSnapshot(equity=D(10_000), available=D(10_000))
    d = decide(
        ticket(venue="binance-usdm", stop="60000", leverage=20),
        acct,
        f,
        CFG,
        True,
        T0,
        market_price=D(62000),
    )
    assert rejected(d) == [
        "stop 60000 is beyond the liquidation price 60410.3 at 20x (isolated, maintenance margin 2.5%)"
    ]
    # At 10x (liquidation 57230.8) the same stop is fine.
    ok = decide(
        ticket(venue="binance-usdm", stop="60000", leverage=10),
        acct,
        f,
        CFG,
        True,
        T0,
        market_price=D(62000),
    )
    assert ok.status is DecisionStatus.APPROVED


def test_signal_with_repeated_levels() -> None:
    d = decide(signal(take_profits_r=["2", "2"]), RICH, SPOT, CFG, True, T0 + BAR_15M)
    assert rejected(d)[0].startswith("signal take profits: take-profit levels repeat an R multiple")


def test_a_refusal_never_raises_and_keeps_the_prices() -> None:
    d = decide(ticket(entry="62000.129"), RICH, SPOT, CFG, False, T0)
    assert d.entry == D("62000.12") and d.stop == D(61800) and d.risk_amount == Decimal(100)
