"""``tradeterm db migrate`` and ``tradeterm db status``: the schema, by hand.

Stores migrate themselves when opened; these commands are for operators who want to do it
explicitly (before starting several daemons against one Postgres, say) or to see where a
database stands.
"""

from __future__ import annotations

import argparse
from typing import Any

from tradeterm.contracts import ms_to_iso
from tradeterm.errors import StoreError
from tradeterm.store import MigrationStatus, migrate, status
from tradeterm.store.url import redact


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="database schema: apply migrations, show status")
    sub = parser.add_subparsers(dest="db_command", metavar="{migrate,status}", required=True)
    for name, handler, text in (
        ("migrate", migrate_command, "apply pending schema migrations (safe to run again)"),
        ("status", status_command, "show the schema version and pending migrations"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument(
            "--db",
            metavar="URL",
            default=None,
            help=(
                "database URL (sqlite:///ABS/PATH.db or postgresql://…); default: the settings' "
                "database_url. Keep Postgres passwords out of the command line (settings, "
                "PGPASSWORD or ~/.pgpass)"
            ),
        )
        p.set_defaults(handler=handler)


def _url(args: argparse.Namespace, settings: Any) -> str:
    url: Any = getattr(args, "db", None) or getattr(settings, "database_url", None)
    if hasattr(url, "get_secret_value"):  # a pydantic SecretStr keeps the password out of reprs
        url = url.get_secret_value()
    if not url:
        raise StoreError("no database given: pass --db URL or set database_url in the settings")
    return str(url)


async def migrate_command(args: argparse.Namespace, settings: Any) -> int:
    url = _url(args, settings)
    applied = await migrate(url)
    st = await status(url)
    if applied:
        names = ", ".join(m.label for m in st.applied if m.version in applied)
        print(f"{redact(url)}: applied {names}; schema is now version {st.current}")
    else:
        print(f"{redact(url)}: schema is up to date (version {st.current})")
    return 0


async def status_command(args: argparse.Namespace, settings: Any) -> int:
    print(format_status(await status(_url(args, settings))))
    return 0


def format_status(st: MigrationStatus) -> str:
    lines = [
        f"database   {st.url}",
        f"schema     version {st.current} (this tradeterm knows up to {st.latest})",
    ]
    for a in st.applied:
        lines.append(f"applied    {a.label}  {ms_to_iso(a.applied_at)}")
    if st.pending:
        lines.append(
            f"pending    {', '.join(m.label for m in st.pending)}  (run: tradeterm db migrate)"
        )
    else:
        lines.append("pending    none")
    if st.timescale is not None:
        lines.append(
            f"timescale  {'candles is a hypertable' if st.timescale else 'not used (candles is a plain table)'}"
        )
    return "\n".join(lines)
