"""The operational store (SQLAlchemy): small transactional writes from many sessions.

Default is a SQLite file in the workspace; any SQLAlchemy URL works (PostgreSQL for a
team). This module owns the engine and the audit log; other rooms define their own
tables on :data:`metadata` and call :func:`ensure_schema` (idempotent).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

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
)

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str) -> sa.Engine:
    """One engine per URL per process, with every table created (idempotent)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = sa.create_engine(url, future=True, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            ensure_schema(engine)
            _engines[url] = engine
        return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - driver hook
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def ensure_schema(engine: sa.Engine) -> None:
    """Create every table registered on :data:`metadata` that does not exist yet."""
    _import_table_modules()
    metadata.create_all(engine, checkfirst=True)


def _import_table_modules() -> None:
    """Import the rooms whose tables live on :data:`metadata` so create_all sees them."""
    import importlib

    for module in ("models.registry", "playbooks.store", "data.activities", "data.contacts"):
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
