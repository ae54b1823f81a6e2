"""Schema migrations of the operational store (Alembic), applied in place under a lock.

:func:`upgrade` brings a database to the newest revision in ``data/migrations/versions``
and reports what it did. It runs when a process first opens the store
(:func:`data.opstore.get_engine`: app start, every ``cli.py`` job) and from
``cli.py migrate``. Concurrent starters wait on one lock: a file lock beside a SQLite
database (``<file>.migrate.lock``), a session advisory lock on PostgreSQL.

* A database with no tables gets every revision from the baseline on.
* A database that ``create_all`` built before migrations existed (tables present, no
  ``alembic_version`` table) is adopted: the baseline creates only the tables that are
  missing, touches no row, and the database is stamped with it; later revisions follow.
* A database stamped with a revision this code does not know was upgraded by a newer
  version of the code; it is refused with :class:`data.opstore.OperationalStoreError`.

Adding a revision: see the README section "Schema migrations" (``alembic revision
--autogenerate`` with ``-c data/migrations/alembic.ini``, then review the file).
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from data.opstore import OperationalStoreError, create_engine, ensure_schema, register_tables, seed_new_store
from data.warehouse import Warehouse, upgrade_snapshots

SCRIPTS = Path(__file__).resolve().parent
BASELINE = "0001_baseline"
# pg_advisory_lock key (a fixed bigint of our own; other applications on the server use other keys).
PG_LOCK_KEY = 0x2C5A_1D0E_7B3F_4A61
_thread_lock = threading.Lock()


@dataclass(frozen=True)
class MigrationReport:
    """What :func:`upgrade` found and did."""

    before: tuple[str, ...]
    after: str
    applied: tuple[str, ...] = ()
    adopted: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.applied) or self.adopted

    @property
    def created(self) -> bool:
        """The store was new: this run created its schema (its seed rows are still to be written)."""
        return not self.before and bool(self.applied) and not self.adopted

    def lines(self) -> list[str]:
        """Sentences for a person: what the store was at, what was applied."""
        out: list[str] = []
        if self.adopted:
            out.append(f"Operational store: adopted tables created before migrations as baseline {BASELINE} "
                       "(existing rows untouched).")
        elif self.created:
            out.append("Operational store: new database, creating the schema.")
        for step in self.applied:
            out.append(f"Operational store: applied {step}.")
        if not self.changed:
            out.append(f"Operational store: schema is up to date (revision {self.after}).")
        else:
            out.append(f"Operational store: now at revision {self.after}.")
        return out


def config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this code knows."""
    return script_directory().get_current_head()


def current(conn: sa.Connection) -> tuple[str, ...]:
    """Revisions stamped in the database (empty before the first migration)."""
    return tuple(MigrationContext.configure(conn).get_current_heads())


def upgrade(engine: sa.Engine, *, label: str = "CSAI_DATABASE_URL") -> MigrationReport:
    """Upgrade the store behind ``engine`` to :func:`head` under the migration lock.

    Raises :class:`data.opstore.OperationalStoreError` when the database carries a
    revision newer than this code (nothing is changed then).
    """
    register_tables()
    scripts = script_directory()
    with _locked_connection(engine) as conn:
        before = current(conn)
        unknown = [rev for rev in before if not _known(scripts, rev)]
        if unknown:
            raise OperationalStoreError(
                f"{label}: the operational store is at schema revision {', '.join(unknown)}, which is newer than "
                f"this version of the code (newest known: {head()}). Run the newer version, or restore a backup "
                "taken before that upgrade.")
        target = head()
        if before == (target,):
            conn.rollback()
            return MigrationReport(before=before, after=target)
        existing = set(sa.inspect(conn).get_table_names())
        adopted = not before and bool(existing & _baseline_tables())
        applied: list[str] = []

        def record(*, ctx, step, heads, run_args):  # alembic's on_version_apply hook
            if step.up_revision_id:
                applied.append(f"{step.up_revision_id} ({step.up_revision.doc.strip().splitlines()[0]})")

        cfg = config(conn)
        cfg.attributes["on_version_apply"] = record
        command.upgrade(cfg, "head")
        conn.commit()
        if adopted:
            applied = [a for a in applied if not a.startswith(BASELINE)]
        return MigrationReport(before=before, after=target, applied=tuple(applied), adopted=adopted)


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def _baseline_tables() -> set[str]:
    return {"audit_log", "account_notes", "model_registry", "playbooks", "playbook_runs", "playbook_steps",
            "playbook_tasks", "playbook_alerts", "playbook_alert_reads"}


@contextlib.contextmanager
def _locked_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection held under the migration lock (file lock for SQLite, advisory lock for PostgreSQL)."""
    with _thread_lock:
        if engine.dialect.name == "sqlite":
            database = engine.url.database
            if not database or database == ":memory:" or database.startswith("file:"):
                with engine.connect() as conn:
                    yield conn
                return
            lock_path = Path(database + ".migrate.lock")
            with open(lock_path, "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    with engine.connect() as conn:
                        yield conn
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        elif engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
                conn.commit()
                try:
                    yield conn
                finally:
                    with contextlib.suppress(Exception):
                        conn.rollback()
                        conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
                        conn.commit()
        else:
            with engine.connect() as conn:
                yield conn


def migrate_workspace(settings) -> list[str]:
    """``cli.py migrate``: upgrade the operational store and the warehouse snapshots; returns what was done.

    ``settings`` is a :class:`data.settings.Settings`. Raises
    :class:`data.opstore.OperationalStoreError` / :class:`data.errors.UserError` for a
    store that cannot be reached or a schema newer than the code.
    """
    engine = create_engine(settings.database_url)
    try:
        report = ensure_schema(engine)
        if report.created:
            seed_new_store(engine)
    finally:
        engine.dispose()
    return report.lines() + (upgrade_snapshots(Warehouse(settings.warehouse_dir)) or ["Warehouse: no data yet."])
