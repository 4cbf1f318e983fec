from __future__ import annotations

from decimal import Decimal

import pytest

from tests.trading.helpers import D, legacy_spot_symbols, make_spot, raw_symbol
from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderType
from tradeterm.trading.filters import Market, PriceRole, SymbolFilters, price_direction


def names(violations: list) -> list[str]:
    return [v.filter for v in violations]


# ---------------------------------------------------------------- parsing
def test_parses_real_spot_symbol(spot_btc: SymbolFilters) -> None:
    f = spot_btc
    assert f.market is Market.SPOT
    assert f.price_filter is not None and f.price_filter.tick_size == D("0.01")
    assert (
        f.lot_size is not None
        and f.lot_size.step_size == D("0.00001")
        and f.lot_size.min_qty == D("0.00001")
    )
    assert f.market_lot_size is not None and f.market_lot_size.step_size == 0
    (notional,) = f.notional_filters
    assert (
        notional.filter_type,
        notional.min_notional,
        notional.apply_min_to_market,
        notional.apply_max_to_market,
    ) == ("NOTIONAL", D(5), True, False)
    (pp,) = f.percent_price_filters
    assert (pp.filter_type, pp.bid_up, pp.ask_down) == ("PERCENT_PRICE_BY_SIDE", D(5), D("0.2"))
    assert (f.max_num_orders, f.max_num_algo_orders) == (200, 5)
    assert (f.base_asset_precision, f.quote_precision) == (8, 8)
    assert set(f.unenforced_filters) == {"ICEBERG_PARTS", "TRAILING_DELTA"}


def test_parses_real_futures_symbol(usdm_btc: SymbolFilters) -> None:
    f = usdm_btc
    assert f.market is Market.USDM
    assert f.tick_size == D("0.10") and f.quantity_step() == D("0.001")
    (mn,) = f.notional_filters
    assert (mn.filter_type, mn.min_notional, mn.reduce_only_exempt) == (
        "MIN_NOTIONAL",
        D(100),
        True,
    )
    (pp,) = f.percent_price_filters
    assert (pp.bid_up, pp.bid_down, pp.ask_up, pp.ask_down, pp.multiplier_decimal) == (
        D("1.5"),
        None,
        None,
        D("0.5"),
        4,
    )
    assert (f.price_precision, f.quantity_precision, f.max_num_algo_orders) == (2, 3, 10)
    assert f.maint_margin_rate == D("0.025")


def test_parses_legacy_spot_filters() -> None:
    f = SymbolFilters.from_exchange_info(raw_symbol(legacy_spot_symbols(), "BTCUSDT"))
    (mn,) = f.notional_filters
    assert (mn.filter_type, mn.min_notional, mn.apply_min_to_market) == (
        "MIN_NOTIONAL",
        D(10),
        True,
    )
    (pp,) = f.percent_price_filters
    # Legacy spot PERCENT_PRICE bounds both sides the same way.
    assert (pp.filter_type, pp.bid_up, pp.bid_down, pp.ask_up, pp.ask_down) == (
        "PERCENT_PRICE",
        D(5),
        D("0.2"),
        D(5),
        D("0.2"),
    )
    v = f.validate(D("1000"), D("0.001"), Side.BUY, OrderType.LIMIT, reference_price=D("60000"))
    assert {x.filter for x in v} == {"PERCENT_PRICE", "MIN_NOTIONAL"}
    assert "Filter failure: MIN_NOTIONAL" in [x.message for x in v]


# ---------------------------------------------------------------- rounding
def test_rounding_direction_table() -> None:
    assert price_direction(PriceRole.ENTRY, Side.BUY) == "down"
    assert price_direction(PriceRole.ENTRY, Side.SELL) == "up"
    assert price_direction(PriceRole.STOP, Side.BUY) == "up"  # long stop toward the entry
    assert price_direction(PriceRole.STOP, Side.SELL) == "down"
    assert price_direction(PriceRole.TARGET, Side.BUY) == "down"  # long target closer
    assert price_direction(PriceRole.TARGET, Side.SELL) == "up"


def test_rounding_long_never_adds_risk(spot_btc: SymbolFilters) -> None:
    f = spot_btc
    entry, stop, target = (
        f.round_entry(Side.BUY, D("62000.129")),
        f.round_stop(Side.BUY, D("61800.001")),
        f.round_target(Side.BUY, D("62300.999")),
    )
    assert (entry, stop, target) == (D("62000.12"), D("61800.01"), D("62300.99"))
    assert entry - stop <= D("62000.129") - D("61800.001")  # the risk per unit only shrinks


def test_rounding_short_mirrors(spot_btc: SymbolFilters) -> None:
    f = spot_btc
    entry, stop, target = (
        f.round_entry(Side.SELL, D("62000.121")),
        f.round_stop(Side.SELL, D("62200.009")),
        f.round_target(Side.SELL, D("61700.001")),
    )
    assert (entry, stop, target) == (D("62000.13"), D("62200.00"), D("61700.01"))
    assert stop - entry <= D("62200.009") - D("62000.121")


def test_quantity_always_rounds_down(spot_btc: SymbolFilters) -> None:
    assert spot_btc.round_qty(D("0.123459999")) == D("0.12345")
    assert spot_btc.round_qty(D("0.000009")) == 0


def test_round_order_revalidates(spot_btc: SymbolFilters) -> None:
    r = spot_btc.round_order(
        price=D("62000.129"),
        quantity=D("0.0000149"),
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        role=PriceRole.ENTRY,
    )
    assert (r.price, r.quantity) == (D("62000.12"), D("0.00001"))
    # 0.00001 BTC x 62000 = 0.62 USDT: under NOTIONAL 5 after rounding.
    assert not r.valid and names(list(r.violations)) == ["NOTIONAL"]
    ok = spot_btc.round_order(
        price=D("62000.129"),
        quantity=D("0.0123456"),
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        role=PriceRole.TARGET,
    )
    # A SELL exit as TARGET belongs to a long: rounds down.
    assert ok.valid and ok.price == D("62000.12") and ok.quantity == D("0.01234")


def test_zero_tick_or_step_is_a_disabled_rule() -> None:
    f = make_spot(tick="0", step="0", min_qty="0")
    assert f.validate(D("123.456789"), D("0.12345678"), Side.BUY, OrderType.LIMIT) == []
    # With tick/step off, rounding falls back on the asset precision (8 decimals).
    assert f.round_price(D("1.123456789"), "down") == D("1.12345678")
    assert f.round_qty(D("0.123456789")) == D("0.12345678")
    v = f.validate(D("1.123456789"), D("10"), Side.BUY, OrderType.LIMIT)
    assert [(x.filter, x.code) for x in v] == [("PRECISION", -1111)]


# ---------------------------------------------------------------- validation
def test_every_spot_filter_failure_is_named(spot_btc: SymbolFilters) -> None:
    f = spot_btc
    cases = [
        ((D("0.001"), D("1")), "PRICE_FILTER", "minPrice"),
        ((D("2000000"), D("0.001")), "PRICE_FILTER", "maxPrice"),
        ((D("62000.005"), D("0.001")), "PRICE_FILTER", "tickSize"),
        ((D("62000"), D("0.000001")), "LOT_SIZE", "stepSize"),
        ((D("62000"), D("9001")), "LOT_SIZE", "maxQty"),
        ((D("62000"), D("0.00005")), "NOTIONAL", "minNotional"),
        ((D("62000"), D("200")), "NOTIONAL", "maxNotional"),  # 12.4M > 9M
    ]
    for (price, qty), filt, rule in cases:
        v = f.validate(price, qty, Side.BUY, OrderType.LIMIT)
        assert (filt, rule) in [(x.filter, x.rule) for x in v], (price, qty, v)
        assert all(x.code == -1013 for x in v if x.filter != "PRECISION")
    v = f.validate(D("62000"), D("0.00005"), Side.BUY, OrderType.LIMIT)
    assert str(v[0]) == "Filter failure: NOTIONAL (notional 3.1 below NOTIONAL minimum 5)"


def test_percent_price_by_side(spot_btc: SymbolFilters) -> None:
    ref = D("60000")
    ok = spot_btc.validate(D("299999.99"), D("0.001"), Side.BUY, OrderType.LIMIT, ref)
    assert "PERCENT_PRICE_BY_SIDE" not in names(ok)
    up = spot_btc.validate(D("300000.01"), D("0.001"), Side.BUY, OrderType.LIMIT, ref)
    down = spot_btc.validate(D("11999.99"), D("0.001"), Side.SELL, OrderType.LIMIT, ref)
    assert [x.rule for x in up if x.filter == "PERCENT_PRICE_BY_SIDE"] == ["multiplierUp"]
    assert [x.rule for x in down if x.filter == "PERCENT_PRICE_BY_SIDE"] == ["multiplierDown"]
    # Without a reference price the band cannot be checked and is skipped.
    assert "PERCENT_PRICE_BY_SIDE" not in names(
        spot_btc.validate(D("300000.01"), D("0.001"), Side.BUY, OrderType.LIMIT)
    )


def test_futures_percent_price_bounds_one_side_each(usdm_btc: SymbolFilters) -> None:
    mark = D("60000")
    # BUY is bounded above only, SELL below only.
    assert names(usdm_btc.validate(D("20000.0"), D("0.01"), Side.BUY, OrderType.LIMIT, mark)) == []
    assert [
        (x.rule, x.code)
        for x in usdm_btc.validate(D("90000.1"), D("0.01"), Side.BUY, OrderType.LIMIT, mark)
    ] == [("multiplierUp", -4016)]
    assert names(usdm_btc.validate(D("90000.1"), D("0.01"), Side.SELL, OrderType.LIMIT, mark)) == []
    assert [
        (x.rule, x.code)
        for x in usdm_btc.validate(D("29999.9"), D("0.01"), Side.SELL, OrderType.LIMIT, mark)
    ] == [("multiplierDown", -4024)]


def test_futures_codes_and_reduce_only_exemption(usdm_btc: SymbolFilters) -> None:
    v = usdm_btc.validate(D("60000.0"), D("0.0015"), Side.BUY, OrderType.LIMIT)
    assert sorted((x.filter, x.code) for x in v) == [
        ("LOT_SIZE", -4023),
        ("MIN_NOTIONAL", -4164),
        ("PRECISION", -1111),
    ]
    small = usdm_btc.validate(D("60000.0"), D("0.001"), Side.SELL, OrderType.TAKE_PROFIT_MARKET)
    assert names(small) == ["MIN_NOTIONAL"]
    assert (
        usdm_btc.validate(
            D("60000.0"), D("0.001"), Side.SELL, OrderType.TAKE_PROFIT_MARKET, reduce_only=True
        )
        == []
    )


def test_market_orders(spot_btc: SymbolFilters, usdm_btc: SymbolFilters) -> None:
    # MARKET is valued at the reference price; without one the notional cannot be checked.
    assert spot_btc.validate(None, D("0.001"), Side.BUY, OrderType.MARKET, D("62000")) == []
    v = spot_btc.validate(None, D("0.001"), Side.BUY, OrderType.MARKET)
    assert [(x.filter, x.detail) for x in v] == [
        ("NOTIONAL", "a MARKET order needs a reference price to be valued")
    ]
    # MARKET_LOT_SIZE maxQty (129.8 BTC in the snapshot) applies to MARKET but not LIMIT.
    assert "MARKET_LOT_SIZE" in names(
        spot_btc.validate(None, D("200"), Side.SELL, OrderType.MARKET, D("1"))
    )
    assert "MARKET_LOT_SIZE" not in names(
        spot_btc.validate(D("1.00"), D("200"), Side.SELL, OrderType.LIMIT)
    )
    # NOTIONAL max is not applied to MARKET when applyMaxToMarket is false.
    assert "NOTIONAL" not in names(
        spot_btc.validate(None, D("100"), Side.BUY, OrderType.MARKET, D("100000"))
    )
    assert usdm_btc.validate(None, D("0.002"), Side.BUY, OrderType.MARKET, D("60000")) == []


def test_order_types_per_market(spot_btc: SymbolFilters, usdm_btc: SymbolFilters) -> None:
    # Spot symbols of 2024 offer STOP_LOSS_LIMIT but not STOP_LOSS.
    v = spot_btc.validate(D("61000"), D("0.001"), Side.SELL, OrderType.STOP_LOSS, D("62000"))
    assert names(v) == ["ORDER_TYPE"]
    assert (
        spot_btc.validate(
            D("60700"),
            D("0.001"),
            Side.SELL,
            OrderType.STOP_LOSS_LIMIT,
            D("62000"),
            stop_price=D("61000"),
        )
        == []
    )
    bad_trigger = spot_btc.validate(
        D("60700"), D("0.001"), Side.SELL, OrderType.STOP_LOSS_LIMIT, stop_price=D("61000.001")
    )
    assert [x.detail for x in bad_trigger] == [
        "stopPrice 61000.001 not a multiple of tickSize 0.01"
    ]
    assert usdm_btc.validate(D("61000.0"), D("0.002"), Side.SELL, OrderType.STOP_MARKET) == []
    assert names(usdm_btc.validate(D("61000.0"), D("0.002"), Side.SELL, OrderType.LIMIT_MAKER)) == [
        "ORDER_TYPE"
    ]


def test_missing_price_is_reported(spot_btc: SymbolFilters) -> None:
    assert [x.detail for x in spot_btc.validate(None, D("1"), Side.BUY, OrderType.LIMIT)] == [
        "a LIMIT order needs a price"
    ]


@pytest.mark.parametrize("qty", [D(0), D("-1")])
def test_non_positive_quantity(spot_btc: SymbolFilters, qty: Decimal) -> None:
    v = spot_btc.validate(D("62000"), qty, Side.BUY, OrderType.LIMIT)
    assert v[0].filter == "LOT_SIZE" and "must be positive" in v[0].detail
