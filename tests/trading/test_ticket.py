from __future__ import annotations

from typing import Any

import pytest

from tests.trading.helpers import D
from tradeterm.contracts.base import Side
from tradeterm.trading.ticket import ManualTicket

GOOD: dict[str, Any] = {
    "venue": "binance-spot",
    "symbol": "btcusdt",
    "side": "long",
    "entry": "62000",
    "stop": "61800",
    "take_profits": ["1.5R:40", "2R:30", "3R:30"],
    "risk": "1%",
}


def test_parses_what_a_person_types() -> None:
    t = ManualTicket.parse(GOOD)
    assert (t.symbol, t.side, t.entry, t.stop) == ("BTCUSDT", Side.BUY, D(62000), D(61800))
    assert t.take_profits is not None and [lv.percent for lv in t.take_profits.levels] == [
        40,
        30,
        30,
    ]
    assert t.risk is not None and (t.risk.kind, t.risk.value) == ("percent", 1)
    market = ManualTicket.parse(
        dict(GOOD, entry="Market", side="short", stop="62500", risk="50", take_profits="2R:100")
    )
    assert (
        market.is_market
        and market.side is Side.SELL
        and market.risk is not None
        and market.risk.kind == "fixed"
    )
    defaults = ManualTicket.parse(
        {"venue": "binance-usdm", "symbol": "ETHUSDT", "side": "buy", "stop": 3000}
    )
    assert defaults.entry is None and defaults.take_profits is None and defaults.risk is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"side": "up"}, "side 'up' must be buy/long or sell/short"),
        ({"entry": "62k"}, "entry '62k' must be a price or 'market'"),
        ({"entry": "-5"}, "entry '-5' must be a positive price"),
        ({"stop": "abc"}, "stop 'abc' must be a price"),
        ({"stop": "0"}, "stop '0' must be a positive price"),
        ({"stop": "62000"}, "stop 62000 equals the entry: stop distance is zero"),
        ({"stop": "62100"}, "a buy needs its stop below the entry (62100 >= 62000)"),
        ({"side": "sell"}, "a sell needs its stop above the entry (61800 <= 62000)"),
        (
            {"take_profits": ["1.5R:40", "2R:30"]},
            "take-profit splits add up to 70%; they must add up to 100%",
        ),
        ({"take_profits": ["1.5R-40"]}, "take profit '1.5R-40' must look like '1.5R:40'"),
        ({"take_profits": ["xR:100"]}, "take profit 'xR:100': R multiple 'x' is not a number"),
        ({"take_profits": ["2R:abc"]}, "take profit '2R:abc': percent 'abc' is not a number"),
        (
            {"risk": "1 %%"},
            "risk '1 %%' must be a percent of equity like '1%' or a quote amount like '50'",
        ),
        ({"risk": "0%"}, "risk '0%' must be above zero"),
        ({"risk": "101%"}, "risk '101%' is more than the whole equity"),
        ({"symbol": "BTC/USDT"}, "symbol"),
        ({"leverage": 200}, "leverage"),
        ({"colour": "red"}, "colour is not a ticket field"),
    ],
)
def test_bad_input_gets_one_clear_line(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        ManualTicket.parse(dict(GOOD, **change))
    text = str(info.value)
    assert message in text
    assert "\n" not in text and "pydantic" not in text and "[type=" not in text


def test_missing_fields_are_named() -> None:
    with pytest.raises(ValueError) as info:
        ManualTicket.parse({"venue": "binance-spot", "symbol": "BTCUSDT"})
    assert str(info.value) == "side is required; stop is required"


def test_key_is_stable_and_content_based() -> None:
    a, b = ManualTicket.parse(GOOD), ManualTicket.parse(dict(GOOD, symbol="BTCUSDT", entry=62000))
    assert a.key() == b.key()
    assert a.key() != ManualTicket.parse(dict(GOOD, stop="61700")).key()
    assert ManualTicket.parse(dict(GOOD, ticket_id="ui-42")).key() == "id:ui-42"
