"""``tradeterm contracts export DIR``: write the JSON Schema of every v1 contract."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tradeterm.errors import UserError


def register(sub: Any) -> None:
    parser = sub.add_parser("contracts", help="the v1 event contracts (JSON Schema export)")
    csub = parser.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    export = csub.add_parser("export", help="write one JSON Schema file per contract into DIR")
    export.add_argument("dir", type=Path, metavar="DIR")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace, settings: object) -> int:
    from tradeterm.contracts import export_schemas

    directory: Path = args.dir
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory} exists and is not a directory")
    try:
        written = export_schemas(directory)
    except OSError as exc:
        raise UserError(f"cannot write schemas to {directory}: {exc.strerror}") from None
    for path in written:
        print(path)
    print(f"wrote {len(written)} JSON Schemas to {directory}")
    return 0
