"""Backup, restore and integrity check of a workspace (``cli.py backup | restore | check``).

A backup folder holds:

* ``warehouse/``: ``CURRENT.json`` and the snapshot files it names, read from one
  pointer read (snapshots are immutable, so copying them while writers run is safe;
  each file is opened before anything is copied, so garbage collection cannot remove
  it mid-copy);
* ``operational.sqlite`` (SQLite online backup API: one read transaction, a consistent
  copy while sessions write) or ``operational.pgdump`` (``pg_dump -Fc``: one repeatable-
  read snapshot of the PostgreSQL database);
* ``models/`` (registry artifacts and their lab data; written once, never changed), and
  ``auth.yaml`` (replaced atomically by every change, so a copy is one whole version);
* ``manifest.json``, written last: SHA-256 and size of every file above, the store kind,
  the schema revisions, and the source folders (to re-point model artifact paths).

The order (warehouse pointer, store, models, auth) keeps references valid: every
model the copied store knows was written before the store was copied.

One module over 400 lines on purpose: backup, restore and check read and write the same folder format and
manifest; split, one file format would live in three modules.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from data.errors import UserError
from data.migrations import current, head, migrate_workspace
from data.opstore import OperationalStoreError, create_engine, dispose_engine, get_engine, metadata, safe_url
from data.schema import PRIMARY_KEYS
from data.settings import Settings
from data.warehouse import SNAPSHOT_SCHEMA_VERSION, Warehouse, snapshot_schema_version, snapshot_versions

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "operational.sqlite"
PG_DUMP_FILE = "operational.pgdump"


# ------------------------------------------------------------------ helpers
def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _copy_fileobj(src, dest: Path) -> dict:
    """Copy an open binary file to ``dest``; returns its sha256 and size."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    h, size = hashlib.sha256(), 0
    with open(dest, "wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return {"sha256": h.hexdigest(), "bytes": size}


def _entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def _store_kind(url: str) -> str:
    name = sa.engine.make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise UserError(f"Backups support SQLite and PostgreSQL operational stores, not {name}.")
    return name


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise UserError("CSAI_DATABASE_URL points at an in-memory SQLite database; there is nothing to back up.")
    return Path(database)


def _pg_tool(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    tool = found[-1] if found else shutil.which(name)
    if not tool:
        raise UserError(f"{name} was not found; install the PostgreSQL client tools (apt-get install postgresql-client).")
    return tool


def _pg_args(url: str) -> tuple[list[str], dict]:
    """libpq connection arguments and environment (the password travels in PGPASSWORD, not argv)."""
    u = sa.engine.make_url(url)
    args = ["--dbname", u.database or "postgres", "--username", u.username or os.environ.get("USER", "postgres")]
    if u.host:
        args += ["--host", u.host]
    if u.port:
        args += ["--port", str(u.port)]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _run_pg(cmd: list[str], env: dict, what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        if env.get("PGPASSWORD"):
            detail = detail.replace(env["PGPASSWORD"], "***")
        raise UserError(f"{what} failed: {detail}")


# ------------------------------------------------------------------ backup
def backup_workspace(settings: Settings, dest: str | os.PathLike) -> dict:
    """Write a consistent copy of the workspace to the empty or new folder ``dest``; returns the manifest."""
    out = Path(dest).expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} is not an empty folder; back up into a new or empty folder.")
    if out == settings.workspace or settings.workspace in out.parents:
        raise UserError(f"{out} is inside the workspace; back up to a folder outside it.")
    kind = _store_kind(settings.database_url)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}

    # 1. warehouse: one pointer read, every named snapshot opened before copying
    wh = Warehouse(settings.warehouse_dir)
    for _attempt in range(10):
        pointer = wh.current()
        handles = {}
        try:
            for name in pointer.values():
                handles[name] = open(wh.root / name, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            for fh in handles.values():
                fh.close()
            continue
        try:
            for name, fh in handles.items():
                files[f"warehouse/{name}"] = _copy_fileobj(fh, out / "warehouse" / name)
        finally:
            for fh in handles.values():
                fh.close()
        break
    else:
        raise UserError("The warehouse changed too often during the backup; try again.")
    (out / "warehouse").mkdir(exist_ok=True)
    (out / "warehouse" / "CURRENT.json").write_text(json.dumps(pointer))
    files["warehouse/CURRENT.json"] = _entry(out / "warehouse" / "CURRENT.json")

    # 2. operational store
    if kind == "sqlite":
        src_path = _sqlite_path(settings.database_url)
        target = out / SQLITE_FILE
        if src_path.exists():
            src = sqlite3.connect(src_path, timeout=30)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        else:
            sqlite3.connect(target).close()
        files[SQLITE_FILE] = _entry(target)
    else:
        args, env = _pg_args(settings.database_url)
        target = out / PG_DUMP_FILE
        _run_pg([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
                 *args], env, "pg_dump")
        files[PG_DUMP_FILE] = _entry(target)
    revision = _store_revision(settings.database_url)

    # 3. models, 4. auth file
    if settings.models_dir.is_dir():
        for path in sorted(settings.models_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                rel = path.relative_to(settings.models_dir).as_posix()
                with open(path, "rb") as fh:
                    files[f"models/{rel}"] = _copy_fileobj(fh, out / "models" / rel)
    if settings.auth_file.exists():
        with open(settings.auth_file, "rb") as fh:
            files["auth.yaml"] = _copy_fileobj(fh, out / "auth.yaml")
        os.chmod(out / "auth.yaml", 0o600)

    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": kind,
        "store_revision": revision,
        "code_revision": head(),
        "snapshot_schema_versions": snapshot_versions(Warehouse(out / "warehouse")),
        "workspace": str(settings.workspace),
        "models_dir": str(settings.models_dir),
        "files": files,
    }
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, out / MANIFEST)
    return manifest


def _store_revision(url: str) -> str | None:
    if _store_kind(url) == "sqlite" and not _sqlite_path(url).exists():
        return None
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            revs = current(conn)
        return revs[0] if revs else None
    finally:
        engine.dispose()


# ------------------------------------------------------------------ verify / restore
def verify_backup(src: str | os.PathLike) -> dict:
    """Check every file of a backup against its manifest; returns the manifest or raises UserError."""
    root = Path(src).expanduser().resolve()
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise UserError(f"{root} has no {MANIFEST}; it is not a complete backup.") from None
    except json.JSONDecodeError:
        raise UserError(f"{root / MANIFEST} is not valid JSON; the backup is damaged.") from None
    if manifest.get("format") != FORMAT:
        raise UserError(f"{root} is a backup of format {manifest.get('format')!r}; this version reads format {FORMAT}.")
    bad = []
    for rel, meta in sorted(manifest["files"].items()):
        path = root / rel
        if not path.is_file():
            bad.append(f"{rel} is missing")
        elif path.stat().st_size != meta["bytes"] or sha256_file(path) != meta["sha256"]:
            bad.append(f"{rel} does not match its checksum")
    if bad:
        raise UserError(f"The backup in {root} is damaged: {'; '.join(bad[:5])}"
                        + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "") + ". Nothing was restored.")
    return manifest


def workspace_is_empty(settings: Settings) -> bool:
    """True when the workspace has no warehouse data, models, users, or store rows."""
    if (settings.warehouse_dir / "CURRENT.json").exists() or settings.auth_file.exists():
        return False
    if settings.models_dir.is_dir() and any(settings.models_dir.iterdir()):
        return False
    kind = _store_kind(settings.database_url)
    if kind == "sqlite" and not _sqlite_path(settings.database_url).exists():
        return True

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                if table != "alembic_version" and conn.execute(
                        sa.select(sa.func.count()).select_from(sa.table(table))).scalar():
                    return False
    except sa.exc.OperationalError as exc:
        raise OperationalStoreError(f"CSAI_DATABASE_URL={safe_url(settings.database_url)}: cannot reach the "
                                    f"operational store ({str(exc.orig).strip().splitlines()[0]}).") from None
    finally:
        engine.dispose()
    return True


def restore_workspace(settings: Settings, src: str | os.PathLike, *, force: bool = False) -> list[str]:
    """Restore a verified backup into the workspace of ``settings``; returns what was done.

    Refuses a workspace that holds data unless ``force``. Run it with the app and jobs
    stopped. Model artifact paths are re-pointed at this workspace's models folder, and
    the schemas are then migrated to this code's versions.
    """
    root = Path(src).expanduser().resolve()
    manifest = verify_backup(root)
    kind = _store_kind(settings.database_url)
    if manifest["store"] != kind:
        raise UserError(f"The backup holds a {manifest['store']} operational store but CSAI_DATABASE_URL is "
                        f"{kind}; restore into a workspace with the same kind of store.")
    if not force and not workspace_is_empty(settings):
        raise UserError(f"Workspace {settings.workspace} is not empty; restore into an empty workspace, or add "
                        "--force to replace its data with the backup.")
    dispose_engine(settings.database_url)
    said = [f"Verified {len(manifest['files'])} files of the backup taken {manifest['created_at']}."]

    # operational store
    if kind == "sqlite":
        target = _sqlite_path(settings.database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        src_db = sqlite3.connect(root / SQLITE_FILE)
        dst_db = sqlite3.connect(target, timeout=30)
        try:
            src_db.backup(dst_db)
        finally:
            dst_db.close()
            src_db.close()
    else:
        args, env = _pg_args(settings.database_url)
        _run_pg([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", "--exit-on-error", *args, str(root / PG_DUMP_FILE)], env, "pg_restore")
    said.append("Restored the operational store.")

    # warehouse: snapshots first, then the pointer (atomic), then leftovers
    wh_dir = settings.warehouse_dir
    wh_dir.mkdir(parents=True, exist_ok=True)
    pointer = json.loads((root / "warehouse" / "CURRENT.json").read_text())
    for name in pointer.values():
        shutil.copyfile(root / "warehouse" / name, wh_dir / name)
    tmp = wh_dir / f".CURRENT.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(pointer))
    os.replace(tmp, wh_dir / "CURRENT.json")
    for old in wh_dir.glob("*.duckdb"):
        if old.name not in pointer.values():
            old.unlink()
    said.append(f"Restored the warehouse ({', '.join(sorted(pointer)) or 'no data'}).")

    # models and auth file
    if settings.models_dir.exists() and force:
        shutil.rmtree(settings.models_dir)
    models = [rel for rel in manifest["files"] if rel.startswith("models/")]
    for rel in models:
        dest = settings.models_dir / rel.removeprefix("models/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, dest)
    if "auth.yaml" in manifest["files"]:
        tmp = settings.auth_file.with_name(f".auth.{uuid.uuid4().hex}.tmp")
        shutil.copyfile(root / "auth.yaml", tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, settings.auth_file)
    elif force:
        with contextlib.suppress(FileNotFoundError):
            settings.auth_file.unlink()
    said.append(f"Restored {len(models)} model files" + (" and the users file." if "auth.yaml" in manifest["files"]
                                                          else "."))

    said += migrate_workspace(settings)
    engine = create_engine(settings.database_url)
    try:
        moved = _repoint_artifacts(engine, manifest["models_dir"], str(settings.models_dir))
    finally:
        engine.dispose()
    if moved:
        said.append(f"Pointed {moved} model artifacts at {settings.models_dir}.")
    return said


def _repoint_artifacts(engine: sa.Engine, old_dir: str, new_dir: str) -> int:
    if old_dir == new_dir:
        return 0
    registry = sa.table("model_registry", sa.column("id"), sa.column("artifact_path"))
    moved = 0
    with engine.begin() as conn:
        for model_id, path in conn.execute(sa.select(registry.c.id, registry.c.artifact_path)).all():
            if path.startswith(old_dir.rstrip("/") + "/"):
                conn.execute(registry.update().where(registry.c.id == model_id)
                             .values(artifact_path=new_dir.rstrip("/") + path[len(old_dir.rstrip("/")):]))
                moved += 1
    return moved


# ------------------------------------------------------------------ check
@dataclass
class CheckReport:
    """What ``cli.py check`` looked at (``checked``) and what is wrong (``problems``)."""

    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_workspace(settings: Settings) -> CheckReport:
    """Integrity check: store schema and foreign keys, warehouse snapshots and keys, model artifacts."""
    report = CheckReport()
    _check_store(settings, report)
    _check_warehouse(settings, report)
    return report


def _check_store(settings: Settings, report: CheckReport) -> None:
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        drift = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        if drift:
            report.problems.append(f"operational store: schema differs from the code in {len(drift)} places "
                                   f"(first: {drift[0]!r}); run `cli.py migrate`.")
        else:
            report.checked.append("operational store: schema matches the code")
        orphans = 0
        for table in metadata.sorted_tables:
            for fk in table.foreign_keys:
                child, parent = fk.parent, fk.column
                missing = conn.execute(
                    sa.select(sa.func.count()).select_from(table)
                    .where(child.is_not(None), ~sa.exists().where(parent == child))).scalar()
                if missing:
                    orphans += missing
                    report.problems.append(f"operational store: {missing} rows of {table.name} point at a "
                                           f"{parent.table.name} row that does not exist ({child.name}).")
        if not orphans:
            report.checked.append(f"operational store: no orphan rows across {len(metadata.tables)} tables")
        rows = []
        if "model_registry" in metadata.tables:
            reg = metadata.tables["model_registry"]
            rows = conn.execute(sa.select(reg.c.id, reg.c.artifact_path, reg.c.artifact_sha256)).all()
    bad = 0
    for model_id, path, digest in rows:
        if not Path(path).is_file():
            bad += 1
            report.problems.append(f"model {model_id}: artifact {path} is missing.")
        elif sha256_file(path) != digest:
            bad += 1
            report.problems.append(f"model {model_id}: artifact {path} does not match its checksum.")
    if not bad:
        report.checked.append(f"models: {len(rows)} artifacts match their checksums")


def _check_warehouse(settings: Settings, report: CheckReport) -> None:
    wh = Warehouse(settings.warehouse_dir)
    pointer = wh.current()
    for layer, name in sorted(pointer.items()):
        path = wh.root / name
        if not path.is_file():
            report.problems.append(f"warehouse: the {layer} snapshot {name} named by CURRENT.json is missing.")
            continue
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS snap (READ_ONLY)")
            version = snapshot_schema_version(con, "snap")
            if version > SNAPSHOT_SCHEMA_VERSION:
                report.problems.append(f"warehouse: the {layer} snapshot has schema version {version}, newer than "
                                       "this code.")
            tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                                "'snap' ORDER BY 1").fetchall()]
            rows = 0
            for table in tables:
                # a full read of every column: DuckDB verifies each block's checksum as it reads it
                rows += con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM snap."{table}" t'  # noqa: S608 - catalog
                                    ).fetchall()[0][0]
            report.checked.append(f"warehouse: {layer} snapshot read in full ({len(tables)} tables, {rows:,} rows, "
                                  "block checksums verified)")
            if layer == "raw":
                for table, key in PRIMARY_KEYS.items():
                    if table not in tables:
                        continue
                    cols = ", ".join(f'"{c}"' for c in key)
                    nulls = " OR ".join(f'"{c}" IS NULL' for c in key)
                    # identifiers from data.schema, not from users
                    dupes = con.execute(f'SELECT count(*) FROM (SELECT {cols} FROM snap."{table}" '  # noqa: S608
                                        f"GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
                    empty = con.execute(f'SELECT count(*) FROM snap."{table}" WHERE {nulls}').fetchall()[0][0]  # noqa: S608
                    if dupes or empty:
                        report.problems.append(f"warehouse: {table} has {dupes} repeated and {empty} empty keys "
                                               f"({', '.join(key)}).")
                report.checked.append("warehouse: keys of the raw tables are unique and present")
        except duckdb.Error as exc:
            report.problems.append(f"warehouse: the {layer} snapshot {name} cannot be read ({str(exc).splitlines()[0]}).")
        finally:
            con.close()
    if not pointer:
        report.checked.append("warehouse: no data yet")
