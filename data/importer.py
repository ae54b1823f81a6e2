"""Import customer data into the warehouse: load, map, validate, then write all-or-nothing.

Every import runs in three steps, inside DuckDB, so an import of tens of millions of
rows never becomes a DataFrame or an Arrow table in Python:

1. *Stage*: each source is made readable in a private DuckDB connection (Parquet as a
   view over the file, CSV/Excel/database rows as a table) and a staging query casts it
   onto its canonical table (``try_cast``, so a bad value becomes a counted problem,
   not a crash). The staging query is not materialised: validation and the write read
   through it. Identifiers from the user (column names in a mapping) must be real
   column names of the source; values are bound parameters. The connection has a
   memory limit (``CSAI_DUCKDB_MEMORY_LIMIT``, else :data:`IMPORT_MEMORY_LIMIT`) and a
   private spill folder under the system temp folder (``TMPDIR``), so a large
   import spills to disk instead of growing the process.
2. *Validate*: all checks of a table run as one aggregate query over the staged rows
   (plus the current warehouse's account ids and, in append mode, its keys), then a
   few example rows are fetched for each problem found. Everything fills one
   :class:`~data.validation.ValidationReport`. Any error raises
   :class:`~data.validation.ImportValidationError` before anything is written.
3. *Write*: one ``warehouse.writer("raw")`` block, attached to the staging connection,
   inserts every staged table into a new snapshot that becomes visible only when the
   block succeeds, so a failure or a killed process leaves the previous data exactly
   as it was.

One module over 400 lines on purpose: the three steps share one private staging connection and its
unmaterialised staging queries (:class:`_Stager`), so the all-or-nothing path reads top to bottom here.
"""

# Identifiers in f-string SQL below are quoted with _q and whitelisted against the source's real
# columns or our schema; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb

from data.demo_mark import real_data_imported
from data.errors import UserError
from data.mapping import IMPORTABLE_TABLES, Mapping, normalise_name, suggest_mapping, suggest_value_map
from data.readmodel import store_data_end
from data.schema import PRIMARY_KEYS, create_table_sql
from data.settings import Settings, _int, _secrets
from data.sources import ROW_COLUMN, Source
from data.testhooks import pause_point
from data.validation import ImportValidationError, Problem, ValidationReport
from data.warehouse import Warehouse, duckdb_config

Mode = Literal["replace", "append"]
EXAMPLES = 5
UNKNOWN_ACCOUNT_ERROR_SHARE = 0.05  # above this share of rows, unknown accounts stop the import
DEFAULTS = {("events", "quantity"): 1.0}
MIN_CHURNED = 50  # fewer churned accounts than this make an unstable model
RAW_PREFIX = "__raw_"
IMPORT_MEMORY_LIMIT = "2GB"  # staging memory when CSAI_DUCKDB_MEMORY_LIMIT is unset; beyond it DuckDB spills

# Cross-column date rules: (table, earlier, later, severity, message).
DATE_ORDER = [
    ("subscriptions", "start_date", "end_date", "error", "end_date is before start_date"),
    ("subscriptions", "start_date", "renewal_date", "warning", "renewal_date is before start_date"),
    ("tickets", "opened_at", "closed_at", "error", "ticket closed before it was opened"),
    ("contacts", "active_from", "active_to", "error", "active_to is before active_from"),
    ("invoices", "issued_at", "due_at", "warning", "invoice due before it was issued"),
    ("invoices", "issued_at", "paid_at", "warning", "invoice paid before it was issued"),
]
# Columns that must not lie in the future: (table, column, severity).
NOT_FUTURE = [
    ("events", "event_time", "error"), ("tickets", "opened_at", "error"), ("nps", "responded_at", "error"),
    ("invoices", "issued_at", "error"), ("accounts", "created_at", "warning"), ("tickets", "closed_at", "warning"),
    ("invoices", "paid_at", "warning"),
]
# Value ranges: (table, column, SQL condition that is a problem, severity, message).
RANGES = [
    ("subscriptions", "mrr", '"mrr" < 0', "error", "negative MRR"),
    ("subscriptions", "seats", '"seats" < 0', "error", "negative seat count"),
    ("invoices", "amount", '"amount" < 0', "error", "negative invoice amount"),
    ("nps", "score", '"score" NOT BETWEEN 0 AND 10', "error", "NPS score outside 0-10"),
    ("tickets", "csat", '"csat" NOT BETWEEN 1 AND 5', "error", "CSAT outside 1-5"),
    ("events", "quantity", '"quantity" < 0', "warning", "negative event quantity"),
    ("account_labels", "label", '"label" NOT IN (0, 1)', "error", "label is not 0 or 1"),
]


@dataclass
class ImportSpec:
    """One table to import: where from, and how the columns map (None = suggested)."""

    table: str
    source: Source
    mapping: Mapping | None = None
    overrides: dict[str, str | None] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What an import wrote: rows per table, the mode, warnings, the new warehouse version."""

    tables: dict[str, int]
    mode: str
    report: ValidationReport
    version: str = ""
    mappings: dict[str, Mapping] = field(default_factory=dict)
    data_end: dict[str, Any] = field(default_factory=dict)  # what the read model stored (store_data_end)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        end = self.data_end.get("end_date")
        return {"ok": True, "mode": self.mode, "tables": dict(self.tables), "rows": self.rows,
                "version": self.version, "report": self.report.to_dict(),
                "data_end": end.isoformat() if end else None, "future_rows": self.data_end.get("future_rows", {})}


@dataclass
class _Staged:
    """One staged table: the query that yields its rows (not materialised) and its columns."""

    table: str
    sql: str  # SELECT __row, canonical columns, extras, __raw_ columns FROM the source
    params: list[Any]  # bound values of ``sql``, in order
    columns: list[tuple[str, str]]  # (column, DuckDB type) as written, canonical first then extras
    mapping: Mapping
    in_source_order: bool  # rows come out in source order without an ORDER BY (no lookup joins)


def _q(name: str) -> str:
    """Quote an identifier (names are whitelisted before they get here)."""
    return '"' + str(name).replace('"', '""') + '"'


class _Stager:
    """The private staging database of one import."""

    def __init__(self, max_mb: float | None, today: date) -> None:
        self.spill = Path(tempfile.mkdtemp(prefix="csai-import-"))
        try:
            config = {"memory_limit": IMPORT_MEMORY_LIMIT, **duckdb_config(), "temp_directory": str(self.spill)}
            self.con = duckdb.connect(config=config)
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET enable_progress_bar = false")  # long imports must not draw bars into CLI output
        except BaseException:
            shutil.rmtree(self.spill, ignore_errors=True)
            raise
        self.max_mb = max_mb
        self.today = today
        self._loaded: dict[int, tuple[str, list[str]]] = {}
        self._n = 0

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.spill, ignore_errors=True)

    def _name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def load(self, source: Source) -> tuple[str, list[str]]:
        key = id(source)
        if key not in self._loaded:
            name = self._name("src")
            cols = source.load(self.con, name, max_mb=self.max_mb)
            self._loaded[key] = (name, cols)
        return self._loaded[key]

    def types(self, name: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self.con.execute(f"DESCRIBE {_q(name)}").fetchall()}

    # ------------------------------------------------------------- staging
    def stage(self, spec: ImportSpec, report: ValidationReport) -> _Staged | None:
        table = spec.table
        src, cols = self.load(spec.source)
        src_types = self.types(src)
        mapping = spec.mapping or suggest_mapping(cols, [src_types[c] for c in cols], table)
        if spec.overrides:
            mapping = mapping.with_overrides(spec.overrides)
        if mapping.table != table:
            raise UserError(f"The mapping is for table {mapping.table!r}, not {table!r}.")
        spec.mapping = mapping
        total = self.con.execute(f"SELECT count(*) FROM {_q(src)}").fetchall()[0][0]
        report.rows[table] = total
        if total == 0:
            report.add(Problem("empty_table", "error", 0, f"{spec.source.label} has no data rows.", table))
            return None
        known = set(cols)
        missing_src = [c for c in list(mapping.columns) + mapping.extra + [lk.column for lk in mapping.lookup]
                       if c not in known]
        if missing_src:
            report.add(Problem(
                "unknown_column", "error", len(missing_src),
                f"the mapping names column(s) {', '.join(map(repr, missing_src))} that {spec.source.label} does not "
                f"have; its columns are: {', '.join(cols)}", table))
            return None

        targets = mapping.targets
        joins: list[str] = []
        params: list[Any] = []
        lookup_raw: dict[str, str] = {}
        for i, lk in enumerate(mapping.lookup):
            expr = self._stage_lookup(lk, mapping, table, report, f"lk{i}")
            if expr is None:
                return None
            lk_name, alias = expr
            joins.append(f"LEFT JOIN {_q(lk_name)} AS {alias} ON CAST(s.{_q(lk.column)} AS VARCHAR) = {alias}.k")
            lookup_raw[lk.column] = f"{alias}.v"

        raw_exprs: list[str] = []
        typed_exprs: list[str] = []
        typed_params: list[Any] = []
        out_cols: list[tuple[str, str]] = []
        for col, typ, nullable in IMPORTABLE_TABLES[table]:
            src_col = targets.get(col)
            raw_name = _q(RAW_PREFIX + col)
            if src_col is None:
                if col in mapping.defaults or (table, col) in DEFAULTS:
                    value = mapping.defaults.get(col, DEFAULTS.get((table, col)))
                    raw_exprs.append(f"CAST(? AS VARCHAR) AS {raw_name}")
                    params.append(None if value is None else str(value))
                elif not nullable:
                    report.add(Problem("missing_column", "error", total,
                                       f"required column {col!r} is not mapped; map one of the source columns "
                                       f"({', '.join(cols)}) to it", table, col))
                    raw_exprs.append(f"CAST(NULL AS VARCHAR) AS {raw_name}")
                else:
                    raw_exprs.append(f"CAST(NULL AS VARCHAR) AS {raw_name}")
            else:
                base = lookup_raw.get(src_col, f"s.{_q(src_col)}")
                base_type = "VARCHAR" if src_col in lookup_raw else src_types[src_col]
                if base_type == "VARCHAR":
                    base = f"NULLIF(trim({base}), '')"
                value_map = mapping.values.get(col)
                if value_map:
                    cases = []
                    for k, v in value_map.items():
                        cases.append("WHEN ? THEN CAST(? AS VARCHAR)")
                        params.extend([str(k).strip().lower(), _value_text(v, typ)])
                    base = (f"CASE lower(trim(CAST({base} AS VARCHAR))) {' '.join(cases)} "
                            f"ELSE CAST({base} AS VARCHAR) END")
                if (table, col) in DEFAULTS:
                    if not value_map and base_type == typ:  # already the right type: no round trip via text
                        base = f"coalesce({base}, CAST(? AS {typ}))"
                    else:
                        base = f"coalesce(CAST({base} AS VARCHAR), CAST(? AS VARCHAR))"
                    params.append(str(DEFAULTS[(table, col)]))
                raw_exprs.append(f"{base} AS {raw_name}")
            fmt = mapping.formats.get(col)
            typed_exprs.append(f"{_cast_expr(raw_name, typ, fmt is not None)} AS {_q(col)}")
            if fmt is not None and typ in {"DATE", "TIMESTAMP"}:
                typed_params.append(fmt)
            out_cols.append((col, typ))

        extras: list[tuple[str, str]] = []
        taken = {c for c, _ in out_cols}
        for src_col in mapping.extra:
            name = normalise_name(src_col) or "attribute"
            base_name, n = name, 1
            while name in taken:
                n += 1
                name = f"{base_name}_{n}"
            taken.add(name)
            typ = src_types[src_col]
            expr = f"s.{_q(src_col)}"
            if typ == "VARCHAR":
                expr = f"NULLIF(trim({expr}), '')"
                typ = self._infer_text_type(src, src_col)
                if typ != "VARCHAR":
                    expr = _cast_expr(expr, typ, False)
            typed_exprs.append(f"{expr} AS {_q(name)}")
            extras.append((name, typ))
        if table not in ("accounts", "account_labels"):
            dropped = [c for c in cols if c not in mapping.columns and c not in {lk.column for lk in mapping.lookup}]
            if dropped:
                report.add(Problem("dropped_columns", "warning", len(dropped),
                                   f"source column(s) not mapped and not imported: {', '.join(dropped)} "
                                   "(custom attributes are kept only on accounts)", table))

        raws = ", ".join(_q(RAW_PREFIX + c) for c, _ in out_cols)
        sql = (f"SELECT {ROW_COLUMN}, {', '.join(typed_exprs)}, {raws} FROM ("
               f"SELECT s.{ROW_COLUMN}, s.* EXCLUDE ({ROW_COLUMN}), {', '.join(raw_exprs)} "
               f"FROM {_q(src)} AS s {' '.join(joins)}) AS s")
        # typed expressions come first in the text, the raw ones inside the subquery after them
        return _Staged(table, sql, typed_params + params, out_cols + extras, mapping, in_source_order=not joins)

    def _stage_lookup(self, lk, mapping: Mapping, table: str, report: ValidationReport, alias: str):
        path = lk.resolved_file(mapping.base_dir)
        lk_src, lk_cols = self.load(Source(path=path))
        missing = [c for c in (lk.key, lk.value) if c not in lk_cols]
        if missing:
            report.add(Problem("unknown_column", "error", len(missing),
                               f"lookup file {lk.file} has no column(s) {', '.join(map(repr, missing))}; "
                               f"its columns are: {', '.join(lk_cols)}", table))
            return None
        name = self._name("lookup")
        self.con.execute(
            f"CREATE TEMP TABLE {_q(name)} AS SELECT DISTINCT CAST({_q(lk.key)} AS VARCHAR) AS k, "
            f"CAST({_q(lk.value)} AS VARCHAR) AS v FROM {_q(lk_src)} WHERE {_q(lk.key)} IS NOT NULL"
        )
        dup = self.con.execute(f"SELECT k FROM {_q(name)} GROUP BY k HAVING count(*) > 1 LIMIT {EXAMPLES}").fetchall()
        if dup:
            report.add(Problem("lookup_duplicate_key", "error", len(dup),
                               f"lookup file {lk.file} gives several {lk.value!r} values for the same {lk.key!r}",
                               table, lk.column, [{"row": None, lk.key: d[0]} for d in dup]))
            return None
        return name, alias

    def _infer_text_type(self, src: str, col: str) -> str:
        """Type of a text custom attribute: BIGINT, DOUBLE, DATE, TIMESTAMP, BOOLEAN or VARCHAR."""
        c = f"NULLIF(trim({_q(col)}), '')"
        row = self.con.execute(
            f"SELECT count({c}), count(CASE WHEN regexp_full_match({c}, '[+-]?[0-9]{{1,18}}') THEN 1 END), "
            f"count(try_cast({c} AS DOUBLE)), "
            f"count(try_cast({c} AS DATE)), count(try_cast({c} AS TIMESTAMP)), "
            f"count(CASE WHEN lower({c}) IN ('true', 'false') THEN 1 END), "
            f"count(CASE WHEN regexp_matches({c}, '^[+-]?0[0-9]') THEN 1 END) FROM {_q(src)}"
        ).fetchall()[0]
        n, as_int, as_double, as_date, as_ts, as_bool, leading_zero = row
        if n == 0:
            return "VARCHAR"
        if as_int == n and leading_zero == 0:
            return "BIGINT"
        if as_double == n and leading_zero == 0:
            return "DOUBLE"
        if as_date == n:
            return "DATE"
        if as_ts == n:
            return "TIMESTAMP"
        if as_bool == n:
            return "BOOLEAN"
        return "VARCHAR"

    # ------------------------------------------------------------- checks
    def validate(self, staged: _Staged, report: ValidationReport, known_accounts: str | None,
                 existing_keys: str | None) -> None:
        """Run every check of one staged table: one aggregate pass, then examples for what was found."""
        table = staged.table
        checks: list[_Check] = []
        for col, typ, nullable in IMPORTABLE_TABLES[table]:
            raw = _q(RAW_PREFIX + col)
            if staged.mapping.targets.get(col) is None and col not in staged.mapping.defaults \
                    and (table, col) not in DEFAULTS:
                continue
            fmt = staged.mapping.formats.get(col)
            hint = f" with format {fmt!r}" if fmt else ""
            checks.append(_Check("parse_failed", "error" if not nullable else "warning",
                                 f"{raw} IS NOT NULL AND t.{_q(col)} IS NULL",
                                 f"values in {col!r} cannot be read as {typ}{hint}"
                                 + ("" if not nullable else "; they would be imported as empty"),
                                 col, [f"{RAW_PREFIX}{col}"]))
            if not nullable:
                checks.append(_Check("missing_value", "error", f"{raw} IS NULL", f"required column {col!r} is empty",
                                     col, []))
        for key in PRIMARY_KEYS.get(table, ()):  # single-column keys
            dup = self._name("dup")
            self.con.execute(f"CREATE TEMP TABLE {_q(dup)} AS SELECT {_q(key)} AS k FROM ({staged.sql}) AS t "
                             f"WHERE {_q(key)} IS NOT NULL GROUP BY 1 HAVING count(*) > 1", staged.params)
            checks.append(_Check("duplicate_key", "error", f"t.{_q(key)} IN (SELECT k FROM {_q(dup)})",
                                 f"{key!r} values appear more than once", key, [key]))
            if existing_keys is not None:
                checks.append(_Check("duplicate_existing", "error", f"t.{_q(key)} IN (SELECT k FROM {_q(existing_keys)})",
                                     f"{key!r} values already exist in the warehouse; use mode 'replace' to overwrite",
                                     key, [key]))
        if table != "accounts" and known_accounts is not None:
            checks.append(_Check(
                "unknown_account", None,
                f"t.account_id IS NOT NULL AND t.account_id NOT IN (SELECT k FROM {_q(known_accounts)})",
                "rows reference accounts that are not in accounts", "account_id", ["account_id"]))
        present = {c for c, _ in staged.columns}
        for t, early, late, severity, message in DATE_ORDER:
            if t == table and early in present and late in present:
                checks.append(_Check("date_order", severity, f"t.{_q(late)} < t.{_q(early)}", message, late,
                                     [early, late]))
        horizon = datetime.combine(self.today + timedelta(days=1), datetime.min.time())
        for t, col, severity in NOT_FUTURE:
            if t == table and col in present:
                checks.append(_Check("future_date", severity, f"CAST(t.{_q(col)} AS TIMESTAMP) > ?",
                                     f"{col!r} lies in the future (after {self.today.isoformat()})", col, [col],
                                     [horizon]))
        for t, col, cond, severity, message in RANGES:
            if t == table and col in present:
                checks.append(_Check("out_of_range", severity, cond, message, col, [col]))
        counted = [f"count(*) FILTER (WHERE {c.where})" for c in checks]
        if table == "account_labels":
            counted.append("count(*) FILTER (WHERE t.label = 1)")
        if not counted:
            return
        params = [p for c in checks for p in c.params] + staged.params  # FILTERs come before the FROM
        counts = self.con.execute(f"SELECT {', '.join(counted)} FROM ({staged.sql}) AS t", params).fetchall()[0]
        for check, n in zip(checks, counts, strict=False):
            if not n:
                continue
            severity, message = check.severity, check.message
            if check.code == "unknown_account":
                total = max(1, report.rows.get(table, 1))
                none_known = self.con.execute(f"SELECT count(*) FROM {_q(known_accounts)}").fetchall()[0][0] == 0
                severity = "error" if none_known or n / total > UNKNOWN_ACCOUNT_ERROR_SHARE else "warning"
                message += (("; import accounts first" if none_known else "")
                            + ("" if severity == "error" else "; they are imported but match no account"))
            report.add(Problem(check.code, severity, n, message, table, check.column, self._examples(staged, check)))
        if table == "account_labels":
            positives = counts[-1]
            if positives < MIN_CHURNED:
                report.add(Problem("few_churned", "warning", positives,
                                   f"only {positives} churned account(s): too few for a stable model "
                                   f"(aim for at least {MIN_CHURNED})", table, "label"))

    def _examples(self, staged: _Staged, check: _Check) -> list[dict[str, Any]]:
        """The first :data:`EXAMPLES` rows (by source row) that fail ``check``."""
        shown = _show_cols(check.show)
        cols = "".join(f", CAST({c} AS VARCHAR) AS {_q(label)}" for label, c in shown)
        rows = self.con.execute(
            f"SELECT {ROW_COLUMN}{cols} FROM ({staged.sql}) AS t WHERE {check.where} "
            f"ORDER BY {ROW_COLUMN} LIMIT {EXAMPLES}",
            staged.params + check.params,
        ).fetchall()
        names = ["row"] + [label for label, _ in shown]
        return [dict(zip(names, r, strict=True)) for r in rows]


@dataclass
class _Check:
    """One validation rule on a staged table: rows where ``where`` holds are a problem."""

    code: str
    severity: str | None  # None: decided from the count (unknown accounts)
    where: str
    message: str
    column: str | None
    show: list[str]
    params: list[Any] = field(default_factory=list)


def _show_cols(show: list[str]) -> list[tuple[str, str]]:
    out = []
    for c in show:
        label = c[len(RAW_PREFIX):] if c.startswith(RAW_PREFIX) else c
        out.append((label, f"t.{_q(c)}"))
    return out


def _value_text(value: Any, typ: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        if typ in {"INTEGER", "DOUBLE", "BIGINT"}:
            return "1" if value else "0"
        return "true" if value else "false"
    return str(value)


def _cast_expr(raw: str, typ: str, with_format: bool) -> str:
    """SQL that casts ``raw`` to ``typ``; NULL where it does not parse."""
    if with_format and typ in {"DATE", "TIMESTAMP"}:
        return f"CAST(try_strptime(CAST({raw} AS VARCHAR), ?) AS {typ})"
    if typ == "DATE":
        return f"coalesce(try_cast({raw} AS DATE), try_cast(try_cast({raw} AS TIMESTAMP) AS DATE))"
    if typ == "VARCHAR":
        return f"CAST({raw} AS VARCHAR)"
    return f"try_cast({raw} AS {typ})"


def _settings_max_mb() -> float:
    """The upload limit from ``CSAI_MAX_UPLOAD_MB`` (or secrets), without opening a workspace."""


    return _int({**_secrets(), **os.environ}, "CSAI_MAX_UPLOAD_MB", Settings.max_upload_mb, 1, 100_000)


def _register_keys(con: duckdb.DuckDBPyConnection, name: str, keys: list[tuple[str]]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(name)} (k VARCHAR)")
    if keys:
        con.executemany(f"INSERT INTO {_q(name)} VALUES (?)", keys)


def _load_keys(stager: _Stager, name: str, warehouse: Warehouse, table: str, column: str) -> None:
    """Copy the warehouse's key values into the staging database (via Arrow, not row by row)."""
    stager.con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(name)} (k VARCHAR)")
    if "raw" not in warehouse.current():
        return
    with warehouse.reader() as con:
        arrow = con.sql(f"SELECT DISTINCT CAST({_q(column)} AS VARCHAR) AS k FROM {_q(table)}").to_arrow_table()
    stager.con.register("__keys_in", arrow)
    try:
        stager.con.execute(f"INSERT INTO {_q(name)} SELECT k FROM __keys_in")
    finally:
        stager.con.unregister("__keys_in")


def _check_orphans(stager: _Stager, warehouse: Warehouse, accounts: _Staged, replaced: set[str],
                   report: ValidationReport, allow_orphans: bool) -> None:
    """Count the rows of other tables that replacing accounts by ``accounts`` would leave without their account.

    Only rows whose account exists today and is missing from the new accounts count
    (rows that were already orphaned are not this import's doing); tables replaced in the
    same import are checked by their own ``unknown_account`` rule instead. Adds an error
    (a warning when ``allow_orphans``) with the count per table and example account ids.
    """
    if "raw" not in warehouse.current():
        return
    with warehouse.reader() as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE database_name = 'raw' AND column_name = 'account_id' "
            "AND table_name <> 'accounts' ORDER BY table_name").fetchall() if t not in replaced]
        if not tables:
            return
        union = " UNION ALL ".join(f"SELECT ? AS t, CAST(account_id AS VARCHAR) AS k, count(*) AS n FROM {_q(t)} "
                                   "WHERE account_id IN (SELECT account_id FROM accounts) GROUP BY 2"
                                   for t in tables)
        arrow = con.sql(union, params=tables).to_arrow_table()
    stager.con.register("__refs_in", arrow)
    try:
        stager.con.execute("CREATE OR REPLACE TEMP TABLE __refs AS SELECT t, k, n FROM __refs_in")
    finally:
        stager.con.unregister("__refs_in")
    lost = (f"SELECT t, k, n FROM __refs WHERE k NOT IN (SELECT DISTINCT account_id FROM ({accounts.sql}) AS a "
            "WHERE account_id IS NOT NULL)")
    per_table = stager.con.execute(f"SELECT t, sum(n)::BIGINT, count(DISTINCT k) FROM ({lost}) GROUP BY t ORDER BY t",
                                   accounts.params).fetchall()
    if not per_table:
        return
    n_accounts = stager.con.execute(f"SELECT count(DISTINCT k) FROM ({lost})", accounts.params).fetchall()[0][0]
    n_rows = sum(n for _, n, _ in per_table)
    examples = stager.con.execute(
        f"SELECT k, list(t ORDER BY t), list(n ORDER BY t) FROM ({lost}) GROUP BY k ORDER BY k LIMIT {EXAMPLES}",
        accounts.params).fetchall()
    counts = ", ".join(f"{n:,} {t} row(s)" for t, n, _ in per_table)
    if allow_orphans:
        message = (f"{n_accounts:,} account(s) that other tables refer to are not in this file; {counts} are kept "
                   "without their account (confirmed)")
    else:
        message = (f"replacing accounts would orphan {n_rows:,} row(s) in other tables: {counts} refer to "
                   f"{n_accounts:,} account(s) that are not in this file. Add those accounts to the file, or "
                   "confirm that they may be left without an account (--allow-orphans on the command line, "
                   "'Leave orphaned rows' on the Data page)")
    report.add(Problem("orphaned_rows", "warning" if allow_orphans else "error", n_rows, message, "accounts",
                       "account_id", [{"row": None, "account_id": k, **dict(zip(ts, ns, strict=True))}
                                      for k, ts, ns in examples]))


def prepare(warehouse: Warehouse, specs: list[ImportSpec], mode: Mode = "replace", *,
            max_mb: float | None = None, today: date | None = None, fresh: bool = False,
            allow_orphans: bool = False):
    """Stage and validate ``specs`` without writing; returns ``(stager, staged, report)``.

    The caller closes ``stager``. Used by :func:`import_tables` and by previews. A
    replace of accounts that would leave rows of other tables without their account is
    an error unless ``allow_orphans``.
    """
    if mode not in ("replace", "append"):
        raise UserError(f"Unknown import mode {mode!r}; use 'replace' or 'append'.")
    for spec in specs:
        if spec.table not in IMPORTABLE_TABLES:
            raise UserError(f"Unknown table {spec.table!r}; choose one of {', '.join(IMPORTABLE_TABLES)}.")
    if len({s.table for s in specs}) != len(specs):
        raise UserError("Each table can appear only once in one import.")
    stager = _Stager(max_mb if max_mb is not None else _settings_max_mb(), today or datetime.now(UTC).date())
    try:
        report = ValidationReport()
        staged: list[_Staged] = []
        order = sorted(specs, key=lambda s: s.table != "accounts")
        for spec in order:
            staged_table = stager.stage(spec, report)
            if staged_table is not None:
                staged.append(staged_table)
        by_table = {s.table: s for s in staged}
        known = None
        if any(s.table != "accounts" for s in staged):
            known = "__known_accounts"
            if "accounts" in by_table:
                base = "" if (mode == "replace" or fresh) else "__wh_accounts"
                if base:
                    _load_keys(stager, base, warehouse, "accounts", "account_id")
                accounts = by_table["accounts"]
                stager.con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {known} AS SELECT DISTINCT account_id AS k "
                    f"FROM ({accounts.sql}) AS t" + (f" UNION SELECT k FROM {base}" if base else ""),
                    accounts.params,
                )
            elif fresh:
                _register_keys(stager.con, known, [])
            else:
                _load_keys(stager, known, warehouse, "accounts", "account_id")
        for staged_table in staged:
            existing = None
            keys = PRIMARY_KEYS.get(staged_table.table, ())
            if mode == "append" and not fresh and keys:
                existing = f"__existing_{staged_table.table}"
                _load_keys(stager, existing, warehouse, staged_table.table, keys[0])
            stager.validate(staged_table, report, known, existing)
        if mode == "replace" and not fresh and "accounts" in by_table:
            _check_orphans(stager, warehouse, by_table["accounts"], {s.table for s in specs}, report, allow_orphans)
        return stager, staged, report
    except BaseException:
        stager.close()
        raise


def import_tables(warehouse: Warehouse, specs: list[ImportSpec], mode: Mode = "replace", *,
                  max_mb: float | None = None, today: date | None = None, fresh: bool = False,
                  dry_run: bool = False, allow_orphans: bool = False, as_of: date | None = None) -> ImportResult:
    """Import several tables in one all-or-nothing write (validation first).

    ``mode='replace'`` replaces each named table; ``'append'`` adds rows (new custom
    attribute columns are added to accounts). ``fresh=True`` starts from an empty raw
    layer (every table not named becomes empty). ``dry_run`` validates only.
    ``allow_orphans`` lets a replace of accounts leave other tables' rows without their
    account (otherwise refused, with counts). The end of the data (the workspace's as-of
    date) is stored with the import (:func:`data.readmodel.store_data_end`), capped at
    ``today``; ``as_of`` stores a user's override instead.
    Raises :class:`ImportValidationError` (a UserError) when validation finds errors.

    A real import holds the raw layer's writer lock from validation to the write, so two
    imports at once never both pass the key checks against the same old data (duplicate
    account ids); the second validates against what the first wrote.
    """
    lock = contextlib.nullcontext() if dry_run else warehouse.lock("raw")
    with lock:
        stager, staged, report = prepare(warehouse, specs, mode, max_mb=max_mb, today=today, fresh=fresh,
                                         allow_orphans=allow_orphans)
        try:
            if not report.ok:
                raise ImportValidationError(report)
            mappings = {s.table: s.mapping for s in staged}
            counts = {s.table: report.rows.get(s.table, 0) for s in staged}
            if dry_run:
                return ImportResult(counts, mode, report, warehouse.version(), mappings)
            stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
            try:
                with warehouse.writer("raw", fresh=fresh, con=stager.con) as con:
                    for staged_table in staged:
                        _write_table(con, staged_table, mode if not fresh else "replace")
                        pause_point("import-write")
                        con.execute("DELETE FROM raw.workspace_meta WHERE key = ?", [f"imported_{staged_table.table}"])
                        con.execute("INSERT INTO raw.workspace_meta VALUES (?, ?)", [f"imported_{staged_table.table}", stamp])
                    stored = _store_data_end(con, today or datetime.now(UTC).date(), as_of)
            except duckdb.Error as exc:
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise UserError(f"The import could not be written and nothing was changed: {msg}") from None
            real_data_imported(warehouse)  # the first real import ends the demo (its logins stop working)
        finally:
            stager.close()
        return ImportResult(counts, mode, report, warehouse.version(), mappings, stored)


def _store_data_end(con: duckdb.DuckDBPyConnection, cap: date, override: date | None) -> dict:
    """Store the end of the data in the new raw snapshot (the read model's as-of date), reading its tables."""

    home = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute("USE raw")
    try:
        return store_data_end(con, cap, override=override)
    finally:
        con.execute(f'USE "{home}"')  # the caller's own database, from DuckDB's catalog


def _write_table(con: duckdb.DuckDBPyConnection, staged: _Staged, mode: Mode) -> None:
    """Insert the staged rows into ``raw.<table>`` in source order (replace: a new table first)."""
    target = f"raw.{_q(staged.table)}"
    if mode == "replace":
        con.execute(f"DROP TABLE IF EXISTS {target}")
        canonical = list(IMPORTABLE_TABLES[staged.table])
        extras = [(c, t, True) for c, t in staged.columns[len(canonical):]]
        con.execute(create_table_sql(staged.table, canonical + extras).replace(
            f'CREATE TABLE IF NOT EXISTS "{staged.table}"', f"CREATE TABLE {target}", 1))
    else:
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'raw' AND table_name = ?",
            [staged.table]).fetchall()}
        for col, typ in staged.columns:
            if col not in have:
                con.execute(f"ALTER TABLE {target} ADD COLUMN {_q(col)} {typ}")
    cols = ", ".join(_q(c) for c, _ in staged.columns)
    order = "" if staged.in_source_order else f" ORDER BY {ROW_COLUMN}"
    con.execute(f"INSERT INTO {target} BY NAME SELECT {cols} FROM ({staged.sql}) AS t{order}", staged.params)


def import_table(warehouse: Warehouse, table: str, source: Source | str, mapping: Mapping | None = None,
                 mode: Mode = "replace", *, overrides: dict[str, str | None] | None = None,
                 **kwargs) -> ImportResult:
    """Import one canonical table from ``source`` (a :class:`Source` or a path/URL).

    Validation runs first; errors raise :class:`ImportValidationError` and nothing is
    written. See :func:`import_tables` for the keyword options.
    """
    src = source if isinstance(source, Source) else Source.from_text(str(source))
    return import_tables(warehouse, [ImportSpec(table, src, mapping, dict(overrides or {}))], mode, **kwargs)


def import_flat(warehouse: Warehouse, source: Source | str, id_col: str, label_col: str,
                positive: str | None = None, *, overrides: dict[str, str | None] | None = None,
                **kwargs) -> ImportResult:
    """Import a one-row-per-account table with a churn label, replacing the workspace's data.

    Writes ``accounts`` (``id_col`` -> account_id; columns named like canonical account
    columns fill them, every other column is kept as a custom attribute, identifiers
    included) and ``account_labels(account_id, label)``. ``positive`` is the label
    value meaning "churned"; without it Yes/No, true/false, 1/0, Y/N are recognised.
    ``overrides`` (``--map``) changes where a column goes on accounts; a target of None
    leaves the column out (e.g. one only known after the outcome).
    """
    src = source if isinstance(source, Source) else Source.from_text(str(source))
    stager = _Stager(kwargs.get("max_mb") if kwargs.get("max_mb") is not None else _settings_max_mb(),
                     kwargs.get("today") or datetime.now(UTC).date())
    try:
        name, cols = stager.load(src)
        for what, col in (("--id", id_col), ("--label", label_col)):
            if col not in cols:
                raise UserError(f"{what} {col!r} is not a column of {src.label}; its columns are: {', '.join(cols)}.")
        if id_col == label_col:
            raise UserError("--id and --label must be different columns.")
        overrides = dict(overrides or {})
        unknown = [c for c in overrides if c not in cols]
        if unknown:
            raise UserError(f"--map names column(s) {', '.join(map(repr, unknown))} that {src.label} does not have; "
                            f"its columns are: {', '.join(cols)}.")
        if any(c in (id_col, label_col) or dst == "account_id" for c, dst in overrides.items()):
            raise UserError("--map cannot change the --id or --label column; choose them with --id and --label.")
        values = [r[0] for r in stager.con.execute(
            f"SELECT DISTINCT CAST({_q(label_col)} AS VARCHAR) FROM {_q(name)} LIMIT 1000").fetchall()]
    finally:
        stager.close()
    present = [v for v in values if v is not None and v.strip() != ""]
    if positive is not None:
        if str(positive).strip().lower() not in {v.strip().lower() for v in present}:
            raise UserError(f"--positive {positive!r} does not occur in {label_col!r}; values are: "
                            f"{', '.join(sorted(present)[:10])}.")
        value_map = {v.strip().lower(): (1 if v.strip().lower() == str(positive).strip().lower() else 0)
                     for v in present}
    else:
        value_map = suggest_value_map(present)
        if value_map is None:
            raise UserError(f"Cannot tell which value of {label_col!r} means churned (values: "
                            f"{', '.join(sorted(present)[:10])}); pass --positive VALUE.")
    others = [c for c in cols if c not in (id_col, label_col)]
    suggested = suggest_mapping(others, None, "accounts")
    columns = {id_col: "account_id"}
    columns.update({src_col: dst for src_col, dst in suggested.columns.items() if dst != "account_id"})
    extra = [c for c in others if c not in columns]
    accounts = Mapping("accounts", columns=columns, extra=extra)
    if overrides:
        accounts = accounts.with_overrides(overrides)
    labels = Mapping("account_labels", columns={id_col: "account_id", label_col: "label"},
                     values={"label": value_map})
    opts = {k: v for k, v in kwargs.items() if k in {"max_mb", "today", "dry_run", "as_of"}}
    return import_tables(warehouse, [ImportSpec("accounts", src, accounts), ImportSpec("account_labels", src, labels)],
                         "replace", fresh=True, **opts)
