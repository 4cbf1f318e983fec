"""Preview figures by hand (each number is derived in the comment above it)."""

from __future__ import annotations

from tests.trading.helpers import T0, D, make_spot
from tradeterm.contracts.trading import DecisionStatus
from tradeterm.trading.fees import FeeRates
from tradeterm.trading.filters import SymbolFilters
from tradeterm.trading.preview import preview
from tradeterm.trading.risk import AccountSnapshot, RiskConfig
from tradeterm.trading.ticket import ManualTicket

ACCT = AccountSnapshot(equity=D(10_000), available=D(100_000))


def ticket(**change: str | int) -> ManualTicket:
    base: dict[str, str | int] = {
        "venue": "binance-spot",
        "symbol": "BTCUSDT",
        "side": "buy",
        "entry": "62000",
        "stop": "61800",
    }
    return ManualTicket.parse({**base, **change})


def test_spot_preview_by_hand() -> None:
    cfg = RiskConfig(fees=FeeRates(maker=D("0.0002"), taker=D("0.001")))
    p = preview(ticket(), ACCT, make_spot(step="0.00001", min_qty="0.00001"), cfg, T0)
    assert p.ok and p.decision.status is DecisionStatus.APPROVED
    # 1R = 100; 100 / 200 = 0.5 BTC; 0.5 x 62000 = 31000.
    assert (p.quantity, p.notional, p.risk_amount, p.risk_quote) == (
        D("0.5"),
        D(31000),
        D(100),
        D(100),
    )
    assert [(t.price, t.quantity, t.reward_to_risk, t.profit) for t in p.targets] == [
        (D(62300), D("0.2"), D("1.5"), D(60)),  # 0.2 x 300
        (D(62400), D("0.15"), D(2), D(60)),  # 0.15 x 400
        (D(62600), D("0.15"), D(3), D(90)),  # 0.15 x 600
    ]
    # Entry 31000 x 0.0002 = 6.2 maker / x 0.001 = 31 taker; stop exit 0.5 x 61800 x 0.001 = 30.9;
    # LIMIT_MAKER targets pay maker: (12460 + 9360 + 9390) x 0.0002 = 6.242.
    assert (
        p.fees.entry_maker,
        p.fees.entry_taker,
        p.fees.exit_at_stop,
        p.fees.exit_at_targets,
    ) == (D("6.2"), D(31), D("30.9"), D("6.242"))
    assert p.risk_quote_with_fees == D("161.9")  # 100 + 31 + 30.9
    assert (p.leverage, p.margin, p.liquidation_price) == (1, D(31000), None)


def test_futures_preview_with_liquidation(usdm_btc: SymbolFilters) -> None:
    cfg = RiskConfig(
        leverage=10,
        fees=FeeRates(maker=D("0.0002"), taker=D("0.0005")),
        maintenance_margin_rate=D("0.004"),
    )
    acct = AccountSnapshot(equity=D(10_000), available=D(10_000))
    p = preview(ticket(venue="binance-usdm"), acct, usdm_btc, cfg, T0, market_price=D(62000))
    assert p.ok and p.quantity == D("0.5") and p.margin == D(3100)  # 31000 / 10
    # 62000 x 0.9 / 0.996 = 56024.0963... rounded up to the 0.1 tick (the conservative side for a long).
    assert p.liquidation_price == D("56024.1")
    # TAKE_PROFIT_MARKET targets pay taker: 31210 x 0.0005 = 15.605; stop 30900 x 0.0005 = 15.45.
    assert (p.fees.entry_taker, p.fees.exit_at_stop, p.fees.exit_at_targets) == (
        D("15.5"),
        D("15.45"),
        D("15.605"),
    )
    assert p.risk_quote_with_fees == D("130.95")  # 100 + 15.5 + 15.45
    short = preview(
        ticket(venue="binance-usdm", side="sell", stop="62200"),
        acct,
        usdm_btc,
        cfg,
        T0,
        market_price=D(62000),
    )
    # 62000 x 1.1 / 1.004 = 67928.2868... rounded down for a short.
    assert short.liquidation_price == D("67928.2")


def test_preview_shows_rounding_and_refusals() -> None:
    p = preview(
        ticket(entry="62000.129", stop="61800.001"),
        ACCT,
        make_spot(step="0.00001", min_qty="0.00001"),
        RiskConfig(),
        T0,
        guards=["news (CPI)"],
    )
    assert not p.ok and p.reasons == ("guard BLOCK: news (CPI)",)
    assert p.rounding == (
        "entry 62000.129 -> 62000.12 (down to tick 0.01)",
        "stop 61800.001 -> 61800.01 (up to tick 0.01, toward the entry)",
    )
    assert p.quantity == D("0.49972")  # still shown, so the panel can explain the refusal
    assert p.decision.status is DecisionStatus.REJECTED and p.decision.quantity == 0
