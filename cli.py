"""Batch entry for cron and CI: ``python cli.py [--workspace DIR] COMMAND ...``.

Each command group lives in ``commands/`` and registers its own sub-parser. A
:class:`data.errors.UserError` prints one line on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from data.compat import limit_threads
from data.errors import UserError

COMMAND_MODULES = (
    "commands.demo",
    "commands.export",
    "commands.users",
    "commands.models",
    "commands.imports",
    "commands.playbooks",
    "commands.maintenance",
    "commands.spark",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cli.py", description="Customer Success AI Platform batch jobs.")
    parser.add_argument("--workspace", help="workspace folder (default: $CSAI_WORKSPACE or ./workspace)")
    parser.add_argument("--engine", choices=["embedded", "spark"],
                        help="batch engine for score (default: $CSAI_ENGINE or embedded)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    limit_threads()  # one BLAS/OpenMP thread per process (CSAI_BLAS_THREADS)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
