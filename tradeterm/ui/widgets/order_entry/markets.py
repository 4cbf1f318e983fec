"""Which market (spot or USD-M) a bracket goes to: choices, venue names, and market refusals.

Why its own module: the demo profile trades spot and USD-M side by side, so a ticket has to say
which account it is for. The pipeline owns the routing (``market=`` on the intents); the panel
only needs to know which markets the snapshot lists, the venue name each one's broker uses (a
ticket names its venue), and where to print a refusal that is about the market itself (a
market the profile does not trade, a broker not ready yet) rather than about a price.
"""

from __future__ import annotations

from collections.abc import Mapping

from tradeterm.pipeline.readmodel import Market, Snapshot, market_label

# Venue names when the snapshot does not say (a broker not connected yet): what the
# controller's ``market_of`` would route the same way (a USD-M name says "usdm").
DEFAULT_VENUES: Mapping[str, str] = {"spot": "paper", "usdm": "binance-usdm"}


def market_venues(snap: Snapshot) -> dict[str, str]:
    """Each traded market's venue: the accounts' venue names, the selected market's from
    ``snap.venue``, and a default for a market whose broker has not reported yet."""
    venues: dict[str, str] = {a.market: a.venue for a in snap.accounts if a.venue}
    if snap.venue:
        venues.setdefault(snap.market, snap.venue)
    for m in snap.markets:
        venues.setdefault(m, DEFAULT_VENUES.get(m, m))
    return venues


def choice_labels(markets: tuple[Market, ...] | tuple[str, ...]) -> tuple[str, ...]:
    """The option labels of the panel's market switch (``SPOT │ USD-M``)."""
    return tuple(market_label(m) for m in markets)


def is_market_refusal(message: str, market: str) -> bool:
    """Whether a pipeline refusal is about the market (so the panel prints it under the market
    field): an unknown or untraded market, or that market's broker not being ready."""
    low = message.lower()
    return (
        "unknown market" in low
        or "not traded" in low
        or f"the {market} broker" in low
        or "usd-m exchange filters" in low
    )
