"""The ``tradeterm`` command line.

argparse rather than a framework: it starts in a few milliseconds (the TUI's cold-start budget
is 1.5 s), ships with Python, and subcommand modules register themselves (``tradeterm.commands``),
so this file stays small. Every failure is one line on stderr and exit code 2 — a trader
scripting tradeterm must never have to parse a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import sys
from pathlib import Path
from typing import Any, NoReturn

from tradeterm import __version__
from tradeterm.commands import COMMAND_MODULES
from tradeterm.config import Profile, Settings, load_settings
from tradeterm.errors import UserError

EXIT_ERROR = 2
log = logging.getLogger("tradeterm.cli")


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we print the error alone, on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tradeterm",
        description="A trading workstation for the terminal: Binance candles with Smart Money "
        "Concepts, guards and bracket orders. Runs offline against a built-in exchange.",
        epilog="Settings come from defaults < config file < TRADETERM_* environment < flags. "
        "Secrets are read from the environment or a 0600 file, never from flags.",
    )
    parser.add_argument("--version", action="version", version=f"tradeterm {__version__}")
    parser.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        help="demo (built-in venue, default), paper, testnet or live; live is never a default",
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML config file (default: the user config dir)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper)
    parser.add_argument("--theme", metavar="NAME", help="workstation theme (tradeterm-dark, tradeterm-light, "
                        "tradeterm-contrast, or one in the user theme folder)")
    parser.add_argument("--ephemeral", action="store_true",
                        help="demo: keep data in a temporary database that is deleted on exit")
    parser.add_argument("--speed", default="60", metavar="X",
                        help="demo market speed: market seconds per wall second, or 'max' (default 60)")
    parser.add_argument(
        "--daemon",
        action="store_true",
        help="run headless: JSON logs on stdout, /healthz /readyz /metrics on the daemon port",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def _cli_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if args.profile:
        overrides["profile"] = args.profile
    if args.log_level:
        overrides["log_level"] = args.log_level
    return overrides


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e6:
        raise UserError(f"--speed must be a positive number or 'max', not {text!r}")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    handler = getattr(args, "handler", None)
    if args.daemon:
        if handler is not None:
            raise UserError("--daemon runs on its own; it cannot be combined with a command")
        from tradeterm.ops.daemon import run_daemon

        return asyncio.run(run_daemon(settings))
    if handler is None:
        from tradeterm.workstation import run_workstation

        return asyncio.run(run_workstation(settings, theme=args.theme, ephemeral=args.ephemeral,
                                           speed=_speed(args.speed)))
    result = handler(args, settings)
    if inspect.isawaitable(result):
        result = asyncio.run(result)  # type: ignore[arg-type]
    return int(result or 0)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config, _cli_overrides(args))
        from tradeterm.ops.logging import configure_logging, register_secret

        configure_logging("text", settings.log_level)
        for secret in (settings.credentials.api_key, settings.credentials.api_secret):
            if secret is not None:
                register_secret(secret.get_secret_value())
        return run(args, settings)
    except UserError as exc:
        print(f"tradeterm: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("tradeterm: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line for the user, full detail in the log
        log.debug("unhandled error", exc_info=True)
        print(f"tradeterm: internal error: {type(exc).__name__}: {exc} (rerun with --log-level DEBUG for details)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
