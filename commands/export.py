"""``cli.py export TABLE FILE``: write any warehouse table to CSV or Parquet."""

from __future__ import annotations

import argparse

from data.export import export_table
from data.workspace import open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a warehouse table to a .csv or .parquet file")
    p.add_argument("table")
    p.add_argument("file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    n = export_table(ws.warehouse, args.table, args.file)
    print(f"wrote {n} rows of {args.table} to {args.file}")
    return 0
