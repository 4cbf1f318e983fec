"""``tradeterm db migrate|status`` handlers, called the way the CLI calls them."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from tradeterm.commands import db
from tradeterm.errors import StoreError


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tradeterm")
    db.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


async def test_db_status_then_migrate_then_status(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # --db not given: settings decide (a SecretStr, as settings may hold a URL with a password)
    settings = SimpleNamespace(database_url=SecretStr(db_url))
    args = parse(["db", "status"])
    assert await args.handler(args, settings) == 0
    out = capsys.readouterr().out
    assert "schema     version 0 (this tradeterm knows up to 2)" in out
    assert "pending    0001_initial, 0002_paper_state" in out

    args = parse(["db", "migrate", "--db", db_url])
    assert await args.handler(args, SimpleNamespace(database_url=None)) == 0
    assert "applied 0001_initial, 0002_paper_state; schema is now version 2" in capsys.readouterr().out

    assert await args.handler(args, settings) == 0
    assert "schema is up to date (version 2)" in capsys.readouterr().out

    args = parse(["db", "status", "--db", db_url])
    assert await args.handler(args, settings) == 0
    out = capsys.readouterr().out
    assert "pending    none" in out and "applied    0001_initial" in out
    if db_url.startswith("postgresql"):
        assert "timescale  not used (candles is a plain table)" in out


async def test_db_command_without_a_url() -> None:
    args = parse(["db", "status"])
    with pytest.raises(StoreError, match="pass --db URL or set database_url"):
        await args.handler(args, SimpleNamespace(database_url=""))


def test_db_needs_a_subcommand() -> None:
    with pytest.raises(SystemExit):
        parse(["db"])
