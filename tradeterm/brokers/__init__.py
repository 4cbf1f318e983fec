"""Brokers: the ``Broker`` protocol, the paper broker (the venue's matching engine in-process),
the Binance Spot broker (REST + WebSocket API) and the Binance USD-M broker (REST, algo-order
stops, listenKey user data), sharing one bracket driver (``core.py``).

Start at :class:`PaperBroker`, :class:`BinanceSpotBroker` or :class:`BinanceUsdmBroker`; all
implement :class:`Broker`.
"""

from tradeterm.brokers.binance_spot import BinanceSpotBroker, SpotTransport
from tradeterm.brokers.binance_usdm import (
    BinanceUsdmBroker,
    FuturesAccount,
    FuturesPosition,
    UsdmSetup,
    UsdmTransport,
)
from tradeterm.brokers.core import TradingBroker
from tradeterm.brokers.errors import (
    AuthError,
    BinanceError,
    BrokerError,
    CircuitOpen,
    ExecutionUnknown,
    InvalidTimestamp,
    IpBanned,
    KillSwitchTripped,
    NoSuchOrder,
    OrderRejected,
    RateLimited,
    UnknownOrder,
    UnknownSymbol,
)
from tradeterm.brokers.paper import PaperBroker, PaperTransport
from tradeterm.brokers.protocol import Balance, BracketAck, Broker, PositionView, ReconcileReport
from tradeterm.brokers.signing import Ed25519Signer, HmacSigner

__all__ = [
    "AuthError", "Balance", "BinanceError", "BinanceSpotBroker", "BinanceUsdmBroker", "BracketAck",
    "Broker", "BrokerError", "CircuitOpen", "Ed25519Signer", "ExecutionUnknown", "FuturesAccount",
    "FuturesPosition", "HmacSigner", "InvalidTimestamp", "IpBanned", "KillSwitchTripped",
    "NoSuchOrder", "OrderRejected", "PaperBroker", "PaperTransport", "PositionView", "RateLimited",
    "ReconcileReport", "SpotTransport", "TradingBroker", "UnknownOrder", "UnknownSymbol",
    "UsdmSetup", "UsdmTransport",
]  # fmt: skip
