"""Metric SQL against hand-computed small cases, and the as-of-date truncation."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from data.metrics import (
    STATIC_METRICS,
    compute_labels,
    compute_metrics,
    event_metrics,
    render_sentence,
    truncate_raw_tables,
)
from data.schema import ensure_raw_schema


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    ensure_raw_schema(c)
    c.execute("ALTER TABLE accounts ADD COLUMN employee_count INTEGER")
    c.execute("ALTER TABLE accounts ADD COLUMN crm_id VARCHAR")
    c.execute("""INSERT INTO accounts VALUES
        ('A', 'Alpha', 'SMB', 'Retail', 'EU', 'pro', 'Maya', DATE '2025-01-01', 50, 'x1'),
        ('B', 'Beta', 'ENT', 'Media', 'US', 'pro', 'Maya', DATE '2025-06-01', 900, 'x2')""")
    c.execute("""INSERT INTO subscriptions VALUES
        ('A', 'core', DATE '2025-01-01', DATE '2025-05-31', 100, 10, 'monthly', NULL),
        ('A', 'core', DATE '2025-06-01', NULL, 150, 12, 'annual', DATE '2026-01-01'),
        ('B', 'core', DATE '2025-06-01', DATE '2025-09-15', 50, 5, 'monthly', NULL)""")
    # A: 3 users log in every day from 2025-01-01 for 200 days; two core_action days.
    c.execute("INSERT INTO events SELECT 'A', DATE '2025-01-01' + INTERVAL (d) DAY, 'login', 3, NULL FROM range(200) r(d)")
    c.execute("""INSERT INTO events VALUES ('A', TIMESTAMP '2025-06-30 10:00', 'core_action', 5, NULL),
                                           ('A', TIMESTAMP '2025-07-01 00:00', 'core_action', 7, NULL)""")
    c.execute("""INSERT INTO tickets VALUES ('t1', 'A', TIMESTAMP '2025-06-20 09:00', TIMESTAMP '2025-07-03 09:00',
                                             'high', 4)""")
    c.execute("INSERT INTO nps VALUES ('A', TIMESTAMP '2025-03-01', 9, NULL), ('A', TIMESTAMP '2025-06-01', 4, NULL)")
    c.execute("""INSERT INTO invoices VALUES
        ('i1', 'A', DATE '2025-06-01', DATE '2025-06-15', DATE '2025-06-20', 150, 'late'),
        ('i2', 'A', DATE '2025-06-20', DATE '2025-06-28', NULL, 150, 'failed')""")
    c.execute("""INSERT INTO contacts VALUES ('c1', 'A', 'a@x', 'champion', DATE '2025-01-01', DATE '2025-06-10'),
                                             ('c2', 'A', 'b@x', 'user', DATE '2025-01-01', NULL)""")
    yield c
    c.close()


OBS = pd.DataFrame({"account_id": ["A", "A", "B"], "obs_date": [date(2025, 7, 1), date(2025, 7, 2), date(2025, 7, 1)]})


@pytest.fixture(scope="module")
def metrics(con):
    return compute_metrics(con, OBS)


def test_one_row_per_observation_in_order(metrics):
    f = metrics.frame
    assert list(f["account_id"]) == ["A", "A", "B"]
    assert list(f["obs_date"]) == list(OBS["obs_date"])


def test_contract_metrics_hand_computed(metrics):
    a = metrics.frame.iloc[0]
    assert a["mrr"] == 150 and a["seats"] == 12 and a["contract_annual"] == 1
    assert a["mrr_change_90d"] == pytest.approx(0.5)  # 100 on 2025-04-02 -> 150
    assert a["days_to_renewal"] == 184  # 2025-07-01 -> 2026-01-01
    assert a["tenure_days"] == 181


def test_event_metrics_read_only_rows_strictly_before_the_date(metrics):
    a1, a2 = metrics.frame.iloc[0], metrics.frame.iloc[1]
    # The core_action at 2025-07-01 00:00 is not visible on 2025-07-01, visible on 2025-07-02.
    assert a1["ev_core_action_per_month_30d"] == 5
    assert a2["ev_core_action_per_month_30d"] == 12
    assert a1["ev_core_action_per_month_90d"] == pytest.approx(5 / 3)
    assert a1["ev_login_per_month_30d"] == 90  # 3 a day for 30 days
    assert a1["ev_login_change_30v60"] == pytest.approx(0.0)
    assert a1["ev_core_action_days_since"] == 1
    assert a1["active_days_30d"] == 30
    assert a1["active_users_30d"] == 3  # login quantity = distinct users per day
    assert a1["seat_utilisation"] == pytest.approx(3 / 12)


def test_support_sentiment_billing_relationship(metrics):
    a = metrics.frame.iloc[0]
    assert a["tickets_30d"] == 1 and a["high_priority_tickets_90d"] == 1
    assert a["open_tickets"] == 1  # closed only on 2025-07-03
    assert a["ticket_severity_60d"] == pytest.approx(0.6)
    assert a["nps_latest"] == 4 and a["nps_change"] == -5 and a["days_since_nps"] == 30
    assert a["failed_payments_90d"] == 1 and a["late_payments_180d"] == 1 and a["overdue_invoices"] == 1
    assert a["active_champions"] == 0 and a["champions_left_90d"] == 1 and a["days_since_champion_left"] == 21


def test_account_without_activity_gets_neutral_values(metrics):
    b = metrics.frame.iloc[2]
    assert b["ev_login_per_month_30d"] == 0 and b["ev_login_days_since"] == 365
    assert b["tickets_90d"] == 0 and math.isnan(b["nps_latest"])


def test_every_event_type_gets_metrics_and_catalog_entries(con, metrics):
    for et in ("login", "core_action"):
        for m in event_metrics(et):
            assert m.name in metrics.frame.columns and m.name in metrics.catalog
    con.execute("INSERT INTO events VALUES ('A', TIMESTAMP '2025-06-15 12:00', 'Webhook Fired', 2, NULL)")
    try:
        new = compute_metrics(con, OBS)
        assert new.frame.loc[0, "ev_webhook_fired_per_month_30d"] == 2
        assert new.catalog["ev_webhook_fired_days_since"].group in ("Usage", "Adoption")
    finally:
        con.execute("DELETE FROM events WHERE event_type = 'Webhook Fired'")


def test_custom_attributes_are_features_but_identifiers_are_not(metrics):
    assert "employee_count" in metrics.numeric
    assert "segment" in metrics.categorical
    for col in ("account_id", "name", "crm_id", "created_at"):
        assert col not in metrics.numeric and col not in metrics.categorical


def test_catalog_entries_are_complete(metrics):
    groups = {"Usage", "Adoption", "Support", "Billing", "Relationship", "Sentiment", "Contract", "Firmographic"}
    for m in metrics.catalog.values():
        assert m.label and m.template and m.group in groups and isinstance(m.actionable, bool)
    assert {m.name for m in STATIC_METRICS} <= set(metrics.catalog)


def test_sentences_have_direction():
    m = next(x for x in STATIC_METRICS if x.name == "dau_change_30v60")
    assert render_sentence(m, -0.45) == "Daily active users fell 45% vs the previous 60 days"
    assert render_sentence(m, 0.2) == "Daily active users rose 20% vs the previous 60 days"
    assert "unchanged" in render_sentence(m, 0.0)


def test_labels_churn_within_horizon(con):
    labels = compute_labels(con, OBS, horizon_days=90)
    assert list(labels["label_churn"]) == [0, 0, 1]  # B ends 2025-09-15 < 2025-07-01 + 90 d
    assert list(compute_labels(con, OBS, horizon_days=30)["label_churn"]) == [0, 0, 0]


def test_truncated_world_gives_identical_metrics(con, metrics):
    cut = truncate_raw_tables(con, date(2025, 7, 1))
    try:
        past = compute_metrics(cut, OBS.iloc[[0, 2]], types=["core_action", "login"]).frame
    finally:
        cut.close()
    full = metrics.frame.iloc[[0, 2]].reset_index(drop=True)
    for col in metrics.numeric:
        np.testing.assert_allclose(past[col].to_numpy(dtype=float), full[col].to_numpy(dtype=float), rtol=0,
                                   atol=1e-9, equal_nan=True, err_msg=col)


def test_events_of_types_without_metrics_still_count_as_activity(con, metrics):
    only = compute_metrics(con, OBS, types=["core_action"]).frame
    assert [c for c in only.columns if c.startswith("ev_")] == [
        f"ev_core_action_{s}" for s in ("change_30v60", "days_since", "per_month_30d", "per_month_90d")]
    for col in ("active_days_30d", "active_users_30d", "dau_change_30v60", "ev_core_action_per_month_30d"):
        assert only[col].equals(metrics.frame[col]), col


def test_busiest_day_adds_up_several_login_rows_of_one_day(con):
    con.execute("""INSERT INTO events VALUES ('B', TIMESTAMP '2025-06-20 08:00', 'login', 2, NULL),
                                             ('B', TIMESTAMP '2025-06-20 17:00', 'login', 3, NULL)""")
    try:
        b = compute_metrics(con, OBS).frame.iloc[2]
    finally:
        con.execute("DELETE FROM events WHERE account_id = 'B'")
    assert b["active_days_30d"] == 1 and b["active_users_30d"] == 5  # one day, 2 + 3 anonymous users
    assert b["seat_utilisation"] == pytest.approx(5 / 5)


def test_no_observation_rows_and_repeated_rows(con, metrics):
    empty = compute_metrics(con, OBS.iloc[0:0])
    assert len(empty.frame) == 0 and {m.name for m in STATIC_METRICS} <= set(empty.frame.columns)
    twice = compute_metrics(con, pd.concat([OBS, OBS.iloc[[0]]], ignore_index=True)).frame
    assert len(twice) == 4
    assert twice.iloc[3][metrics.numeric].equals(metrics.frame.iloc[0][metrics.numeric])
