"""A workspace: settings plus the warehouse and operational store they point at.

The workspace holds customer data, password hashes and models, so it is private to the
account that runs the app: opening one sets the process umask to :data:`PRIVATE_UMASK`
(every folder and file created afterwards, by us, DuckDB or SQLite, is owner-only:
0700 / 0600) and takes group and other permissions away from the workspace folder and
the stores already in it. Other files someone keeps in the folder are left as they are.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import sqlalchemy as sa

from data.opstore import get_engine
from data.settings import Settings, load_settings
from data.warehouse import Warehouse

PRIVATE_UMASK = 0o077
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def store_paths(settings: Settings) -> list[Path]:
    """The workspace's own folders and files: warehouse, models, uploads, content, auth file, SQLite store."""
    paths = [settings.warehouse_dir, settings.models_dir, settings.uploads_dir, settings.content_dir,
             settings.auth_file, settings.auth_file.with_name(settings.auth_file.name + ".lock")]
    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        paths += [database.with_name(database.name + side) for side in SQLITE_SIDE_FILES]
    return paths


def make_private(settings: Settings) -> None:
    """Owner-only permissions (0700 folders, 0600 files) for the workspace and its stores, from now on too.

    Sets the process umask to :data:`PRIVATE_UMASK`, then tightens the workspace folder
    and everything in :func:`store_paths` that exists already (a workspace made by an
    older version). Entries not owned by this user, and symbolic links, are left alone.
    """
    os.umask(PRIVATE_UMASK)
    _restrict(settings.workspace)
    for path in store_paths(settings):
        _restrict(path)
        if path.is_dir() and not path.is_symlink():
            for folder, dirs, files in os.walk(path):
                for name in dirs + files:
                    _restrict(Path(folder) / name)


def _restrict(path: Path) -> None:
    with contextlib.suppress(OSError):  # missing, vanished meanwhile, or not ours
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or not info.st_mode & 0o077:
            return
        os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)


@dataclass(frozen=True)
class Workspace:
    settings: Settings

    def __post_init__(self) -> None:
        make_private(self.settings)

    @cached_property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings.warehouse_dir)

    @cached_property
    def engine(self) -> sa.Engine:
        return get_engine(self.settings.database_url)

    @property
    def path(self):
        return self.settings.workspace


def open_workspace(path: str | None = None) -> Workspace:
    """Load settings (``path`` wins over ``CSAI_WORKSPACE``) and open the workspace (made owner-only)."""
    return Workspace(load_settings(path))
