"""Metric layer: per-account metrics as of observation dates, and the metric catalog.

Metrics follow docs/architecture.md section 5 and are computed for *many* observation dates at
once, reading every raw row once. DuckDB SQL (``data/sql/*.sql``) stages the raw tables
as rows with integer account codes and day numbers (``account_rows.sql``) and streams
the events (``event_rows.sql``); the as-of rules are then applied with numpy, so the
cost grows with the rows, not with rows x dates: events are added into per-account day
bins cut at every observation date and 30 / 90 days before it
(:class:`~data.metrics.event_bins._EventBins`), and a ticket, invoice or contact row is added
over the run of dates it counts for (:func:`~data.metrics.windows._on_dates`). Every metric
reads only rows strictly before its observation date (an end, close, payment or departure on
or after the date counts as "not yet happened"); :func:`truncate_raw_tables` builds the "world
as of a date" that the leakage check in ``models.observations`` compares against, and
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

The package, one module per job (``from data.metrics import X`` reaches every public name):

- :mod:`~data.metrics.catalog`: metric names, labels, groups, event-type metrics, attribute columns;
- :mod:`~data.metrics.windows`: observation dates as codes and the as-of windows over them;
- :mod:`~data.metrics.staging`: the DuckDB side (registered frames, SQL text, numpy results);
- :mod:`~data.metrics.event_bins`: the streamed pass over ``events`` into per-account day bins;
- :mod:`~data.metrics.tables`: subscription, ticket, NPS, invoice and contact metrics;
- :mod:`~data.metrics.compute`: :func:`compute_metrics` and :func:`attribute_metrics`, which join them;
- :mod:`~data.metrics.labels`: churn and expansion labels (after the date: targets, never features);
- :mod:`~data.metrics.asof`: :func:`truncate_raw_tables`, the world as of a date;
- :mod:`~data.metrics.sentences`: :func:`render_sentence` and the missing-value meanings.
"""

from data.metrics.asof import truncate_raw_tables
from data.metrics.catalog import (
    ATTRIBUTE_GROUPS,
    CATEGORICAL_ACCOUNT_COLUMNS,
    EVENT_METRIC_SUFFIXES,
    EXCLUDED_ACCOUNT_COLUMNS,
    STATIC_METRICS,
    Metric,
    _attribute_columns,
    account_attribute_columns,
    attribute_group,
    attribute_metric,
    catalog_for,
    event_metrics,
    event_slug,
    event_types,
    is_identifier_like,
)
from data.metrics.compute import MetricTable, attribute_metrics, compute_metrics
from data.metrics.labels import active_accounts, activity_spells, compute_labels
from data.metrics.sentences import is_missing, missing_meaning, render_sentence
from data.metrics.tables import contacts_first_seen, first_seen_from
from data.metrics.windows import monthly_dates
from data.sqlfiles import load_sql  # re-exported: models.observations and the Spark engine import it from here

__all__ = [
    "ATTRIBUTE_GROUPS",
    "CATEGORICAL_ACCOUNT_COLUMNS",
    "EVENT_METRIC_SUFFIXES",
    "EXCLUDED_ACCOUNT_COLUMNS",
    "STATIC_METRICS",
    "Metric",
    "MetricTable",
    "_attribute_columns",
    "account_attribute_columns",
    "active_accounts",
    "activity_spells",
    "attribute_group",
    "attribute_metric",
    "attribute_metrics",
    "catalog_for",
    "compute_labels",
    "compute_metrics",
    "contacts_first_seen",
    "event_metrics",
    "event_slug",
    "event_types",
    "first_seen_from",
    "is_identifier_like",
    "is_missing",
    "load_sql",
    "missing_meaning",
    "monthly_dates",
    "render_sentence",
    "truncate_raw_tables",
]
