"""Metric layer: per-account metrics as of observation dates, and the metric catalog.

Metrics follow DESIGN.md section 5 and are computed in DuckDB SQL (``data/sql/*.sql``)
for *many* observation dates at once: the observation rows are a table joined to the
input tables with range conditions. Every metric reads only rows strictly before its
observation date (an end, close, payment or departure on or after the date counts as
"not yet happened"); :func:`truncate_raw_tables` builds the "world as of a date" that
the leakage check in ``models.observations`` compares against.

Every ``event_type`` in ``events`` gets count (per month over 30 and 90 days, scaled
for young accounts), trend (last 30 days vs the previous 60) and recency metrics without
code changes. Custom attribute columns on ``accounts`` become Firmographic metrics;
identifier-like columns never do.

The catalog (:class:`Metric`) gives every metric a human label, a group, an
``actionable`` flag and a sentence template; :func:`render_sentence` turns a value into
the sentence a CSM reads ("Daily active users fell 45% vs the previous 60 days").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from data.schema import ALL_RAW_TABLES, CANONICAL_TABLES, create_table_sql

SQL_DIR = Path(__file__).resolve().parent / "sql"

CATEGORICAL_ACCOUNT_COLUMNS = ("segment", "industry", "region", "plan", "csm")
EXCLUDED_ACCOUNT_COLUMNS = ("account_id", "name", "created_at")
_IDENTIFIER_NAME = re.compile(r"(^|_)(id|uuid|guid|key|email|e_mail|name|phone|url|website|domain|number|no)$", re.I)


@cache
def load_sql(name: str) -> str:
    """Text of ``data/sql/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text()


# --------------------------------------------------------------------------- catalog
@dataclass(frozen=True)
class Metric:
    """One catalog entry.

    ``template`` is a ``str.format`` pattern; fields: ``label``, ``value`` (formatted
    number or category), ``abs_pct`` (|value| as a percentage for ``change`` metrics),
    ``fell_rose`` ("fell"/"rose"/"was unchanged"), ``pct`` (value x 100). ``kind`` is one
    of count, rate, change, days, ratio, flag, score, money, category, number.
    """

    name: str
    label: str
    group: str
    actionable: bool
    template: str
    kind: str = "number"


def _m(name, label, group, actionable, template, kind="number") -> Metric:
    return Metric(name, label, group, actionable, template, kind)


STATIC_METRICS: tuple[Metric, ...] = (
    _m("tenure_days", "Tenure", "Contract", False, "Customer for {value} days", "days"),
    _m("mrr", "MRR", "Contract", False, "MRR is {value}", "money"),
    _m("mrr_change_90d", "MRR", "Contract", True, "MRR {fell_rose} {abs_pct}% over the last 90 days", "change"),
    _m("seats", "Seats", "Contract", False, "{value} seats under contract", "count"),
    _m("active_subscriptions", "Active subscriptions", "Contract", False, "{value} active subscriptions", "count"),
    _m("contract_annual", "Annual contract", "Contract", False, "{value_yes_no}", "flag"),
    _m("days_to_renewal", "Days to renewal", "Contract", False, "Renewal is due in {value} days", "days"),
    _m("renewal_within_90d", "Renewal within 90 days", "Contract", False, "{value_yes_no}", "flag"),
    _m("active_days_30d", "Active days", "Usage", True, "Product used on {value} of the last 30 days", "count"),
    _m("active_users_30d", "Active users", "Adoption", True, "{value} active users in the last 30 days", "count"),
    _m("seat_utilisation", "Seat utilisation", "Adoption", True, "Seat utilisation is {pct}% of purchased seats", "ratio"),
    _m("dau_change_30v60", "Daily active users", "Usage", True,
       "Daily active users {fell_rose} {abs_pct}% vs the previous 60 days", "change"),
    _m("tickets_30d", "Support tickets (30 d)", "Support", True, "{value} support tickets in the last 30 days", "count"),
    _m("tickets_90d", "Support tickets (90 d)", "Support", True, "{value} support tickets in the last 90 days", "count"),
    _m("high_priority_tickets_90d", "High-priority tickets", "Support", True,
       "{value} high-priority tickets in the last 90 days", "count"),
    _m("ticket_severity_60d", "Ticket severity (60 d)", "Support", True,
       "Support severity score of {value} over the last 60 days (urgent = 1, high = 0.6, normal = 0.15)", "number"),
    _m("open_tickets", "Open tickets", "Support", True, "{value} support tickets are open", "count"),
    _m("resolution_hours_90d", "Ticket resolution time", "Support", True,
       "Tickets took {value} hours on average to resolve (last 90 days)", "number"),
    _m("csat_180d", "Support CSAT", "Support", True, "Support satisfaction averaged {value} (last 180 days)", "score"),
    _m("nps_latest", "Latest NPS", "Sentiment", True, "Latest NPS response was {value}", "score"),
    _m("nps_change", "NPS change", "Sentiment", True, "NPS changed by {value_signed} points since the previous response", "number"),
    _m("days_since_nps", "Days since NPS response", "Sentiment", False, "Last NPS response was {value} days ago", "days"),
    _m("failed_payments_90d", "Failed payments (90 d)", "Billing", True, "{value} failed payments in the last 90 days",
       "count"),
    _m("failed_payments_180d", "Failed payments", "Billing", True, "{value} failed payments in the last 180 days", "count"),
    _m("late_payments_180d", "Late payments", "Billing", True, "{value} invoices paid late in the last 180 days", "count"),
    _m("overdue_invoices", "Overdue invoices", "Billing", True, "{value} invoices are overdue", "count"),
    _m("active_contacts", "Active contacts", "Relationship", True, "{value} active contacts", "count"),
    _m("active_champions", "Active champions", "Relationship", True, "{value} active champions", "count"),
    _m("champions_left_90d", "Champion left", "Relationship", True, "{value} champions left in the last 90 days", "count"),
    _m("champion_tenure_days", "Champion tenure", "Relationship", True,
       "The current champion has been in place for {value} days", "days"),
    _m("days_since_champion_left", "Days since a champion left", "Relationship", True,
       "A champion left {value} days ago", "days"),
)

EVENT_METRIC_SUFFIXES = ("per_month_30d", "per_month_90d", "change_30v60", "days_since")


def event_slug(event_type: str) -> str:
    """Column-safe name for an event type ("Core Action" -> "core_action")."""
    slug = re.sub(r"[^0-9a-z]+", "_", str(event_type).lower()).strip("_")
    return slug or "event"


def event_metrics(event_type: str) -> list[Metric]:
    """Catalog entries generated for one event type."""
    slug = event_slug(event_type)
    words = slug.replace("_", " ")
    group = "Adoption" if slug in {"user_invite", "integration_sync", "data_export", "report_run"} else "Usage"
    return [
        _m(f"ev_{slug}_per_month_30d", f"{words.capitalize()} events (30 d)", group, True,
           f"{{value}} {words} events in the last 30 days", "rate"),
        _m(f"ev_{slug}_per_month_90d", f"{words.capitalize()} events per month (90 d)", group, True,
           f"{{value}} {words} events per month over the last 90 days", "rate"),
        _m(f"ev_{slug}_change_30v60", f"{words.capitalize()} activity", group, True,
           f"{words.capitalize()} activity {{fell_rose}} {{abs_pct}}% vs the previous 60 days", "change"),
        _m(f"ev_{slug}_days_since", f"Days since last {words}", group, True,
           f"Last {words} was {{value}} days ago", "days"),
    ]


def attribute_metric(column: str, categorical: bool) -> Metric:
    if column == "csm":
        return _m("csm", "CSM", "Relationship", False, "Customer success manager is {value}", "category")
    if column.startswith("attr_"):
        column_label = column[5:].replace("_", " ")
        label = f"{column_label.capitalize()} (account attribute)"
        return _m(column, label, "Firmographic", False, f"{label} is {{value}}", "category" if categorical else "number")
    label = column.replace("_", " ").capitalize()
    if categorical:
        return _m(column, label, "Firmographic", False, f"{label} is {{value}}", "category")
    return _m(column, label, "Firmographic", False, f"{label} is {{value}}", "number")


@dataclass(frozen=True)
class MetricTable:
    """Result of :func:`compute_metrics`: the frame and how to read its columns."""

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    catalog: dict[str, Metric]


def catalog_for(con: duckdb.DuckDBPyConnection) -> dict[str, Metric]:
    """Full catalog for the data behind ``con`` (static + per event type + attributes)."""
    cat = {m.name: m for m in STATIC_METRICS}
    for et in event_types(con):
        for m in event_metrics(et):
            cat[m.name] = m
    numeric, categorical = account_attribute_columns(con)
    for c in categorical:
        cat[c] = attribute_metric(c, True)
    for c in numeric:
        cat[c] = attribute_metric(c, False)
    return cat


def event_types(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT event_type FROM events ORDER BY 1").fetchall()]


def is_identifier_like(name: str, values: pd.Series) -> bool:
    """True for columns that identify an account rather than describe it (never features)."""
    if _IDENTIFIER_NAME.search(name):
        return True
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        non_null = values.dropna()
        if len(non_null) >= 20 and non_null.nunique() > 0.5 * len(non_null):
            return True
    if pd.api.types.is_integer_dtype(values) and len(values) >= 20 and values.nunique() == len(values):
        diffs = np.diff(np.sort(values.to_numpy()))
        if len(diffs) and (diffs == 1).mean() > 0.9:  # a running number
            return True
    return False


def account_attribute_columns(con: duckdb.DuckDBPyConnection,
                              exclude: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(numeric, categorical) account columns usable as features.

    Canonical segment/industry/region/plan plus custom attributes; identifier-like
    columns, dates, ``csm`` and anything in ``exclude`` (e.g. a label column) are left out.
    """
    accounts = con.execute("SELECT * FROM accounts").df()
    numeric: list[str] = []
    categorical: list[str] = []
    for col in accounts.columns:
        if col in EXCLUDED_ACCOUNT_COLUMNS or col in exclude:
            continue
        values = accounts[col]
        if values.isna().all():
            continue
        if col in CATEGORICAL_ACCOUNT_COLUMNS:
            categorical.append(col)
            continue
        if pd.api.types.is_datetime64_any_dtype(values) or is_identifier_like(col, values):
            continue
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numeric.append(col)
        elif values.dropna().map(lambda v: isinstance(v, (date,))).any():
            continue
        else:
            categorical.append(col)
    return numeric, categorical


# --------------------------------------------------------------------------- compute
def compute_metrics(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame, *,
                    exclude_attributes: tuple[str, ...] = (), types: list[str] | None = None) -> MetricTable:
    """All metrics for each row of ``obs`` (columns ``account_id``, ``obs_date``).

    Two set-based queries cover every observation date at once; the result has one row
    per ``obs`` row in the same order, with ``account_id`` and ``obs_date`` first.
    ``types`` fixes the event types that get metrics (default: all in ``events``).
    """
    obs = obs[["account_id", "obs_date"]].copy()
    obs["account_id"] = obs["account_id"].astype(str)
    obs["obs_date"] = pd.to_datetime(obs["obs_date"]).dt.date
    obs_view = _register_obs(con, obs)
    types_view = f"{obs_view}_types"
    con.register(types_view, pd.DataFrame({"event_type": pd.Series(
        event_types(con) if types is None else list(types), dtype=object)}))
    try:
        base = con.execute(load_sql("account_metrics").replace(" obs o", f" {obs_view} o")).df()
        long = con.execute(load_sql("event_metrics").replace(" obs o", f" {obs_view} o")
                           .replace("FROM event_type_list", f"FROM {types_view}")).df()
    finally:
        con.unregister(obs_view)
        con.unregister(types_view)
    base["obs_date"] = pd.to_datetime(base["obs_date"]).dt.date
    key = ["account_id", "obs_date"]
    frame = obs.merge(base, on=key, how="left")

    numeric = [m.name for m in STATIC_METRICS]
    catalog = {m.name: m for m in STATIC_METRICS}
    if len(long):
        long["obs_date"] = pd.to_datetime(long["obs_date"]).dt.date
        wide = _event_metrics_wide(long, frame[key + ["tenure_days"]])
        frame = frame.merge(wide, on=key, how="left")
        for et in sorted(long["event_type"].unique()):
            for m in event_metrics(et):
                numeric.append(m.name)
                catalog[m.name] = m
    frame, attr_num, attr_cat = _attach_attributes(con, frame, catalog, exclude_attributes)
    numeric = list(dict.fromkeys(numeric + attr_num))
    for c in numeric:
        if c not in frame.columns:
            frame[c] = np.nan
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    return MetricTable(frame=frame.reset_index(drop=True), numeric=numeric, categorical=list(attr_cat), catalog=catalog)


def attribute_metrics(con: duckdb.DuckDBPyConnection, account_ids: list[str] | None = None, *,
                      exclude_attributes: tuple[str, ...] = ()) -> MetricTable:
    """Account attributes only, one row per account (flat mode: no dates, no activity tables).

    Works on an ``accounts`` table with any columns besides ``account_id``.
    """
    ids = con.execute("SELECT account_id FROM accounts").df()["account_id"].astype(str)
    if account_ids is not None:
        wanted = set(map(str, account_ids))
        ids = ids[ids.isin(wanted)]
    frame = pd.DataFrame({"account_id": ids.to_numpy(), "obs_date": None})
    catalog: dict[str, Metric] = {}
    frame, attr_num, attr_cat = _attach_attributes(con, frame, catalog, exclude_attributes)
    return MetricTable(frame=frame.reset_index(drop=True), numeric=attr_num, categorical=attr_cat, catalog=catalog)


def _attach_attributes(con, frame: pd.DataFrame, catalog: dict, exclude: tuple[str, ...]):
    """Merge account attribute columns into ``frame`` and add their catalog entries."""
    attr_num, attr_cat = account_attribute_columns(con, exclude=exclude)
    if not (attr_num or attr_cat):
        return frame, [], []
    accounts = con.execute("SELECT * FROM accounts").df()[["account_id", *attr_num, *attr_cat]]
    accounts["account_id"] = accounts["account_id"].astype(str)
    # An attribute named like a computed metric (e.g. a static "mrr" column) is kept apart:
    # the computed metric is time-correct, the attribute is a snapshot.
    taken = set(frame.columns)
    renames = {c: f"attr_{c}" for c in [*attr_num, *attr_cat] if c in taken}
    accounts = accounts.rename(columns=renames)
    attr_num = [renames.get(c, c) for c in attr_num]
    attr_cat = [renames.get(c, c) for c in attr_cat]
    frame = frame.merge(accounts, on="account_id", how="left")
    for c in attr_num:
        catalog[c] = attribute_metric(c, False)
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    for c in attr_cat:
        catalog[c] = attribute_metric(c, True)
        frame[c] = frame[c].astype("string").astype(object).where(frame[c].notna(), None)
    return frame, attr_num, attr_cat


_obs_counter = 0


def _register_obs(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame) -> str:
    global _obs_counter
    _obs_counter += 1
    name = f"obs_{_obs_counter}"
    con.register(name, obs)
    return name


def _event_metrics_wide(long: pd.DataFrame, tenure: pd.DataFrame) -> pd.DataFrame:
    """Pivot per-event-type rows to ``ev_<type>_<metric>`` columns, scaling for young accounts."""
    df = long.merge(tenure, on=["account_id", "obs_date"], how="left")
    tenure_days = df["tenure_days"].fillna(90).clip(lower=0).to_numpy(dtype=float)
    q30 = df["qty_30d"].to_numpy(dtype=float)
    q60 = df["qty_prev_60d"].to_numpy(dtype=float)
    q90 = df["qty_90d"].to_numpy(dtype=float)
    months_observed = np.clip(np.minimum(tenure_days, 90.0), 14.0, 90.0) / 30.0
    prev_days = np.clip(tenure_days - 30.0, 0.0, 60.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate30 = q30 / 30.0
        rate60 = np.where(prev_days > 0, q60 / np.maximum(prev_days, 1.0), np.nan)
        change = np.where(rate60 > 0, (rate30 - rate60) / rate60, np.where(rate30 > 0, 3.0, 0.0))
    change = np.where(prev_days < 14, np.nan, np.clip(change, -1.0, 3.0))
    days_since = df["days_since"].to_numpy(dtype=float)
    days_since = np.where(np.isnan(days_since), 365.0, np.minimum(days_since, 365.0))
    slugs = {t: event_slug(t) for t in df["event_type"].unique()}  # a handful of types, many rows
    slug = df["event_type"].map(slugs)
    out = pd.DataFrame({
        "account_id": df["account_id"], "obs_date": df["obs_date"], "slug": slug,
        "per_month_30d": q30, "per_month_90d": q90 / months_observed,
        "change_30v60": change, "days_since": days_since,
    })
    wide = out.pivot_table(index=["account_id", "obs_date"], columns="slug",
                           values=list(EVENT_METRIC_SUFFIXES), aggfunc="first", dropna=False)
    wide.columns = [f"ev_{s}_{m}" for m, s in wide.columns]
    return wide.reset_index()


# --------------------------------------------------------------------------- labels & dates
def compute_labels(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame, *, horizon_days: int = 90,
                   lead_days: int = 0, gap_days: int = 30, expansion_ratio: float = 1.10) -> pd.DataFrame:
    """Churn and expansion labels (and churn date, MRR at obs) for each ``obs`` row.

    These read data *after* ``obs_date`` on purpose; they are targets, never features.
    """
    obs = obs[["account_id", "obs_date"]].copy()
    obs["obs_date"] = pd.to_datetime(obs["obs_date"]).dt.date
    params = {"gap_days": int(gap_days), "lead_days": int(lead_days), "horizon_days": int(horizon_days),
              "expansion_ratio": float(expansion_ratio)}
    spells = con.execute(load_sql("subscription_spells"), {"gap_days": params["gap_days"]}).df()
    name = _register_obs(con, obs)
    con.register("spells", spells)
    try:
        sql = load_sql("labels").replace(" obs o", f" {name} o")
        out = con.execute(sql, {k: v for k, v in params.items() if k != "gap_days"}).df()
    finally:
        con.unregister(name)
        con.unregister("spells")
    out["obs_date"] = pd.to_datetime(out["obs_date"]).dt.date
    return obs.merge(out, on=["account_id", "obs_date"], how="left")


def data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """Last day of history in the warehouse (workspace_meta ``end`` if present)."""
    try:
        row = con.execute("SELECT value FROM workspace_meta WHERE key IN ('end', 'end_date', 'data_end') LIMIT 1").fetchall()
    except duckdb.Error:
        row = None
    if row and row[0][0]:
        try:
            return date.fromisoformat(str(row[0][0])[:10])
        except ValueError:
            pass
    parts = [
        "SELECT max(CAST(event_time AS DATE)) FROM events",
        "SELECT max(start_date) FROM subscriptions",
        "SELECT max(CAST(opened_at AS DATE)) FROM tickets",
        "SELECT max(issued_at) FROM invoices",
        "SELECT max(CAST(responded_at AS DATE)) FROM nps",
    ]
    best = None
    for q in parts:
        v = con.execute(q).fetchall()[0][0]
        if v is not None and (best is None or v > best):
            best = v
    return best


def active_accounts(con: duckdb.DuckDBPyConnection, at: date) -> list[str]:
    """Accounts with a subscription active on the eve of ``at`` (start before, no end before)."""
    rows = con.execute(
        "SELECT DISTINCT account_id FROM subscriptions WHERE start_date < ? AND (end_date IS NULL OR end_date >= ?) "
        "ORDER BY 1", [at, at]).fetchall()
    return [r[0] for r in rows]


# --------------------------------------------------------------------------- as-of world
def truncate_raw_tables(src: duckdb.DuckDBPyConnection, cut: date,
                        account_ids: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory connection holding the raw tables as they were known before ``cut``.

    Rows created on or after ``cut`` are dropped; ends, closes, payments and departures on
    or after ``cut`` become NULL; a failed invoice not yet due is still ``open``. Used by the
    leakage check: metrics computed here must equal metrics computed on the full data.
    """
    con = duckdb.connect()
    con.execute("SET threads = 2")
    ids = list(account_ids) if account_ids is not None else None
    for table in ALL_RAW_TABLES:
        con.execute(create_table_sql(table))
    where_ids = "account_id IN (SELECT unnest($ids))" if ids is not None else "TRUE"
    params = {"cut": cut, **({"ids": ids} if ids is not None else {})}
    rules = {
        "accounts": ("*", "TRUE"),
        "subscriptions": ("* REPLACE (CASE WHEN end_date >= $cut THEN NULL ELSE end_date END AS end_date)",
                          "start_date < $cut"),
        "events": ("*", "event_time < $cut"),
        "tickets": ("* REPLACE (CASE WHEN closed_at >= $cut THEN NULL ELSE closed_at END AS closed_at, "
                    "CASE WHEN closed_at >= $cut THEN NULL ELSE csat END AS csat)", "opened_at < $cut"),
        "nps": ("*", "responded_at < $cut"),
        "invoices": ("* REPLACE (CASE WHEN paid_at >= $cut THEN NULL ELSE paid_at END AS paid_at, "
                     "CASE WHEN coalesce(due_at, issued_at) >= $cut THEN 'open' "
                     "WHEN paid_at >= $cut AND lower(status) <> 'failed' THEN 'open' ELSE status END AS status)",
                     "issued_at < $cut"),
        "contacts": ("* REPLACE (CASE WHEN active_to >= $cut THEN NULL ELSE active_to END AS active_to)",
                     "coalesce(active_from, DATE '1900-01-01') < $cut"),
    }
    for table, (select, cond) in rules.items():
        q = f"SELECT {select} FROM {table} WHERE {cond} AND {where_ids}"  # noqa: S608 - our identifiers
        df = src.execute(q, {k: v for k, v in params.items() if f"${k}" in q}).df()
        if table == "accounts":
            con.execute("DROP TABLE accounts")
            con.register("_acc", df)
            con.execute("CREATE TABLE accounts AS SELECT * FROM _acc")
            con.unregister("_acc")
        else:
            con.register("_t", df)
            cols = ", ".join(f'"{c}"' for c, _, _ in CANONICAL_TABLES[table])
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _t")  # noqa: S608
            con.unregister("_t")
    return con


# --------------------------------------------------------------------------- sentences
def _fmt_number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    v = float(value)
    if abs(v - round(v)) < 1e-9 and abs(v) < 1e12:
        return f"{int(round(v)):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def render_sentence(metric: Metric, value) -> str:
    """The catalog sentence for ``metric`` at ``value`` (NaN renders as "not known")."""
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    if missing:
        if metric.kind == "days" and metric.name.startswith("days_since_champion"):
            return "No champion has left"
        if metric.name == "days_to_renewal":
            return "Month-to-month contract (no annual renewal date)"
        return f"{metric.label}: not known"
    if metric.kind == "category":
        return metric.template.format(label=metric.label, value=value)
    v = float(value)
    if metric.kind == "change":
        word = "fell" if v < -0.005 else "rose" if v > 0.005 else "was unchanged"
        abs_pct = f"{abs(v) * 100:.0f}" if word != "was unchanged" else "0"
        text = metric.template.format(label=metric.label, value=_fmt_number(v), fell_rose=word, abs_pct=abs_pct,
                                      pct=f"{v * 100:.0f}", value_yes_no="", value_signed=f"{v:+.0f}")
        return text.replace(" was unchanged 0%", " was unchanged")
    if metric.kind == "money":
        shown = f"${v:,.0f}"
    elif metric.kind in ("count", "days"):
        shown = _fmt_number(round(v))
    else:
        shown = _fmt_number(v)
    yes_no = f"{metric.label}: {'yes' if v >= 0.5 else 'no'}"
    text = metric.template.format(label=metric.label, value=shown, fell_rose="", abs_pct=f"{abs(v) * 100:.0f}",
                                  pct=f"{v * 100:.0f}", value_yes_no=yes_no, value_signed=f"{v:+.0f}")
    return _singular_after_one(text)


def _singular_after_one(text: str) -> str:
    """'1 failed payments' -> '1 failed payment': singular noun after a leading count of one."""
    words = text.split(" ")
    if len(words) < 2 or words[0] != "1":
        return text
    for i in range(1, min(len(words), 4)):
        w = words[i]
        if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
            words[i] = w[:-1]
            break
    return " ".join(words)


def monthly_dates(start: date, end: date) -> list[date]:
    """First days of months from ``start`` (rounded up) to ``end`` inclusive."""
    d = date(start.year, start.month, 1)
    if d < start:
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    out = []
    while d <= end:
        out.append(d)
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out
