"""The app's shared DuckDB connection runs with ``preserve_insertion_order = false``, so every read whose order
reaches a page orders its rows itself. Each order test inserts rows in an order other than the required one
(same-time or same-score ties included) and reads them through the app connection (``components.session.cursor``)."""

from __future__ import annotations

import pandas as pd

from components import cached
from components.session import cursor
from data import readmodel
from data.access import SYSTEM
from models.scoring import DRIVERS_DDL, SCORES_DDL
from playbooks.context import contacts_by_role


def test_the_app_connection_does_not_preserve_insertion_order(tiny_ws):
    assert cursor().execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is False


def test_timeline_lists_same_time_rows_by_kind_then_detail(tiny_ws):
    # Initech (A3) has no activity in the tiny company. Two pairs of same-time rows, each pair queried in the
    # opposite of the required order (the timeline reads tickets, NPS, invoices, then contacts).
    with tiny_ws.warehouse.writer("raw") as con:
        con.execute("INSERT INTO tickets VALUES ('T9', 'A3', TIMESTAMP '2026-06-10 00:00', NULL, 'high', NULL)")
        con.execute("INSERT INTO nps VALUES ('A3', TIMESTAMP '2026-06-10 00:00', 4, NULL)")
        con.execute("INSERT INTO invoices VALUES ('I9', 'A3', DATE '2026-05-01', NULL, NULL, 2500, 'late')")
        con.execute("INSERT INTO contacts VALUES ('C9', 'A3', 'sam@initech.test', 'admin', DATE '2026-05-01', NULL)")

    timeline = cached.account_detail(SYSTEM, "A3")["timeline"]

    assert list(timeline["kind"]) == ["NPS", "Ticket", "Contact", "Invoice"]
    assert list(timeline["occurred_at"]) == [pd.Timestamp("2026-06-10")] * 2 + [pd.Timestamp("2026-05-01")] * 2


def test_the_recipient_of_a_role_held_twice_is_the_highest_contact_id(tiny_ws):
    # Two champions who started the same day, inserted highest id first: the later id is the one written to,
    # whatever order the rows are stored in.
    with tiny_ws.warehouse.writer("raw") as con:
        con.execute("INSERT INTO contacts VALUES ('C9', 'A3', 'zoe@initech.test', 'champion', DATE '2026-01-05', NULL), "
                    "('C8', 'A3', 'ann@initech.test', 'champion', DATE '2026-01-05', NULL)")

    contacts = contacts_by_role(cursor(), ["A3"])

    assert contacts["A3"]["champion"]["email"] == "zoe@initech.test"


def test_the_top_driver_of_equal_drivers_is_the_first_feature_by_name(tiny_ws):
    # One run; Initech's two risk drivers weigh the same and the later name is stored first.
    run = pd.Timestamp("2026-07-01 06:00")
    with tiny_ws.warehouse.writer("results") as con:
        con.execute(SCORES_DDL)
        con.execute(DRIVERS_DDL)
        con.execute("INSERT INTO scores (scored_at, obs_date, account_id, model_id, target, p_churn, risk_band) "
                    "VALUES (?, DATE '2026-07-01', 'A3', 'churn-test', 'churn', 0.7, 'high')", [run])
        con.executemany(
            'INSERT INTO score_drivers (scored_at, account_id, target, feature, label, "group", value, shap, '
            "sentence, rank) VALUES (?, 'A3', 'churn', ?, ?, ?, 'x', 0.3, ?, ?)",
            [[run, "tickets_90d", "Tickets (90 days)", "Support", "Tickets rose", 1],
             [run, "logins_30d", "Logins (30 days)", "Usage", "Logins fell", 2]])

    latest = readmodel.latest_scores(cursor())

    assert latest.loc[latest["account_id"] == "A3", ["top_driver", "top_driver_group"]].values.tolist() == [
        ["Logins fell", "Usage"]]
