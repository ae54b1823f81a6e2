"""Metric layer: per-account metrics as of observation dates, and the metric catalog.

Metrics follow docs/architecture.md section 5 and are computed for *many* observation dates at
once, reading every raw row once. DuckDB SQL (``data/sql/*.sql``) stages the raw tables
as rows with integer account codes and day numbers (``account_rows.sql``) and streams
the events (``event_rows.sql``); the as-of rules are then applied with numpy, so the
cost grows with the rows, not with rows x dates: events are added into per-account day
bins cut at every observation date and 30 / 90 days before it (:class:`_EventBins`),
and a ticket, invoice or contact row is added over the run of dates it counts for
(:func:`_on_dates`). Every metric reads only rows strictly before its observation date
(an end, close, payment or departure on or after the date counts as "not yet
happened"); :func:`truncate_raw_tables` builds the "world as of a date" that the
leakage check in ``models.observations`` compares against, and
``bench/reference_pandas.py`` recomputes every metric one date at a time.

Every ``event_type`` in ``events`` gets count (per month over 30 and 90 days, scaled
for young accounts), trend (last 30 days vs the previous 60) and recency metrics without
code changes. Custom attribute columns on ``accounts`` become metrics of the group their name
says they are (``tickets`` -> Support, ``logins`` -> Usage, ``tenure`` -> Contract; see
:func:`attribute_group`), Firmographic otherwise;
identifier-like columns never do.

The catalog (:class:`Metric`) gives every metric a human label, a group, an
``actionable`` flag and a sentence template; :func:`render_sentence` turns a value into
the sentence a CSM reads ("Daily active users fell 45% vs the previous 60 days").
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import threading
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from data import readmodel
from data.compat import small_pages
from data.schema import ALL_RAW_TABLES, CANONICAL_TABLES, create_table_sql
from data.sqlfiles import load_sql
from data.vocabulary import ACTIONABLE_GROUPS

CATEGORICAL_ACCOUNT_COLUMNS = ("segment", "industry", "region", "plan", "csm")
EXCLUDED_ACCOUNT_COLUMNS = ("account_id", "name", "created_at")
_IDENTIFIER_NAME = re.compile(r"(^|_)(id|uuid|guid|key|email|e_mail|name|phone|url|website|domain|number|no)$", re.I)


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


# Metric group of an account attribute by what its name says it is, first match wins (docs/architecture.md section 5).
ATTRIBUTE_GROUPS: tuple[tuple[str, re.Pattern], ...] = tuple((group, re.compile(pattern, re.I)) for group, pattern in (
    ("Support", r"ticket|support|case|complaint|incident|escalat|csat|bug"),
    ("Billing", r"payment|charge|invoice|bill|paid|fee|price|mrr|arr\b|revenue|spend|discount|refund|overdue|"
                r"late_pay|dunning|credit"),
    ("Sentiment", r"nps|satisf|rating|review|sentiment|survey|feedback"),
    ("Adoption", r"seat|licen[cs]e|feature|adoption|module|integration|onboard"),
    ("Usage", r"usage|login|logon|session|active|visit|minute|call|event|click|download|upload|stream|api|"
              r"traffic|engag|activity|users?\b|use[ds]?\b"),
    ("Relationship", r"champion|contact|executive|sponsor|meeting|qbr|csm|owner|relationship"),
    ("Contract", r"contract|tenure|renewal|term\b|plan|subscription|months?\b|since|age\b|commit"),
))


def attribute_group(column: str) -> str:
    """The metric group an account attribute belongs to, from its name (``Firmographic`` when nothing fits)."""
    words = column[5:] if column.startswith("attr_") else column
    for group, pattern in ATTRIBUTE_GROUPS:
        if pattern.search(words):
            return group
    return "Firmographic"


def attribute_metric(column: str, categorical: bool) -> Metric:
    if column == "csm":
        return _m("csm", "CSM", "Relationship", False, "Customer success manager is {value}", "category")
    group = "Firmographic" if column in CATEGORICAL_ACCOUNT_COLUMNS else attribute_group(column)
    actionable = group in ACTIONABLE_GROUPS
    if column.startswith("attr_"):
        column_label = column[5:].replace("_", " ")
        label = f"{column_label.capitalize()} (account attribute)"
        return _m(column, label, group, actionable, f"{label} is {{value}}", "category" if categorical else "number")
    label = column.replace("_", " ").capitalize()
    if categorical:
        return _m(column, label, group, actionable, f"{label} is {{value}}", "category")
    return _m(column, label, group, actionable, f"{label} is {{value}}", "number")


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
        elif values.dtype == object and values.dropna().map(lambda v: isinstance(v, (date,))).any():
            continue
        else:
            categorical.append(col)
    return numeric, categorical


# --------------------------------------------------------------------------- compute
_DAY_ZERO = np.datetime64("1970-01-01", "D")
_EVENT_BATCH_ROWS = 1 << 20
_FRAGMENTED_COLUMNS = 90  # pandas warns about inserting into a frame of more than 100 blocks
_MAX_TYPE_CELLS = 48 << 20  # accounts x event types x day bins summed per pass over the events (8 bytes each)


def compute_metrics(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame, *,
                    exclude_attributes: tuple[str, ...] = (), types: list[str] | None = None,
                    data_end: date | None = None) -> MetricTable:
    """All metrics for each row of ``obs`` (columns ``account_id``, ``obs_date``).

    Every observation date is computed at once. DuckDB stages the raw tables as rows with
    integer account codes (``data/sql/account_rows.sql``) and streams the events
    (``event_rows.sql``), each event row read once into per-account day bins
    (:class:`_EventBins`); ticket, invoice and contact rows are added over the dates they
    count for (:func:`_on_dates`); subscriptions, NPS responses and champions are joined to
    the observation rows of their account (:func:`_pairs`). No step loops over dates. The result has one row per ``obs`` row in the same order,
    with ``account_id`` and ``obs_date`` (a ``date``) first. ``types`` fixes the event
    types that get metrics (default: all in ``events``). ``data_end``: the last day of
    history; a subscription ending at or after it is still running as far as the data knows
    (it only matters on the day after the data's end, the date scoring observes).
    """
    with small_pages():  # numpy huge pages made the build slower and uneven (see data.compat)
        return _compute_metrics(con, obs[["account_id", "obs_date"]], exclude_attributes, types, data_end)


def _compute_metrics(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame, exclude_attributes: tuple[str, ...],
                     types: list[str] | None, data_end: date | None = None) -> MetricTable:
    index = _ObsIndex.of(obs)
    type_list = sorted(set(event_types(con) if types is None else [str(t) for t in types])) if len(obs) else []
    catalog = {m.name: m for m in STATIC_METRICS}
    columns: dict[str, object] = {"account_id": obs["account_id"].astype(str).reset_index(drop=True),
                                  "obs_date": index.dates[index.date_no]}
    if len(obs):
        bins = _EventBins(con, index, type_list)
        frames = {
            "obs_accounts": pd.DataFrame({"acc": np.arange(len(index.accounts), dtype=np.int32),
                                          "account_id": pd.Series(index.accounts.to_numpy(), dtype=object)}),
            "obs_dates": pd.DataFrame({"date_no": np.arange(len(index.days), dtype=np.int32),
                                       "day_no": index.days.astype(np.int32)}),
            "event_type_codes": pd.DataFrame({"type_no": np.arange(len(type_list), dtype=np.int32),
                                              "event_type": pd.Series(type_list, dtype=object)}),
            "day_bins": bins.day_bins(),
        }
        with _registered(con, **frames) as sql:
            tables = {name: _fetch(con, text) for name, text in sql.queries("account_rows").items()}
            for table in tables.values():
                table["acc"] = table["acc"].astype(np.int64)
            if data_end is not None:  # ends at or after the data's end are not known yet
                subs = tables["subscriptions"]
                subs["end_day"] = np.where(subs["end_day"] >= (data_end - date(1970, 1, 1)).days, np.nan,
                                           subs["end_day"])
            values = _contract_values(index, tables["accounts"], tables["subscriptions"])
            observed = _observed_days(values["tenure_days"], index, bins.first_event_day)
            queries = sql.queries("event_rows")
            named = _fetch(con, queries["named_users"], {"end": _as_date(index.days[-1])})["named"][0]
            event_columns = bins.read(con, queries["events"], type_list, observed, catalog, named=bool(named))
            if bins.needs_day_grain:
                bins.read_usage_by_day(con, sql("usage_metrics"), sql("named_users"))
        values.update(bins.usage_values(values["seats"], observed))
        values.update(_support_values(index, tables["tickets"]))
        values.update(_sentiment_values(index, tables["nps"]))
        values.update(_billing_values(index, tables["invoices"]))
        values.update(_relationship_values(index, tables["contacts"], _day_no(contacts_first_seen(con))))
        columns.update({m.name: values[m.name] for m in STATIC_METRICS})
        columns.update(event_columns)
    else:
        columns.update({m.name: np.zeros(0) for m in STATIC_METRICS})
    attributes, attr_num, attr_cat = _attribute_values(con, index.accounts, index.acc, set(columns), catalog,
                                                       exclude_attributes)
    columns.update(attributes)
    numeric = list(dict.fromkeys([m.name for m in STATIC_METRICS]
                                 + [m.name for t in type_list for m in event_metrics(t)] + attr_num))
    return MetricTable(frame=_frame(columns), numeric=numeric, categorical=attr_cat, catalog=catalog)


def _observed_days(tenure: np.ndarray, index: _ObsIndex, first_event_day: int | None) -> np.ndarray:
    """Days of usage the data can show per observation row: the account's tenure, capped by the days
    since the first event anywhere (usage tracking may start long after billing). Usage windows
    are scaled by it like a young account's, so a short history's early dates read like its later
    ones instead of like a drop in usage."""
    if first_event_day is None:
        return tenure
    since_first = (index.days[index.date_no] - first_event_day).astype(float)
    # Before the first event the data up to that date holds no events at all (as if tracking had not
    # started): reading the later first event here would use the future, so fall back to the tenure.
    return np.where(since_first > 0, np.fmin(tenure, since_first), tenure)


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """The metric frame around the computed column arrays. They stay separate arrays (one
    block per column: gathering them into one block would copy every value) unless the
    frame is wide enough for pandas to call later column inserts fragmented."""
    frame = pd.DataFrame(columns, copy=False)
    return frame.copy() if frame.shape[1] > _FRAGMENTED_COLUMNS else frame


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
    """Observation rows as integer codes: ``acc`` indexes ``accounts`` (sorted), ``date_no``
    indexes ``days`` (observation dates as days since 1970-01-01, ascending; ``dates`` as
    ``date``)."""

    accounts: pd.Index
    dates: np.ndarray
    days: np.ndarray
    acc: np.ndarray
    date_no: np.ndarray
    cell: np.ndarray  # acc * len(days) + date_no: the row's place in an (accounts, dates) array

    @classmethod
    def of(cls, obs: pd.DataFrame) -> _ObsIndex:
        acc, accounts = pd.factorize(obs["account_id"].astype(str), sort=True)
        date_code, date_values = pd.factorize(obs["obs_date"], sort=False)
        if (date_code < 0).any():
            raise ValueError("every observation row needs an obs_date")
        stamps = pd.Series(pd.to_datetime(pd.Series(date_values, dtype=object)).to_numpy())
        order = np.argsort(stamps.to_numpy(), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        sorted_stamps = stamps.iloc[order]
        date_no = rank[date_code]
        return cls(accounts=pd.Index(accounts), dates=np.array(list(sorted_stamps.dt.date), dtype=object),
                   days=(sorted_stamps.to_numpy().astype("datetime64[D]") - _DAY_ZERO).astype(np.int64),
                   acc=acc.astype(np.int64), date_no=date_no,
                   cell=acc.astype(np.int64) * len(order) + date_no)

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)



class _EventBins:
    """Event rows added up per account and day bin, read in one pass over ``events``.

    Bin ``b`` holds the days in ``[edges[b-1], edges[b])`` (bin 0: every day before
    ``edges[0]``); every observation date and that date - 30 and - 90 are edges, so each
    metric window (the 30 days before a date, the 60 before those, the 90 before it) is a
    run of whole bins. Per account and bin it keeps each event type's summed quantity
    (``slots``: the types with metrics, then logins if ``login`` is not one of them, then
    every other type) and the summed and largest login quantity; per account, type and
    observation date the last event day before the date; per account and day (from 30 days
    before the first date) whether it had any event. Without named users a day's active
    users are its summed login quantity (docs/architecture.md section 5), and with one login row per
    day the busiest day is the largest row. Otherwise (named users, or several login rows
    on a day) :meth:`read_usage_by_day` takes the daily active users from
    ``usage_metrics.sql`` / ``named_users.sql`` (one row per account and day).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, index: _ObsIndex, type_list: list[str]) -> None:
        self.index, self.n_types = index, len(type_list)
        self.login_slot = type_list.index("login") if "login" in type_list else self.n_types
        self.other_slot = max(self.login_slot + 1, self.n_types)
        days = index.days
        self.edges = np.unique(np.concatenate([days, days - 30, days - 90]))
        self.n_bins = len(self.edges)
        first = con.execute("SELECT CAST(min(event_time) AS DATE) FROM events").fetchall()[0][0]
        self.first_event_day = None if first is None else (first - date(1970, 1, 1)).days
        self.first_day = int(self.edges[0]) if first is None else min(int(self.edges[0]), self.first_event_day)
        all_days = np.arange(self.first_day, int(self.edges[-1]))
        self.bin_of_day = np.searchsorted(self.edges, all_days, side="right")
        self.interval_of_day = np.searchsorted(days, all_days, side="right")  # obs dates on or before the day
        # active days are kept per day from 30 days before the first observation date (column 0: earlier)
        self.day_column = np.maximum(all_days - (int(days[0]) - 30) + 1, 0)
        self.n_day_columns = int(days[-1]) - (int(days[0]) - 30) + 1
        at = {lag: np.searchsorted(self.edges, days - lag) for lag in (0, 30, 90)}
        self.last_30_bins = list(zip(at[30] + 1, at[0] + 1, strict=True))  # bins [first, end) of [day - 30, day)
        # per observation row: the bin whose running total (over bins 0..b) sums the days before
        # the date, before the date - 30 and before the date - 90
        self.last_bin = {lag: at[lag][index.date_no] for lag in (0, 30, 90)}
        self.needs_day_grain = False

    def day_bins(self) -> pd.DataFrame:
        """Every day from the first event to the day before the last observation date, and its bin."""
        return pd.DataFrame({"day_no": np.arange(self.first_day, int(self.edges[-1]), dtype=np.int32),
                             "bin": self.bin_of_day.astype(np.int32)})

    def params(self) -> dict:
        return {"end": _as_date(self.index.days[-1]), "login_slot": self.login_slot, "other_slot": self.other_slot}

    def read(self, con: duckdb.DuckDBPyConnection, sql: str, type_list: list[str], tenure: np.ndarray,
             catalog: dict[str, Metric], *, named: bool) -> dict[str, np.ndarray]:
        """Stream the rows of ``event_rows.sql`` into the bins; returns the ``ev_<type>_<metric>``
        columns (:meth:`event_values`) and keeps the usage bins. The per-type arrays of one
        pass hold at most ``_MAX_TYPE_CELLS`` cells; more types take more passes over the
        events. ``named``: some events have a named user."""
        n_acc, n_bins, n_dates = self.index.n_accounts, self.n_bins, len(self.index.days)
        n_slots = self.other_slot + 1
        active, login_days = np.zeros((n_acc, self.n_day_columns), bool), np.zeros((n_acc, self.n_day_columns), bool)
        users_sum, users_max = np.zeros(n_acc * n_bins), np.full(n_acc * n_bins, -np.inf)
        login_rows = 0
        per_pass = max(1, _MAX_TYPE_CELLS // max(n_acc * n_bins, 1))
        columns: dict[str, dict[str, np.ndarray]] = {suffix: {} for suffix in EVENT_METRIC_SUFFIXES}
        tenure_days = np.clip(np.where(np.isnan(tenure), 90.0, tenure), 0.0, None)
        young = {"months_observed": np.clip(np.minimum(tenure_days, 90.0), 14.0, 90.0) / 30.0,
                 "prev_days": np.clip(tenure_days - 30.0, 0.0, 60.0)}
        for first_slot in range(0, n_slots, per_pass):
            slots = range(first_slot, min(n_slots, first_slot + per_pass))
            width = len(slots)
            # account-major: the rows of one account (stored together) update nearby cells
            quantity = np.zeros((n_acc, width, n_bins))
            last_day = np.full((n_acc, width, n_dates), np.iinfo(np.int32).min, dtype=np.int32)
            key_type = np.int32 if n_acc * width * max(n_bins, n_dates) < np.iinfo(np.int32).max else np.int64
            for batch in _prefetched(con.sql(sql, params=self.params()).to_arrow_reader(_EVENT_BATCH_ROWS)):
                slot, acc = batch.column("slot").to_numpy(), batch.column("acc").to_numpy().astype(key_type)
                day, amount = batch.column("day_no").to_numpy(), batch.column("quantity").to_numpy()
                offset = day - self.first_day
                bins = self.bin_of_day[offset]
                if width < n_slots:
                    mine = np.flatnonzero((slot >= slots.start) & (slot < slots.stop))
                    cell = acc[mine] * width + (slot[mine] - slots.start)
                    np.add.at(quantity.reshape(-1), cell * n_bins + bins[mine], amount[mine])
                    np.maximum.at(last_day.reshape(-1), cell * n_dates + self.interval_of_day[offset[mine]], day[mine])
                else:
                    cell = acc * width + slot
                    np.add.at(quantity.reshape(-1), cell * n_bins + bins, amount)
                    np.maximum.at(last_day.reshape(-1), cell * n_dates + self.interval_of_day[offset], day)
                if first_slot:
                    continue
                column = self.day_column[offset]
                active[acc, column] = True
                login = np.flatnonzero(slot == self.login_slot)
                acc, column, cell, amount = acc[login], column[login], acc[login] * n_bins + bins[login], amount[login]
                np.add.at(users_sum, cell, amount)
                np.maximum.at(users_max, cell, amount)
                login_days[acc, column] = True
                login_rows += int(np.count_nonzero(column))
            np.cumsum(quantity, axis=2, out=quantity)  # running totals over the bins, in place
            np.maximum.accumulate(last_day, axis=2, out=last_day)  # last event day on or before each interval
            for slot in slots:
                if slot < self.n_types:
                    self.event_values(type_list[slot], quantity.reshape(-1), last_day.reshape(-1),
                                      width, slot - slots.start, young, columns)
                    for m in event_metrics(type_list[slot]):
                        catalog[m.name] = m
            del quantity, last_day
        self.users_sum = users_sum.reshape(n_acc, n_bins)
        self.users_max = np.where(np.isneginf(users_max), np.nan, users_max).reshape(n_acc, n_bins)
        self.named_users = np.zeros((n_acc, n_dates))
        # distinct active days in the 30 days before each date (columns of day - 30 .. day - 1)
        ends = self.index.days - (int(self.index.days[0]) - 30) + 1
        by_date = np.stack([np.count_nonzero(active[:, end - 30:end], axis=1) for end in ends], axis=1)
        self.active_days_30d = by_date.reshape(-1)[self.index.cell].astype(float)
        # one login row per account and day (from 30 days before the first date): the busiest day is the largest row
        self.needs_day_grain = named or int(np.count_nonzero(login_days[:, 1:])) < login_rows
        return {f"ev_{slug}_{suffix}": columns[suffix][slug] for suffix in sorted(columns) for slug in sorted(columns[suffix])}

    def read_usage_by_day(self, con: duckdb.DuckDBPyConnection, usage_sql: str, named_sql: str) -> None:
        """Active days and daily active users from one row per account and day (named users)."""
        end = {"end": _as_date(self.index.days[-1])}
        usage, named = _fetch(con, usage_sql, end), _fetch(con, named_sql, end)
        shape = (self.index.n_accounts, self.n_bins)
        active_days, self.users_sum, self.users_max = np.zeros(shape), np.zeros(shape), np.full(shape, np.nan)
        active_days[usage["acc"], usage["bin"]] = usage["active_days"]
        self.users_sum[usage["acc"], usage["bin"]] = usage["users_sum"]
        self.users_max[usage["acc"], usage["bin"]] = usage["users_max"]
        self.named_users[named["acc"], named["date_no"]] = named["named_users_30d"]
        self.active_days_30d = self.windows(np.cumsum(active_days, axis=1).reshape(-1))[0]

    def windows(self, running: np.ndarray, width: int = 1, slot: int = 0) -> tuple[np.ndarray, ...]:
        """Per observation row: the sums over the last 30 days, the 60 before those and the last
        90 days, from running totals over the bins (``running``: (accounts, width, bins) or
        (accounts, bins) flattened, for ``slot``). Differences of running totals: a window
        without events is exactly 0."""
        base = (self.index.acc * width + slot) * self.n_bins
        before_0, before_30, before_90 = (running[base + self.last_bin[lag]] for lag in (0, 30, 90))
        return before_0 - before_30, before_30 - before_90, before_0 - before_90

    def usage_values(self, seats: np.ndarray, tenure: np.ndarray) -> dict[str, np.ndarray]:
        """Active days, active users, seat utilisation and DAU change per observation row."""
        at = self.index.cell
        busiest = np.stack([np.fmax.reduce(self.users_max[:, lo:hi], axis=1)
                            for lo, hi in self.last_30_bins], axis=1).reshape(-1)[at]
        named = self.named_users.reshape(-1)[at]
        active_users = np.where(named > 0, named, np.where(np.isnan(busiest), 0.0, busiest))
        users_30d, users_prev_60d, _ = self.windows(np.cumsum(self.users_sum, axis=1).reshape(-1))
        dau_30d, dau_prev_60d = users_30d / 30.0, users_prev_60d / 60.0
        with np.errstate(divide="ignore", invalid="ignore"):
            utilisation = np.where(seats > 0, active_users / seats, np.nan)
            change = np.where(dau_prev_60d > 0,
                              np.minimum(np.maximum((dau_30d - dau_prev_60d) / dau_prev_60d, -1.0), 3.0),
                              np.where(dau_30d > 0, 3.0, 0.0))
        return {"active_days_30d": self.active_days_30d, "active_users_30d": active_users,
                "seat_utilisation": utilisation, "dau_change_30v60": np.where(tenure < 44, np.nan, change)}

    def event_values(self, event_type: str, running: np.ndarray, last_day: np.ndarray, width: int, slot: int,
                     young: dict[str, np.ndarray], columns: dict[str, dict[str, np.ndarray]]) -> None:
        """Adds one event type's metrics per observation row to ``columns`` (suffix -> slug -> values)
        from (accounts, ``width`` slots, bins) running quantity totals and (accounts, slots,
        intervals) last event days, flattened, at ``slot``; ``young``: per row, the months
        observed (of the last 3) and the days observed before the last 30.

        Counts per month over 90 days are scaled to the months observed for young accounts;
        the trend compares the last 30 days with the previous 60 (or fewer, for young
        accounts); recency is capped at 365 days. Two types with one slug: the first (in
        sorted order) wins.
        """
        slug = event_slug(event_type)
        if slug in columns["days_since"]:
            return
        months_observed, prev_days = young["months_observed"], young["prev_days"]
        q30, q60, q90 = self.windows(running, width, slot)
        last = last_day[(self.index.acc * width + slot) * len(self.index.days) + self.index.date_no]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate30 = q30 / 30.0
            rate60 = np.where(prev_days > 0, q60 / np.maximum(prev_days, 1.0), np.nan)
            change = np.where(rate60 > 0, (rate30 - rate60) / rate60, np.where(rate30 > 0, 3.0, 0.0))
        obs_day = self.index.days[self.index.date_no]
        columns["per_month_30d"][slug] = q30
        columns["per_month_90d"][slug] = q90 / months_observed
        columns["change_30v60"][slug] = np.where(prev_days < 14, np.nan, np.clip(change, -1.0, 3.0))
        columns["days_since"][slug] = np.where(last == np.iinfo(np.int32).min, 365.0,
                                               np.minimum(obs_day - last, 365.0)).astype(float)


def _prefetched(batches, depth: int = 2):
    """Iterate ``batches`` (an Arrow reader) from a helper thread, ``depth`` batches ahead, so
    DuckDB produces the next batch while numpy adds up this one. Errors surface here; leaving
    the loop early stops the helper."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(end)
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer
            offer(exc)

    helper = threading.Thread(target=produce, name="metrics-events", daemon=True)
    helper.start()
    try:
        while (item := ready.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        helper.join()


def _pairs(index: _ObsIndex, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(observation row, table row) for every row of a per-account table and every observation
    row of the same account: the set-based join of all observation dates with a small table
    (a few rows per account), with no loop over dates. Table rows keep their order within an
    account."""
    order = np.argsort(acc, kind="stable")
    lo = np.searchsorted(acc[order], index.acc, side="left")
    counts = np.searchsorted(acc[order], index.acc, side="right") - lo
    obs_row = np.repeat(np.arange(len(index.acc)), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return obs_row, order[np.repeat(lo, counts) + within]


def _per_row(rows: np.ndarray, where: np.ndarray, n: int, values: np.ndarray | None = None) -> np.ndarray:
    """Count (or sum of ``values``) of the pairs ``where`` per observation row."""
    return np.bincount(rows[where], weights=None if values is None else values[where], minlength=n).astype(float)


def _row_extreme(rows: np.ndarray, where: np.ndarray, values: np.ndarray, n: int, *, largest: bool) -> np.ndarray:
    """Largest (smallest) of ``values`` over the pairs ``where`` per observation row, NaN for none."""
    out = np.full(n, -np.inf if largest else np.inf)
    (np.maximum if largest else np.minimum).at(out, rows[where], values[where])
    return np.where(np.isinf(out), np.nan, out)


def _contract_values(index: _ObsIndex, accounts: dict, subs: dict) -> dict[str, np.ndarray]:
    """Tenure and the subscription metrics: subscriptions started before the date, active when
    not ended before it. One pass over (observation row, subscription) pairs for all dates."""
    n_acc, n = index.n_accounts, len(index.acc)
    day = index.days[index.date_no].astype(float)
    created = np.full(n_acc, np.nan)
    created[accounts["acc"]] = accounts["created_day"]
    known = np.zeros(n_acc, dtype=bool)
    known[accounts["acc"]] = True
    first_start = np.full(n_acc, np.inf)
    np.minimum.at(first_start, subs["acc"], subs["start_day"])
    r, s = _pairs(index, subs["acc"])
    d = day[r]
    start, end = subs["start_day"][s], subs["end_day"][s]
    has_seats = ~np.isnan(subs["seats"][s])
    annual = subs["annual"][s]
    renewal_day = subs["renewal_day"][s]
    started = start < d
    active = started & ~(end < d)
    mrr = _per_row(r, active, n, subs["mrr"][s])
    seats = _per_row(r, active & has_seats, n, subs["seats"][s])
    seats[_per_row(r, active & has_seats, n) == 0] = np.nan
    renews = active & annual & ~np.isnan(renewal_day)
    until = _row_extreme(r, renews, np.mod(renewal_day - d, 365), n, largest=False)
    then = started & (start < d - 90) & ~(end < d - 90)
    mrr_then = _per_row(r, then, n, subs["mrr"][s])
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(mrr_then > 0, (mrr - mrr_then) / mrr_then, np.nan)
    first, made = first_start[index.acc], created[index.acc]
    since = np.where(first < day, first, np.nan)
    since = np.where(np.isnan(since), made, np.where(np.isnan(made), since, np.minimum(since, made)))
    return {
        "tenure_days": np.where(known[index.acc], day - since, np.nan),
        "mrr": mrr, "mrr_change_90d": change, "seats": seats,
        "active_subscriptions": _per_row(r, active, n),
        "contract_annual": (_per_row(r, active & annual, n) > 0).astype(float),
        "days_to_renewal": until, "renewal_within_90d": (until <= 90).astype(float),
    }


def _on_dates(index: _ObsIndex, acc: np.ndarray, first: np.ndarray, last: np.ndarray, *,
              where: np.ndarray | None = None, weight: np.ndarray | None = None) -> np.ndarray:
    """Per observation row: how many table rows of its account count on its date (or their
    summed ``weight``), a table row counting on every date from day ``first`` through day
    ``last`` (days since 1970-01-01, inclusive; ``inf`` for no end). Rows outside ``where``
    never count. Each table row is added once (at its first and after its last date), so
    the cost does not grow with the number of observation dates.
    """
    keep = np.ones(len(acc), dtype=bool) if where is None else where
    n_dates = len(index.days)
    start = np.searchsorted(index.days, first[keep], side="left")
    stop = np.searchsorted(index.days, last[keep], side="right")
    some = start < stop
    cell = acc[keep][some] * (n_dates + 1)
    amount = np.ones(int(some.sum())) if weight is None else weight[keep][some]
    change = np.zeros(index.n_accounts * (n_dates + 1))
    np.add.at(change, cell + start[some], amount)
    np.add.at(change, cell + stop[some], -amount)
    running = np.cumsum(change.reshape(index.n_accounts, n_dates + 1), axis=1)
    return running.reshape(-1)[index.cell + index.acc]  # row (acc, j) sits at acc * (n_dates + 1) + j


def _ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _support_values(index: _ObsIndex, tickets: dict) -> dict[str, np.ndarray]:
    """Ticket metrics. A ticket opened on day o counts from the date after o; it is open until
    the date after its closing day c; windows of n days hold it through day o + n (opened) or
    c + n (closed, from the date after both o and c)."""
    acc, opened, closed = tickets["acc"], tickets["opened_day"].astype(float), tickets["closed_day"].astype(float)
    is_closed = ~np.isnan(closed)
    counted_closed = np.maximum(opened, closed) + 1
    hours = np.where(is_closed, tickets["resolution_hours"], 0.0)
    rated = is_closed & ~np.isnan(tickets["csat"])
    severity = np.round(tickets["severity"] * 20.0)  # urgent 20, high 12, normal 3: whole numbers sum exactly
    return {
        "tickets_30d": _on_dates(index, acc, opened + 1, opened + 30),
        "tickets_90d": _on_dates(index, acc, opened + 1, opened + 90),
        "high_priority_tickets_90d": _on_dates(index, acc, opened + 1, opened + 90, where=tickets["high_priority"]),
        "ticket_severity_60d": _on_dates(index, acc, opened + 1, opened + 60, weight=severity) / 20.0,
        "open_tickets": _on_dates(index, acc, opened + 1, np.where(is_closed, closed, np.inf)),
        "resolution_hours_90d": _ratio(
            _on_dates(index, acc, counted_closed, closed + 90, where=is_closed, weight=hours),
            _on_dates(index, acc, counted_closed, closed + 90, where=is_closed)),
        "csat_180d": _ratio(
            _on_dates(index, acc, counted_closed, closed + 180, where=rated, weight=np.nan_to_num(tickets["csat"])),
            _on_dates(index, acc, counted_closed, closed + 180, where=rated)),
    }


def _sentiment_values(index: _ObsIndex, nps: dict) -> dict[str, np.ndarray]:
    """Latest NPS response before the date (responded on an earlier day), its change from the
    one before, and its age in days. One pass over (observation row, response) pairs."""
    n_acc, n = index.n_accounts, len(index.acc)
    day = index.days[index.date_no].astype(float)
    acc = nps["acc"]  # rows come ordered by account, then response time
    first_row = np.searchsorted(acc, np.arange(n_acc))
    score = np.append(nps["score"].astype(float), np.nan)  # row -1: no response
    responded_day = np.append(nps["responded_day"].astype(float), np.nan)
    r, s = _pairs(index, acc)
    seen = np.bincount(r[responded_day[s] < day[r]], minlength=n)
    latest = np.where(seen >= 1, first_row[index.acc] + seen - 1, -1)
    previous = np.where(seen >= 2, latest - 1, -1)
    return {"nps_latest": score[latest], "nps_change": score[latest] - score[previous],
            "days_since_nps": day - responded_day[latest]}


def _billing_values(index: _ObsIndex, invoices: dict) -> dict[str, np.ndarray]:
    """Invoice metrics. An invoice counts from the date after its issue day; a failed payment
    from the date after its due day (or issue day) for 90 / 180 days; a late payment from the
    date after it was paid through 180 days after the due day; an overdue invoice from the
    date after its due day until its payment day."""
    acc = invoices["acc"]
    issued, due, paid = (invoices[c].astype(float) for c in ("issued_day", "due_day", "paid_day"))
    failing = invoices["due_or_issued_day"].astype(float)
    failed_from = np.maximum(issued, failing) + 1
    return {
        "failed_payments_90d": _on_dates(index, acc, failed_from, failing + 90, where=invoices["failed"]),
        "failed_payments_180d": _on_dates(index, acc, failed_from, failing + 180, where=invoices["failed"]),
        "late_payments_180d": _on_dates(index, acc, np.maximum(issued, paid) + 1, due + 180, where=paid > due),
        "overdue_invoices": _on_dates(index, acc, np.maximum(issued, due) + 1, np.where(np.isnan(paid), np.inf, paid),
                                      where=~np.isnan(due)),
    }


def _relationship_values(index: _ObsIndex, contacts: dict, first_seen_day: float) -> dict[str, np.ndarray]:
    """Contact metrics. A contact counts from the date after it started until its leaving day;
    a champion who left counts as left for 90 days from the date after.

    A contact without ``active_from`` has an unknown start: it counts from the day it was first
    seen (``first_seen_day``, see :func:`contacts_first_seen`), never "since always", and it
    has no champion tenure (NaN unless another current champion's start is known)."""
    acc, left_on, champion = contacts["acc"], contacts["to_day"].astype(float), contacts["champion"]
    raw_start = contacts["from_day"].astype(float)
    unknown_start = np.isnan(raw_start)
    start = np.where(unknown_start, first_seen_day, raw_start)
    has_left = ~np.isnan(left_on)
    until = np.where(has_left, left_on, np.inf)
    out = {
        "active_contacts": _on_dates(index, acc, start + 1, until),
        "active_champions": _on_dates(index, acc, start + 1, until, where=champion),
        "champions_left_90d": _on_dates(index, acc, np.maximum(start, left_on) + 1, left_on + 90,
                                        where=champion & has_left),
    }
    n = len(index.acc)
    day = index.days[index.date_no].astype(float)
    rows = np.flatnonzero(champion)
    r, c = _pairs(index, acc[rows])
    c = rows[c]
    d = day[r]
    known = start[c] < d
    gone = known & (left_on[c] < d)
    out["champion_tenure_days"] = day - _row_extreme(r, known & ~(left_on[c] < d) & ~unknown_start[c], start[c], n,
                                                     largest=True)
    out["days_since_champion_left"] = day - _row_extreme(r, gone, left_on[c], n, largest=True)
    return out


def contacts_first_seen(con: duckdb.DuckDBPyConnection) -> date | None:
    """The day contacts without ``active_from`` were first seen: the contacts import, capped at the
    end of the data (``workspace_meta`` ``contacts_first_seen`` when set, e.g. in an as-of copy).

    A missing start date is unknown, not "always": such a contact counts from this day on.
    """
    try:
        rows = dict(con.execute("SELECT key, value FROM workspace_meta WHERE key IN "
                                "('contacts_first_seen', 'imported_contacts')").fetchall())
    except duckdb.Error:
        rows = {}
    if rows.get("contacts_first_seen"):
        return first_seen_from(rows, None)
    return first_seen_from(rows, readmodel.data_end(con))


def first_seen_from(meta: dict, end: date | None) -> date | None:
    """The rule of :func:`contacts_first_seen` on ``workspace_meta`` values and the data's end
    (the Spark engine reads its own copy of the meta table and applies the same rule)."""
    if meta.get("contacts_first_seen"):
        return date.fromisoformat(str(meta["contacts_first_seen"])[:10])
    imported = meta.get("imported_contacts")
    seen = date.fromisoformat(str(imported)[:10]) if imported else None
    if seen is None or (end is not None and end < seen):
        return end
    return seen


def _day_no(d: date | None) -> float:
    return float((d - date(1970, 1, 1)).days) if d is not None else np.inf


def _as_date(day_no: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day_no))


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> dict[str, np.ndarray]:
    """Query result as plain numpy columns (NULL -> NaN in any numeric column that has one)."""
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


class _SqlFiles:
    """Text of ``data/sql`` files with the names of registered frames made connection-unique."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = names
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")

    def __call__(self, name: str) -> str:
        return self._pattern.sub(lambda m: self._names[m.group(1)], load_sql(name))

    def queries(self, name: str) -> dict[str, str]:
        """The ``-- name: <query>`` sections of one file, by query name."""
        parts = re.split(r"^-- name: (\w+)\s*$", self(name), flags=re.M)
        return {parts[i]: parts[i + 1].strip().rstrip(";") for i in range(1, len(parts), 2)}


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame):
    """Register ``frames`` under connection-unique names; yields a :class:`_SqlFiles` whose
    SQL text reads them (their names in the files are replaced)."""
    global _view_counter
    _view_counter += 1
    names = {name: f"{name}_{_view_counter}" for name in frames}
    for name, frame in frames.items():
        con.register(names[name], frame)
    try:
        yield _SqlFiles(names)
    finally:
        for name in names.values():
            con.unregister(name)


# --------------------------------------------------------------------------- labels & dates
def compute_labels(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame, *, horizon_days: int = 90,
                   lead_days: int = 0, gap_days: int = 30, expansion_ratio: float = 1.10,
                   data_end: date | None = None, inactive_days: int | None = None) -> pd.DataFrame:
    """Churn and expansion labels (and churn date, MRR at obs) for each ``obs`` row.

    These read data *after* ``obs_date`` on purpose; they are targets, never features.
    ``data_end`` is the last day of history: labels whose window plus ``gap_days`` passes it
    are censored (NULL, ``label_known`` false) and billing periods ending at or after it (or
    within ``gap_days`` before it) are not churn (``data/sql/labels.sql``). ``None`` treats
    every recorded end as final (a complete export, or a hand-made test case).

    ``inactive_days`` (accounts without billing data): churn is ``inactive_days`` days without
    activity (``data/sql/activity_spells.sql``); a churn is known once that day is inside the data, so
    no renewal gap applies (``gap_days`` is 0) and a window past the data's end is censored.
    """
    obs = obs[["account_id", "obs_date"]].copy()
    obs["obs_date"] = pd.to_datetime(obs["obs_date"]).dt.date
    params = {"gap_days": int(gap_days) if inactive_days is None else 0, "lead_days": int(lead_days),
              "horizon_days": int(horizon_days), "expansion_ratio": float(expansion_ratio),
              "data_end": data_end if data_end is not None else date(9000, 1, 1)}
    if inactive_days is None:
        spells = con.execute(load_sql("subscription_spells"), {"gap_days": params["gap_days"]}).df()
    else:
        spells = activity_spells(con, inactive_days, params["data_end"])
    name = _register_obs(con, obs)
    con.register("spells", spells)
    try:
        sql = load_sql("labels").replace(" obs o", f" {name} o")
        out = con.execute(sql, params).df()
    finally:
        con.unregister(name)
        con.unregister("spells")
    out["obs_date"] = pd.to_datetime(out["obs_date"]).dt.date
    return obs.merge(out, on=["account_id", "obs_date"], how="left")


def activity_spells(con: duckdb.DuckDBPyConnection, inactive_days: int, data_end: date) -> pd.DataFrame:
    """(account_id, spell, spell_start, spell_end) runs of activity: ``data/sql/activity_spells.sql``."""
    return con.execute(load_sql("activity_spells"),
                       {"inactive_days": int(inactive_days), "data_end": data_end}).df()


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
                     "coalesce(active_from, $first_seen) < $cut"),
    }
    first_seen = contacts_first_seen(src)
    params["first_seen"] = first_seen if first_seen is not None else date.max
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
    if first_seen is not None:  # the as-of world keeps the day unknown-start contacts were first seen
        con.execute("INSERT INTO workspace_meta VALUES ('contacts_first_seen', ?)", [first_seen.isoformat()])
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


def is_missing(value) -> bool:
    """True for a value the data does not have (None, NaN, pandas NA/NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def missing_meaning(metric: Metric) -> str | None:
    """The sentence a missing value of ``metric`` stands for when it means something, else None.

    A champion who never left, or a contract without a renewal date, is a fact; most other
    gaps are simply "no data" (see :mod:`models.explain`).
    """
    if metric.kind == "days" and metric.name.startswith("days_since_champion"):
        return "No champion has left"
    if metric.name == "days_to_renewal":
        return "Month-to-month contract (no annual renewal date)"
    return None


def render_sentence(metric: Metric, value) -> str:
    """The catalog sentence for ``metric`` at ``value`` (a missing value without a meaning renders "not known")."""
    if is_missing(value):
        return missing_meaning(metric) or f"{metric.label}: not known"
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


_NOT_A_NOUN = frozenset({"of", "in", "for", "over", "vs", "since", "the", "last", "on"})


def _singular_after_one(text: str) -> str:
    """Singular noun after a count of one, anywhere in the sentence.

    '1 failed payments' -> '1 failed payment', 'was 1 days ago' -> 'was 1 day ago',
    '1 invoices are overdue' -> '1 invoice is overdue'; '1 of the last 30 days' is left alone.
    """
    words = text.split(" ")
    for i, word in enumerate(words):
        if word.lstrip("+-") != "1":
            continue
        for j in range(i + 1, min(len(words), i + 4)):
            w = words[j]
            if w in _NOT_A_NOUN:
                break
            if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
                words[j] = w[:-1]
                if j + 1 < len(words) and words[j + 1] == "are":
                    words[j + 1] = "is"
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
