"""Outcome statistics: interval math on published examples, statements, and treated-vs-holdout counting."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from playbooks import create_playbook, outcomes_frame, playbook_outcomes
from playbooks.outcomes import compare_arms, newcombe_difference, risk_ratio, wilson_interval
from playbooks.store import runs
from tests.support.workspaces import AS_OF, build_workspace


def test_wilson_interval_matches_newcombe_1998():
    lo, hi = wilson_interval(81, 263)  # Newcombe (1998a), example: 0.2553 to 0.3662
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0 and round(hi, 4) == 0.2775


def test_newcombe_difference_matches_published_example():
    d, lo, hi = newcombe_difference(56, 70, 48, 80)  # Newcombe (1998b) method 10, example (a): 0.0524 to 0.3339
    assert round(d, 4) == 0.2
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    _, lo, hi = newcombe_difference(9, 10, 3, 10)  # example (b): 0.1705 to 0.8090
    assert (round(lo, 4), round(hi, 4)) == (0.1705, 0.809)


def test_risk_ratio_interval():
    rr, lo, hi = risk_ratio(10, 100, 20, 100)  # se(log RR) = sqrt(1/10 - 1/100 + 1/20 - 1/100) = 0.3606
    assert rr == pytest.approx(0.5)
    assert lo == pytest.approx(0.5 * math.exp(-1.96 * math.sqrt(0.13)), rel=1e-4)
    assert hi == pytest.approx(0.5 * math.exp(1.96 * math.sqrt(0.13)), rel=1e-4)


def test_statements_say_when_there_is_not_enough_data():
    few = compare_arms("churn", 2, 20, 1, 5, horizon_days=90, pending=12)
    assert not few.enough_data
    assert few.statement.startswith("Not enough data yet: 20 treated and 5 holdout runs")
    assert "12 more runs are still inside their horizon" in few.statement
    none = compare_arms("churn", 3, 40, 0, 0, horizon_days=90)
    assert "No holdout runs" in none.statement
    clear = compare_arms("churn", 10, 200, 40, 200, horizon_days=90)
    assert clear.enough_data and clear.statement.endswith("The playbook lowered churn.")
    assert "5.0 % of treated vs 20.0 % of holdout" in clear.statement


def test_outcomes_count_churn_and_expansion_per_arm(tmp_path):
    """40 treated (4 churn), 40 holdout (12 churn); 10 treated expand; manual and young runs are not compared."""
    ws = build_workspace(tmp_path / "ws", n=120, scores=False)
    start = AS_OF - timedelta(days=200)
    ids = [f"A{i:04d}" for i in range(1, 121)]
    with ws.warehouse.writer("raw") as con:
        for i in range(4):
            con.execute("UPDATE subscriptions SET end_date = ? WHERE account_id = ?", [start + timedelta(days=30), ids[i]])
        for i in range(40, 52):
            con.execute("UPDATE subscriptions SET end_date = ? WHERE account_id = ?", [start + timedelta(days=60), ids[i]])
        con.execute("UPDATE subscriptions SET end_date = ? WHERE account_id = ?", [start + timedelta(days=150), ids[39]])
        for i in range(10, 20):  # seat expansion 20 days after the start
            con.execute("UPDATE subscriptions SET end_date = ? WHERE account_id = ?", [start + timedelta(days=20), ids[i]])
            con.execute("INSERT INTO subscriptions VALUES (?, 'Platform', ?, NULL, 1500, 15, 'annual', NULL)",
                        [ids[i], start + timedelta(days=20)])
    pb = create_playbook(ws.engine, "manager", name="Measured", rule={"risk_bands": ["high"]},
                         steps=[{"type": "task", "title": "x", "due_days": 1}])
    rows = []
    t = datetime.combine(start, datetime.min.time())
    for i, account in enumerate(ids):
        if i < 80:
            kind, holdout, at = "rule", i >= 40, t
        elif i < 100:
            kind, holdout, at = "manual", False, t
        else:
            kind, holdout, at = "rule", False, datetime.combine(AS_OF - timedelta(days=10), datetime.min.time())
        rows.append(dict(playbook_id=pb.id, account_id=account, idempotency_key=f"k{i}", trigger_type=kind,
                         triggered_by="test", started_at=at, holdout=holdout, status="completed"))
    with ws.engine.begin() as conn:
        conn.execute(runs.insert(), rows)
    (o,) = playbook_outcomes(ws.engine, ws.warehouse, playbook_id=pb.id)
    assert (o.rule_runs, o.manual_runs, o.pending_runs, o.as_of) == (100, 20, 20, AS_OF)
    c = o.churn
    assert (c.treated_events, c.treated_n, c.holdout_events, c.holdout_n) == (4, 40, 12, 40)
    assert c.difference == pytest.approx(-0.2)
    d, lo, hi = newcombe_difference(4, 40, 12, 40)
    assert (c.ci_low, c.ci_high) == (pytest.approx(lo), pytest.approx(hi)) and hi < 0
    assert c.statement.endswith("The playbook lowered churn.")
    e = o.expansion
    assert (e.treated_events, e.holdout_events) == (10, 0)
    assert any("manual runs are not compared" in n for n in o.notes)
    frame = outcomes_frame([o])
    assert set(frame["metric"]) == {"churn", "expansion"} and frame["enough_data"].all()


def test_outcomes_before_any_run_say_so(ws):
    pb = create_playbook(ws.engine, "manager", name="New", steps=[{"type": "task", "title": "x"}])
    (o,) = playbook_outcomes(ws.engine, ws.warehouse, playbook_id=pb.id)
    assert o.statement.startswith("No runs have reached the 90-day horizon yet")


