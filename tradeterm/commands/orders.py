"""``tradeterm orders``: place a bracket (or preview it), list, cancel, flatten, and start the
paper account over (``paper-reset``, with a confirmation).

Keys come from settings (environment or a 0600 file), never from flags. ``--dry-run`` needs no
keys: it reads exchangeInfo (and the price) from the configured Spot or USD-M REST URL, or the
synthetic symbol specs for paper, and prints the rounded legs, quantity, risk and R:R.
``--venue binance-usdm`` trades USD-M futures (``binance.usdm_rest_url`` / ``usdm_ws_url``):
``--leverage`` is set on the symbol before the entry, the margin type is ISOLATED.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from tradeterm.config import Settings
from tradeterm.errors import UserError

VENUES = ("paper", "binance-spot", "binance-usdm")
LIVE_VENUES = ("binance-spot", "binance-usdm")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("orders", help="bracket orders: place, preview, list, cancel, flatten")
    sub = p.add_subparsers(dest="orders_command", required=True)
    b = sub.add_parser("bracket", help="entry + stop + take-profit ladder (use --dry-run to preview)")
    b.add_argument("--venue", choices=VENUES, default="paper")
    b.add_argument("--symbol", required=True)
    b.add_argument("--side", required=True, help="buy or sell")
    g = b.add_mutually_exclusive_group(required=True)
    g.add_argument("--entry", help="limit entry price")
    g.add_argument("--market", action="store_true", help="market entry")
    b.add_argument("--stop", required=True, help="stop price")
    b.add_argument("--tp", action="append", default=[], metavar="R:PCT", help="take profit, e.g. 1.5R:40 (repeat)")
    b.add_argument("--risk", default="1%", help="1R as a percent of equity (1%%) or a quote amount (50)")
    b.add_argument("--leverage", type=int, default=None, help="USD-M only; ignored on spot")
    b.add_argument("--equity", help="equity for sizing when no keys are configured (dry run)")
    b.add_argument("--dry-run", action="store_true", help="print the rounded bracket, send nothing")
    b.set_defaults(handler=bracket_cmd)
    ls = sub.add_parser("list", help="orders in the store")
    ls.add_argument("--open", action="store_true", help="only open orders")
    ls.add_argument("--venue", choices=VENUES, default=None)
    ls.set_defaults(handler=list_cmd)
    c = sub.add_parser("cancel", help="cancel a bracket (decision id) on Binance Spot or USD-M")
    c.add_argument("id", help="decision id or one of its client order ids")
    c.add_argument("--venue", choices=LIVE_VENUES, default="binance-spot")
    c.set_defaults(handler=cancel_cmd)
    f = sub.add_parser("flatten", help="kill switch: cancel every open order (and algo order) and flatten")
    f.add_argument("--venue", choices=LIVE_VENUES, default="binance-spot")
    f.add_argument("--reason", default="flatten from the command line")
    f.set_defaults(handler=flatten_cmd)
    r = sub.add_parser("paper-reset", help="start the paper account over (balances, orders); stop the "
                       "workstation or daemon using the database first")  # fmt: skip
    r.add_argument("--venue", default="paper", help="the paper account's venue name (default: paper)")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.set_defaults(handler=paper_reset_cmd)


# ---------------------------------------------------------------------- helpers
def _signer(settings: Settings) -> Any:
    from tradeterm.brokers.signing import Ed25519Signer, HmacSigner

    creds = settings.credentials
    if creds.api_key is None:
        raise UserError("no API key: set TRADETERM_CREDENTIALS__API_KEY (and the secret) or a 0600 credentials file")
    key = creds.api_key.get_secret_value()
    if creds.ed25519_private_key_file is not None:
        return Ed25519Signer.from_pem_file(key, creds.ed25519_private_key_file.expanduser())
    if creds.api_secret is None:
        raise UserError("no API secret: set TRADETERM_CREDENTIALS__API_SECRET or an Ed25519 key file")
    return HmacSigner(key, creds.api_secret.get_secret_value())


def _ticket(args: argparse.Namespace, symbol: str) -> Any:
    from tradeterm.trading import ManualTicket

    data: dict[str, Any] = {"venue": args.venue, "symbol": symbol, "side": args.side,
                            "entry": None if args.market else args.entry, "stop": args.stop,
                            "risk": args.risk}  # fmt: skip
    if args.tp:
        data["take_profits"] = args.tp
    if args.leverage is not None:
        data["leverage"] = args.leverage
    try:
        return ManualTicket.parse(data)
    except ValueError as exc:
        raise UserError(str(exc)) from None


async def _spot_market(settings: Settings, symbol: str) -> tuple[Any, Decimal]:
    from tradeterm.brokers.errors import BrokerError
    from tradeterm.brokers.http import SpotHttp
    from tradeterm.trading.filters import Market, SymbolFilters

    url = settings.endpoints.spot_rest_url
    assert url is not None
    http = SpotHttp(url, retries=1)
    try:
        info = await http.request("GET", "/api/v3/exchangeInfo", {"symbol": symbol}, family="market", weight=20)
        price = await http.request("GET", "/api/v3/ticker/price", {"symbol": symbol}, family="market")
    except BrokerError as exc:
        raise UserError(f"cannot read {symbol} from {url}: {exc}") from None
    finally:
        await http.aclose()
    return SymbolFilters.from_exchange_info(info["symbols"][0], Market.SPOT), Decimal(price["price"])


async def _usdm_market(settings: Settings, symbol: str) -> tuple[Any, Decimal]:
    """USD-M filters and the mark price (what Binance values a futures order at)."""
    from tradeterm.brokers.errors import BrokerError, map_futures_error
    from tradeterm.brokers.http import SpotHttp
    from tradeterm.trading.filters import Market, SymbolFilters

    url = settings.endpoints.usdm_rest_url
    assert url is not None
    http = SpotHttp(url, retries=1, time_path="/fapi/v1/time", error_mapper=map_futures_error)
    try:
        info = await http.request("GET", "/fapi/v1/exchangeInfo", family="market")
        mark = await http.request("GET", "/fapi/v1/premiumIndex", {"symbol": symbol}, family="market")
    except BrokerError as exc:
        raise UserError(f"cannot read {symbol} from {url}: {exc}") from None
    finally:
        await http.aclose()
    entry = next((s for s in info["symbols"] if s["symbol"] == symbol), None)
    if entry is None:
        raise UserError(f"{url} lists no USD-M symbol {symbol}")
    return SymbolFilters.from_exchange_info(entry, Market.USDM), Decimal(str(mark["markPrice"]))


def _print_preview(pv: Any, symbol: str, venue: str) -> None:
    from tradeterm.trading.decimals import fmt

    entry = "market" if pv.entry is None else fmt(pv.entry)
    print(f"{venue} {symbol} {pv.side.value} {fmt(pv.quantity)} @ {entry}  stop {fmt(pv.stop)}")
    print(f"  notional {fmt(pv.notional.quantize(Decimal('0.01')))}  risk {fmt(pv.risk_quote.quantize(Decimal('0.01')))}"
          f" (1R {fmt(pv.risk_amount.quantize(Decimal('0.01')))}, with fees {fmt(pv.risk_quote_with_fees.quantize(Decimal('0.01')))})")  # fmt: skip
    for t in pv.targets:
        print(f"  TP{t.index} {fmt(t.price)} x {fmt(t.quantity)}  R:R {fmt(t.reward_to_risk.quantize(Decimal('0.01')))}")
    for line in pv.rounding:
        print(f"  rounding: {line}")
    for line in pv.notes:
        print(f"  note: {line}")
    if not pv.ok:
        raise UserError("refused: " + "; ".join(pv.reasons))


# ---------------------------------------------------------------------- commands
async def bracket_cmd(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from tradeterm.trading import AccountSnapshot, RiskConfig, preview

    symbol = args.symbol.strip().upper()
    ticket = _ticket(args, symbol)
    risk = RiskConfig()
    now = int(time.time() * 1000)
    equity = Decimal(args.equity) if args.equity else None
    if args.venue == "paper":
        from tradeterm.brokers.paper import PaperBroker
        from tradeterm.store import create_store

        broker: Any = PaperBroker.synthetic([symbol])
        # Sized on the saved paper account (the one the order will meet), not a fresh one.
        async with create_store(settings.effective_database_url) as store:
            broker.store = store
            await broker.restore_account()
        broker.store = None
        filters = (await broker.exchange_info())[symbol]
        price = await broker.transport.last_price(symbol)
        account = await broker.account_snapshot(filters.quote_asset or "USDT")
    else:
        usdm = args.venue == "binance-usdm"
        filters, price = await (_usdm_market if usdm else _spot_market)(settings, symbol)
        broker = None
        if equity is None:
            if not settings.credentials.present:
                raise UserError(f"{args.venue} sizing needs the account: configure keys or pass --equity")
            broker = _live_broker(settings, args.venue, None, symbol=symbol, leverage=args.leverage)
            try:
                await broker.transport.http.sync_time()
                account = await broker.account_snapshot(filters.quote_asset or "USDT")
            finally:
                if args.dry_run:
                    await broker.close()
        else:
            account = None
    if equity is not None:
        account = AccountSnapshot(equity=equity, available=equity, quote_asset=filters.quote_asset)
    pv = preview(ticket, account, filters, risk, now, market_price=price)
    _print_preview(pv, symbol, args.venue)
    if args.dry_run:
        print("dry run: nothing sent")
        return 0
    from tradeterm.store import create_store

    async with create_store(settings.effective_database_url) as store:
        if args.venue == "paper":
            broker.store = store
        else:
            if broker is None:
                broker = _live_broker(settings, args.venue, store, symbol=symbol, leverage=args.leverage)
            broker.store = store
        try:
            await broker.start()
            ack = await broker.place_bracket(pv.decision)
            b = broker.bracket(ack.decision_id)
            print(f"placed {ack.decision_id}: {ack.state.value}")
            if b is not None and b.errors:
                raise UserError(b.errors[-1])
        finally:
            await broker.close()
    return 0


def _spot_broker(settings: Settings, store: Any) -> Any:
    from tradeterm.brokers.binance_spot import BinanceSpotBroker

    ep = settings.endpoints
    assert ep.spot_rest_url is not None
    return BinanceSpotBroker(ep.spot_rest_url, _signer(settings), ep.spot_ws_api_url, store=store)


def _usdm_broker(settings: Settings, store: Any, symbol: str | None = None, leverage: int | None = None) -> Any:
    """The USD-M broker at the profile's URLs; ``symbol`` gets margin type (and leverage) set up."""
    from tradeterm.brokers.binance_usdm import BinanceUsdmBroker, UsdmSetup

    ep = settings.endpoints
    if ep.usdm_rest_url is None:
        raise UserError("no USD-M REST URL: set binance.usdm_rest_url (TRADETERM_BINANCE__USDM_REST_URL)")
    setup = UsdmSetup(symbols=(symbol,) if symbol else (), leverage=leverage)
    return BinanceUsdmBroker(ep.usdm_rest_url, _signer(settings), ep.usdm_ws_url, setup=setup, store=store)


def _live_broker(settings: Settings, venue: str, store: Any, *, symbol: str | None = None,
                 leverage: int | None = None) -> Any:  # fmt: skip
    if venue == "binance-usdm":
        return _usdm_broker(settings, store, symbol, leverage)
    return _spot_broker(settings, store)


async def list_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from tradeterm.store import create_store
    from tradeterm.trading.decimals import fmt

    async with create_store(settings.effective_database_url) as store:
        orders = await store.list_orders(open_only=args.open, venue=args.venue)
    if not orders:
        print("no orders")
        return 0
    for u in orders:
        px = fmt(u.price) if u.price is not None else "-"
        print(f"{u.client_order_id:36} {u.venue:12} {u.symbol:10} {u.side.value:4} {u.order_type.value:15} "
              f"{u.status.value:16} {fmt(u.filled_qty)}/{fmt(u.orig_qty)} @ {px}")  # fmt: skip
    return 0


async def cancel_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from tradeterm.brokers.errors import BrokerError
    from tradeterm.store import create_store
    from tradeterm.trading.ids import parse_client_order_id

    parsed = parse_client_order_id(args.id)
    did = parsed.decision_id if parsed else args.id
    async with create_store(settings.effective_database_url) as store:
        broker = _live_broker(settings, args.venue, store)
        try:
            await broker.start()
            if broker.bracket(did) is None:
                raise UserError(f"no bracket {did} on {args.venue} (see: tradeterm orders list)")
            await broker.cancel(did)
            print(f"canceled {did}: {broker.bracket(did).state.value}")
        except BrokerError as exc:
            raise UserError(str(exc)) from None
        finally:
            await broker.close()
    return 0


async def flatten_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from tradeterm.brokers.errors import BrokerError
    from tradeterm.store import create_store

    async with create_store(settings.effective_database_url) as store:
        broker = _live_broker(settings, args.venue, store)
        try:
            await broker.start()
            await broker.flatten_all(args.reason)
            left = await broker.transport.open_orders()
            line = f"flattened: {len(left)} open orders left"
            if args.venue == "binance-usdm":
                line += f", {len(await broker.position_risk())} positions open"
            print(line)
        except BrokerError as exc:
            raise UserError(str(exc)) from None
        finally:
            await broker.close()
    return 0


async def paper_reset_cmd(args: argparse.Namespace, settings: Settings, *, ask: Any = input) -> int:
    """Forget the saved paper account so that its next start has the configured balance and no
    orders. Refused while paper brackets still work (open orders in the journal or the account):
    their history would point at orders that no longer exist; cancel or close them first."""
    import re
    import sys

    import orjson

    from tradeterm.store import create_store

    venue = args.venue.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,31}", venue):
        raise UserError(f"--venue {args.venue!r} is not a venue name (lowercase letters, digits, '-', '_')")
    async with create_store(settings.effective_database_url) as store:
        rows = await store.load_paper_state(venue)
        if not rows:
            print(f"no saved paper account {venue!r} in {store.url}: nothing to reset")
            return 0
        working = sorted({u.decision_id or u.client_order_id
                          for u in await store.list_orders(open_only=True, venue=venue)})  # fmt: skip
        resting = [d for d in (orjson.loads(r.data) for r in rows if r.kind == "order")
                   if d["status"] in ("NEW", "PARTIALLY_FILLED", "PENDING_NEW")]  # fmt: skip
        if working or resting:
            raise UserError(f"the paper account {venue!r} still has {len(resting)} open orders and "
                            f"{len(working)} working brackets ({', '.join(working[:3]) or 'none in the journal'}"
                            f"{', …' if len(working) > 3 else ''}); cancel or close them first")  # fmt: skip
        account = next(orjson.loads(r.data) for r in rows if r.kind == "account")
        held = ", ".join(f"{a} {v}" for a, v in sorted(account["free"].items()) if Decimal(v)) or "nothing"
        print(f"paper account {venue!r} in {store.url}: {held}")
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError("refusing to reset without confirmation: pass --yes")
            if ask("reset it to the starting balance? type 'reset' to confirm: ").strip().lower() != "reset":
                print("not reset")
                return 1
        n = await store.reset_paper_state(venue)
        await store.append_audit("paper_reset", f"paper account {venue} reset", {"venue": venue, "rows": n})
    print(f"paper account {venue!r} reset: the next start has the configured starting balance")
    return 0
