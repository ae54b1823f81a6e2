"""The metric catalog: every metric's name, label, group, ``actionable`` flag and sentence template.

Static metrics (:data:`STATIC_METRICS`) come first; every ``event_type`` in ``events`` adds four
(:func:`event_metrics`); account attribute columns become metrics of the group their name says
they are (:func:`attribute_group`), identifier-like columns never do (:func:`is_identifier_like`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from data.vocabulary import ACTIONABLE_GROUPS

CATEGORICAL_ACCOUNT_COLUMNS = ("segment", "industry", "region", "plan", "csm")
EXCLUDED_ACCOUNT_COLUMNS = ("account_id", "name", "created_at")
_IDENTIFIER_NAME = re.compile(r"(^|_)(id|uuid|guid|key|email|e_mail|name|phone|url|website|domain|number|no)$", re.I)


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
