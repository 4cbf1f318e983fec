"""What the user sees when the database cannot be used: one clear line, never a password."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tradeterm.errors import StoreError, UserError
from tradeterm.store import create_store, migrate, redact, status
from tradeterm.store.url import parse_url

SECRET = "s3cr3t-Pw"

PG_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""Run a ``db_url``/``store`` test on Postgres only."""


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "no database URL given"),
        ("tradeterm.db", "has no scheme"),
        ("mysql://root@localhost/db", "unsupported database URL scheme 'mysql'"),
        ("sqlite://relative/path.db", "needs an absolute path"),
        ("sqlite:///var/lib/", "names a directory"),
        (f"postgresql://user:{SECRET}@host:notaport/db", "malformed Postgres URL"),
        (f"mysql://user:{SECRET}@host/db", "unsupported"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as info:
        create_store(url)
    text = str(info.value)
    assert isinstance(info.value, UserError) and "\n" not in text and SECRET not in text


def test_url_forms() -> None:
    assert parse_url("sqlite:///home/me/t.db").target == "/home/me/t.db"
    assert parse_url("sqlite:////home/me/t.db").target == "/home/me/t.db"
    assert parse_url("sqlite:///:memory:").is_memory
    assert parse_url("sqlite:///home/me/my%20data.db").target == "/home/me/my data.db"
    pg = parse_url(f"postgres://bob:{SECRET}@db.example:5433/trading?search_path=tt")
    assert (
        pg.dialect == "postgres" and pg.target.startswith("postgresql://") and pg.password == SECRET
    )
    assert parse_url("postgresql+asyncpg://bob@db/x").target == "postgresql://bob@db/x"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob:{SECRET}@db.example:5432/trading",
        f"postgresql://bob@db.example/trading?sslmode=require&password={SECRET}",
        f"postgresql://bob:{SECRET}@[::1:5432/x",  # malformed: the fallback still redacts
    ],
)
def test_redact_hides_passwords(url: str) -> None:
    shown = redact(url)
    assert SECRET not in shown and "***" in shown and "bob" in shown


def test_redact_keeps_urls_without_secrets() -> None:
    assert (
        redact("postgresql://bob@db:5432/x?search_path=tt")
        == "postgresql://bob@db:5432/x?search_path=tt"
    )
    assert redact("sqlite:///home/me/t.db") == "sqlite:///home/me/t.db"


async def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql://trader:{SECRET}@127.0.0.1:1/tradeterm"
    for attempt in (create_store(url).open(), migrate(url), status(url)):
        with pytest.raises(StoreError) as info:
            await attempt
        text = str(info.value)
        assert text.startswith(
            "cannot connect to Postgres at postgresql://trader:***@127.0.0.1:1/tradeterm: "
        )
        assert "connection refused" in text and SECRET not in text and "\n" not in text
        assert info.value.__cause__ is None and info.value.__suppress_context__


@PG_ONLY
async def test_missing_postgres_database(db_url: str) -> None:
    url = db_url.replace("/test?", "/tradeterm_no_such_db?")
    with pytest.raises(
        StoreError,
        match=r'cannot connect to Postgres at .*: database "tradeterm_no_such_db" does not exist',
    ):
        await create_store(url).open()


@PG_ONLY
async def test_postgres_search_path_naming_no_schema(db_url: str) -> None:
    url = db_url.split("?")[0] + "?search_path=tt_missing_schema"
    with pytest.raises(StoreError, match="search_path names no existing schema"):
        await create_store(url).open()


async def test_sqlite_path_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(
        StoreError, match=rf"cannot create the directory {blocker} for the SQLite database"
    ):
        await create_store(f"sqlite://{blocker}/t.db").open()


async def test_sqlite_unwritable_location(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    # Root ignores directory permissions, but even root cannot create a file in /proc.
    target = Path("/proc/tradeterm-test.db") if os.geteuid() == 0 else locked / "t.db"
    try:
        with pytest.raises(
            StoreError, match=rf"SQLite database {target}: unable to open database file"
        ):
            await create_store(f"sqlite://{target}").open()
    finally:
        locked.chmod(stat.S_IRWXU)


async def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file, not even close" * 100)
    with pytest.raises(
        StoreError, match=rf"cannot use SQLite database {junk}: file is not a database"
    ):
        await create_store(f"sqlite://{junk}").open()


async def test_in_memory_sqlite_works() -> None:
    async with create_store("sqlite:///:memory:") as store:
        await store.append_audit("test", "hello")
        assert [e.message for e in await store.list_audit()] == ["hello"]


async def test_closed_store_says_so() -> None:
    store = create_store("sqlite:///:memory:")
    with pytest.raises(StoreError, match="is not open"):
        await store.list_audit()
