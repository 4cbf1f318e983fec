"""The bracket panel: prefilled from a signal, live preview on every keystroke, errors next to
the field that caused them, no send while invalid, and a placed bracket in the blotter."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Button, Input, Static

from tests.ui import workstation_app
from tradeterm.ui.app import TradetermApp
from tradeterm.ui.screens.bracket import BracketPanel
from tradeterm.ui.screens.confirm import ConfirmScreen
from tradeterm.ui.screens.main import MainScreen
from tradeterm.ui.widgets.blotter import BracketTable
from tradeterm.ui.widgets.choice import Choice
from tradeterm.ui.widgets.order_entry.preview_view import PreviewView

SIZE = (120, 40)


async def _open_from_signal(app: TradetermApp, pilot: object, row: int = 0) -> BracketPanel:
    await pilot.press("f4")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    for _ in range(row):
        await pilot.press("down")  # type: ignore[attr-defined]
    await pilot.press("a")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, BracketPanel)
    return app.screen


def _error(panel: BracketPanel, name: str) -> str:
    return str(panel.query_one(f"#error-{name}", Static).render())


def _send_disabled(panel: BracketPanel) -> bool:
    return panel.query_one("#panel-send", Button).disabled


async def _type(pilot: object, panel: BracketPanel, name: str, text: str) -> None:
    field = panel.query_one(f"#in-{name}", Input)
    field.focus()
    field.value = ""
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press(*text) if text else None  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_approve_prefills_from_the_signal_and_previews_with_real_rounding() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot)
        ticket = fake.ticket_for_signal("sig-btcusdt-1")
        assert panel.query_one("#in-entry", Input).value == str(ticket.entry)
        assert panel.query_one("#in-tp", Input).value == "1.5R:40, 2R:30, 3R:30"
        assert panel.query_one("#in-side", Choice).value == "buy"
        expected = fake.preview(ticket)
        assert panel.preview is not None and panel.preview.quantity == expected.quantity
        text = str(panel.query_one(PreviewView).render())
        assert str(expected.quantity) in text and "R:R 1.50" in text and "ready to send" in text
        assert not _send_disabled(panel)
        assert not panel.query("#in-leverage")  # spot: no leverage field


async def test_every_keystroke_recomputes_the_preview() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot)
        before = panel.preview.quantity  # type: ignore[union-attr]
        await _type(pilot, panel, "risk", "0.25%")
        assert panel.preview is not None
        assert panel.preview.risk_amount == Decimal("25.000")
        assert panel.preview.quantity < before
        assert "preview" not in dict(fake.calls)  # preview is not an "action" call


async def test_place_a_bracket_end_to_end() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot)
        quantity = panel.preview.quantity  # type: ignore[union-attr]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert len(fake.placed) == 1 and fake.placed[0].ticket_id == "sig-sig-btcusdt-1"
        bracket = fake.snapshot().brackets[-1]
        assert bracket.quantity == quantity and bracket.state == "ENTRY_WORKING"
        table = app.query_one(BracketTable)
        assert bracket.bracket_id in [k for k, _ in table._rows]
        assert any("sent" in n.message for n in app._notifications)


async def test_manual_market_bracket_becomes_a_position() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, BracketPanel)
        assert "stop" in _error(panel, "stop") and _send_disabled(panel)
        await pilot.press("tab", "right")  # type: market
        await pilot.pause()
        assert panel.query_one("#in-entry", Input).disabled
        last = fake.last_price("BTCUSDT")
        await _type(pilot, panel, "stop", str(last - 500))
        assert panel.valid and not _send_disabled(panel)
        assert "MARKET" in str(panel.query_one(PreviewView).render())
        await pilot.press("ctrl+s", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert fake.placed and fake.placed[0].entry is None
        assert fake.snapshot().positions[0].quantity > Decimal("0.04087")


INVALID = [
    ("entry", "abc", "must be a price"),
    ("entry", "", "needs an entry price"),
    ("entry", "-5", "positive"),
    ("stop", "x1", "must be a price"),
    ("stop", "", "needs a stop"),
    ("stop", "70000", "stop below the entry"),
    ("tp", "1.5R:50, 2R:30", "add up to 80%"),
    ("tp", "banana", "take"),
    ("risk", "abc", "percent of equity"),
    ("risk", "0", "above zero"),
    ("risk", "0.00001", "quantity rounds to 0"),  # a filter/rounding refusal, routed to risk
]


async def test_invalid_input_is_shown_next_to_the_field_and_never_sent() -> None:
    """One panel, every bad input in turn (restoring the good value after each)."""
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot)
        good = {
            n: panel.query_one(f"#in-{n}", Input).value for n in ("entry", "stop", "tp", "risk")
        }
        for field, text, message in INVALID:
            await _type(pilot, panel, field, text)
            case = f"{field}={text!r}"
            assert message in _error(panel, field), (case, _error(panel, field))
            assert panel.query_one(f"#field-{field}").has_class("-invalid"), case
            for other in good:
                if other != field:
                    assert not panel.query_one(f"#field-{other}").has_class("-invalid"), case
            assert _send_disabled(panel), case
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, BracketPanel), case  # no confirmation: refused
            assert "cannot send" in str(panel.query_one("#panel-general", Static).render())
            panel.query_one(f"#in-{field}", Input).value = good[field]  # restore (no typing)
            await pilot.pause()
            assert panel.valid, case
        assert not fake.placed and "place_bracket" not in dict(fake.calls)


async def test_futures_panel_has_leverage_and_liquidation() -> None:
    app, _ = workstation_app(market="usdm")
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot)
        assert panel.query_one("#in-leverage", Input).value == "5"
        text = str(panel.query_one(PreviewView).render())
        assert "Liquidation" in text and "at 5x" in text
        await _type(pilot, panel, "leverage", "500")
        assert "1-125" in _error(panel, "leverage") and _send_disabled(panel)
        await _type(pilot, panel, "leverage", "125")
        assert "liquidation" in _error(panel, "leverage")  # the stop sits beyond liquidation
        assert _send_disabled(panel)
        await _type(pilot, panel, "leverage", "3")
        assert panel.valid and panel.preview is not None and panel.preview.leverage == 3


async def test_guard_block_is_shown_and_refuses_the_send() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot, row=2)  # SOLUSDT: funding BLOCK
        general = str(panel.query_one("#panel-general", Static).render())
        assert "guard BLOCK: funding" in general
        assert _send_disabled(panel)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, BracketPanel) and not fake.placed


async def test_a_refusal_at_send_keeps_the_panel_open() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await fake.kill_switch("test")  # tripped between review and send
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is panel
        assert "kill switch" in str(panel.query_one("#panel-general", Static).render())
        assert not fake.placed


async def test_enter_walks_the_fields_and_escape_closes() -> None:
    app, fake = workstation_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = await _open_from_signal(app, pilot)
        panel.query_one("#in-entry", Input).focus()
        await pilot.press("enter")
        assert app.focused is panel.query_one("#in-stop", Input)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and not fake.placed
