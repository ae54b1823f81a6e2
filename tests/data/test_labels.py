"""Outcome labels (data/sql/labels.sql) at their boundaries, on hand-made subscriptions.

Observation date 2025-07-01, horizon 90 days (the window ends 2025-09-29, exclusive), expansion at 1.25 ×
the MRR on the eve of the observation date. Each account sits on one edge of one rule.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from data.metrics import compute_labels
from data.schema import ensure_raw_schema

OBS_DATE = date(2025, 7, 1)
START = "DATE '2025-01-01'"

SUBSCRIPTIONS = {  # account -> [(start, end or None, mrr)]
    "open": [("2025-01-01", None, 100)],
    "ends_in_window": [("2025-01-01", "2025-08-01", 100)],
    "ends_on_obs_date": [("2025-01-01", "2025-07-01", 100)],
    "ends_on_window_end": [("2025-01-01", "2025-09-29", 100)],
    "ends_day_before_window_end": [("2025-01-01", "2025-09-28", 100)],
    "ended_before": [("2025-01-01", "2025-06-01", 100)],
    "starts_on_obs_date": [("2025-07-01", None, 100)],
    "grows_exactly_enough": [("2025-01-01", None, 100), ("2025-08-01", None, 25)],
    "grows_too_little": [("2025-01-01", None, 100), ("2025-08-01", None, 24)],
    "grows_after_window": [("2025-01-01", None, 100), ("2025-09-29", None, 25)],
    "grows_last_day": [("2025-01-01", None, 100), ("2025-09-28", None, 25)],
    "grows_then_churns": [("2025-01-01", "2025-09-01", 100), ("2025-08-01", "2025-09-01", 25)],
    "upgrade_replaces": [("2025-01-01", "2025-08-01", 100), ("2025-08-01", None, 125)],
    "peak_then_drop": [("2025-01-01", None, 100), ("2025-08-01", "2025-08-10", 30), ("2025-08-20", None, 5)],
    "two_at_obs": [("2025-01-01", None, 60), ("2025-02-01", None, 40), ("2025-08-01", None, 25)],
}

# account -> (churn_date, mrr_at_obs, label_churn, label_expansion) with lead 0
EXPECTED = {
    "open": (None, 100, 0, 0),
    "ends_in_window": (date(2025, 8, 1), 100, 1, 0),
    "ends_on_obs_date": (date(2025, 7, 1), 100, 1, 0),
    "ends_on_window_end": (date(2025, 9, 29), 100, 0, 0),
    "ends_day_before_window_end": (date(2025, 9, 28), 100, 1, 0),
    "ended_before": (None, 0, 0, 0),
    "starts_on_obs_date": (None, 0, 0, 0),
    "grows_exactly_enough": (None, 100, 0, 1),
    "grows_too_little": (None, 100, 0, 0),
    "grows_after_window": (None, 100, 0, 0),
    "grows_last_day": (None, 100, 0, 1),
    "grows_then_churns": (date(2025, 9, 1), 100, 1, 0),
    "upgrade_replaces": (None, 100, 0, 1),
    "peak_then_drop": (None, 100, 0, 1),
    "two_at_obs": (None, 100, 0, 1),
}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    ensure_raw_schema(c)
    rows = [(a, "core", pd.Timestamp(s).date(), None if e is None else pd.Timestamp(e).date(), float(mrr))
            for a, subs in SUBSCRIPTIONS.items() for s, e, mrr in subs]
    c.executemany("INSERT INTO subscriptions (account_id, product, start_date, end_date, mrr) VALUES (?, ?, ?, ?, ?)",
                  rows)
    yield c
    c.close()


def _labels(con, **kw) -> pd.DataFrame:
    obs = pd.DataFrame({"account_id": list(SUBSCRIPTIONS), "obs_date": OBS_DATE})
    return compute_labels(con, obs, horizon_days=90, expansion_ratio=1.25, **kw).set_index("account_id")


@pytest.mark.parametrize("account", list(EXPECTED))
def test_each_label_edge(con, account):
    row = _labels(con).loc[account]
    churn_date = None if pd.isna(row["churn_date"]) else pd.Timestamp(row["churn_date"]).date()
    got = (churn_date, float(row["mrr_at_obs"]), int(row["label_churn"]), int(row["label_expansion"]))
    assert got == EXPECTED[account]


def test_a_lead_time_moves_the_churn_window(con):
    # lead 30 days: churn counts in [2025-07-31, 2025-10-29)
    labels = _labels(con, lead_days=30)["label_churn"]
    assert labels["ends_on_obs_date"] == 0 and labels["ends_in_window"] == 1
    assert labels["ends_on_window_end"] == 1 and labels["open"] == 0
    expansion = _labels(con, lead_days=30)["label_expansion"]
    assert expansion["grows_after_window"] == 1  # 2025-09-29 is inside the longer window
