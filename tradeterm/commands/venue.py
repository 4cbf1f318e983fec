"""``tradeterm venue``: serve the built-in Binance-compatible exchange on loopback.

Credentials: prefer ``TRADETERM_VENUE_API_KEY``/``TRADETERM_VENUE_API_SECRET`` in the environment
(house rule: secrets stay out of argv and shell history). ``--api-key``/``--api-secret`` exist
because the venue is a local test exchange and the issue asks for them; with neither, a key pair
is generated and printed, since it protects nothing real."""

from __future__ import annotations

import argparse
import ipaddress
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tradeterm.errors import UserError

ENV_KEY = "TRADETERM_VENUE_API_KEY"
ENV_SECRET = "TRADETERM_VENUE_API_SECRET"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "venue", help="serve the built-in Binance-compatible exchange (offline, loopback)",
        description="Replay a market (synthetic or Binance kline files) behind Binance's Spot REST, "
        "market streams and WebSocket API, for the broker, tools and official client libraries. "
        f"Credentials: set {ENV_KEY} and {ENV_SECRET} (preferred), or pass the flags; with neither a "
        "key pair is generated and printed.")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: any free port, printed)")
    p.add_argument("--data", action="extend", nargs="+", default=[], metavar="FILE",
                   help="Binance kline file (CSV/zip/JSON); repeat for several symbols")
    p.add_argument("--synthetic", action="extend", nargs="+", default=[], metavar="SYMBOL",
                   help="replay the seeded synthetic market for SYMBOL; repeatable (default BTCUSDT)")
    p.add_argument("--seed", type=int, default=1, help="synthetic market seed (default 1)")
    p.add_argument("--speed", default="60", help="market seconds per wall second, or 'max' (default 60)")
    p.add_argument("--balance", action="extend", nargs="+", default=[], metavar="ASSET=AMOUNT",
                   help="starting balance, repeatable (default USDT=10000)")
    p.add_argument("--api-key", help=f"accepted API key (prefer {ENV_KEY})")
    p.add_argument("--api-secret", help=f"its HMAC secret (prefer {ENV_SECRET})")
    p.add_argument("--ed25519-public-key", type=Path, metavar="FILE", help="PEM public key for Ed25519-signed requests")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    p.add_argument("--history", type=int, default=1000, help="bars already in the past at start (default 1000)")
    f = p.add_argument_group("USD-M futures (/fapi, fstream paths; served next to spot from the same replay)")
    f.add_argument("--futures", action=argparse.BooleanOptionalAction, default=True,
                   help="serve USD-M futures too (default on; --no-futures for spot only)")
    f.add_argument("--funding-file", action="append", default=[], metavar="[SYMBOL=]CSV",
                   help="Binance funding-rate CSV (fundingTime,fundingIntervalHours,fundingRate), e.g. "
                   "../shared/data/funding/...; without SYMBOL= it applies to every symbol; repeatable")
    f.add_argument("--funding-rate", default="0.0001", metavar="RATE",
                   help="funding rate every 8 h where no file covers (default 0.0001)")
    f.add_argument("--premium", default="0", metavar="BPS",
                   help="mark price premium over the last price, in basis points (default 0; -500..500)")
    f.add_argument("--futures-balance", default="10000", metavar="USDT",
                   help="USDT wallet of the futures account (default 10000)")
    f.add_argument("--leverage-tiers", type=Path, metavar="FILE",
                   help="leverage brackets in ccxt's fetch_leverage_tiers JSON (.json or .json.gz)")
    p.set_defaults(handler=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _balances(items: list[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for item in items or ["USDT=10000"]:
        asset, sep, amount = item.partition("=")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = Decimal(-1)
        if not sep or not asset.isalnum() or not value.is_finite() or value < 0:
            raise UserError(f"--balance wants ASSET=AMOUNT with a non-negative amount, not {item!r}")
        out[asset.upper()] = value
    return out


def _decimal(flag: str, text: str, lo: Decimal | None = None, hi: Decimal | None = None) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f" in {lo}..{hi}" if lo is not None and hi is not None else (f" >= {lo}" if lo is not None else "")
        raise UserError(f"{flag} wants a number{bounds}, not {text!r}")
    return value


def _funding_files(items: list[str]) -> dict[str, str]:
    """``[SYMBOL=]PATH`` → {symbol or "*": path}, each file read now so that a bad one is a clear
    error at start-up rather than a traceback when the venue loads it."""
    from tradeterm.venue.funding import FundingSchedule

    out: dict[str, str] = {}
    for item in items:
        sym, sep, path = item.partition("=")
        if not sep:
            sym, path = "*", item
        elif not sym.isalnum():
            raise UserError(f"--funding-file wants [SYMBOL=]CSV, not {item!r}")
        if not Path(path).is_file():
            raise UserError(f"--funding-file not found: {path}")
        try:
            schedule = FundingSchedule.from_csv(path)
        except (KeyError, ValueError, ArithmeticError, UnicodeDecodeError, OSError) as e:
            raise UserError(f"--funding-file {path}: not a Binance funding CSV (fundingTime, fundingRate): "
                            f"{type(e).__name__} {e}".replace("\n", " ")) from None
        if not schedule.times:
            raise UserError(f"--funding-file {path}: no funding rows")
        out[sym.upper() if sym != "*" else sym] = path
    return out


def build_config(args: argparse.Namespace, env: dict[str, str] | None = None) -> tuple[Any, dict[str, str]]:
    """The venue config from flags and environment, plus notes on where credentials came from."""
    from tradeterm.venue.auth import Credential, generate_hmac_credential, load_ed25519_public_key
    from tradeterm.venue.clock import parse_speed
    from tradeterm.venue.config import VenueConfig

    env = dict(os.environ) if env is None else env
    if not _is_loopback(args.host) and not args.allow_remote:
        raise UserError(f"refusing to serve on non-loopback host {args.host}; add --allow-remote if you mean it")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be 0..65535, not {args.port}")
    if args.history < 1:
        raise UserError("--history must be at least 1")
    speed = parse_speed(args.speed)
    key = args.api_key or env.get(ENV_KEY)
    secret = args.api_secret or env.get(ENV_SECRET)
    notes: dict[str, str] = {}
    creds: list[Credential] = []
    if args.ed25519_public_key is not None:
        try:
            pub = load_ed25519_public_key(args.ed25519_public_key.read_bytes())
        except (OSError, ValueError) as e:
            raise UserError(f"--ed25519-public-key {args.ed25519_public_key}: {e}") from None
        ed_key = key if (key and not secret) else generate_hmac_credential().api_key
        creds.append(Credential(ed_key, ed25519=pub))
        notes["ed25519"] = ed_key
    if secret and not key:
        raise UserError(f"an API secret needs its API key (--api-key or {ENV_KEY})")
    if key and secret:
        creds.append(Credential(key, secret))
        notes["hmac"] = "given"
    elif key and args.ed25519_public_key is None:
        raise UserError(f"an API key needs --api-secret ({ENV_SECRET}) or --ed25519-public-key")
    if not any(c.secret for c in creds):
        gen = generate_hmac_credential()
        creds.append(gen)
        notes["hmac"] = "generated"
    synthetic = [s.upper() for s in args.synthetic]
    if not synthetic and not args.data:
        synthetic = ["BTCUSDT"]
    for f in args.data:
        if not Path(f).is_file():
            raise UserError(f"--data file not found: {f}")
    premium = _decimal("--premium", args.premium, Decimal(-500), Decimal(500)) / 10_000
    funding_rate = _decimal("--funding-rate", args.funding_rate, Decimal("-0.05"), Decimal("0.05"))
    futures_balance = _decimal("--futures-balance", args.futures_balance, Decimal(0))
    funding = _funding_files(args.funding_file)
    tiers = None
    if args.leverage_tiers is not None:
        from tradeterm.venue.futures_symbols import load_ccxt_tiers

        try:
            if not load_ccxt_tiers(args.leverage_tiers):
                raise ValueError("no linear perpetual in it")
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as e:
            raise UserError(f"--leverage-tiers {args.leverage_tiers}: {e}".replace("\n", " ")) from None
        tiers = str(args.leverage_tiers)
    if not args.futures and (funding or tiers or args.premium != "0"):
        raise UserError("--funding-file, --premium and --leverage-tiers need futures (drop --no-futures)")
    config = VenueConfig(synthetic=synthetic, data_files=list(args.data), seed=args.seed, speed=speed,
                         balances=_balances(args.balance), credentials=creds, history_bars=args.history,
                         futures=args.futures, mark_premium=premium, funding_rate=funding_rate,
                         futures_balance=futures_balance, funding_files=funding, leverage_tiers_file=tiers)
    return config, notes


async def run(args: argparse.Namespace, settings: Any) -> int:
    from tradeterm.venue.app import VenueServer

    config, notes = build_config(args)
    try:
        server = VenueServer(config, host=args.host, port=args.port)
    except ValueError as e:
        raise UserError(str(e)) from None
    try:
        await server.start()
    except OSError as e:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    v = server.venue
    speed = "max" if config.speed is None else f"{config.speed:g}x"
    print(f"tradeterm venue: {', '.join(v.series)} at {speed}  (Ctrl-C stops)")
    print(f"  REST     {server.rest_url}        (/api/v3/...)")
    print(f"  streams  {server.ws_url}/ws/<stream>   {server.ws_url}/stream?streams=a/b")
    print(f"  WS API   {server.ws_api_url}   (user data: userDataStream.subscribe.signature)")
    if v.futures is not None:
        print(f"  USD-M    {server.rest_url}/fapi/...   streams {server.ws_url}/market/stream?streams=a/b, "
              f"user data {server.ws_url}/private/ws/<listenKey> (classic: {server.fstream_url}/ws/...)")
    print(f"  control  {server.rest_url}/_venue/state")
    for c in config.credentials:
        if c.secret is not None:
            shown = c.secret if notes.get("hmac") == "generated" else f"(from {ENV_SECRET} or --api-secret)"
            print(f"  HMAC key     {c.api_key}\n  HMAC secret  {shown}")
        else:
            print(f"  Ed25519 key  {c.api_key}  (public key from --ed25519-public-key)")
    print("  python-binance: set Client.API_URL='<REST>/api', WS_API_URL='<WS API>', "
          "BinanceSocketManager.STREAM_URL='<streams>/'", flush=True)
    await server.run_until_stopped()
    print("tradeterm venue: stopped", flush=True)
    return 0
