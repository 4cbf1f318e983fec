"""The panels' pure parts: formatting, rows, log filter, form parsing, layout thresholds."""

from __future__ import annotations

from decimal import Decimal

from textual.geometry import Size

from tradeterm.analysis.guards.base import block, safe
from tradeterm.pipeline.readmodel import LogLine
from tradeterm.trading import ManualTicket
from tradeterm.ui.fake import FakePipeline
from tradeterm.ui.screens.bracket import is_futures
from tradeterm.ui.screens.main import size_classes
from tradeterm.ui.widgets.activity_log import filtered
from tradeterm.ui.widgets.blotter import bracket_rows, position_rows
from tradeterm.ui.widgets.format import SPARK_BLOCKS, dec, sparkline
from tradeterm.ui.widgets.guard_bar import guard_detail
from tradeterm.ui.widgets.order_entry.form import (
    FormValues,
    build_ticket,
    route_reasons,
    values_from_ticket,
)
from tradeterm.ui.widgets.signal_queue import signal_rows
from tradeterm.ui.widgets.status_bar import status_text
from tradeterm.ui.widgets.watchlist import watch_rows


def test_sparkline_scales_to_its_range() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == SPARK_BLOCKS
    assert sparkline([5, 5, 5]) == SPARK_BLOCKS[3] * 3
    assert sparkline([]) == "" and len(sparkline(list(range(40)), 12)) == 12
    assert sparkline([1.0, float("nan"), 2.0]) == SPARK_BLOCKS[0] + SPARK_BLOCKS[-1]


def test_decimals_keep_the_tick_grid() -> None:
    assert dec(Decimal("65251.60")) == "65251.60" and dec(Decimal("1E-7")) == "0.0000001"
    assert dec(None) == "-"


def test_rows_from_the_fake_snapshot() -> None:
    snap = FakePipeline().snapshot()
    rows = watch_rows(snap.watchlist, "BTCUSDT")
    assert [k for k, _ in rows] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert str(rows[0][1][0]).startswith("▶") and str(rows[2][1][4]) == "BLOCK"
    sig = signal_rows(snap.signals)
    assert str(sig[2][1][5]) == "BLOCK" and sig[0][1][6] == "2/20"
    br = bracket_rows(snap.brackets)
    assert next(k for k, _ in br) == "seed-short-2"  # working entries first
    pos = position_rows(snap.positions)
    assert str(pos[0][1][6]).endswith("R")
    text = status_text(snap).plain
    assert "BTCUSDT" in text and "3 signals" in text and "KILL" not in text


def test_log_filter() -> None:
    lines = [
        LogLine(0, "INFO", "order", "a"),
        LogLine(1, "ERROR", "feed", "b"),
        LogLine(2, "INFO", "error", "c"),
    ]
    assert filtered(lines, "all") == lines
    assert [x.text for x in filtered(lines, "feed")] == ["b"]
    assert [x.text for x in filtered(lines, "error")] == ["b", "c"]


def test_guard_detail_names_reason_and_until() -> None:
    assert guard_detail(safe("news", "quiet")) == "news SAFE: quiet"
    assert guard_detail(block("funding", "high", until_ms=0)).endswith("(until 1970-01-01 00:00Z)")


def test_form_parses_each_field_separately() -> None:
    good = FormValues("buy", "limit", "100", "95", "1.5R:50, 3R:50", "1%", "")
    result = build_ticket(good, venue="paper", symbol="BTCUSDT", futures=False, ticket_id="t1")
    assert result.ok and result.ticket is not None and result.ticket.stop == Decimal(95)
    bad = FormValues("buy", "limit", "abc", "", "9R:10", "-1", "")
    errors = build_ticket(
        bad, venue="paper", symbol="BTCUSDT", futures=False, ticket_id=None
    ).errors
    assert set(errors) == {"entry", "stop", "tp", "risk"}
    market = FormValues("sell", "market", "ignored", "105", "", "", "7x")
    r = build_ticket(market, venue="paper-usdm", symbol="BTCUSDT", futures=True, ticket_id=None)
    assert r.ok and r.ticket is not None and r.ticket.entry is None and r.ticket.leverage == 7
    side = FormValues("sell", "limit", "100", "95", "", "", "")
    errs = build_ticket(side, venue="paper", symbol="BTCUSDT", futures=False, ticket_id=None).errors
    assert list(errs) == ["stop"] and "above the entry" in errs["stop"]


def test_form_round_trips_a_ticket() -> None:
    ticket = ManualTicket(
        venue="paper",
        symbol="BTCUSDT",
        side="sell",
        entry="100.50",
        stop="101",
        take_profits=["2R:100"],
        risk="25",
        leverage=3,
    )
    values = values_from_ticket(ticket)
    assert values == FormValues("sell", "limit", "100.5", "101", "2R:100", "25", "3")
    again = build_ticket(values, venue="paper", symbol="BTCUSDT", futures=True, ticket_id=None)
    assert again.ticket is not None and again.ticket.model_dump() == ticket.model_dump()


def test_preview_reasons_are_routed_to_fields() -> None:
    by_field, general = route_reasons(
        [
            "entry: price 0.001 after rounding (Filter failure: PRICE_FILTER)",
            "take profits: TP1 below minimum notional",
            "quantity rounds to 0 at step 0.001",
            "stop 90 is beyond the liquidation price 95 at 20x",
            "guard BLOCK: funding: high",
            "kill switch tripped (KEY: x)",
        ]
    )
    assert set(by_field) == {"entry", "tp", "risk", "leverage"}
    assert general == ["guard BLOCK: funding: high", "kill switch tripped (KEY: x)"]


def test_layout_thresholds_and_venues() -> None:
    assert size_classes(Size(80, 24)) == {
        "-narrow": True,
        "-short": True,
        "-wide": False,
        "-tall": False,
    }
    assert size_classes(Size(200, 60)) == {
        "-narrow": False,
        "-short": False,
        "-wide": True,
        "-tall": True,
    }
    assert is_futures("binance-usdm") and is_futures("paper-usdm") and not is_futures("paper")
