"""Shared database fixtures: ``db_url`` (a fresh, empty database) and ``store`` (that database,
migrated and open), each parametrised over SQLite and Postgres so one suite covers both.

Postgres comes from ``TRADETERM_TEST_PG_DSN``; each test gets its own schema (via
``?search_path=``), dropped afterwards, so parallel runs never collide. Without the variable the
Postgres cases skip, except under ``CI=true``, where a missing server must fail the build rather
than quietly test half the code.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

from tradeterm.store import Store, create_store

PG_ENV = "TRADETERM_TEST_PG_DSN"


def pg_dsn() -> str:
    """The test server's DSN, or skip (fail under CI) with the reason."""
    dsn = os.environ.get(PG_ENV, "").strip()
    if not dsn:
        reason = f"{PG_ENV} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test); Postgres store tests need it"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{reason}, and CI=true: failing instead of skipping", pytrace=False)
        pytest.skip(reason)
    return dsn


def with_search_path(dsn: str, schema: str) -> str:
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"] + [
        ("search_path", schema)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _pg_schema_url() -> AsyncIterator[str]:
    dsn = pg_dsn()
    schema = f"tt_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    try:
        yield with_search_path(dsn, schema)
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh, empty (unmigrated) database."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'tradeterm.db'}"
        return
    async for url in _pg_schema_url():
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """An open, migrated store on a fresh database."""
    async with create_store(db_url) as s:
        yield s


@pytest.fixture(autouse=True)
def _isolated_tradeterm_logging() -> Iterator[None]:
    """Undo what ``configure_logging`` does to the ``tradeterm`` logger (its own handler,
    ``propagate = False``, a level) after each test that ran it in-process (the CLI, the daemon),
    so a later test's ``caplog`` still sees tradeterm's records whatever the test order."""
    logger = logging.getLogger("tradeterm")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    for h in list(logger.handlers):
        if h not in saved[0]:
            logger.removeHandler(h)
    logger.propagate, logger.level = saved[1], saved[2]
