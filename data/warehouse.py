"""The DuckDB warehouse: immutable snapshot files per layer, swapped atomically.

DuckDB allows one writing process per file, and the Streamlit server and ``cli.py``
jobs are different processes. So no file is ever written after readers can see it:

* The warehouse has *layers*: ``raw`` (canonical input tables, written by ``demo`` and
  ``import``) and ``results`` (features, scores, explanations, written by ``train`` and
  ``score``).
* A writer takes the layer's lock file, copies the current snapshot of that layer to a
  new file (or starts empty), writes inside it, checkpoints and closes it, then
  atomically replaces ``CURRENT.json`` (write temp + ``os.replace``). A writer that
  fails or is killed leaves only an orphan file; readers never see it.
* Readers open an in-memory DuckDB connection, ``ATTACH`` the current snapshot of each
  layer ``READ_ONLY`` and expose its tables as plain views, so queries use unqualified
  table names. :meth:`Warehouse.version` changes whenever any layer is replaced, which
  is what caches key on.

Old snapshots are deleted after a few newer ones exist; a reader that still has one
open keeps reading it (POSIX unlink semantics).

Every snapshot carries its schema version in the table ``csai_snapshot_meta``
(``key``/``value``; not exposed to readers). A writer brings the new snapshot up to
:data:`SNAPSHOT_SCHEMA_VERSION` through :data:`SNAPSHOT_UPGRADES` before the caller
writes; :meth:`Warehouse.upgrade_snapshots` (``cli.py migrate``) rewrites older current
snapshots the same way, and refuses snapshots newer than the code. A snapshot written
before versioning has no meta table and counts as version 0.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from data.errors import UserError
from data.schema import ALL_RAW_TABLES, create_table_sql, ensure_raw_schema

LAYERS = ("raw", "results")
KEEP_VERSIONS = 3
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


class DiskFullError(UserError):
    """A snapshot could not be written for want of disk space; the partial file was removed."""


def _is_disk_full(exc: BaseException) -> bool:
    """True for ENOSPC/EDQUOT from Python, and DuckDB's I/O errors that report them."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    text = str(exc).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


log = logging.getLogger("csai.warehouse")
DAMAGED_HELP = ("Restore the workspace folder from a backup. Or start its data again: move the workspace's "
                "'warehouse' folder aside and re-run your imports (`python cli.py import ...`), or rebuild the "
                "demo with `python cli.py demo --force`.")


class WarehouseDamaged(UserError):
    """The snapshot pointer or a snapshot file cannot be read; the message says how to recover.

    The message names no server path; the details go to the server log (logger ``csai.warehouse``).
    """


class Warehouse:
    """Snapshot-versioned DuckDB warehouse rooted at ``root`` (``workspace/warehouse``)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # customer data: owner-only
        self._pointer = self.root / "CURRENT.json"

    # ----------------------------------------------------------------- pointer
    def current(self) -> dict[str, str]:
        """Layer name -> snapshot file name, for layers that have one."""
        try:
            cur = json.loads(self._pointer.read_text())
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as exc:
            raise self._damaged("the list of current snapshots (CURRENT.json) cannot be read", exc) from None
        if not isinstance(cur, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cur.items()):
            raise self._damaged("the list of current snapshots (CURRENT.json) is not valid", None)
        return cur

    def _damaged(self, what: str, exc: BaseException | None) -> WarehouseDamaged:
        log.error("warehouse %s is damaged: %s (%s)", self.root, what, exc if exc is not None else "bad content")
        return WarehouseDamaged(f"The data of this workspace cannot be read: {what}. {DAMAGED_HELP}")

    def discard_damaged_pointer(self) -> None:
        """Set a damaged CURRENT.json aside (as CURRENT.json.damaged) so the warehouse starts empty."""
        try:
            self.current()
        except WarehouseDamaged:
            os.replace(self._pointer, self.root / "CURRENT.json.damaged")
            log.warning("warehouse %s: damaged CURRENT.json set aside as CURRENT.json.damaged", self.root)

    def pointer_stamp(self) -> tuple[int, int, int] | None:
        """(inode, mtime ns, size) of the snapshot pointer file, None before the first publish.

        Publishing replaces the pointer atomically (a new inode), so an unchanged stamp means
        an unchanged :meth:`version` without reading the file.
        """
        try:
            info = os.stat(self._pointer)
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def version(self) -> str:
        """A string that changes whenever any layer's snapshot is replaced."""
        cur = self.current()
        return "|".join(f"{k}={cur[k]}" for k in sorted(cur))

    def has_data(self) -> bool:
        """True when the raw layer exists and holds at least one account."""
        if "raw" not in self.current():
            return False
        with self.reader() as con:
            return con.execute("SELECT count(*) FROM accounts").fetchall()[0][0] > 0

    def _path(self, name: str) -> Path:
        return self.root / name

    # ----------------------------------------------------------------- readers
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new read-only connection to the current snapshots (caller closes it).

        Tables of every layer appear as views under their own names. Use
        ``con.cursor()`` per query when several threads share one connection.
        """
        for attempt in range(3):
            cur = self.current()
            con = duckdb.connect(config=duckdb_config())
            try:
                for layer in LAYERS:
                    if layer in cur:
                        path = self._path(cur[layer])
                        con.execute(f"ATTACH '{_sql_path(path)}' AS {layer} (READ_ONLY)")
                _expose_layers(con, [layer for layer in LAYERS if layer in cur], temp=False)
                if "raw" not in cur:
                    _expose_empty_raw(con)
                return con
            except duckdb.IOException as exc:
                con.close()
                if attempt == 2:
                    raise self._damaged("a snapshot file is missing or is not a readable database", exc) from None
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Context manager around :meth:`connect`."""
        con = self.connect()
        try:
            yield con
        finally:
            con.close()

    # ----------------------------------------------------------------- writers
    def lock(self, layer: str) -> contextlib.AbstractContextManager[None]:
        """Hold ``layer``'s writer lock (across processes) for a block; :meth:`writer` inside it does not wait.

        For a check-then-write that must see no other writer in between, such as an
        import's key validation and its write. Re-entrant within one thread.
        """
        if layer not in LAYERS:
            raise ValueError(f"unknown warehouse layer {layer!r}")
        return _layer_lock(self.root / f".{layer}.lock")

    @contextlib.contextmanager
    def writer(self, layer: str, *, fresh: bool = False,
               con: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Write a new snapshot of ``layer``; it becomes visible only on success.

        The connection's default database is the new snapshot (``USE layer``), so
        unqualified ``CREATE TABLE`` lands there; the other layers' tables are
        readable by their plain names through temporary views (visible on this
        connection only, not on its cursors). ``fresh=True`` starts from an empty
        snapshot instead of a copy of the current one. Writers of one layer are
        serialised across processes by a lock file.

        ``con``: write through this existing connection instead of a new one (an
        import streams rows from its own staging tables straight into the snapshot).
        The snapshot is attached to it as ``layer`` for the duration of the block, the
        connection's default database is left as it is (address the layer's tables as
        ``raw.accounts``), and everything attached or created by the writer is detached
        or dropped again afterwards; the caller keeps and closes the connection.
        """
        if layer not in LAYERS:
            raise ValueError(f"unknown warehouse layer {layer!r}")
        with _layer_lock(self.root / f".{layer}.lock"):
            cur = self.current()
            new_name = f"{layer}-{uuid.uuid4().hex[:12]}.duckdb"
            new_path = self._path(new_name)
            own = con is None
            home = None
            attached: list[str] = []
            temp_before: set[tuple[str, str]] = set()
            committed = False
            if not own:
                home = con.execute("SELECT current_database()").fetchall()[0][0]
                temp_before = _temp_objects(con)
            try:
                if not fresh and layer in cur:
                    shutil.copyfile(self._path(cur[layer]), new_path)  # inside the try: a partial copy is removed
                if own:
                    con = duckdb.connect(config=duckdb_config())
                con.execute(f"ATTACH '{_sql_path(new_path)}' AS {layer}")
                attached.append(layer)
                others = [o for o in LAYERS if o != layer and o in cur]
                for other in others:
                    con.execute(f"ATTACH '{_sql_path(self._path(cur[other]))}' AS {other} (READ_ONLY)")
                    attached.append(other)
                con.execute(f"USE {layer}")
                if layer == "raw":
                    ensure_raw_schema(con)
                upgrade_snapshot(con, layer)
                _expose_layers(con, others, temp=True)
                if "raw" not in cur and layer != "raw":
                    _expose_empty_raw(con, temp=True)
                if home is not None:
                    con.execute(f'USE "{home}"')  # the caller's own database, from DuckDB's catalog
                yield con
                con.execute(f"CHECKPOINT {layer}")
                if own:
                    con.close()
                else:
                    _release(con, home, attached, temp_before)
                self._commit(layer, new_name)
                committed = True
            except (OSError, duckdb.IOException) as exc:
                if _is_disk_full(exc):
                    raise DiskFullError(f"disk full while writing the {layer} snapshot in {self.root}; free some "
                                        "space and run it again (nothing was changed)") from None
                raise
            finally:
                if not committed:
                    with contextlib.suppress(Exception):
                        if con is not None and own:
                            con.close()
                        elif con is not None:
                            _release(con, home, attached, temp_before)
                    for p in (new_path, Path(str(new_path) + ".wal")):
                        with contextlib.suppress(FileNotFoundError):
                            p.unlink()

    def _commit(self, layer: str, new_name: str) -> None:
        with _layer_lock(self.root / ".pointer.lock"):
            cur = self.current()
            cur[layer] = new_name
            tmp = self.root / f".CURRENT.{uuid.uuid4().hex}.tmp"
            try:
                with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
                    json.dump(cur, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self._pointer)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                raise
            _fsync_dir(self.root)
            self._collect_garbage(layer, keep=cur[layer])

    def _collect_garbage(self, layer: str, keep: str) -> None:
        snapshots = sorted(self.root.glob(f"{layer}-*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in snapshots[KEEP_VERSIONS:]:
            if old.name != keep:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()


# --------------------------------------------------------------- snapshot schema version
SNAPSHOT_META_TABLE = "csai_snapshot_meta"
SNAPSHOT_SCHEMA_VERSION = 1


def _snapshot_v0_to_v1(con: duckdb.DuckDBPyConnection, layer: str) -> None:
    """Version 1 adds only the meta table itself (created by :func:`upgrade_snapshot`)."""


# Step ``n`` upgrades a snapshot of version ``n`` to ``n + 1``; it runs on the writer's
# connection with the new snapshot as the default database (``USE layer``). A new
# step: add ``n: fn`` here and raise SNAPSHOT_SCHEMA_VERSION to ``n + 1``.
SNAPSHOT_UPGRADES: dict[int, Callable[[duckdb.DuckDBPyConnection, str], None]] = {0: _snapshot_v0_to_v1}


def snapshot_schema_version(con: duckdb.DuckDBPyConnection, database: str) -> int:
    """Schema version of the snapshot attached as ``database`` (0 without a meta table)."""
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
                        [database, SNAPSHOT_META_TABLE]).fetchall()[0][0]
    if not found:
        return 0
    row = con.execute(f'SELECT value FROM "{database}".{SNAPSHOT_META_TABLE} WHERE key = ?',  # noqa: S608 - our names
                      ["schema_version"]).fetchall()
    return int(row[0][0]) if row else 0


def upgrade_snapshot(con: duckdb.DuckDBPyConnection, layer: str) -> int:
    """Bring the snapshot attached as ``layer`` to :data:`SNAPSHOT_SCHEMA_VERSION`; returns the old version."""
    old = snapshot_schema_version(con, layer)
    if old > SNAPSHOT_SCHEMA_VERSION:
        raise UserError(f"The warehouse's {layer} snapshot has schema version {old}, newer than this version of "
                        f"the code ({SNAPSHOT_SCHEMA_VERSION}); run the newer version or restore a backup.")
    for version in range(old, SNAPSHOT_SCHEMA_VERSION):
        SNAPSHOT_UPGRADES[version](con, layer)
    con.execute(f'CREATE TABLE IF NOT EXISTS "{layer}".{SNAPSHOT_META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)')
    con.execute(f'INSERT OR REPLACE INTO "{layer}".{SNAPSHOT_META_TABLE} VALUES (?, ?)',  # noqa: S608 - our names
                ["schema_version", str(SNAPSHOT_SCHEMA_VERSION)])
    return old


def snapshot_versions(warehouse: Warehouse) -> dict[str, int]:
    """Layer -> schema version of its current snapshot."""
    out = {}
    cur = warehouse.current()
    con = duckdb.connect()
    try:
        for layer in LAYERS:
            if layer in cur:
                con.execute(f"ATTACH '{_sql_path(warehouse.root / cur[layer])}' AS {layer} (READ_ONLY)")
                out[layer] = snapshot_schema_version(con, layer)
    except duckdb.IOException as exc:
        raise warehouse._damaged("a snapshot file is missing or is not a readable database", exc) from None
    finally:
        con.close()
    return out


def upgrade_snapshots(warehouse: Warehouse) -> list[str]:
    """Rewrite current snapshots older than the code (a new snapshot each); returns what was done."""
    done = []
    for layer, version in snapshot_versions(warehouse).items():
        if version > SNAPSHOT_SCHEMA_VERSION:
            raise UserError(f"The warehouse's {layer} snapshot has schema version {version}, newer than this "
                            f"version of the code ({SNAPSHOT_SCHEMA_VERSION}); run the newer version or restore "
                            "a backup.")
        if version < SNAPSHOT_SCHEMA_VERSION:
            with warehouse.writer(layer):
                pass
            done.append(f"Warehouse: upgraded the {layer} snapshot from schema version {version} to "
                        f"{SNAPSHOT_SCHEMA_VERSION}.")
        else:
            done.append(f"Warehouse: the {layer} snapshot is up to date (schema version {version}).")
    return done


def duckdb_config() -> dict[str, str]:
    """DuckDB options from the environment: ``CSAI_DUCKDB_MEMORY_LIMIT`` (e.g. ``2GB``) and
    ``CSAI_DUCKDB_THREADS``. Unset means DuckDB's defaults (80 % of RAM, one thread per core);
    a limit makes large metric queries spill to disk instead of growing the process."""
    config = {}
    if os.environ.get("CSAI_DUCKDB_MEMORY_LIMIT"):
        config["memory_limit"] = os.environ["CSAI_DUCKDB_MEMORY_LIMIT"]
    if os.environ.get("CSAI_DUCKDB_THREADS"):
        config["threads"] = os.environ["CSAI_DUCKDB_THREADS"]
    return config


def _temp_objects(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(kind, name) of the temporary tables and views on ``con``."""
    rows = con.execute("SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary "
                       "UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()
    return {(kind, name) for kind, name in rows}


def _release(con: duckdb.DuckDBPyConnection, home: str | None, attached: list[str],
             temp_before: set[tuple[str, str]]) -> None:
    """Undo what :meth:`Warehouse.writer` did to a caller's connection: temp objects, USE, ATTACHes."""
    for kind, name in _temp_objects(con) - temp_before:
        con.execute(f'DROP {kind} IF EXISTS temp.main."{name}"')  # names from DuckDB's catalog
    if home is not None:
        con.execute(f'USE "{home}"')
    for db in reversed(attached):
        con.execute(f"DETACH {db}")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _expose_layers(con: duckdb.DuckDBPyConnection, layers: list[str], *, temp: bool) -> None:
    kind = "TEMP VIEW" if temp else "VIEW"
    for layer in layers:
        names = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND table_name <> 'csai_snapshot_meta' "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal",
            [layer, layer],
        ).fetchall()
        for (name,) in names:
            # names come from DuckDB's own catalog of our snapshot, not from users
            con.execute(f'CREATE OR REPLACE {kind} "{name}" AS SELECT * FROM {layer}."{name}"')  # noqa: S608


def _expose_empty_raw(con: duckdb.DuckDBPyConnection, temp: bool = False) -> None:
    """With no raw snapshot yet, expose empty canonical tables so pages can say 'no data'."""
    for table, cols in ALL_RAW_TABLES.items():
        sql = create_table_sql(table, cols)
        if temp:
            sql = sql.replace("CREATE TABLE", "CREATE TEMP TABLE", 1)
        con.execute(sql)


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()
_held = threading.local()  # paths this thread holds, so a nested _layer_lock does not wait for itself


@contextlib.contextmanager
def _layer_lock(path: Path) -> Iterator[None]:
    """Exclusive lock across processes (flock) and across threads of this process; re-entrant per thread."""
    held: set[str] = _held.__dict__.setdefault("paths", set())
    key = str(path)
    if key in held:
        yield
        return
    with _thread_locks_guard:
        tlock = _thread_locks.setdefault(key, threading.Lock())
    with tlock:
        with open(path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            held.add(key)
            try:
                yield
            finally:
                held.discard(key)
                fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
