"""``cli.py import``: load a file or database table into the warehouse, validated, all-or-nothing.

``import TABLE SOURCE`` imports one canonical table; ``import flat SOURCE --id COL
--label COL`` imports a one-row-per-account table with a churn label. Exit status 0
on success, 2 when validation finds errors (the report goes to stderr and nothing is
written) or on any other problem the user can fix.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from data.errors import UserError
from data.mapping import IMPORTABLE_TABLES, Mapping
from data.sources import Source
from data.users import is_demo
from data.validation import ImportValidationError
from data.workspace import open_workspace

TABLE_CHOICES = [*IMPORTABLE_TABLES, "flat"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import", help="import a CSV/Parquet/Excel file or a database table into the warehouse",
        description="Import TABLE from SOURCE (a file path, or a SQLAlchemy URL with --query/--from-table). "
                    "Use TABLE 'flat' with --id and --label for one row per account with a churn label.",
    )
    p.add_argument("table", metavar="TABLE", choices=TABLE_CHOICES, help=f"one of: {', '.join(TABLE_CHOICES)}")
    p.add_argument("source", metavar="SOURCE", help="file path (.csv .tsv .parquet .xlsx) or SQLAlchemy URL")
    p.add_argument("--map", action="append", default=[], metavar="SRC=DST",
                   help="map source column SRC onto canonical column DST (repeatable; SRC= leaves SRC out, "
                        "also for 'flat')")
    p.add_argument("--mapping", metavar="FILE", help="YAML mapping file (see data/mapping.py)")
    p.add_argument("--save-mapping", metavar="FILE", help="write the mapping that was used to FILE (YAML)")
    p.add_argument("--mode", choices=["replace", "append"], default="replace")
    p.add_argument("--json", action="store_true", help="print the result (or the validation report) as JSON")
    p.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    p.add_argument("--allow-orphans", action="store_true",
                   help="replace accounts even when rows of other tables would be left without their account")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--query", metavar="SQL", help="one read-only SELECT to run on the database URL")
    src.add_argument("--from-table", metavar="NAME", help="table to read from the database URL")
    p.add_argument("--delimiter", metavar="D", help="CSV delimiter (default: sniffed), e.g. ';' or '\\t'")
    p.add_argument("--encoding", metavar="E", help="CSV encoding (default: sniffed), e.g. utf-8, cp1252, utf-16")
    p.add_argument("--no-header", action="store_true", help="the CSV/Excel file has no header row")
    p.add_argument("--skip", type=int, metavar="N", help="lines to skip before the header")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet name (default: the first sheet)")
    p.add_argument("--id", dest="id_col", metavar="COL", help="flat: the account id column")
    p.add_argument("--label", dest="label_col", metavar="COL", help="flat: the churn label column")
    p.add_argument("--positive", metavar="VALUE", help="flat: the label value that means churned")
    p.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                   help="the workspace's as-of date (default: the end of the data's activity, capped at today)")
    p.set_defaults(func=run)


def _overrides(pairs: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UserError(f"--map {pair!r} must look like SOURCE_COLUMN=CANONICAL_COLUMN.")
        src, dst = pair.split("=", 1)
        if not src.strip():
            raise UserError(f"--map {pair!r} has no source column before '='.")
        out[src.strip()] = dst.strip() or None
    return out


def _source(args: argparse.Namespace) -> Source:
    sheet: str | int | None = args.sheet
    if sheet is not None and sheet.isdigit():
        sheet = int(sheet)
    src = Source.from_text(args.source, delimiter=args.delimiter, encoding=args.encoding,
                           header=False if args.no_header else None, skip=args.skip, sheet=sheet)
    if src.url:
        src.query, src.table = args.query, args.from_table
        if not (src.query or src.table):
            raise UserError("SOURCE is a database URL: add --query 'SELECT ...' or --from-table NAME.")
    elif args.query or args.from_table:
        raise UserError("--query and --from-table need SOURCE to be a database URL such as postgresql://user@host/crm.")
    return src


def run(args: argparse.Namespace) -> int:
    from data.importer import import_flat, import_table  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    source = _source(args)
    as_of = _as_of(args.as_of)
    was_demo = ws.settings.auth_file.exists() and is_demo(ws.settings.auth_file)
    try:
        if args.table == "flat":
            if not args.id_col or not args.label_col:
                raise UserError("import flat needs --id COL and --label COL.")
            if args.mapping or args.mode != "replace":
                raise UserError("import flat takes no --mapping or --mode: it replaces the workspace's data "
                                "(use --map COL= to leave a column out).")
            result = import_flat(ws.warehouse, source, args.id_col, args.label_col, args.positive,
                                 overrides=_overrides(args.map), max_mb=ws.settings.max_upload_mb,
                                 dry_run=args.dry_run, as_of=as_of)
        else:
            if args.id_col or args.label_col or args.positive:
                raise UserError("--id, --label and --positive are only for 'import flat'.")
            mapping = Mapping.load(args.mapping) if args.mapping else None
            result = import_table(ws.warehouse, args.table, source, mapping, args.mode,
                                  overrides=_overrides(args.map), max_mb=ws.settings.max_upload_mb,
                                  dry_run=args.dry_run, allow_orphans=args.allow_orphans, as_of=as_of)
    except ImportValidationError as exc:
        if args.json:
            print(json.dumps({"ok": False, "report": exc.report.to_dict()}, indent=2, default=str), file=sys.stderr)
        else:
            print(exc.report.to_text(), file=sys.stderr)
        return 2
    if args.save_mapping and args.table != "flat":
        result.mappings[args.table].save(args.save_mapping)
    support = None
    if not args.dry_run:
        from models.outlook import data_support  # deferred: import time (the CLI loads every command)

        with ws.warehouse.reader() as con:
            support = data_support(con)
    if was_demo and not args.dry_run:
        print("This workspace now holds imported data: the demo logins are disabled. "
              "Add real users with `cli.py users add`.", file=sys.stderr)
    if args.json:
        out = result.to_dict()
        if support is not None:
            out["supports"] = support.to_json()
        print(json.dumps(out, indent=2, default=str))
        return 0
    verb = "would write" if args.dry_run else "wrote"
    for table, n in result.tables.items():
        print(f"{verb} {n:,} rows to {table} ({result.mode}) from {source.label}")
    if result.report.warnings:
        print(result.report.to_text())
    if support is not None:
        print()
        print(support.to_text())
    return 0


def _as_of(text: str | None):
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--as-of {text!r} is not a date; use YYYY-MM-DD.") from None
