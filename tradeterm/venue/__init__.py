"""The built-in Binance-compatible exchange (Spot part 1).

Public entry points (imported lazily, so the pure engine never drags in the web stack):

* :class:`~tradeterm.venue.config.VenueConfig` — sources, speed, balances, credentials, limits.
* :class:`~tradeterm.venue.app.VenueServer` — uvicorn in-process on loopback; ``rest_url``,
  ``ws_url``, ``ws_api_url``; ``await start()``/``stop()`` or ``async with``; ``.venue``.
* :func:`~tradeterm.venue.app.create_venue_app` — the Starlette app for a config or a ``Venue``.
* :class:`~tradeterm.venue.venue.Venue` — clock + series + engine + hubs; ``step``/``step_bars``.
* :class:`~tradeterm.venue.matching.MatchingEngine` — orders, lists, fills, fees, balances; no I/O.
* :class:`~tradeterm.venue.futures_engine.FuturesEngine` — USD-M positions, margin, algo orders,
  liquidation, funding; no I/O. :class:`~tradeterm.venue.futures_venue.FuturesMarket` serves it
  (``venue.futures``): ``/fapi/...``, ``/market|public|private/...`` and ``/futures/...`` streams,
  and the futures WebSocket API at ``VenueServer.ws_fapi_url`` (``/ws-fapi/v1``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "VenueConfig": "tradeterm.venue.config",
    "VenueServer": "tradeterm.venue.app",
    "create_venue_app": "tradeterm.venue.app",
    "Venue": "tradeterm.venue.venue",
    "MatchingEngine": "tradeterm.venue.matching",
    "OrderSpec": "tradeterm.venue.matching",
    "SymbolRules": "tradeterm.venue.symbols",
    "VenueError": "tradeterm.venue.errors",
    "Credential": "tradeterm.venue.auth",
    "FuturesEngine": "tradeterm.venue.futures_engine",
    "FuturesMarket": "tradeterm.venue.futures_venue",
    "FundingSchedule": "tradeterm.venue.funding",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
