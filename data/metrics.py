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

import contextlib
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
    return _attribute_columns(con.execute("SELECT * FROM accounts").df(), exclude)


def _attribute_columns(accounts: pd.DataFrame, exclude: tuple[str, ...]) -> tuple[list[str], list[str]]:
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
_DAY_ZERO = np.datetime64("1970-01-01", "D")
_WINDOW_CELLS = 1 << 24  # accounts x day bins held at once in the window arrays (bounds memory)


def compute_metrics(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame, *,
                    exclude_attributes: tuple[str, ...] = (), types: list[str] | None = None) -> MetricTable:
    """All metrics for each row of ``obs`` (columns ``account_id``, ``obs_date``).

    Four set-based queries cover every observation date at once (``account_metrics``,
    ``usage_metrics``, ``named_users`` and ``event_metrics``; the last three read each event
    row once); window sums over their day bins are taken in numpy. The result has one row
    per ``obs`` row in the same order, with ``account_id`` and ``obs_date`` (a ``date``)
    first. ``types`` fixes the event types that get metrics (default: all in ``events``).
    """
    obs = obs[["account_id", "obs_date"]]
    index = _ObsIndex.of(obs)
    type_list = sorted(set(event_types(con) if types is None else [str(t) for t in types])) if len(obs) else []
    catalog = {m.name: m for m in STATIC_METRICS}
    columns: dict[str, object] = {"account_id": obs["account_id"].astype(str).reset_index(drop=True),
                                  "obs_date": index.dates[index.date_no]}
    if len(obs):
        edges = _bin_edges(index.days)
        end = _as_date(index.days[-1])
        frames = {
            "obs_pairs": pd.DataFrame({"pair_no": np.arange(len(index.pair_acc), dtype=np.int32),
                                       "acc": index.pair_acc.astype(np.int32),
                                       "day_no": index.days[index.pair_date_no].astype(np.int32)}),
            "obs_accounts": pd.DataFrame({"acc": np.arange(len(index.accounts), dtype=np.int32),
                                          "account_id": pd.Series(index.accounts.to_numpy(), dtype=object)}),
            "obs_dates": pd.DataFrame({"date_no": np.arange(len(index.days), dtype=np.int32),
                                       "day_no": index.days.astype(np.int32)}),
            "day_bins": _day_bins(con, edges),
            "event_type_codes": pd.DataFrame({"type_no": np.arange(len(type_list), dtype=np.int32),
                                              "event_type": pd.Series(type_list, dtype=object)}),
        }
        with _registered(con, **frames) as sql:
            per_pair = _fetch(con, sql("account_metrics"))
            usage = _fetch(con, sql("usage_metrics"), {"end": end})
            named = _fetch(con, sql("named_users"), {"end": end})
            groups = _fetch(con, sql("event_metrics")) if type_list else None
        windows = _Windows(edges, index.days)
        columns.update(_static_values(index, windows, per_pair, usage, named))
        if type_list:
            columns.update(_event_values(index, windows, groups, type_list, columns["tenure_days"], catalog))
    else:
        columns.update({m.name: np.zeros(0) for m in STATIC_METRICS})
    attributes, attr_num, attr_cat = _attribute_values(con, index.accounts, index.acc, set(columns), catalog,
                                                       exclude_attributes)
    columns.update(attributes)
    numeric = list(dict.fromkeys([m.name for m in STATIC_METRICS]
                                 + [m.name for t in type_list for m in event_metrics(t)] + attr_num))
    return MetricTable(frame=pd.DataFrame(columns), numeric=numeric, categorical=attr_cat, catalog=catalog)


def attribute_metrics(con: duckdb.DuckDBPyConnection, account_ids: list[str] | None = None, *,
                      exclude_attributes: tuple[str, ...] = ()) -> MetricTable:
    """Account attributes only, one row per account (flat mode: no dates, no activity tables).

    Works on an ``accounts`` table with any columns besides ``account_id``.
    """
    ids = con.execute("SELECT account_id FROM accounts").df()["account_id"].astype(str)
    if account_ids is not None:
        wanted = set(map(str, account_ids))
        ids = ids[ids.isin(wanted)]
    ids = ids.reset_index(drop=True)
    columns: dict[str, object] = {"account_id": ids, "obs_date": None}
    catalog: dict[str, Metric] = {}
    attributes, attr_num, attr_cat = _attribute_values(con, pd.Index(ids), np.arange(len(ids)), set(columns),
                                                       catalog, exclude_attributes)
    columns.update(attributes)
    return MetricTable(frame=pd.DataFrame(columns), numeric=attr_num, categorical=attr_cat, catalog=catalog)


def _attribute_values(con: duckdb.DuckDBPyConnection, accounts: pd.Index, acc: np.ndarray, taken: set[str],
                      catalog: dict, exclude: tuple[str, ...]) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Account attribute columns for rows whose account is ``accounts[acc]``, and their catalog entries.

    An attribute named like a computed metric (e.g. a static "mrr" column, any name in
    ``taken``) is kept apart as ``attr_<name>``: the computed metric is time-correct, the
    attribute is a snapshot. Unknown accounts get NaN / None.
    """
    table = con.execute("SELECT * FROM accounts").df()
    attr_num, attr_cat = _attribute_columns(table, exclude)
    if not (attr_num or attr_cat):
        return {}, [], []
    table = table.drop_duplicates("account_id")
    position = pd.Index(table["account_id"].astype(str)).get_indexer(accounts)[acc] if len(acc) else acc
    out: dict[str, np.ndarray] = {}
    names_num, names_cat = [], []
    for c in attr_num + attr_cat:
        name = f"attr_{c}" if c in taken else c
        if c in attr_num:
            values = np.append(pd.to_numeric(table[c], errors="coerce").astype(float).to_numpy(), np.nan)
            names_num.append(name)
        else:
            text = table[c].astype("string").astype(object)
            values = np.append(text.where(table[c].notna(), None).to_numpy(dtype=object), None)
            names_cat.append(name)
        # position -1 (unknown account) takes the appended NaN / None; text stays object dtype
        out[name] = values[position] if c in attr_num else pd.Series(values[position], dtype=object)
        catalog[name] = attribute_metric(name, c in attr_cat)
    return out, names_num, names_cat


@dataclass(frozen=True)
class _ObsIndex:
    """Observation rows as integer codes: ``acc`` indexes ``accounts``, ``date_no`` indexes
    ``days`` (observation dates as days since 1970-01-01, ascending; ``dates`` as ``date``).
    ``pair_no`` numbers each row's distinct (account, date) pair, described by ``pair_acc``
    and ``pair_date_no``."""

    accounts: pd.Index
    dates: np.ndarray
    days: np.ndarray
    acc: np.ndarray
    date_no: np.ndarray
    pair_no: np.ndarray
    pair_acc: np.ndarray
    pair_date_no: np.ndarray

    @classmethod
    def of(cls, obs: pd.DataFrame) -> _ObsIndex:
        acc, accounts = pd.factorize(obs["account_id"].astype(str), sort=False)
        date_code, date_values = pd.factorize(obs["obs_date"], sort=False)
        if (date_code < 0).any():
            raise ValueError("every observation row needs an obs_date")
        stamps = pd.Series(pd.to_datetime(pd.Series(date_values, dtype=object)).to_numpy())
        order = np.argsort(stamps.to_numpy(), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        sorted_stamps = stamps.iloc[order]
        days = (sorted_stamps.to_numpy().astype("datetime64[D]") - _DAY_ZERO).astype(np.int64)
        n_dates = max(len(days), 1)
        key = acc.astype(np.int64) * n_dates + rank[date_code]
        pair_keys, pair_no = np.unique(key, return_inverse=True)
        return cls(accounts=pd.Index(accounts), dates=np.array(list(sorted_stamps.dt.date), dtype=object),
                   days=days, acc=acc.astype(np.int64), date_no=rank[date_code], pair_no=pair_no,
                   pair_acc=pair_keys // n_dates, pair_date_no=pair_keys % n_dates)


def _static_values(index: _ObsIndex, windows: _Windows, per_pair: dict[str, np.ndarray],
                   usage: dict[str, np.ndarray], named: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every metric of ``STATIC_METRICS`` per observation row: account_metrics.sql per pair, and
    the usage and adoption metrics from the day-bin totals of usage_metrics.sql and named_users.sql."""
    order = np.argsort(per_pair.pop("pair_no"), kind="stable")
    values = {name: col[order][index.pair_no] for name, col in per_pair.items()}
    n_accounts, n_dates = len(index.accounts), len(index.days)
    active_days, users_30d, users_prev_60d = (np.zeros((n_accounts, n_dates)) for _ in range(3))
    max_daily_users = np.full((n_accounts, n_dates), np.nan)
    for lo, hi, rows in windows.account_blocks(n_accounts, usage["acc"]):
        acc, bins = usage["acc"][rows] - lo, usage["bin"][rows]
        days = windows.dense(hi - lo, acc, bins, usage["active_days"][rows], 0.0)
        users = windows.dense(hi - lo, acc, bins, usage["users_sum"][rows], 0.0)
        active_days[lo:hi] = windows.total(days, "last_30")
        users_30d[lo:hi] = windows.total(users, "last_30")
        users_prev_60d[lo:hi] = windows.total(users, "prev_60")
        max_daily_users[lo:hi] = windows.peak(windows.dense(hi - lo, acc, bins, usage["users_max"][rows], np.nan),
                                              "last_30")
    named_users = np.zeros((n_accounts, n_dates))
    named_users[named["acc"], named["date_no"]] = named["named_users_30d"]

    at = (index.acc, index.date_no)
    values["active_days_30d"] = active_days[at]
    busiest_day = max_daily_users[at]
    active_users = np.where(named_users[at] > 0, named_users[at], np.where(np.isnan(busiest_day), 0.0, busiest_day))
    values["active_users_30d"] = active_users
    seats = values["seats"]
    dau_30d, dau_prev_60d = users_30d[at] / 30.0, users_prev_60d[at] / 60.0
    with np.errstate(divide="ignore", invalid="ignore"):
        values["seat_utilisation"] = np.where(seats > 0, active_users / seats, np.nan)
        change = np.where(dau_prev_60d > 0,
                          np.minimum(np.maximum((dau_30d - dau_prev_60d) / dau_prev_60d, -1.0), 3.0),
                          np.where(dau_30d > 0, 3.0, 0.0))
    values["dau_change_30v60"] = np.where(values["tenure_days"] < 44, np.nan, change)
    return {m.name: values[m.name] for m in STATIC_METRICS}


def _event_values(index: _ObsIndex, windows: _Windows, groups: dict[str, np.ndarray], type_list: list[str],
                  tenure: np.ndarray, catalog: dict[str, Metric]) -> dict[str, np.ndarray]:
    """``ev_<type>_<metric>`` columns per observation row from event_metrics.sql's day-bin totals.

    Counts per month over 90 days are scaled to the months observed for young accounts; the
    trend compares the last 30 days with the previous 60 (or fewer, for young accounts);
    recency is capped at 365 days.
    """
    n_accounts, n_dates = len(index.accounts), len(index.days)
    tenure_days = np.clip(np.where(np.isnan(tenure), 90.0, tenure), 0.0, None)
    months_observed = np.clip(np.minimum(tenure_days, 90.0), 14.0, 90.0) / 30.0
    prev_days = np.clip(tenure_days - 30.0, 0.0, 60.0)
    at = (index.acc, index.date_no)
    by_suffix: dict[str, dict[str, np.ndarray]] = {suffix: {} for suffix in EVENT_METRIC_SUFFIXES}
    for type_no, event_type in enumerate(type_list):
        slug = event_slug(event_type)
        if f"ev_{slug}_days_since" in by_suffix["days_since"]:
            continue  # two types with one slug: the first in sorted order wins
        mine = groups["type_no"] == type_no
        acc, bins = groups["acc"][mine], groups["bin"][mine]
        quantity, last_day = groups["quantity"][mine], groups["last_day_no"][mine].astype(float)
        q30, q60, q90, last = (np.zeros((n_accounts, n_dates)) for _ in range(4))
        for lo, hi, rows in windows.account_blocks(n_accounts, acc):
            qty = windows.dense(hi - lo, acc[rows] - lo, bins[rows], quantity[rows], 0.0)
            q30[lo:hi] = windows.total(qty, "last_30")
            q60[lo:hi] = windows.total(qty, "prev_60")
            q90[lo:hi] = windows.total(qty, "last_90")
            last[lo:hi] = windows.latest(windows.dense(hi - lo, acc[rows] - lo, bins[rows], last_day[rows], -np.inf))
        q30, q60, q90 = q30[at], q60[at], q90[at]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate30 = q30 / 30.0
            rate60 = np.where(prev_days > 0, q60 / np.maximum(prev_days, 1.0), np.nan)
            change = np.where(rate60 > 0, (rate30 - rate60) / rate60, np.where(rate30 > 0, 3.0, 0.0))
        days_since = index.days[index.date_no] - last[at]
        by_suffix["per_month_30d"][slug] = q30
        by_suffix["per_month_90d"][slug] = q90 / months_observed
        by_suffix["change_30v60"][slug] = np.where(prev_days < 14, np.nan, np.clip(change, -1.0, 3.0))
        by_suffix["days_since"][slug] = np.where(np.isinf(days_since), 365.0, np.minimum(days_since, 365.0))
        for m in event_metrics(event_type):
            catalog[m.name] = m
    return {f"ev_{slug}_{suffix}": by_suffix[suffix][slug]
            for suffix in sorted(by_suffix) for slug in sorted(by_suffix[suffix])}


class _Windows:
    """Metric windows of each observation date as runs of whole day bins.

    Bin ``b`` holds the days in ``[edges[b-1], edges[b])`` (bin 0: every day before
    ``edges[0]``); every obs date and obs date - 30 / - 90 is an edge. Arrays passed in are
    dense ``(accounts, bins)``; results are ``(accounts, dates)``.
    """

    def __init__(self, edges: np.ndarray, days: np.ndarray) -> None:
        self.n_bins = len(edges)
        at = {lag: np.searchsorted(edges, days - lag) for lag in (0, 30, 90)}
        # bins of [day - 30, day), [day - 90, day - 30), [day - 90, day), and the last bin before day
        self.spans = {"last_30": list(zip(at[30] + 1, at[0] + 1, strict=True)),
                      "prev_60": list(zip(at[90] + 1, at[30] + 1, strict=True)),
                      "last_90": list(zip(at[90] + 1, at[0] + 1, strict=True))}
        self.before = at[0]

    def account_blocks(self, n_accounts: int, acc: np.ndarray):
        """(first, end, row mask) blocks of accounts small enough for dense arrays."""
        size = max(1, _WINDOW_CELLS // max(self.n_bins, 1))
        for lo in range(0, n_accounts, size):
            hi = min(n_accounts, lo + size)
            yield lo, hi, (acc >= lo) & (acc < hi) if (lo or hi < n_accounts) else slice(None)

    def dense(self, n_accounts: int, acc: np.ndarray, bins: np.ndarray, values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full((n_accounts, self.n_bins), fill)
        out[acc, bins] = values
        return out

    def total(self, dense: np.ndarray, window: str) -> np.ndarray:
        return np.stack([dense[:, lo:hi].sum(axis=1) for lo, hi in self.spans[window]], axis=1)

    def peak(self, dense: np.ndarray, window: str) -> np.ndarray:
        """Largest value in the window, ignoring NaN (NaN when the window has none)."""
        return np.stack([np.fmax.reduce(dense[:, lo:hi], axis=1) if hi > lo else np.full(len(dense), np.nan)
                         for lo, hi in self.spans[window]], axis=1)

    def latest(self, dense: np.ndarray) -> np.ndarray:
        """Largest value in any bin before each date (-inf when there is none)."""
        return np.maximum.accumulate(dense, axis=1)[:, self.before]


def _bin_edges(days: np.ndarray) -> np.ndarray:
    return np.unique(np.concatenate([days, days - 30, days - 90]))


def _day_bins(con: duckdb.DuckDBPyConnection, edges: np.ndarray) -> pd.DataFrame:
    """Every day from the first event (or the first edge) to the day before the last edge, and its bin."""
    first = con.execute("SELECT CAST(min(event_time) AS DATE) FROM events").fetchall()[0][0]
    start = int(edges[0]) if first is None else min(int(edges[0]), (first - date(1970, 1, 1)).days)
    day_no = np.arange(start, int(edges[-1]), dtype=np.int64)
    return pd.DataFrame({"day_no": day_no.astype(np.int32),
                         "bin": np.searchsorted(edges, day_no, side="right").astype(np.int32)})


def _as_date(day_no: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day_no))


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> dict[str, np.ndarray]:
    """Query result as plain numpy columns (NULL -> NaN for floats)."""
    out = {}
    for name, col in con.execute(sql, params or {}).fetchnumpy().items():
        if isinstance(col, np.ma.MaskedArray):
            col = col.astype(float).filled(np.nan) if col.mask.any() else col.data
        out[name] = np.asarray(col)
    return out


def _register_obs(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame) -> str:
    global _view_counter
    _view_counter += 1
    name = f"obs_{_view_counter}"
    con.register(name, obs)
    return name


_view_counter = 0


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame):
    """Register ``frames`` under connection-unique names; yields ``sql(name)``, the text of
    ``data/sql/<name>.sql`` reading them (their names in the file are replaced)."""
    global _view_counter
    _view_counter += 1
    names = {name: f"{name}_{_view_counter}" for name in frames}
    for name, frame in frames.items():
        con.register(names[name], frame)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    try:
        yield lambda sql_name: pattern.sub(lambda m: names[m.group(1)], load_sql(sql_name))
    finally:
        for name in names.values():
            con.unregister(name)


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
