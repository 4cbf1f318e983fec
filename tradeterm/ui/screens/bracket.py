"""The bracket (order entry) panel: keyboard-driven from the first field to the send.

Flow: Tab/Enter walk the fields (market when the pipeline trades more than one, side, type,
entry, stop, take-profit ladder, risk, leverage on futures); every keystroke rebuilds the ticket and asks the pipeline for a preview
(``intents.preview``), whose figures appear on the right and whose refusals appear next to the
field that caused them. ``ctrl+s`` reviews: an invalid bracket is refused there and the send
button stays disabled while anything is wrong, so an invalid order can never be sent. A valid one
asks for confirmation, then ``intents.place_bracket``; the panel closes with the bracket id and
the blotter shows it from the next snapshot. A refusal from the pipeline keeps the panel open
with the reason.

Markets: with ``markets`` of more than one (the demo's spot and USD-M) the first field is a
market switch. Switching it changes the ticket's venue, shows or hides the leverage field and
re-asks the preview for that market (USD-M adds margin, leverage and the liquidation price), and
the preview and the send both name the market (``market=``) so the pipeline never guesses. With
one market nothing of this shows and the panel looks as it always did.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal

from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from tradeterm.errors import UserError
from tradeterm.pipeline.readmodel import Intents, market_label
from tradeterm.trading import ManualTicket, Preview
from tradeterm.ui.keys import PANEL_KEYS, bindings
from tradeterm.ui.screens.confirm import ConfirmScreen
from tradeterm.ui.widgets.choice import Choice
from tradeterm.ui.widgets.format import dec, num
from tradeterm.ui.widgets.order_entry.form import (
    FormResult,
    FormValues,
    build_ticket,
    route_reasons,
    values_from_ticket,
)
from tradeterm.ui.widgets.order_entry.markets import (
    DEFAULT_VENUES,
    choice_labels,
    is_market_refusal,
)
from tradeterm.ui.widgets.order_entry.preview_view import PreviewView

STACK_BELOW = 110  # columns: below this the preview goes under the form

LABELS = {
    "market": "Market",
    "side": "Side",
    "type": "Type",
    "entry": "Entry",
    "stop": "Stop",
    "tp": "Targets",
    "risk": "Risk",
    "leverage": "Leverage",
}
PLACEHOLDERS = {
    "entry": "limit price",
    "stop": "stop price",
    "tp": "1.5R:40, 2R:30, 3R:30 (empty: default ladder)",
    "risk": "1% of equity, or 50 (quote)",
    "leverage": "1-125 (empty: default)",
}


def is_futures(venue: str) -> bool:
    """USD-M venues carry leverage; the venue name says which product it is."""
    v = venue.lower()
    return "usdm" in v or "futures" in v or v.endswith("-um")


class BracketPanel(ModalScreen[str | None]):
    """Dismisses with the placed bracket's id, or None when closed without sending.

    ``market`` is the market the ticket starts in (default: the venue's, see
    :func:`is_futures`); ``markets`` the markets the pipeline trades (a switch shows when there
    are several) and ``venues`` each one's venue name. A caller that passes ``markets`` gets
    the ``market=`` argument on ``intents.preview``/``place_bracket``; one that does not gets
    the calls of a single-market pipeline.
    """

    BINDINGS = bindings(PANEL_KEYS)

    def __init__(
        self,
        intents: Intents,
        *,
        venue: str,
        symbol: str,
        quote: str = "USDT",
        ticket: ManualTicket | None = None,
        values: FormValues | None = None,
        origin: str = "manual",
        market: str | None = None,
        markets: Sequence[str] = (),
        venues: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.intents = intents
        self.symbol = symbol
        self.quote = quote
        self.origin = origin
        self.market = market or ("usdm" if is_futures(venue) else "spot")
        self.markets = tuple(markets)
        self.choose_market = len(self.markets) > 1
        self.venues = dict(venues or {})
        self.venues.setdefault(self.market, venue)
        self.venue = venue
        self.futures = self.market == "usdm"
        self.ticket_id = (
            ticket.ticket_id
            if ticket is not None and ticket.ticket_id
            else f"ui-{uuid.uuid4().hex[:12]}"
        )
        self._initial = (
            values_from_ticket(ticket) if ticket is not None else (values or FormValues())
        )
        self.result: FormResult = FormResult(None)
        self.preview: Preview | None = None
        self.errors: dict[str, str] = {}
        self.general: list[str] = []
        self.sending = False

    # ------------------------------------------------------------------ layout

    def _field(self, name: str, control: Widget) -> ComposeResult:
        with Vertical(classes="field", id=f"field-{name}"):
            with Horizontal(classes="field-row"):
                yield Label(LABELS[name], classes="field-label")
                yield control
            yield Static("", classes="field-error", id=f"error-{name}", markup=False)

    def _title(self) -> str:
        where = f" {market_label(self.market)}" if self.choose_market else ""
        return f"Bracket {self.symbol}{where} ({self.origin})"

    def compose(self) -> ComposeResult:
        v = self._initial
        with Vertical(id="panel") as panel:
            panel.border_title = self._title()
            panel.border_subtitle = "ctrl+s review & send · esc close"
            with VerticalScroll(id="panel-body"):
                with Vertical(id="panel-form"):
                    if self.choose_market:
                        options = (
                            self.markets
                            if self.market in self.markets
                            else (*self.markets, self.market)
                        )
                        yield from self._field(
                            "market",
                            Choice(
                                options, self.market, labels=choice_labels(options), id="in-market"
                            ),
                        )
                    yield from self._field("side", Choice(("buy", "sell"), v.side, id="in-side"))
                    yield from self._field(
                        "type", Choice(("limit", "market"), v.order_type, id="in-type")
                    )
                    for name, value in (
                        ("entry", v.entry),
                        ("stop", v.stop),
                        ("tp", v.take_profits),
                        ("risk", v.risk),
                    ):
                        yield from self._field(
                            name, Input(value, placeholder=PLACEHOLDERS[name], id=f"in-{name}")
                        )
                    if self.futures or self.choose_market:
                        yield from self._field(
                            "leverage",
                            Input(
                                v.leverage, placeholder=PLACEHOLDERS["leverage"], id="in-leverage"
                            ),
                        )
                with Vertical(id="panel-preview-box"):
                    yield PreviewView(id="panel-preview")
            yield Static("", id="panel-general", markup=False)
            with Horizontal(id="panel-buttons"):
                yield Button("Review & send", id="panel-send", variant="primary", disabled=True)
                yield Button("Close", id="panel-close")

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < STACK_BELOW, "-stacked")

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < STACK_BELOW, "-stacked")
        self.query_one("#in-entry", Input).disabled = self._initial.order_type == "market"
        self._show_leverage()
        self.recompute()
        self.query_one("#in-market" if self.choose_market else "#in-side", Choice).focus()

    # ------------------------------------------------------------------ market

    def _show_leverage(self) -> None:
        """The leverage field exists for USD-M only: hidden (and skipped by Tab/Enter) on spot,
        so leverage can never be typed for a market that has none."""
        found = self.query("#field-leverage")
        if found:
            found.first().display = self.futures
            self.query_one("#in-leverage", Input).disabled = not self.futures

    def set_market(self, market: str) -> None:
        """Switch the ticket to ``market``: its venue, the leverage field, the title, and a
        fresh preview for that market's account, filters and risk settings."""
        self.market = market
        self.venue = self.venues.get(market) or DEFAULT_VENUES.get(market, market)
        self.futures = market == "usdm"
        if self.query("#in-market"):
            choice = self.query_one("#in-market", Choice)
            if choice.value != market:
                choice.value = market  # posts Changed, which lands here again (a no-op)
        self.query_one("#panel").border_title = self._title()
        self._show_leverage()
        self.recompute()

    # ------------------------------------------------------------------ live preview

    def values(self) -> FormValues:
        def text(name: str) -> str:
            found = self.query(f"#in-{name}")
            return found.first(Input).value if found else ""

        return FormValues(
            side=self.query_one("#in-side", Choice).value,
            order_type=self.query_one("#in-type", Choice).value,
            entry=text("entry"),
            stop=text("stop"),
            take_profits=text("tp"),
            risk=text("risk"),
            leverage=text("leverage"),
        )

    @property
    def valid(self) -> bool:
        return self.result.ok and self.preview is not None and self.preview.ok and not self.general

    def recompute(self) -> None:
        """Parse the fields, preview the ticket, and show every problem where it belongs."""
        self.result = build_ticket(
            self.values(),
            venue=self.venue,
            symbol=self.symbol,
            futures=self.futures,
            ticket_id=self.ticket_id,
        )
        errors = dict(self.result.errors)
        general: list[str] = []
        self.preview = None
        if self.result.ticket is not None:
            try:
                self.preview = self._ask_preview(self.result.ticket)
            except UserError as exc:
                self._refusal(str(exc), errors, general)
        if self.preview is not None:
            by_field, rest = route_reasons(self.preview.reasons)
            for name, reasons in by_field.items():
                if name == "leverage" and not self.futures:
                    rest += reasons
                    continue
                errors[name] = "; ".join([errors[name], *reasons] if name in errors else reasons)
            general += rest
        self.errors, self.general = errors, general
        self._show()

    def _ask_preview(self, ticket: ManualTicket) -> Preview:
        if self.markets:
            return self.intents.preview(ticket, market=self.market)
        return self.intents.preview(ticket)

    def _refusal(self, message: str, errors: dict[str, str], general: list[str]) -> None:
        """A refusal about the market goes under the market switch (when there is one), any
        other under the form."""
        if self.choose_market and is_market_refusal(message, self.market):
            errors["market"] = message
        else:
            general.append(message)

    def _show(self) -> None:
        for field in self.query(".field"):
            name = (field.id or "").removeprefix("field-")
            message = self.errors.get(name, "")
            field.set_class(bool(message), "-invalid")
            field.query_one(".field-error", Static).update(message)
        self.query_one("#panel-general", Static).update("\n".join(self.general))
        self.query_one(PreviewView).show(
            self.preview,
            quote=self.quote,
            futures=self.futures,
            waiting="fix the marked fields to see the preview",
        )
        self.query_one("#panel-send", Button).disabled = self.sending or not self.valid

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.recompute()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        event.stop()
        if event.choice.id == "in-market":
            if event.value != self.market:
                self.set_market(event.value)
            return
        if event.choice.id == "in-type":
            entry = self.query_one("#in-entry", Input)
            entry.disabled = event.value == "market"
        self.recompute()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last field it reviews."""
        event.stop()
        inputs = [w for w in self.query(Input) if not w.disabled]
        if inputs and event.input is inputs[-1]:
            self.action_review()
        else:
            self.focus_next()

    # ------------------------------------------------------------------ review and send

    def summary(self) -> str:
        pv = self.preview
        assert pv is not None
        entry = dec(pv.entry) if pv.entry is not None else f"MARKET (~{dec(pv.entry_estimate)})"
        targets = ", ".join(f"{dec(t.price)}×{dec(t.quantity)}" for t in pv.targets) or "none"
        lev = f" at {pv.leverage}x" if self.futures else ""
        where = f" on {market_label(self.market)}" if self.choose_market else ""
        return (
            f"{pv.side.value} {dec(pv.quantity)} {self.symbol}{where} {entry}{lev}\n"
            f"stop {dec(pv.stop)}   targets {targets}\n"
            f"risk at stop {num(pv.risk_quote.quantize(Decimal('0.01')))} {self.quote}"
        )

    def action_review(self) -> None:
        if self.sending:
            return
        self.recompute()
        if not self.valid:
            self.app.bell()
            if not self.general:
                self.general = ["cannot send: fix the fields marked in red first"]
                self.query_one("#panel-general", Static).update("\n".join(self.general))
            first = next(
                (
                    n
                    for n in ("market", "side", "type", "entry", "stop", "tp", "risk", "leverage")
                    if n in self.errors
                ),
                None,
            )
            if first is not None and self.query(f"#in-{first}"):
                self.query_one(f"#in-{first}").focus()
            return
        ticket = self.result.ticket
        assert ticket is not None

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.send(ticket)

        self.app.push_screen(
            ConfirmScreen("Send this bracket?", self.summary(), confirm="Send"), confirmed
        )

    @work(exclusive=True, group="bracket-send", exit_on_error=False)
    async def send(self, ticket: ManualTicket) -> None:
        """Place the bracket; close with its id, or stay open with the pipeline's reason."""
        self.sending = True
        self._show()
        self.query_one("#panel-general", Static).update("sending…")
        try:
            if self.markets:
                bracket_id = await self.intents.place_bracket(ticket, market=self.market)
            else:
                bracket_id = await self.intents.place_bracket(ticket)
        except UserError as exc:
            self.sending = False
            self.general = []
            self._refusal(str(exc), self.errors, self.general)
            self._show()
            return
        self.sending = False
        self.dismiss(bracket_id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "panel-send":
            self.action_review()
        else:
            self.action_close()

    def action_close(self) -> None:
        if not self.sending:
            self.dismiss(None)
