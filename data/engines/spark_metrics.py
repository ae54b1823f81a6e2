"""The metric layer, observation rows and labels on Apache Spark.

One catalog, two engines. The metric names, their order, the event-type metrics, the
attribute columns and their catalog entries all come from :mod:`data.metrics`
(``STATIC_METRICS``, ``event_metrics``, ``event_slug``, ``_attribute_columns``,
``attribute_metric``); the labels run the very SQL of ``data/sql/labels.sql`` and
``subscription_spells.sql``, and the observation dates come from
``data.metrics.monthly_dates``. What each engine needs of its own is *how* the as-of
rules are evaluated: the embedded engine adds rows into numpy day bins; this one sums the
events per account and day bin (the embedded engine's bins: edges at every observation date
and 30 and 90 days before it), keeps per-account running totals over the bins and reads each
window as the difference of two running totals, with equi-joins on (account, bin)
(:func:`_event_windows`), so the rows in flight grow with accounts x bins, not with event
days per observation row; the small per-row tables (subscriptions, tickets, invoices, NPS,
contacts) are joined with their account's observation rows and aggregated with ``groupBy``,
as the embedded engine pairs them — the windows (30, 60, 90, 180 and 365 days before the date) and the rule
"rows strictly before the date; ends, closes, payments and departures on or after it
have not happened yet" are the ones written in ``data/metrics/`` and docs/architecture.md
section 5. ``tests/spark/test_parity.py`` keeps the two equal (every feature to 1e-9
relative, every label).

Partitioning: every join and aggregation is keyed by ``account_id`` (events are first
summed per account and day, then per account and day bin), so the work spreads over executors
by account.
Dates are day numbers (days since 1970-01-01, in UTC) throughout.

One module over 400 lines on purpose: it is the whole Spark side of the metric layer, which
tests/spark/test_parity.py compares with data/metrics/ as one unit; a split by job, like data/metrics/, is a
follow-up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data.engines.spark_settings import RAW_TABLES
from data.errors import UserError
from data.metrics import (
    STATIC_METRICS,
    Metric,
    _attribute_columns,
    attribute_metric,
    event_metrics,
    event_slug,
    first_seen_from,
    load_sql,
    monthly_dates,
)
from data.readmodel import _parse_date, queries
from data.schema import CANONICAL_TABLES
from data.settings import read_model_settings
from models.history import MONTHLY, plan_schedule
from models.observations import ObservationSet, sampled_ids

HIGH_PRIORITIES = ("high", "urgent", "critical", "p1", "p2")
SEVERITY = (("urgent", 1.0), ("critical", 1.0), ("p1", 1.0), ("high", 0.6), ("p2", 0.6), ("normal", 0.15),
            ("medium", 0.15), ("p3", 0.15))


def F():  # noqa: N802 - pyspark.sql.functions, imported lazily (PySpark is optional)
    from pyspark.sql import functions  # deferred: optional dependency (requirements-spark.txt)

    return functions


# --------------------------------------------------------------------------- inputs
def read_raw_tables(spark, sources: dict[str, str]) -> dict:
    """Spark DataFrames of the canonical raw tables. ``sources`` maps a table to a Parquet path
    (file or folder) or to a table name the session can read; a missing table is empty."""
    from pyspark.sql.utils import AnalysisException  # deferred: optional dependency (requirements-spark.txt)

    out = {}
    for table in RAW_TABLES:
        source = sources.get(table)
        if source is None:
            out[table] = spark.createDataFrame([], _empty_schema(table))
            continue
        try:
            if "/" in source or source.endswith(".parquet"):
                out[table] = spark.read.parquet(source)
            else:
                out[table] = spark.table(source)
        except AnalysisException as exc:
            raise UserError(f"Spark cannot read the {table} table from {source!r}: "
                            f"{str(exc).splitlines()[0][:200]}") from None
    if sources.get("workspace_meta"):
        out["workspace_meta"] = spark.read.parquet(sources["workspace_meta"])
    return out


def _empty_schema(table: str) -> str:
    kinds = {"VARCHAR": "string", "DATE": "date", "TIMESTAMP": "timestamp", "DOUBLE": "double", "INTEGER": "int"}
    return ", ".join(f"`{c}` {kinds[t]}" for c, t, _ in CANONICAL_TABLES[table])


def _day(column: str):
    """Days since 1970-01-01 of a DATE or TIMESTAMP column (the timestamp's day, UTC session)."""
    f = F()
    return f.datediff(f.to_date(f.col(column)), f.lit("1970-01-01").cast("date"))


# --------------------------------------------------------------------------- dates and rows
def _register(raw: dict, tables: tuple[str, ...]) -> tuple[object, dict[str, str]]:
    """(session, ``{table: view}``): temporary views of the raw ``tables`` (those present) under names
    of their own. Views a returned DataFrame reads stay (Spark Connect resolves them when it runs)."""
    spark = next(iter(raw.values())).sparkSession
    tag = uuid.uuid4().hex[:8]
    names = {}
    for table in tables:
        if table in raw:
            names[table] = f"csai_{table}_{tag}"
            raw[table].createOrReplaceTempView(names[table])
    return spark, names


@contextlib.contextmanager
def _views(raw: dict, tables: tuple[str, ...]):
    """:func:`_register` for queries collected inside the block; the views are dropped after it."""
    spark, names = _register(raw, tables)
    try:
        yield spark, names
    finally:
        for view in names.values():
            spark.catalog.dropTempView(view)


def data_end(raw: dict) -> date | None:
    """The as-of date (the last day of history), by the read model's rule (``data.readmodel.data_end``):
    ``CSAI_AS_OF``; the date stored in ``workspace_meta``; else ``data/sql/as_of.sql``'s
    ``data_end`` (activity capped at today), the same SQL run by Spark SQL."""
    override = read_model_settings().as_of
    if override is not None:
        return override
    sql = queries("as_of")
    with _views(raw, ("workspace_meta", "events", "tickets", "invoices", "nps", "subscriptions")) as (spark, names):
        if "workspace_meta" in names:
            rows = spark.sql(_spark_sql(sql["stored"], names)).collect()
            if rows and _parse_date(rows[0][0]) is not None:
                return _parse_date(rows[0][0])
        row = spark.sql(_spark_sql(sql["data_end"], names), args={"cap": date.today()}).first()
    return row[0] if row else None


def workspace_meta(raw: dict) -> dict[str, str]:
    """``workspace_meta`` as a dict (empty when the raw tables came without it)."""
    if "workspace_meta" not in raw:
        return {}
    return {r["key"]: r["value"] for r in raw["workspace_meta"].select("key", "value").collect()}


def contacts_first_seen(raw: dict, end: date | None = None) -> date | None:
    """The day contacts without ``active_from`` were first seen (``data.metrics.contacts_first_seen``'s rule)."""
    meta = workspace_meta(raw)
    if meta.get("contacts_first_seen"):
        return first_seen_from(meta, None)
    return first_seen_from(meta, end or data_end(raw))


def history_start(raw: dict) -> date | None:
    """First day of recorded activity (``models.observations.history_start``): the first event, else
    the first subscription."""
    f = F()
    first = raw["events"].agg(f.min(f.to_date("event_time"))).first()[0]
    if first is None:
        first = raw["subscriptions"].agg(f.min("start_date")).first()[0]
    return first


def observation_dates(raw: dict, *, warmup_days: int = 90, end: date | None = None) -> list[date]:
    """Monthly observation dates, as ``models.observations.observation_dates``."""
    first = history_start(raw)
    last = end or data_end(raw)
    if first is None or last is None:
        return []
    return monthly_dates(first + timedelta(days=warmup_days), last + timedelta(days=1))


def observation_schedule(raw: dict, *, end: date, label_days: int, cadence: str = "auto"):
    """The observation schedule (monthly, or weekly for a short history) of
    ``models.history.plan_schedule``, as the embedded ``build_observations`` lays it; None without history."""

    first = history_start(raw)
    if first is None or end is None:
        return None
    return plan_schedule(first, end, label_days=label_days, cadence=cadence)


def active_rows(spark, raw: dict, dates: list[date], end: date | None = None):
    """(account_id, obs_date, od) for every account with a subscription active on the eve of each date:
    ``data/sql/active_rows.sql``, the file ``models.observations.active_rows`` runs. A subscription
    ending at or after ``end`` (default: the as-of date) is still running as far as the data knows."""
    end = end or data_end(raw) or date.max
    d = spark.createDataFrame(pd.DataFrame({"obs_date": pd.Series(list(dates), dtype=object)}), "obs_date date")
    _, names = _register({"obs_dates": d, "subscriptions": raw["subscriptions"]}, ("obs_dates", "subscriptions"))
    rows = spark.sql(_spark_sql(load_sql("active_rows"), names), args={"data_end": end})  # the embedded SQL
    return rows.withColumn("od", _day("obs_date"))


# --------------------------------------------------------------------------- catalog
@dataclass(frozen=True)
class SparkMetricTable:
    """Result of :func:`compute_metrics`: a Spark DataFrame (account_id, obs_date, metrics...)
    and how to read its columns, as ``data.metrics.MetricTable``."""

    frame: object
    numeric: list[str]
    categorical: list[str]
    catalog: dict[str, Metric]
    accounts_total: int | None = None  # accounts active at some date, when only a sample was observed


def event_type_list(raw: dict) -> list[str]:
    return [r[0] for r in raw["events"].select("event_type").distinct().orderBy("event_type").collect()]


# --------------------------------------------------------------------------- metrics
def compute_metrics(raw: dict, obs, *, types: list[str] | None = None,
                    exclude_attributes: tuple[str, ...] = (), data_end: date | None = None) -> SparkMetricTable:
    """Every metric of the catalog for each row of ``obs`` (a Spark DataFrame with ``account_id``
    and ``obs_date``), reading only rows strictly before each row's date. ``data_end``: the last
    day of history; a subscription ending at or after it is still running as far as the data
    knows (``data.metrics.compute_metrics``)."""
    f = F()
    obs = obs.select(f.col("account_id").cast("string").alias("account_id"), f.col("obs_date").cast("date"))
    obs = obs.withColumn("od", _day("obs_date"))
    type_list = sorted(set(event_type_list(raw) if types is None else [str(t) for t in types]))
    keys = ["account_id", "obs_date"]
    contract = _observed_days(raw, _contract(raw, obs, data_end))
    first_seen = contacts_first_seen(raw, data_end)
    parts = [_usage(_event_windows(raw, obs, type_list), contract), _support(raw, obs), _sentiment(raw, obs),
             _billing(raw, obs), _relationship(raw, obs, first_seen)]
    out = contract
    for part in parts:
        out = out.join(part, keys, "left")
    zero_default = ["active_days_30d", "active_users_30d", "tickets_30d", "tickets_90d", "high_priority_tickets_90d",
                    "ticket_severity_60d", "open_tickets", "failed_payments_90d", "failed_payments_180d",
                    "late_payments_180d", "overdue_invoices", "active_contacts", "active_champions",
                    "champions_left_90d"]
    out = out.fillna(0.0, subset=zero_default)
    catalog = {m.name: m for m in STATIC_METRICS}
    event_columns, slugs = [], set()
    for t in type_list:
        slug = event_slug(t)
        if slug in slugs:  # two types with one slug: the first in sorted order wins
            continue
        slugs.add(slug)
        for m in event_metrics(t):
            catalog[m.name] = m
        event_columns.append(slug)
    out = _event_metric_columns(out, event_columns)
    static = [m.name for m in STATIC_METRICS]
    suffixes = ("change_30v60", "days_since", "per_month_30d", "per_month_90d")  # data.metrics: sorted suffix, slug
    ev_names = [f"ev_{slug}_{suffix}" for suffix in suffixes for slug in sorted(event_columns)]
    out = out.select("account_id", "obs_date", *[f.col(c).cast("double").alias(c) for c in static + ev_names])
    out, attr_num, attr_cat = _attributes(raw, out, set(static + ev_names) | {"account_id", "obs_date"}, catalog,
                                          exclude_attributes)
    numeric = list(dict.fromkeys(static + [m.name for t in type_list for m in event_metrics(t)] + attr_num))
    return SparkMetricTable(frame=out, numeric=numeric, categorical=attr_cat, catalog=catalog)


def _contract(raw: dict, obs, data_end: date | None = None):
    """Tenure and subscription metrics (subscriptions started before the date, active when not ended
    before it; an end at or after ``data_end`` is not known yet)."""
    f = F()
    end_day = _day("end_date")
    if data_end is not None:
        end_day = f.when(end_day < f.lit((data_end - date(1970, 1, 1)).days), end_day)
    s = raw["subscriptions"].select(
        f.col("account_id").cast("string").alias("account_id"), _day("start_date").alias("sd"),
        end_day.alias("ed"), f.col("mrr").cast("double").alias("mrr"),
        f.col("seats").cast("double").alias("seats"),
        f.coalesce(f.lower("billing_period") == "annual", f.lit(False)).alias("annual"),
        _day("renewal_date").alias("rd"))
    first = s.groupBy("account_id").agg(f.min("sd").alias("first_sd"))
    j = obs.join(s, "account_id")
    started = f.col("sd") < f.col("od")
    active = started & (f.col("ed").isNull() | (f.col("ed") >= f.col("od")))
    then = started & (f.col("sd") < f.col("od") - 90) & (f.col("ed").isNull() | (f.col("ed") >= f.col("od") - 90))
    renews = active & f.col("annual") & f.col("rd").isNotNull()
    agg = j.groupBy("account_id", "obs_date").agg(
        f.sum(f.when(active, f.col("mrr")).otherwise(0.0)).alias("mrr"),
        f.sum(f.when(active & f.col("seats").isNotNull(), f.col("seats"))).alias("seats"),
        f.sum(f.when(active, 1.0).otherwise(0.0)).alias("active_subscriptions"),
        f.max(f.when(active & f.col("annual"), 1.0).otherwise(0.0)).alias("contract_annual"),
        f.min(f.when(renews, f.pmod(f.col("rd") - f.col("od"), f.lit(365)))).cast("double").alias("days_to_renewal"),
        f.sum(f.when(then, f.col("mrr")).otherwise(0.0)).alias("mrr_then"))
    acc = raw["accounts"].select(f.col("account_id").cast("string").alias("account_id"),
                                 _day("created_at").alias("created")).dropDuplicates(["account_id"])
    out = (obs.join(agg, ["account_id", "obs_date"], "left").join(first, "account_id", "left")
           .join(acc.withColumn("known", f.lit(True)), "account_id", "left"))
    since_sub = f.when(f.col("first_sd") < f.col("od"), f.col("first_sd"))
    since = f.least(since_sub, f.col("created"))  # least skips NULLs: NaN only when both are unknown
    return out.select(
        "account_id", "obs_date", "od",
        f.when(f.col("known"), (f.col("od") - since).cast("double")).alias("tenure_days"),
        f.coalesce("mrr", f.lit(0.0)).alias("mrr"),
        f.when(f.col("mrr_then") > 0, (f.coalesce("mrr", f.lit(0.0)) - f.col("mrr_then")) / f.col("mrr_then"))
        .alias("mrr_change_90d"),
        "seats",
        f.coalesce("active_subscriptions", f.lit(0.0)).alias("active_subscriptions"),
        f.coalesce("contract_annual", f.lit(0.0)).alias("contract_annual"),
        "days_to_renewal",
        f.when(f.col("days_to_renewal") <= 90, 1.0).otherwise(0.0).alias("renewal_within_90d"))


def _observed_days(raw: dict, contract):
    """``observed``: days of usage the data can show per row (``data.metrics._observed_days``): the
    tenure, capped by the days since the first event anywhere when that is positive."""
    f = F()
    first = raw["events"].agg(f.min(_day("event_time"))).first()[0]
    if first is None:
        return contract.withColumn("observed", f.col("tenure_days"))
    since_first = (f.col("od") - f.lit(int(first))).cast("double")
    return contract.withColumn("observed", f.when(since_first > 0, f.least(f.col("tenure_days"), since_first))
                               .otherwise(f.col("tenure_days")))


@dataclass(frozen=True)
class _DayBins:
    """The day bins of the embedded engine (``data.metrics._EventBins``), as small tables Spark broadcasts.

    ``edges``: every observation date and that date - 30 and - 90 (day numbers, ascending). Bin ``b``
    holds the days in ``[edges[b-1], edges[b])`` (bin 0: every day before ``edges[0]``), so each
    window (the 30 days before a date, the 60 before those, the 90 before it) is a run of whole bins,
    and the sum over a window is the difference of two running totals over the bins: the running
    total at bin ``k`` sums the days before ``edges[k]``. Every edge is a lookup key, so a per-account
    table of running totals keyed by bin, one row per bin from the account's first event on, answers
    every window with equi-joins on (account, bin); its size is accounts x bins (three per observation
    date), whatever the number of events or event days.
    """

    days: tuple[int, ...]
    edges: tuple[int, ...]

    @classmethod
    def of(cls, days: list[int]) -> _DayBins:
        days = sorted(set(int(d) for d in days))
        edges = sorted({d - lag for d in days for lag in (0, 30, 90)})
        return cls(days=tuple(days), edges=tuple(edges))

    @property
    def last_bin(self) -> int:
        return len(self.edges) - 1

    def at(self, day: int) -> int:
        """The bin whose running total sums the days before ``day`` (an edge)."""
        return self.edges.index(day)

    def bin_of_day(self, spark):
        """(day, bin) for every day from the first edge to the day before the last (earlier days: bin 0)."""
        day = list(range(self.edges[0], self.edges[-1]))
        bins, b = [], 0
        for d in day:
            while b < len(self.edges) and self.edges[b] <= d:
                b += 1
            bins.append(b)
        return spark.createDataFrame(pd.DataFrame({"day": day, "bin": bins}, dtype="int32"), "day int, bin int")

    def lookups(self, spark):
        """(od, lag, k): per observation date, the bins whose running totals sum the days before the
        date (lag 0), before the date - 30 and before the date - 90."""
        rows = [(d, lag, self.at(d - lag)) for d in self.days for lag in (0, 30, 90)]
        return spark.createDataFrame(pd.DataFrame(rows, columns=["od", "lag", "k"], dtype="int32"),
                                     "od int, lag int, k int")

    def last_30(self, spark):
        """(bin, od): the bins that make up the 30 days before each observation date."""
        rows = [(b, d) for d in self.days for b in range(self.at(d - 30) + 1, self.at(d) + 1)]
        return spark.createDataFrame(pd.DataFrame(rows, columns=["bin", "od"], dtype="int32"), "bin int, od int")


def _event_windows(raw: dict, obs, type_list: list[str]):
    """Per observation row: the usage sums (active days and daily active users in the last 30 days and
    the 60 before those, the busiest day and the distinct named users of the last 30 days) and, per
    event type (the first of each slug), the quantities in the last 30, the previous 60 and the last
    90 days and the last event day before the date.

    The as-of rules of ``data.metrics._EventBins``, evaluated without joining an observation row with
    its account's event days: events are summed per account and day (a day's active users: its
    distinct named users, else its anonymous login quantity), then per account and day bin
    (:class:`_DayBins`); running totals over the bins per account become a table keyed by (account,
    bin) with one row per bin, and each observation row reads three of its rows (the bins before the
    date, before the date - 30 and before the date - 90) with one equi-join. Window sums are
    differences of running totals, as in the embedded engine. The busiest day and the distinct named
    users (a maximum and a distinct count, which running totals cannot give) join the per-bin rows with
    the few bins of each date's last 30 days (a broadcast table), again on equal keys.
    """
    from pyspark.sql import Window  # deferred: optional dependency (requirements-spark.txt)

    f = F()
    spark = obs.sparkSession
    slug_types = _first_per_slug(type_list)
    days = [r[0] for r in obs.select("od").distinct().collect()]
    if not days:  # no observation rows: the columns, no rows
        nothing = f.lit(None).cast("double")
        return obs.select("account_id", "obs_date", "od", *[nothing.alias(c) for c in (
            "active_days_30d", "users_30d", "users_prev_60d", "busiest", "named_30d")],
            *[nothing.alias(f"{event_slug(t)}__{a}") for t in slug_types for a in ("q30", "q60", "q90", "last")])
    bins = _DayBins.of(days)
    e = raw["events"].select(f.col("account_id").cast("string").alias("account_id"), "event_type", "user_id",
                             _day("event_time").alias("day"),
                             f.coalesce(f.col("quantity").cast("double"), f.lit(0.0)).alias("quantity"))
    e = e.where(f.col("day") < f.lit(bins.edges[-1])).join(obs.select("account_id").distinct(), "account_id",
                                                           "left_semi")
    e = (e.join(f.broadcast(bins.bin_of_day(spark)), "day", "left")
         .withColumn("bin", f.coalesce(f.col("bin"), f.lit(0))))
    daily = e.groupBy("account_id", "bin", "day").agg(
        *[f.sum(f.when(f.col("event_type") == t, f.col("quantity"))).alias(f"q{i}") for i, t in enumerate(slug_types)],
        f.countDistinct("user_id").alias("named"),
        f.sum(f.when((f.col("event_type") == "login") & f.col("user_id").isNull(), f.col("quantity")))
        .alias("login_quantity"))
    daily = daily.withColumn("users", f.when(f.col("named") > 0, f.col("named").cast("double"))
                             .otherwise(f.col("login_quantity")))
    per_bin = daily.groupBy("account_id", "bin").agg(
        *[f.sum(f"q{i}").alias(f"q{i}") for i in range(len(slug_types))],
        *[f.max(f.when(f.col(f"q{i}").isNotNull(), f.col("day"))).alias(f"d{i}") for i in range(len(slug_types))],
        f.count(f.lit(1)).cast("double").alias("active"),
        f.sum(f.coalesce(f.col("users"), f.lit(0.0))).alias("users_sum"),
        f.max("users").alias("users_max"))
    # running totals over the bins, one row per account and bin from its first event bin to the last bin
    upto = Window.partitionBy("account_id").orderBy("bin").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    running = per_bin.select(
        "account_id", "bin",
        f.lead("bin").over(Window.partitionBy("account_id").orderBy("bin")).alias("next"),
        *[f.sum(f"q{i}").over(upto).alias(f"cq{i}") for i in range(len(slug_types))],
        *[f.max(f"d{i}").over(upto).alias(f"ld{i}") for i in range(len(slug_types))],
        f.sum("active").over(upto).alias("c_active"), f.sum("users_sum").over(upto).alias("c_users"))
    grid = running.withColumn("k", f.explode(f.sequence(f.col("bin"), f.coalesce(f.col("next") - 1,
                                                                                  f.lit(bins.last_bin)))))
    probe = obs.select("account_id", "obs_date", "od").join(f.broadcast(bins.lookups(spark)), "od")
    looked = probe.join(grid.drop("bin", "next"), ["account_id", "k"], "left")

    def at(column: str, lag: int):
        return f.coalesce(f.max(f.when(f.col("lag") == lag, f.col(column))), f.lit(0.0))

    sums = []
    for i, t in enumerate(slug_types):
        slug = event_slug(t)
        now, before30, before90 = (at(f"cq{i}", lag) for lag in (0, 30, 90))
        sums += [(now - before30).alias(f"{slug}__q30"), (before30 - before90).alias(f"{slug}__q60"),
                 (now - before90).alias(f"{slug}__q90"),
                 f.max(f.when(f.col("lag") == 0, f.col(f"ld{i}"))).alias(f"{slug}__last")]
    windows = looked.groupBy("account_id", "obs_date").agg(
        (at("c_active", 0) - at("c_active", 30)).alias("active_days_30d"),
        (at("c_users", 0) - at("c_users", 30)).alias("users_30d"),
        (at("c_users", 30) - at("c_users", 90)).alias("users_prev_60d"), *sums)
    last_30 = f.broadcast(bins.last_30(spark))
    busiest = (per_bin.where(f.col("users_max").isNotNull()).select("account_id", "bin", "users_max")
               .join(last_30, "bin").groupBy("account_id", "od").agg(f.max("users_max").alias("busiest")))
    named = (e.where(f.col("user_id").isNotNull()).select("account_id", "bin", "user_id").distinct()
             .join(last_30, "bin").groupBy("account_id", "od")
             .agg(f.countDistinct("user_id").cast("double").alias("named_30d")))
    return (obs.select("account_id", "obs_date", "od").join(windows, ["account_id", "obs_date"], "left")
            .join(busiest, ["account_id", "od"], "left").join(named, ["account_id", "od"], "left"))


def _usage(windows, contract):
    """Active days, active users, seat utilisation and the DAU trend (events of every type), from
    :func:`_event_windows`; the per-type window columns pass through."""
    f = F()
    out = contract.select("account_id", "obs_date", "seats", "observed").join(windows.drop("od"),
                                                                              ["account_id", "obs_date"], "left")
    active_users = f.when(f.col("named_30d") > 0, f.col("named_30d")).otherwise(f.coalesce("busiest", f.lit(0.0)))
    dau30 = f.coalesce("users_30d", f.lit(0.0)) / 30.0
    dau60 = f.coalesce("users_prev_60d", f.lit(0.0)) / 60.0
    change = (f.when(dau60 > 0, f.least(f.greatest((dau30 - dau60) / dau60, f.lit(-1.0)), f.lit(3.0)))
              .when(dau30 > 0, 3.0).otherwise(0.0))
    passing = [c for c in windows.columns if "__" in c]
    return out.select(
        "account_id", "obs_date", f.col("active_days_30d"), active_users.alias("active_users_30d"),
        f.when(f.col("seats") > 0, active_users / f.col("seats")).alias("seat_utilisation"),
        f.when(f.col("observed") < 44, f.lit(None).cast("double")).otherwise(change).alias("dau_change_30v60"),
        *passing)


def _first_per_slug(type_list: list[str]) -> list[str]:
    seen, out = set(), []
    for t in type_list:
        if event_slug(t) not in seen:
            seen.add(event_slug(t))
            out.append(t)
    return out


def _event_metric_columns(out, slugs: list[str]):
    """Counts per month, trend and recency per event type (young accounts scaled as in data.metrics)."""
    f = F()
    tenure = f.greatest(f.coalesce(f.col("observed"), f.lit(90.0)), f.lit(0.0))
    months_observed = f.least(f.greatest(f.least(tenure, f.lit(90.0)), f.lit(14.0)), f.lit(90.0)) / 30.0
    prev_days = f.least(f.greatest(tenure - 30.0, f.lit(0.0)), f.lit(60.0))
    columns = {}
    for slug in slugs:
        q30 = f.coalesce(f.col(f"{slug}__q30"), f.lit(0.0))
        q60 = f.coalesce(f.col(f"{slug}__q60"), f.lit(0.0))
        q90 = f.coalesce(f.col(f"{slug}__q90"), f.lit(0.0))
        last = f.col(f"{slug}__last")
        rate30 = q30 / 30.0
        rate60 = f.when(prev_days > 0, q60 / f.greatest(prev_days, f.lit(1.0)))
        change = f.when(rate60 > 0, (rate30 - rate60) / rate60).when(rate30 > 0, 3.0).otherwise(0.0)
        columns[f"ev_{slug}_per_month_30d"] = q30
        columns[f"ev_{slug}_per_month_90d"] = q90 / months_observed
        columns[f"ev_{slug}_change_30v60"] = f.when(prev_days < 14, f.lit(None).cast("double")).otherwise(
            f.least(f.greatest(change, f.lit(-1.0)), f.lit(3.0)))
        columns[f"ev_{slug}_days_since"] = f.when(last.isNull(), 365.0).otherwise(
            f.least((f.col("od") - last).cast("double"), f.lit(365.0)))
    return out.withColumns(columns) if columns else out


def _support(raw: dict, obs):
    """Ticket metrics: opened before the date; open until the date after closing; resolution and CSAT
    of tickets closed before the date."""
    f = F()
    sev = f.lit(0.0)
    for name, weight in reversed(SEVERITY):
        sev = f.when(f.lower("priority") == name, weight).otherwise(sev)
    t = raw["tickets"].select(
        f.col("account_id").cast("string").alias("account_id"), _day("opened_at").alias("o"),
        _day("closed_at").alias("c"),
        f.coalesce(f.lower("priority").isin(list(HIGH_PRIORITIES)), f.lit(False)).alias("high"),
        f.round(sev * 20.0).alias("sev20"),
        ((f.unix_timestamp(f.date_trunc("hour", f.col("closed_at").cast("timestamp")))
          - f.unix_timestamp(f.date_trunc("hour", f.col("opened_at").cast("timestamp")))) / 3600.0).alias("hours"),
        f.col("csat").cast("double").alias("csat"))
    od, o, c = f.col("od"), f.col("o"), f.col("c")
    j = obs.join(t, "account_id").where(o < od)
    closed_before = c.isNotNull() & (c < od)

    def count(cond):
        return f.sum(f.when(cond, 1.0).otherwise(0.0))

    rated = closed_before & (c >= od - 180) & f.col("csat").isNotNull()
    return j.groupBy("account_id", "obs_date").agg(
        count(o >= od - 30).alias("tickets_30d"),
        count(o >= od - 90).alias("tickets_90d"),
        count((o >= od - 90) & f.col("high")).alias("high_priority_tickets_90d"),
        (f.sum(f.when(o >= od - 60, f.col("sev20")).otherwise(0.0)) / 20.0).alias("ticket_severity_60d"),
        count(c.isNull() | (c >= od)).alias("open_tickets"),
        f.avg(f.when(closed_before & (c >= od - 90), f.col("hours"))).alias("resolution_hours_90d"),
        f.avg(f.when(rated, f.col("csat"))).alias("csat_180d"))


def _sentiment(raw: dict, obs):
    """Latest NPS response before the date, its change from the one before, and its age in days."""
    from pyspark.sql import Window  # deferred: optional dependency (requirements-spark.txt)

    f = F()
    n = raw["nps"].select(f.col("account_id").cast("string").alias("account_id"), "responded_at",
                          _day("responded_at").alias("r"), f.col("score").cast("double").alias("score"))
    j = obs.join(n, "account_id").where(f.col("r") < f.col("od"))
    w = Window.partitionBy("account_id", "obs_date").orderBy(f.col("responded_at").desc())
    ranked = j.withColumn("k", f.row_number().over(w)).where(f.col("k") <= 2)
    return ranked.groupBy("account_id", "obs_date").agg(
        f.max(f.when(f.col("k") == 1, f.col("score"))).alias("nps_latest"),
        (f.max(f.when(f.col("k") == 1, f.col("score"))) - f.max(f.when(f.col("k") == 2, f.col("score"))))
        .alias("nps_change"),
        f.max(f.when(f.col("k") == 1, (f.col("od") - f.col("r")).cast("double"))).alias("days_since_nps"))


def _billing(raw: dict, obs):
    """Invoice metrics (failed, late, overdue) as of each date."""
    f = F()
    i = raw["invoices"].select(
        f.col("account_id").cast("string").alias("account_id"), _day("issued_at").alias("i"),
        _day("due_at").alias("u"), f.coalesce(_day("due_at"), _day("issued_at")).alias("fd"),
        _day("paid_at").alias("p"), f.coalesce(f.lower("status") == "failed", f.lit(False)).alias("failed"))
    od, iss, u, fd, p = (f.col(x) for x in ("od", "i", "u", "fd", "p"))

    def count(cond):
        return f.sum(f.when(cond, 1.0).otherwise(0.0))

    j = obs.join(i, "account_id").where(iss < od)
    failed = f.col("failed") & (fd < od)
    return j.groupBy("account_id", "obs_date").agg(
        count(failed & (od <= fd + 90)).alias("failed_payments_90d"),
        count(failed & (od <= fd + 180)).alias("failed_payments_180d"),
        count((p > u) & (p < od) & (od <= u + 180)).alias("late_payments_180d"),
        count(u.isNotNull() & (u < od) & (p.isNull() | (p >= od))).alias("overdue_invoices"))


def _relationship(raw: dict, obs, first_seen: date | None):
    """Contact metrics: active contacts and champions, champions who left, champion tenure. A contact
    without ``active_from`` counts from ``first_seen`` (never, when that is unknown) and has no
    champion tenure (``data.metrics._relationship_values``)."""
    f = F()
    seen = f.lit((first_seen - date(1970, 1, 1)).days if first_seen is not None else None).cast("int")
    c = raw["contacts"].select(
        f.col("account_id").cast("string").alias("account_id"),
        f.coalesce(_day("active_from"), seen).alias("s"), f.col("active_from").isNotNull().alias("known_start"),
        _day("active_to").alias("l"), f.coalesce(f.lower("role") == "champion", f.lit(False)).alias("champion"))
    od, s, left = f.col("od"), f.col("s"), f.col("l")

    def count(cond):
        return f.sum(f.when(cond, 1.0).otherwise(0.0))

    j = obs.join(c, "account_id").where(s < od)
    current = left.isNull() | (left >= od)
    champion = f.col("champion")
    gone = champion & left.isNotNull() & (left < od)
    return j.groupBy("account_id", "obs_date").agg(
        count(current).alias("active_contacts"),
        count(current & champion).alias("active_champions"),
        count(gone & (od <= left + 90)).alias("champions_left_90d"),
        (f.first("od") - f.max(f.when(current & champion & f.col("known_start"), s))).cast("double")
        .alias("champion_tenure_days"),
        (f.first("od") - f.max(f.when(gone, left))).cast("double").alias("days_since_champion_left"))


def _attributes(raw: dict, out, taken: set[str], catalog: dict, exclude: tuple[str, ...]):
    """Account attribute columns (chosen by ``data.metrics._attribute_columns`` on the accounts table)."""
    f = F()
    accounts = raw["accounts"].toPandas()
    attr_num, attr_cat = _attribute_columns(accounts, exclude)
    if not (attr_num or attr_cat):
        return out, [], []
    selected, names_num, names_cat = [f.col("account_id").cast("string").alias("account_id")], [], []
    for col in attr_num + attr_cat:
        name = f"attr_{col}" if col in taken else col
        if col in attr_num:
            selected.append(f.col(f"`{col}`").cast("double").alias(name))
            names_num.append(name)
        else:
            selected.append(f.col(f"`{col}`").cast("string").alias(name))
            names_cat.append(name)
        catalog[name] = attribute_metric(name, col in attr_cat)
    table = raw["accounts"].select(*selected).dropDuplicates(["account_id"])
    return out.join(table, "account_id", "left"), names_num, names_cat


# --------------------------------------------------------------------------- labels
def compute_labels(spark, raw: dict, obs, *, horizon_days: int = 90, lead_days: int = 0, gap_days: int = 30,
                   expansion_ratio: float = 1.10, data_end: date | None = None):
    """Churn and expansion labels per ``obs`` row: the SQL of ``data/sql/labels.sql`` and
    ``subscription_spells.sql``, run by Spark SQL (``$name`` parameters become ``:name``).
    ``data_end``: the last day of history; windows past it are censored (``label_known`` false,
    labels NULL), as ``data.metrics.compute_labels``."""
    f = F()
    tag = uuid.uuid4().hex[:8]
    names = {"subscriptions": f"csai_subscriptions_{tag}", "spells": f"csai_spells_{tag}", "obs": f"csai_obs_{tag}"}
    subs = raw["subscriptions"].withColumn("account_id", f.col("account_id").cast("string"))
    subs.createOrReplaceTempView(names["subscriptions"])
    spells = spark.sql(_spark_sql(load_sql("subscription_spells"), names), args={"gap_days": int(gap_days)})
    spells.createOrReplaceTempView(names["spells"])
    obs.select("account_id", "obs_date").createOrReplaceTempView(names["obs"])
    sql = _spark_sql(load_sql("labels"), names)
    params = {"lead_days": int(lead_days), "horizon_days": int(horizon_days), "gap_days": int(gap_days),
              "expansion_ratio": float(expansion_ratio),
              "data_end": data_end if data_end is not None else date(9000, 1, 1)}
    used = {k: v for k, v in params.items() if re.search(rf":{k}\b", sql)}
    return spark.sql(sql, args=used)


def _spark_sql(text: str, names: dict[str, str]) -> str:
    """DuckDB SQL of ``data/sql`` as Spark SQL: ``$name`` parameters -> ``:name``; comments dropped;
    the input tables renamed to this call's temporary views (``FROM <table> <alias>``)."""
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    sql = re.sub(r"\$(\w+)", r":\1", "\n".join(lines)).strip().rstrip(";")
    for name, view in names.items():
        sql = re.sub(rf"(\b(?:FROM|JOIN)\s+){name}\b", rf"\g<1>{view}", sql)
    return sql


# --------------------------------------------------------------------------- observation set
def build_observations(spark, raw: dict, *, horizon_days: int = 90, lead_days: int = 0,
                       warmup_days: int | None = None, dates: list[date] | None = None, gap_days: int = 30,
                       expansion_ratio: float = 1.10, end: date | None = None, cadence: str = "auto",
                       max_accounts: int | None = None):
    """(features + labels Spark DataFrame, SparkMetricTable, dates): the observation rows the
    embedded ``models.observations.build_observations`` builds, for training on one machine.
    ``end``: the last day of history (default: :func:`data_end`). Dates: ``dates``, else monthly
    from ``warmup_days`` when given, else :func:`observation_schedule` (``cadence``). Labels are
    censored at ``end``: ``labelled`` is labels.sql's ``label_known``. Beyond ``max_accounts``
    (default ``CSAI_TRAIN_MAX_ACCOUNTS``) only the accounts the embedded engine would sample
    (``models.observations.sampled_ids``) are observed, so the rows collected for training stay bounded."""
    f = F()
    end = end or data_end(raw)
    if dates is None and end is not None:
        if warmup_days is not None:
            dates = observation_dates(raw, warmup_days=warmup_days, end=end)
        else:
            schedule = observation_schedule(raw, end=end, label_days=lead_days + horizon_days + gap_days,
                                            cadence=cadence)
            dates = schedule.dates if schedule else []
    if not dates:
        raise UserError("Not enough history to build observation dates; import at least a few months of data.")
    rows = active_rows(spark, raw, dates, end).select("account_id", "obs_date")
    limit = max_accounts if max_accounts is not None else read_model_settings().train_max_accounts
    ids = rows.select("account_id").distinct().toPandas()["account_id"]
    keep = sampled_ids(ids, limit)
    if keep is not None:  # ids only: a million short strings on the driver
        kept = spark.createDataFrame(pd.DataFrame({"account_id": keep}))
        rows = rows.join(f.broadcast(kept), "account_id", "left_semi")
    metrics = compute_metrics(raw, rows, data_end=end)
    if keep is not None:
        metrics = dataclasses.replace(metrics, accounts_total=len(ids))
    labels = compute_labels(spark, raw, rows, horizon_days=horizon_days, lead_days=lead_days, gap_days=gap_days,
                            expansion_ratio=expansion_ratio, data_end=end)
    frame = metrics.frame.join(labels.select("account_id", "obs_date", "churn_date", "label_churn",
                                             "label_expansion", "label_known"), ["account_id", "obs_date"], "left")
    frame = frame.withColumn("labelled", f.coalesce(f.col("label_known"), f.lit(False))).drop("label_known")
    if lead_days > 0:
        frame = frame.where(f.col("churn_date").isNull() | (f.col("churn_date") >= f.date_add("obs_date", lead_days)))
    frame = frame.withColumn("arr", 12.0 * f.coalesce("mrr", f.lit(0.0)))
    return frame, metrics, dates


def observation_set(frame, metrics: SparkMetricTable, dates: list[date], *, end: date, horizon_days: int = 90,
                    lead_days: int = 0, gap_days: int = 30, schedule=None):
    """The Spark observation rows as a ``models.observations.ObservationSet`` for the single-machine
    trainer (``models.training.train(con, config, observations=...)``): collected to the driver in
    the embedded order (date, account), features as float32 as the embedded set keeps them. The rows
    are bounded by :func:`build_observations`' account sample (``CSAI_TRAIN_MAX_ACCOUNTS``)."""
    pdf = frame.toPandas()
    for c in metrics.categorical:  # plain object columns with None, as data.metrics builds them
        pdf[c] = pdf[c].astype(object).where(pdf[c].notna(), None)
    pdf["obs_date"] = pd.to_datetime(pdf["obs_date"]).dt.date
    pdf = pdf.sort_values(["obs_date", "account_id"], kind="stable").reset_index(drop=True)
    pdf[metrics.numeric] = pdf[metrics.numeric].astype(np.float32)
    pdf["label_churn"] = pdf["label_churn"].fillna(0).astype(int)
    pdf["label_expansion"] = pdf["label_expansion"].fillna(0).astype(int)
    pdf["labelled"] = pdf["labelled"].astype(bool)
    observed = int(pdf["account_id"].nunique())
    return ObservationSet(frame=pdf, numeric=metrics.numeric, categorical=metrics.categorical,
                          catalog=metrics.catalog, mode="time", horizon_days=horizon_days, lead_days=lead_days,
                          data_end=end, dates=list(dates), gap_days=gap_days,
                          cadence=schedule.cadence if schedule else MONTHLY, schedule=schedule,
                          accounts_observed=observed, accounts_total=metrics.accounts_total or observed)
