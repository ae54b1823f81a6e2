"""Manual and rule triggers: run snapshots, idempotency (threads, processes, run-due twice), holdouts, cooldown."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from data.access import SYSTEM, NotInBook, Viewer
from data.opstore import now, read_audit
from playbooks import (
    PlaybookError,
    complete_task,
    get_run,
    list_runs,
    my_tasks,
    preview_steps,
    run_due,
    run_rules,
    trigger_bulk,
    trigger_manual,
)
from playbooks.holdout import holdout_share_interval
from playbooks.store import runs, steps, tasks
from tests.support.processes import run_due_in_process, trigger_in_process
from tests.support.workspaces import TASK_AND_EMAIL, build_workspace, count_rows, new_playbook


def _count(ws, table=runs) -> int:
    return count_rows(ws, table)


def test_manual_trigger_stores_snapshot_creates_task_and_waits_for_email_confirmation(ws):
    pb = new_playbook(ws)
    preview = preview_steps(ws.engine, ws.warehouse, pb.id, "A0001")
    assert [p["kind"] for p in preview] == ["task", "email"]
    assert preview[0]["summary"].startswith("Task for Maya Patel: Call Company 1")
    assert preview[1]["payload"]["to"] == "anna.smith0@company0.example"
    assert preview[1]["payload"]["body"] == "Hi Anna Smith, Weekly active users fell 45% vs the previous 60 days."
    assert _count(ws) == 0, "preview writes nothing"

    run = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", note="spoke at QBR", idempotency_key="k1")
    assert run.created and not run.holdout and run.trigger_type == "manual" and run.triggered_by == "maya"
    assert (run.p_churn, run.risk_band, run.model_id) == (0.4, "high", "churn-test-1")
    assert run.drivers[0]["group"] == "Usage"
    detail = get_run(ws.engine, SYSTEM, run.id)
    assert [(s["kind"], s["status"]) for s in detail.steps] == [("task", "delivered"), ("email", "awaiting_confirmation")]
    maya = Viewer("maya", ("csm",), "Maya Patel")
    mine = my_tasks(ws.engine, maya, warehouse=ws.warehouse)
    assert mine["title"].tolist() == ["Call Company 1"]
    complete_task(ws.engine, maya, int(mine["id"].iloc[0]), warehouse=ws.warehouse)
    assert my_tasks(ws.engine, maya, warehouse=ws.warehouse).empty
    assert get_run(ws.engine, SYSTEM, run.id).status == "active", "the email still waits"
    assert "playbook.run.create" in [a["action"] for a in read_audit(ws.engine, actor="maya")]


def test_double_submit_and_second_tab_create_one_run(ws):
    pb = new_playbook(ws)
    first = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya", idempotency_key="form-1")
    again = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya", idempotency_key="form-1")
    other_tab = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya", idempotency_key="form-2")
    assert first.created and not again.created and not other_tab.created
    assert first.id == again.id == other_tab.id
    assert _count(ws) == 1 and _count(ws, tasks) == 1


def test_concurrent_threads_create_one_run(ws):
    pb = new_playbook(ws)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def go(i):
        try:
            barrier.wait()
            results.append(trigger_manual(ws.engine, ws.warehouse, pb.id, "A0003", actor=f"tab{i}",
                                          idempotency_key=f"form-{i}"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.id for r in results}) == 1 and sum(r.created for r in results) == 1
    assert _count(ws) == 1 and _count(ws, steps) == 2 and _count(ws, tasks) == 1


def test_two_processes_on_one_sqlite_file_create_one_run(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=5)
    pb = new_playbook(ws)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()  # both children start triggering together, once both are ready
    procs = [ctx.Process(target=trigger_in_process, args=(str(ws.path), pb.id, "A0004", barrier, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    got = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len({run_id for run_id, _ in got}) == 1 and sorted(c for _, c in got) == [False, True]
    assert _count(ws) == 1 and _count(ws, tasks) == 1


def test_run_due_twice_and_concurrently_creates_no_duplicates(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=30)
    new_playbook(ws, rule={"risk_bands": ["high"], "top_driver_groups": ["Usage"]}, holdout_pct=20)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=run_due_in_process, args=(str(ws.path), barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    created = [out.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(30)
    ours = list_runs(ws.engine, SYSTEM, trigger_type="rule")
    ours = ours[ours["playbook"] == "Re-engage"]
    assert len(ours) == 30 and ours["account_id"].is_unique
    again = run_due(ws.engine, ws.warehouse, ws.settings)
    assert again["runs_created"] == 0
    assert sum(created) == _count(ws)  # each run counted by exactly one process


@pytest.mark.slow
def test_holdout_share_within_tolerance_and_holdouts_never_actioned(tmp_path):
    n = 1000
    ws = build_workspace(tmp_path / "ws", n=n)
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=20,
                   steps=[{"type": "task", "title": "Call {{ account.name }}", "due_days": 2}])
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], rng=np.random.default_rng(3))
    assert report.runs_created == n
    low, high = holdout_share_interval(n, 20)
    assert low <= report.holdout / n <= high, report.holdout
    with ws.engine.connect() as conn:
        held_steps = conn.execute(sa.select(steps.c.status).join(runs, runs.c.id == steps.c.run_id)
                                  .where(runs.c.holdout.is_(True))).scalars().all()
        held_tasks = conn.execute(sa.select(sa.func.count()).select_from(tasks).join(runs, runs.c.id == tasks.c.run_id)
                                  .where(runs.c.holdout.is_(True))).scalar_one()
    assert len(held_steps) == report.holdout and set(held_steps) == {"skipped"}
    assert held_tasks == 0
    assert _count(ws, tasks) == n - report.holdout


def test_cooldown_stops_re_enrolment_until_it_has_passed(ws):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, cooldown_days=30, holdout_pct=0)
    t0 = now()
    assert run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=t0).runs_created == 20
    later = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=t0 + timedelta(days=29))
    assert (later.runs_created, later.in_cooldown) == (0, 20)
    after = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=t0 + timedelta(days=31))
    assert after.runs_created == 20
    assert _count(ws) == 40


def test_rules_need_scores_and_say_so(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=5, scores=False)
    new_playbook(ws, rule={"risk_bands": ["high"]})
    report = run_rules(ws.engine, ws.warehouse)
    assert report.runs_created == 0
    assert any("No scores yet" in m for m in report.messages)


def test_rule_criteria_filter_accounts(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=10, risk_band="medium", driver_group="Billing")
    none = new_playbook(ws, name="Usage only", rule={"top_driver_groups": ["Usage"]})
    some = new_playbook(ws, name="Billing SMB", rule={"top_driver_groups": ["Billing"], "segments": ["SMB"],
                                                   "risk_bands": ["medium", "high"], "min_p_churn": 0.3})
    renewal = new_playbook(ws, name="Renewal soon", rule={"max_days_to_renewal": 50, "risk_bands": ["medium"]})
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[none.id, some.id, renewal.id])
    per = report.per_playbook
    assert per["Usage only"]["eligible"] == 0
    assert per["Billing SMB"]["eligible"] == 5
    assert per["Renewal soon"]["eligible"] == 3  # renewals in 30, 40 and 50 days


def test_manual_trigger_on_holdout_account_is_refused(ws):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=90)
    run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], rng=np.random.default_rng(1))
    held = list_runs(ws.engine, SYSTEM, holdout=True)["account_id"].tolist()
    assert held
    with pytest.raises(PlaybookError, match="holdout group"):
        trigger_manual(ws.engine, ws.warehouse, pb.id, held[0], actor="maya")


def test_csm_can_only_trigger_in_their_book_and_bulk_collects_problems(ws):
    pb = new_playbook(ws)
    maya = Viewer(username="maya", roles=("csm",), csm="Maya Patel")
    with pytest.raises(NotInBook, match="not in your book"):
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya", viewer=maya)  # Jonas's account
    assert _count(ws) == 0 and _count(ws, tasks) == 0  # nothing was written
    result = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0001", "A0003", "A0002", "NOPE"], actor="maya",
                          viewer=maya, idempotency_key="bulk-1")
    assert [r.account_id for r in result.created] == ["A0001", "A0003"]
    assert set(result.errors) == {"A0002", "NOPE"}
    again = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0001", "A0003"], actor="maya", viewer=maya,
                         idempotency_key="bulk-1")
    assert not again.created and len(again.existing) == 2
    assert set(list_runs(ws.engine, maya, warehouse=ws.warehouse)["account_id"]) == {"A0001", "A0003"}


def test_rule_runs_write_the_same_rows_as_a_manual_trigger(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=6)
    alert = {"type": "alert", "to": "csm", "message": "{{ account.name }} needs a call"}
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=0, steps=[*TASK_AND_EMAIL, alert])
    manual = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya")
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=now() + timedelta(days=400))
    assert report.runs_created == 6 and report.steps_delivered == 12  # a task and an alert per run

    def shape(run_id):
        r = get_run(ws.engine, SYSTEM, run_id)
        return [(s["kind"], s["status"], (s["result"] or "").split(" ")[0], s["payload"].get("title")
                 or s["payload"].get("message") or s["payload"].get("subject")) for s in r.steps]

    rule_run = list_runs(ws.engine, SYSTEM, trigger_type="rule", account_id="A0001")["id"].iloc[0]
    assert shape(int(rule_run)) == shape(manual.id)
    with ws.engine.connect() as conn:
        linked = conn.execute(sa.select(steps.c.result, tasks.c.id).join(tasks, tasks.c.step_id == steps.c.id)
                              .where(tasks.c.run_id == int(rule_run))).one()
    assert linked.result == f"task {linked.id} created"
    assert len(read_audit(ws.engine, action="playbook.run.create")) == 7
