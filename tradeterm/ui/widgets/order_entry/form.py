"""From the bracket panel's text fields to a :class:`ManualTicket`, with errors per field.

The ticket model owns the rules (what a price, a ladder or a risk may be); this module only
routes its complaints to the field that caused them, so the panel can print each message next to
the input where it was typed. It also routes the refusals of a preview (filter violations,
liquidation, quantity rounding to zero) to the field a trader would change to fix them. No
trading rule is decided here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from tradeterm.trading.decimals import fmt
from tradeterm.trading.ticket import ManualTicket

FIELDS: tuple[str, ...] = ("side", "type", "entry", "stop", "tp", "risk", "leverage")
_MODEL_TO_FIELD = {
    "side": "side",
    "entry": "entry",
    "stop": "stop",
    "take_profits": "tp",
    "risk": "risk",
    "leverage": "leverage",
}


@dataclass(frozen=True, slots=True)
class FormValues:
    """The panel's inputs exactly as typed."""

    side: str = "buy"
    order_type: str = "limit"
    entry: str = ""
    stop: str = ""
    take_profits: str = ""
    risk: str = ""
    leverage: str = ""


@dataclass(frozen=True, slots=True)
class FormResult:
    ticket: ManualTicket | None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.ticket is not None and not self.errors


def values_from_ticket(ticket: ManualTicket) -> FormValues:
    """Prefill the panel (e.g. from an approved signal)."""
    ladder = ticket.take_profits
    return FormValues(
        side=ticket.side.value.lower(),
        order_type="market" if ticket.entry is None else "limit",
        entry=fmt(ticket.entry) if ticket.entry is not None else "",
        stop=fmt(ticket.stop),
        take_profits=", ".join(str(lv) for lv in ladder.levels) if ladder is not None else "",
        risk=str(ticket.risk) if ticket.risk is not None else "",
        leverage=str(ticket.leverage) if ticket.leverage is not None else "",
    )


def _clean(msg: str) -> str:
    return msg.removeprefix("Value error, ").strip()


def build_ticket(
    values: FormValues, *, venue: str, symbol: str, futures: bool, ticket_id: str | None
) -> FormResult:
    """Parse the fields; every field that is wrong gets its own message."""
    errors: dict[str, str] = {}
    data: dict[str, object] = {
        "venue": venue,
        "symbol": symbol,
        "side": values.side,
        "ticket_id": ticket_id,
    }
    if values.order_type == "market":
        data["entry"] = None
    elif not values.entry.strip():
        errors["entry"] = "a limit order needs an entry price (or switch the type to market)"
    elif values.entry.strip().lower() in ("market", "mkt", "m"):
        errors["entry"] = "type a price, or switch the type to market"
    else:
        data["entry"] = values.entry
    if not values.stop.strip():
        errors["stop"] = "a bracket needs a stop price"
    else:
        data["stop"] = values.stop
    if values.take_profits.strip():
        data["take_profits"] = values.take_profits
    if values.risk.strip():
        data["risk"] = values.risk.strip()
    if futures and values.leverage.strip():
        text = values.leverage.strip().lower().removesuffix("x")
        if not text.isdigit() or not 1 <= int(text) <= 125:
            errors["leverage"] = (
                f"leverage {values.leverage.strip()!r} must be a whole number 1-125"
            )
        else:
            data["leverage"] = int(text)
    if errors and ("stop" in errors or "entry" in errors):
        data.setdefault("stop", Decimal(1))  # let the other fields still be checked
        data.setdefault("entry", None)
    try:
        ticket = ManualTicket.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc", ())
            name = _MODEL_TO_FIELD.get(str(loc[0]), "stop") if loc else "stop"
            errors.setdefault(name, _clean(str(err.get("msg", ""))))
        return FormResult(None, errors)
    if errors:
        return FormResult(None, errors)
    return FormResult(ticket, {})


def _field_of(reason: str) -> str | None:
    low = reason.lower()
    if "liquidation" in low:
        return "leverage"
    if low.startswith(("take profits", "signal take profits")):
        return "tp"
    if low.startswith("entry") or "market entry needs" in low:
        return "entry"
    if low.startswith(("stop", "a buy needs its stop", "a sell needs its stop")):
        return "stop"
    if low.startswith(("quantity rounds to 0", "1r is zero")):
        return "risk"
    return None


def route_reasons(reasons: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Refusals of a preview by field; the rest (guards, kill switch, expiry) are general."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for reason in reasons:
        name = _field_of(reason)
        if name is None:
            general.append(reason)
        else:
            by_field.setdefault(name, []).append(reason)
    return by_field, general
