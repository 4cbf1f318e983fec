"""Decision and risk: sizing in R, take-profit ladders, exchange filters, the bracket state
machine and the kill switch. Pure code over Decimals: no I/O, no clock, no network, so the
daemon, the TUI and the backtester share it unchanged."""

from tradeterm.trading.bracket import Bracket
from tradeterm.trading.bracket_records import BracketState, ExitLevel, OrderRecord
from tradeterm.trading.decision import BracketPlan, Guards, decide, plan_bracket, plan_to_decision
from tradeterm.trading.fees import FeeRates, break_even_price
from tradeterm.trading.filters import (
    FilterViolation,
    Market,
    PriceRole,
    RoundedOrder,
    SymbolFilters,
    price_direction,
)
from tradeterm.trading.ids import (
    client_order_id,
    decision_id_for_signal,
    decision_id_for_ticket,
    list_client_order_id,
    parse_client_order_id,
)
from tradeterm.trading.intents import (
    CancelLegs,
    ClosePosition,
    Intent,
    MoveStop,
    OrderSpec,
    PlaceEntry,
    PlaceExits,
)
from tradeterm.trading.killswitch import (
    DrawdownGuard,
    ErrorRateWindow,
    KillSwitch,
    TripSource,
    check_guards,
)
from tradeterm.trading.ladder import (
    DEFAULT_LADDER,
    LadderLevel,
    LadderResult,
    LadderSpec,
    PlannedLeg,
    atr_trail_stop,
    break_even_stop,
    build_ladder,
)
from tradeterm.trading.preview import FeeEstimate, Preview, TargetPreview, preview
from tradeterm.trading.risk import AccountSnapshot, RiskAmount, RiskConfig
from tradeterm.trading.sizing import SizeResult, liquidation_price, size_position
from tradeterm.trading.ticket import ManualTicket

__all__ = [
    "DEFAULT_LADDER",
    "AccountSnapshot",
    "Bracket",
    "BracketPlan",
    "BracketState",
    "CancelLegs",
    "ClosePosition",
    "DrawdownGuard",
    "ErrorRateWindow",
    "ExitLevel",
    "FeeEstimate",
    "FeeRates",
    "FilterViolation",
    "Guards",
    "Intent",
    "KillSwitch",
    "LadderLevel",
    "LadderResult",
    "LadderSpec",
    "ManualTicket",
    "Market",
    "MoveStop",
    "OrderRecord",
    "OrderSpec",
    "PlaceEntry",
    "PlaceExits",
    "PlannedLeg",
    "Preview",
    "PriceRole",
    "RiskAmount",
    "RiskConfig",
    "RoundedOrder",
    "SizeResult",
    "SymbolFilters",
    "TargetPreview",
    "TripSource",
    "atr_trail_stop",
    "break_even_price",
    "break_even_stop",
    "build_ladder",
    "check_guards",
    "client_order_id",
    "decide",
    "decision_id_for_signal",
    "decision_id_for_ticket",
    "liquidation_price",
    "list_client_order_id",
    "parse_client_order_id",
    "plan_bracket",
    "plan_to_decision",
    "preview",
    "price_direction",
    "size_position",
]
