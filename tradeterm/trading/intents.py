"""What the bracket state machine asks the broker to do, as plain data.

Intents carry every id, price and quantity, so the broker invents nothing: it maps an
:class:`OrderSpec` onto the venue's endpoint (spot order list, futures algo order, …) and the
ids make a resend after a timeout harmless. Intents are serialisable for the journal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tradeterm.contracts.base import Side
from tradeterm.contracts.trading import OrderLeg, OrderType


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderSpec(_Frozen):
    """One order to place.

    ``price`` is the limit price (LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT), ``stop_price`` the
    trigger (spot stopPrice, futures triggerPrice). ``close_position`` (USD-M stop) means send
    ``closePosition=true`` and no quantity; ``quantity`` is then the position at planning time,
    for display and reconciliation. ``list_client_order_id`` groups a spot OCO pair.
    """

    client_order_id: str
    leg: OrderLeg
    index: int = 0
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    close_position: bool = False
    list_client_order_id: str | None = None
    expires_at: int | None = None


class PlaceEntry(_Frozen):
    kind: Literal["place_entry"] = "place_entry"
    decision_id: str
    order: OrderSpec


class PlaceExits(_Frozen):
    """Protection for a filled entry; ``oco`` pairs each TP with the stop of the same index."""

    kind: Literal["place_exits"] = "place_exits"
    decision_id: str
    orders: tuple[OrderSpec, ...]
    oco: bool


class MoveStop(_Frozen):
    """Replace the stop at ``new_price``: place ``place`` then cancel ``cancel`` where the venue
    allows both at once (USD-M), cancel first where the balance is locked (spot OCO)."""

    kind: Literal["move_stop"] = "move_stop"
    decision_id: str
    new_price: Decimal
    reason: str
    cancel: tuple[str, ...]
    place: tuple[OrderSpec, ...]


class CancelLegs(_Frozen):
    kind: Literal["cancel_legs"] = "cancel_legs"
    decision_id: str
    client_order_ids: tuple[str, ...]
    reason: str


class ClosePosition(_Frozen):
    """Flatten what is left with a market order (reduce-only where the venue has it)."""

    kind: Literal["close_position"] = "close_position"
    decision_id: str
    order: OrderSpec
    reason: str


Intent = Annotated[
    PlaceEntry | PlaceExits | MoveStop | CancelLegs | ClosePosition, Field(discriminator="kind")
]
