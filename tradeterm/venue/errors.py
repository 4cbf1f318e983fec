"""Binance error codes, their messages and the HTTP status each travels with.

The engine and the validators raise :class:`VenueError` with Binance's own code and message;
only the HTTP layer decides the status, so the matching engine stays free of HTTP concerns.
Message texts follow binance-spot-api-docs/errors.md (codes are stable, texts may drift)."""

from __future__ import annotations


class VenueError(Exception):
    """A rejection as Binance would word it: ``{"code": code, "msg": msg}``."""

    def __init__(self, code: int, msg: str, *, http_status: int | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status if http_status is not None else status_for(code)
        self.retry_after = retry_after

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def status_for(code: int) -> int:
    """HTTP status Binance uses for a code: 4xx for the sender's faults, 401 for key problems."""
    if code in (-2014, -2015):
        return 401
    if code in (-1003, -1015):
        return 429
    if code in (-1000, -1001):
        return 500
    if code == -1006:
        return 503
    if code == -1007:
        return 408
    return 400


# Fixed texts, named as errors.md names the codes.
UNKNOWN = (-1000, "An unknown error occurred while processing the request.")
UNEXPECTED_RESP = (-1006, "An unexpected response was received from the message bus. Execution status unknown.")
TIMEOUT = (-1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown.")
INVALID_SIGNATURE = (-1022, "Signature for this request is not valid.")
TS_OUTSIDE_WINDOW = (-1021, "Timestamp for this request is outside of the recvWindow.")
TS_AHEAD = (-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
DUPLICATE_PARAM = (-1101, "Duplicate values for a parameter detected.")
INVALID_TIF = (-1115, "Invalid timeInForce.")
INVALID_ORDER_TYPE = (-1116, "Invalid orderType.")
INVALID_SIDE = (-1117, "Invalid side.")
EMPTY_NEW_CL_ORD_ID = (-1118, "New client order ID was empty.")
EMPTY_ORG_CL_ORD_ID = (-1119, "Original client order ID was empty.")
BAD_INTERVAL = (-1120, "Invalid interval.")
BAD_SYMBOL = (-1121, "Invalid symbol.")
OPT_COMBO = (-1128, "Combination of optional parameters invalid.")
INVALID_PARAMETER = (-1130, "Invalid data sent for a parameter.")
BAD_RECV_WINDOW = (-1131, "recvWindow must be less than 60000")
UNSUPPORTED_COMBO = (-1014, "Unsupported order combination.")
API_KEY_FORMAT = (-2014, "API-key format invalid.")
REJECTED_MBX_KEY = (-2015, "Invalid API-key, IP, or permissions for action.")
UNKNOWN_ORDER = (-2011, "Unknown order sent.")
NO_SUCH_ORDER = (-2013, "Order does not exist.")
NO_SUCH_ORDER_LIST = (-2018, "Order list does not exist.")
CLIENT_ID_MISMATCH = (-2039, "Client order ID is not correct for this order ID.")

# -2010 NEW_ORDER_REJECTED texts.
DUPLICATE_ORDER = "Duplicate order sent."
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
WOULD_TRIGGER = "Order would trigger immediately."
WOULD_TAKE = "Order would immediately match and take."
BAD_PRICE_RELATION = "The relationship of the prices for the orders is not correct."
ZERO_NOTIONAL = "Price * QTY is zero or less."


def err(pair: tuple[int, str]) -> VenueError:
    return VenueError(pair[0], pair[1])


def rejected(msg: str) -> VenueError:
    """-2010 NEW_ORDER_REJECTED with one of the engine texts above."""
    return VenueError(-2010, msg)


def mandatory(name: str) -> VenueError:
    return VenueError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def either(a: str, b: str) -> VenueError:
    return VenueError(-1102, f"Param '{a}' or '{b}' must be sent, but both were empty/null!")


def illegal(name: str, legal: str) -> VenueError:
    return VenueError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def not_required(name: str) -> VenueError:
    return VenueError(-1106, f"Parameter '{name}' sent when not required.")


def empty(name: str) -> VenueError:
    return VenueError(-1105, f"Parameter '{name}' was empty.")


def unread(read: int, sent: int) -> VenueError:
    return VenueError(-1104, f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'.")


def precision(name: str) -> VenueError:
    return VenueError(-1111, f"Parameter '{name}' has too much precision.")


def filter_failure(filter_type: str) -> VenueError:
    return VenueError(-1013, f"Filter failure: {filter_type}")


def too_much_weight(limit: int, retry_after: int) -> VenueError:
    return VenueError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        http_status=429, retry_after=retry_after)


def banned(until_ms: int, retry_after: int) -> VenueError:
    return VenueError(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        http_status=418, retry_after=retry_after)


def too_many_orders(limit: int, per: str, retry_after: int) -> VenueError:
    return VenueError(-1015, f"Too many new orders; current limit is {limit} orders per {per}.",
                      http_status=429, retry_after=retry_after)
