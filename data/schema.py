"""DuckDB schema of the canonical input tables (docs/architecture.md section 3).

The ``raw`` layer of the warehouse holds these tables. Only ``accounts`` must have
rows; every other table may be empty. Extra columns on ``accounts`` are custom
attributes (kept by imports, used as features). ``account_labels`` holds the churn
label of a flat (one row per account) import. ``sample_truth*`` are filled only by
the sample-company generator.
"""

from __future__ import annotations

import duckdb

# name -> list of (column, DuckDB type, nullable)
CANONICAL_TABLES: dict[str, list[tuple[str, str, bool]]] = {
    "accounts": [
        ("account_id", "VARCHAR", False),
        ("name", "VARCHAR", True),
        ("segment", "VARCHAR", True),
        ("industry", "VARCHAR", True),
        ("region", "VARCHAR", True),
        ("plan", "VARCHAR", True),
        ("csm", "VARCHAR", True),
        ("created_at", "DATE", True),
    ],
    "subscriptions": [
        ("account_id", "VARCHAR", False),
        ("product", "VARCHAR", True),
        ("start_date", "DATE", False),
        ("end_date", "DATE", True),
        ("mrr", "DOUBLE", False),
        ("seats", "INTEGER", True),
        ("billing_period", "VARCHAR", True),
        ("renewal_date", "DATE", True),
    ],
    "events": [
        ("account_id", "VARCHAR", False),
        ("event_time", "TIMESTAMP", False),
        ("event_type", "VARCHAR", False),
        ("quantity", "DOUBLE", False),
        ("user_id", "VARCHAR", True),
    ],
    "tickets": [
        ("ticket_id", "VARCHAR", False),
        ("account_id", "VARCHAR", False),
        ("opened_at", "TIMESTAMP", False),
        ("closed_at", "TIMESTAMP", True),
        ("priority", "VARCHAR", True),
        ("csat", "DOUBLE", True),
    ],
    "nps": [
        ("account_id", "VARCHAR", False),
        ("responded_at", "TIMESTAMP", False),
        ("score", "INTEGER", False),
        ("comment", "VARCHAR", True),
    ],
    "invoices": [
        ("invoice_id", "VARCHAR", False),
        ("account_id", "VARCHAR", False),
        ("issued_at", "DATE", False),
        ("due_at", "DATE", True),
        ("paid_at", "DATE", True),
        ("amount", "DOUBLE", False),
        ("status", "VARCHAR", True),
    ],
    "contacts": [
        ("contact_id", "VARCHAR", False),
        ("account_id", "VARCHAR", False),
        ("email", "VARCHAR", True),
        ("role", "VARCHAR", True),
        ("active_from", "DATE", True),
        ("active_to", "DATE", True),
    ],
}

# Primary keys checked by imports and tests (tables without one allow repeats).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "tickets": ("ticket_id",),
    "invoices": ("invoice_id",),
    "contacts": ("contact_id",),
}

EXTRA_TABLES: dict[str, list[tuple[str, str, bool]]] = {
    "account_labels": [("account_id", "VARCHAR", False), ("label", "INTEGER", False)],
    "sample_truth": [("account_id", "VARCHAR", False), ("month", "DATE", False), ("hazard", "DOUBLE", False)],
    "sample_truth_causes": [("cause", "VARCHAR", False), ("metric_group", "VARCHAR", False)],
    "workspace_meta": [("key", "VARCHAR", False), ("value", "VARCHAR", True)],
}

ALL_RAW_TABLES = {**CANONICAL_TABLES, **EXTRA_TABLES}



def create_table_sql(table: str, columns: list[tuple[str, str, bool]] | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` statement for a raw table (identifiers are ours)."""
    cols = columns if columns is not None else ALL_RAW_TABLES[table]
    body = ", ".join(f'"{c}" {t}{"" if nullable else " NOT NULL"}' for c, t, nullable in cols)
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({body})'


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table that does not exist yet (idempotent)."""
    for table in ALL_RAW_TABLES:
        con.execute(create_table_sql(table))


def canonical_columns(table: str) -> list[str]:
    return [c for c, _, _ in CANONICAL_TABLES[table]]
