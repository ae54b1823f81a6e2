"""The metric build: every metric for many observation dates at once (:func:`compute_metrics`).

DuckDB stages the raw tables (:mod:`data.metrics.staging`), the events are added into day
bins (:mod:`data.metrics.event_bins`), the small tables are read per observation row
(:mod:`data.metrics.tables`), and the account attributes are joined last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from data.compat import small_pages
from data.metrics.catalog import (
    STATIC_METRICS,
    Metric,
    _attribute_columns,
    attribute_metric,
    event_metrics,
    event_types,
)
from data.metrics.event_bins import _EventBins
from data.metrics.staging import _fetch, _registered
from data.metrics.tables import (
    _billing_values,
    _contract_values,
    _relationship_values,
    _sentiment_values,
    _support_values,
    contacts_first_seen,
)
from data.metrics.windows import _as_date, _day_no, _ObsIndex

_FRAGMENTED_COLUMNS = 90  # pandas warns about inserting into a frame of more than 100 blocks


@dataclass(frozen=True)
class MetricTable:
    """Result of :func:`compute_metrics`: the frame and how to read its columns."""

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    catalog: dict[str, Metric]


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
