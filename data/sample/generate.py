"""Generating the sample company (:func:`generate_sample`) and writing it into a warehouse
(:func:`write_sample`, or :func:`build_sample`, which streams the events chunk by chunk)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from data.sample.months import run_months
from data.sample.simulation import _Simulation
from data.sample.tables import build_tables
from data.schema import CANONICAL_TABLES, EXTRA_TABLES


def generate_sample(n_accounts: int = 2000, seed: int = 42, end: date | None = None, *,
                    event_fraction: float = 1.0) -> dict[str, pd.DataFrame]:
    """Generate the sample company; one DataFrame per raw table (canonical columns first).

    History covers the 24 calendar months ending at ``end`` (default: today); nothing is
    dated after ``end``. VARCHAR columns are ``str`` (``category`` for the large events
    table), DATE and TIMESTAMP columns ``datetime64[s]``. Also returns ``sample_truth``
    (true monthly churn hazard per active account-month), ``sample_truth_causes``,
    ``sample_playbook_history`` and ``sample_truth_playbook_effects``.

    ``event_fraction`` (0 < f <= 1) keeps a seeded random share of the daily event rows,
    for benchmarks that need many accounts with fewer event rows; 1.0 (the default)
    keeps them all and leaves every table exactly as without it.
    """
    sim = _simulation(n_accounts, seed, end, event_fraction)
    run_months(sim)
    return dict(build_tables(sim, stream_events=False))


def _simulation(n_accounts: int, seed: int, end: date | None, event_fraction: float) -> _Simulation:
    if n_accounts < 1:
        raise ValueError("n_accounts must be positive")
    if not 0 < event_fraction <= 1:
        raise ValueError("event_fraction must be in (0, 1]")
    end = date.today() if end is None else pd.Timestamp(end).date()
    return _Simulation(n_accounts, seed, end, event_fraction=event_fraction)


def write_sample(warehouse, tables: dict[str, pd.DataFrame], *, seed: int, end: date) -> None:
    """Replace the raw layer of ``warehouse`` with the sample tables (one new snapshot).

    Columns are cast to the types of :mod:`data.schema`; the extra ``sample_*`` tables
    and ``workspace_meta`` (demo, seed, end_date) are written in the same snapshot.
    """
    with warehouse.writer("raw", fresh=True) as con:
        for table, df in tables.items():
            _write_frames(con, table, [df])
        _write_meta(con, seed, end)


@dataclass
class SampleSummary:
    """What :func:`build_sample` wrote: rows per table and the CSM names of the accounts."""

    rows: dict[str, int]
    csms: list[str]


def build_sample(warehouse, n_accounts: int = 2000, seed: int = 42, end: date | None = None, *,
                 event_fraction: float = 1.0) -> SampleSummary:
    """Generate the sample company straight into the raw layer of ``warehouse`` (one new snapshot).

    Writes exactly what ``write_sample(generate_sample(...))`` writes, but each table is
    written and dropped as soon as it is built and the events go in chunk by chunk, so
    the process never holds the whole events table (tens of millions of rows at
    100,000 accounts). Same arguments as :func:`generate_sample`.
    """
    sim = _simulation(n_accounts, seed, end, event_fraction)
    run_months(sim)
    rows: dict[str, int] = {}
    csms: list[str] = []
    with warehouse.writer("raw", fresh=True) as con:
        for table, data in build_tables(sim, stream_events=True):
            if table == "accounts":
                csms = data["csm"].dropna().unique().tolist()
            rows[table] = _write_frames(con, table, [data] if isinstance(data, pd.DataFrame) else data)
            del data
        _write_meta(con, seed, sim.end)
    return SampleSummary(rows, csms)


def _write_frames(con, table: str, frames: Iterable[pd.DataFrame]) -> int:
    """Write ``frames`` (one table, in order) as table ``table``, cast to the schema types; returns the row count."""
    types = {**CANONICAL_TABLES, **EXTRA_TABLES, **_SAMPLE_ONLY_TABLES}
    schema_cols = {c: t for c, t, _ in types.get(table, [])}
    view, rows, first, columns = f"_sample_{table}", 0, True, set()
    for df in frames:
        columns = set(df.columns)
        selects = []
        for col in df.columns:
            sql_type = schema_cols.get(col) or _duck_type(df[col])
            selects.append(f'CAST("{col}" AS {sql_type}) AS "{col}"')
        con.register(view, df)
        # identifiers come from our own schema constants and generated column names
        head = f'CREATE OR REPLACE TABLE "{table}" AS' if first else f'INSERT INTO "{table}"'
        con.execute(f'{head} SELECT {", ".join(selects)} FROM "{view}"')  # noqa: S608
        con.unregister(view)
        rows += len(df)
        first = False
    for col, _, nullable in types.get(table, []):
        if not nullable and col in columns:
            con.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{col}" SET NOT NULL')
    return rows


def _write_meta(con, seed: int, end: date) -> None:
    con.execute("DELETE FROM workspace_meta")
    con.executemany(
        "INSERT INTO workspace_meta VALUES (?, ?)",
        [("demo", "true"), ("seed", str(seed)), ("end_date", pd.Timestamp(end).date().isoformat())],
    )


_SAMPLE_ONLY_TABLES: dict[str, list[tuple[str, str, bool]]] = {
    "sample_playbook_history": [("account_id", "VARCHAR", False), ("playbook", "VARCHAR", False),
                                ("started_at", "DATE", False), ("holdout", "BOOLEAN", False)],
    "sample_truth_playbook_effects": [("playbook", "VARCHAR", False), ("hazard_multiplier", "DOUBLE", False),
                                      ("expansion_multiplier", "DOUBLE", False), ("description", "VARCHAR", False)],
}


def _duck_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "BIGINT"
    if pd.api.types.is_float_dtype(series):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "TIMESTAMP"
    return "VARCHAR"

