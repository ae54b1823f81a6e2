"""``cli.py migrate | backup DIR | restore DIR | check``: keep a workspace for years.

* ``migrate`` upgrades the operational store (Alembic, under a lock) and older warehouse
  snapshots in place and says what it did; it refuses a workspace newer than the code.
* ``backup DIR`` writes a consistent copy while the app serves and jobs run, with a
  manifest of SHA-256 checksums (see :mod:`data.backup`).
* ``restore DIR`` verifies the checksums and restores into an empty workspace (``--force``
  replaces one that has data); stop the app and cron jobs first.
* ``check`` verifies schema, foreign keys, snapshots, warehouse keys and model artifacts;
  exits 1 when it finds a problem. ``check --backup DIR`` verifies a backup folder instead.
"""

from __future__ import annotations

import argparse
import sys

from data.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("migrate", help="upgrade the workspace's schemas in place (safe to run at every start)")
    p.set_defaults(func=_migrate)
    p = sub.add_parser("backup", help="write a consistent copy of the workspace to a new folder")
    p.add_argument("dir", help="a new or empty folder outside the workspace")
    p.set_defaults(func=_backup)
    p = sub.add_parser("restore", help="restore a backup folder into the workspace (verifies checksums)")
    p.add_argument("dir", help="a folder written by `cli.py backup`")
    p.add_argument("--force", action="store_true", help="replace the data of a workspace that is not empty")
    p.set_defaults(func=_restore)
    p = sub.add_parser("check", help="integrity check: keys, orphans, snapshot and model checksums")
    p.add_argument("--backup", metavar="DIR", help="verify a backup folder's checksums instead of the workspace")
    p.set_defaults(func=_check)


def _migrate(args: argparse.Namespace) -> int:
    from data.migrations import migrate_workspace  # deferred: import time (alembic)

    for line in migrate_workspace(load_settings(args.workspace)):
        print(line)
    return 0


def _backup(args: argparse.Namespace) -> int:
    from data.backup import backup_workspace  # deferred: import time (alembic)

    settings = load_settings(args.workspace)
    manifest = backup_workspace(settings, args.dir)
    size = sum(f["bytes"] for f in manifest["files"].values())
    print(f"Backed up {settings.workspace} to {args.dir}: {len(manifest['files'])} files, {size / 1e6:,.1f} MB, "
          f"operational store ({manifest['store']}) at revision {manifest['store_revision']}.")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from data.backup import restore_workspace  # deferred: import time (alembic)

    for line in restore_workspace(load_settings(args.workspace), args.dir, force=args.force):
        print(line)
    return 0


def _check(args: argparse.Namespace) -> int:
    from data.backup import check_workspace, verify_backup  # deferred: import time (alembic)

    if args.backup:
        manifest = verify_backup(args.backup)
        print(f"Backup {args.backup}: all {len(manifest['files'])} files match their checksums.")
        return 0
    report = check_workspace(load_settings(args.workspace))
    for line in report.checked:
        print(f"ok: {line}")
    for line in report.problems:
        print(f"problem: {line}", file=sys.stderr)
    print("Workspace is consistent." if report.ok else f"{len(report.problems)} problems found.")
    return 0 if report.ok else 1
