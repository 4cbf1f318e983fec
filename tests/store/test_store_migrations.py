"""Migration runner on both backends: idempotent, transactional, and refusing databases it must
not touch (ahead of the code, or with an edited migration)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tradeterm.errors import StoreError
from tradeterm.store import create_store, migrate, schema, status
from tradeterm.store.migrations import checksum, load_migrations, migrations_dir

PG_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""Run a ``db_url``/``store`` test on Postgres only."""


async def test_status_before_and_after_migrate(db_url: str) -> None:
    before = await status(db_url)
    assert (before.current, before.latest) == (0, 2)
    assert [m.label for m in before.pending] == ["0001_initial", "0002_paper_state"]
    assert before.applied == () and not before.up_to_date

    assert await migrate(db_url) == [1, 2]

    after = await status(db_url)
    assert (after.current, after.latest, after.pending) == (2, 2, ())
    assert [(a.version, a.name) for a in after.applied] == [(1, "initial"), (2, "paper_state")]
    assert after.applied[0].checksum == load_migrations(after.dialect)[0].checksum
    assert after.up_to_date
    assert after.timescale is (None if after.dialect == "sqlite" else False)


async def test_migrate_twice_is_idempotent(db_url: str, raw) -> None:
    assert await migrate(db_url) == [1, 2]
    first = await raw.dump()
    assert await migrate(db_url) == []
    assert await raw.dump() == first
    assert "schema_migrations" in first and len(first["schema_migrations"]) == 2


async def test_concurrent_migrations_apply_once(db_url: str) -> None:
    """Several processes starting on a new database at once: one migrates, none fails."""
    results = await asyncio.gather(*(migrate(db_url) for _ in range(3)), return_exceptions=True)
    assert sorted(map(str, results)) == ["[1, 2]", "[]", "[]"]


async def test_newer_database_is_refused(db_url: str, raw) -> None:
    await migrate(db_url)
    await raw.execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (7, 'future', 'x', 0)"
    )
    expected = "database schema is version 7 but this tradeterm knows up to 2; upgrade tradeterm"
    for attempt in (migrate(db_url), status(db_url), create_store(db_url).open()):
        with pytest.raises(StoreError) as info:
            await attempt
        assert str(info.value) == expected


async def test_changed_checksum_is_refused(db_url: str, raw) -> None:
    await migrate(db_url)
    await raw.execute("UPDATE schema_migrations SET checksum = $1 WHERE version = 1", "0" * 64)
    for attempt in (migrate(db_url), create_store(db_url).open()):
        with pytest.raises(
            StoreError, match=r"migration 0001_initial was changed after it was applied"
        ):
            await attempt


async def test_store_without_auto_migrate_refuses_a_schema_behind(db_url: str) -> None:
    with pytest.raises(
        StoreError, match=r"version 0 but this tradeterm needs 2; run `tradeterm db migrate`"
    ):
        await create_store(db_url, auto_migrate=False).open()
    await migrate(db_url)
    async with create_store(db_url, auto_migrate=False) as store:
        assert await store.candle_count("binance-spot", "BTCUSDT", "1m") == 0


async def test_failed_migration_leaves_nothing_behind(db_url: str, raw, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    for dialect in ("sqlite", "postgres"):
        (folder / dialect).mkdir(parents=True)
        (folder / dialect / "0001_first.sql").write_text("CREATE TABLE first_t (x INTEGER);\n")
        (folder / dialect / "0002_broken.sql").write_text(
            "CREATE TABLE second_t (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
        )
    with pytest.raises(StoreError, match=r"migration 0002_broken failed"):
        await migrate(db_url, directory=folder)
    st = await status(db_url, directory=folder)
    assert (st.current, [m.label for m in st.pending]) == (1, ["0002_broken"])
    # second_t was created inside the failed migration's transaction and went with it.
    assert set(await raw.tables()) == {"schema_migrations", "first_t"}
    for dialect in ("sqlite", "postgres"):
        (folder / dialect / "0002_broken.sql").write_text("CREATE TABLE second_t (x INTEGER);\n")
    assert await migrate(db_url, directory=folder) == [2]
    assert set(await raw.tables()) == {"schema_migrations", "first_t", "second_t"}


async def test_every_schema_column_exists(store, raw) -> None:
    """schema.py (what the code reads and writes) matches the migration SQL."""
    specs: dict[str, tuple[str, ...]] = {t.name: t.names for t in schema.TABLES}
    specs |= {
        "candles": schema.CANDLES.names,
        "candle_series": schema.CANDLE_SERIES_COLUMNS,
        "journal": schema.JOURNAL_COLUMNS,
        "journal_tags": schema.JOURNAL_TAG_COLUMNS,
        "audit_log": schema.AUDIT_COLUMNS,
    }
    for table, columns in specs.items():
        cols = ", ".join(f'"{c}"' for c in columns)
        assert await raw.fetch(f'SELECT {cols} FROM "{table}" LIMIT 0') == []
    assert set(specs) | {"schema_migrations"} == set(await raw.tables())


@PG_ONLY
async def test_postgres_without_timescaledb_keeps_candles_a_plain_table(db_url: str) -> None:
    """The server here has no TimescaleDB: the migration's hypertable block must be a no-op."""
    await migrate(db_url)
    assert (await status(db_url)).timescale is False


def test_migration_files_are_found_and_numbered() -> None:
    root = migrations_dir()
    for dialect in ("sqlite", "postgres"):
        found = load_migrations(dialect)
        assert [m.version for m in found] == list(range(1, len(found) + 1))
        assert found[0].checksum == checksum(root.joinpath(dialect, "0001_initial.sql").read_text())


def test_checksum_ignores_line_endings_only() -> None:
    assert checksum("a;\nb;\n") == checksum("a;\r\nb;\r\n")
    assert checksum("a;\nb;\n") != checksum("a;\nc;\n")


def test_gap_in_numbering_is_an_install_error(tmp_path: Path) -> None:
    (tmp_path / "sqlite").mkdir()
    (tmp_path / "sqlite" / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "sqlite" / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(StoreError, match="not numbered"):
        load_migrations("sqlite", tmp_path)
