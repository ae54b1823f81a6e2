"""The operational store (SQLAlchemy): small transactional writes from many sessions.

Default is a SQLite file in the workspace; any SQLAlchemy URL works (PostgreSQL for a
team: ``postgresql://`` uses psycopg 3, ``postgresql+psycopg2://`` psycopg2). This module
owns the engine and the audit log; other rooms define their own tables on
:data:`metadata` (listed in :data:`TABLE_MODULES`). The schema is created and upgraded
by Alembic revisions (:mod:`data.migrations`), never by ``create_all``: a new table or
column needs a new revision, and a test compares the migrated schema with :data:`metadata`.

A URL whose driver is not installed, or a server that cannot be reached, raises
:class:`OperationalStoreError` with one line that names ``CSAI_DATABASE_URL``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from data.settings import SettingsError

TABLE_MODULES = ("models.registry", "playbooks.store", "data.signin", "data.activities", "data.contacts")
# Rows a new workspace starts with, written once right after its store's schema is created
# ("module:function", called with the engine): the starter playbooks.
SEEDERS = ("playbooks.starter:seed_new_workspace",)
metadata = sa.MetaData()

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(500), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_audit_log_at", "at"),
)

notes = sa.Table(
    "account_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(200), nullable=False, index=True),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_account_notes_created_at", "created_at"),  # the "last touch" change marker's newest note
)

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


class OperationalStoreError(SettingsError):
    """The operational store cannot be used: no driver, no server, or a schema newer than the code."""


def get_engine(url: str) -> sa.Engine:
    """One engine per URL per process, its schema migrated to the newest revision (a new store is seeded).

    Raises :class:`OperationalStoreError` (one line, password masked) when the driver is
    missing, the server cannot be reached, or the schema is newer than this code.
    """
    with _engines_lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        engine = create_engine(url)
        try:
            report = ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        _engines[url] = engine
    if report.created:
        seed_new_store(engine)
    return engine


def seed_new_store(engine: sa.Engine) -> None:
    """Write the rows a new workspace starts with (:data:`SEEDERS`); each seeder is idempotent."""
    for seeder in SEEDERS:
        module, _, function = seeder.partition(":")
        try:
            seed = getattr(importlib.import_module(module), function)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        seed(engine)


def dispose_engine(url: str) -> None:
    """Close and forget this process's engine for ``url`` (before a restore replaces the database)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url`` without touching the schema (see :func:`get_engine`)."""
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError, sa.exc.ArgumentError) as exc:
        parsed = sa.engine.make_url(url)
        raise OperationalStoreError(
            f"CSAI_DATABASE_URL={safe_url(url)}: no database driver for '{parsed.drivername}' is installed "
            f"({_one_line(exc)}); use sqlite:///path/to/ops.sqlite or postgresql://user@host/db.") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        _private_sqlite_file(engine.url.database)
    return engine


def safe_url(url: str | sa.URL) -> str:
    """The URL with its password replaced by ``***``."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _private_sqlite_file(database: str | None) -> None:
    """Create a SQLite store's file owner-only (0600) before SQLite does; its -wal and -shm files follow its mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - driver hook
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def ensure_schema(engine: sa.Engine):
    """Migrate the store to the newest revision under the migration lock; returns the report.

    A connection failure becomes :class:`OperationalStoreError` naming ``CSAI_DATABASE_URL``.
    """
    from data.migrations import upgrade  # deferred: cycle (data.migrations imports this module)

    try:
        return upgrade(engine)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        detail = _one_line(exc)
        if engine.url.password:
            detail = detail.replace(str(engine.url.password), "***")
        raise OperationalStoreError(
            f"CSAI_DATABASE_URL={safe_url(engine.url)}: cannot use the operational store "
            f"({detail}); check that the server is "
            "running and reachable and that the URL, user and password are right.") from None


def register_tables() -> None:
    """Import the rooms whose tables live on :data:`metadata` (migrations compare against it)."""
    for module in TABLE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def now() -> datetime:
    """Naive UTC timestamp used for every operational-store time column."""
    return datetime.now(UTC).replace(tzinfo=None)


def audit(conn: sa.Connection, actor: str, action: str, target: str | None = None, **detail: Any) -> None:
    """Append one audit-log row inside the caller's transaction."""
    conn.execute(
        audit_log.insert().values(
            at=now(), actor=actor, action=action, target=target,
            detail=json.dumps(detail, default=str, sort_keys=True) if detail else None,
        )
    )


def read_audit(engine: sa.Engine, *, actor: str | None = None, action: str | None = None,
               since: datetime | None = None, limit: int = 500) -> list[dict]:
    """Newest-first audit rows, optionally filtered."""
    q = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if actor:
        q = q.where(audit_log.c.actor == actor)
    if action:
        q = q.where(audit_log.c.action == action)
    if since:
        q = q.where(audit_log.c.at >= since)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
