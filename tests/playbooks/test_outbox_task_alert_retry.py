"""A task or alert that had nobody when its run started (an account without a CSM) goes through the
outbox once a person retries it: it fails again while the account still has no CSM, and once the
account has one, the dispatcher creates the task or posts the alert exactly once (found by mutation
testing of ``playbooks/outbox.py``: the dispatcher's task/alert branch had no test)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from data.access import SYSTEM, Viewer
from data.opstore import now, read_audit
from playbooks import (
    PlaybookError,
    alerts_for,
    create_playbook,
    dispatch_due,
    get_run,
    list_outbox,
    mark_alert_read,
    my_tasks,
    retry_step,
    trigger_manual,
)
from playbooks.store import alerts, tasks

NOBODY = "A0003"  # ws (tests/playbooks/conftest.py): Maya Patel's account; these tests take its CSM and contacts away
ALERT = {"type": "alert", "to": "csm", "message": "{{ account.name }} needs a call"}
EMAIL_CHAMPION = {"type": "email", "to": "champion", "subject": "Renewal for {{ account.name }}", "body": "Hi"}
LEE = Viewer("lee", ("csm",), "Lee Chen")


def _without_csm(ws) -> None:
    with ws.warehouse.writer("raw") as con:
        con.execute("UPDATE accounts SET csm = NULL WHERE account_id = ?", [NOBODY])
        con.execute("DELETE FROM contacts WHERE account_id = ?", [NOBODY])


def _give_csm(ws, csm: str) -> None:
    """What a re-import of the accounts with a CSM filled in does to the warehouse."""
    with ws.warehouse.writer("raw") as con:
        con.execute("UPDATE accounts SET csm = ? WHERE account_id = ?", [csm, NOBODY])


def _outbox(ws):
    return list_outbox(ws.engine).sort_values("position").set_index("kind")


def _created(ws, table, step_ids) -> list[dict]:
    with ws.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(table.c.step_id.in_(step_ids))
                                              .order_by(table.c.id)).mappings()]


def _audit(ws, action: str, step_id: int) -> list[dict]:
    return [a for a in read_audit(ws.engine, action=action) if a["target"] == f"step:{step_id}"]


def _actions(ws, step_id: int) -> list[tuple[str, str]]:
    return [(a["actor"], a["action"]) for a in reversed(read_audit(ws.engine)) if a["target"] == f"step:{step_id}"]


def test_a_task_and_alert_without_a_csm_fail_again_until_the_account_has_one_then_are_created_once(ws):
    _without_csm(ws)
    pb = create_playbook(ws.engine, "manager", name="Save", holdout_pct=0, steps=[ALERT, EMAIL_CHAMPION])
    run = trigger_manual(ws.engine, ws.warehouse, pb.id, NOBODY, actor="manager")
    out = _outbox(ws)
    assert list(out.index) == ["alert", "task"]  # no contact to email: a task to add one, for nobody
    alert_id, task_id = int(out.loc["alert", "id"]), int(out.loc["task", "id"])
    assert out["status"].tolist() == ["failed", "failed"] and out["attempts"].tolist() == [0, 0]
    assert out.loc["alert", "last_error"] == "Company 3 has no CSM to alert."
    assert out.loc["task", "last_error"] == "Company 3 has no contact with an email address and no CSM to add one."
    assert dispatch_due(ws.engine, ws.settings).claimed == 0, "a failed step waits for a person"

    # a person retries while the account still has no CSM: the dispatcher fails each again, saying why
    at = now().replace(microsecond=0)
    for step_id in (task_id, alert_id):
        retry_step(ws.engine, step_id, "manager", warehouse=ws.warehouse)
    assert _outbox(ws)["status"].tolist() == ["pending", "pending"]
    report = dispatch_due(ws.engine, ws.settings, at=at)
    assert (report.claimed, report.delivered, report.retrying, report.failed, report.held) == (2, 0, 0, 2, 0)
    nobody_to_alert = "Nobody to alert; set the account's CSM."
    nobody_to_assign = "Nobody to assign the task to; set the account's CSM or an assignee."
    assert report.errors == [f"step {alert_id}: {nobody_to_alert}", f"step {task_id}: {nobody_to_assign}"]
    out = _outbox(ws)
    assert out["status"].tolist() == ["failed", "failed"] and out["attempts"].tolist() == [1, 1]
    assert out["last_error"].tolist() == [nobody_to_alert, nobody_to_assign]
    assert out["updated_at"].tolist() == [at, at] and out["next_attempt_at"].isna().all()
    assert out["delivered_at"].isna().all() and out["result"].isna().all()
    assert _created(ws, tasks, [task_id]) == [] and _created(ws, alerts, [alert_id, task_id]) == []
    for step_id, error in ((alert_id, nobody_to_alert), (task_id, nobody_to_assign)):
        assert _actions(ws, step_id) == [("manager", "playbook.step.retry"), ("dispatcher", "playbook.step.failed")]
        assert [json.loads(a["detail"]) for a in _audit(ws, "playbook.step.failed", step_id)] == [
            {"error": error, "next_attempt_at": None}]

    # the account gets a CSM; the same retry now gives each step to that CSM, and one pass creates both
    _give_csm(ws, "Lee Chen")
    later = at + timedelta(hours=1)
    for step_id in (alert_id, task_id):
        retry_step(ws.engine, step_id, "manager", warehouse=ws.warehouse)
    out = _outbox(ws)
    assert out.loc["alert", "payload"]["recipient_user"] == "Lee Chen"
    assert out.loc["task", "payload"]["assignee"] == "Lee Chen"
    report = dispatch_due(ws.engine, ws.settings, at=later)
    assert (report.claimed, report.delivered, report.retrying, report.failed, report.errors) == (2, 2, 0, 0, [])
    (task,) = _created(ws, tasks, [alert_id, task_id])
    (alert,) = _created(ws, alerts, [alert_id, task_id])
    assert {k: task[k] for k in ("step_id", "run_id", "account_id", "title", "assignee", "status", "created_at")} == {
        "step_id": task_id, "run_id": run.id, "account_id": NOBODY, "status": "open", "created_at": later,
        "title": "Add a contact with an email address for Company 3", "assignee": "Lee Chen"}
    payload = out.loc["task", "payload"]
    assert task["description"] == payload["description"] and "'Renewal for Company 3'" in task["description"]
    assert task["due_at"] == datetime.fromisoformat(payload["due_at"]) > run.started_at
    assert {k: alert[k] for k in ("step_id", "run_id", "account_id", "recipient_user", "recipient_role", "message",
                                  "created_at")} == {
        "step_id": alert_id, "run_id": run.id, "account_id": NOBODY, "recipient_user": "Lee Chen",
        "recipient_role": None, "message": "Company 3 needs a call", "created_at": later}
    out = _outbox(ws)
    assert out["status"].tolist() == ["delivered", "delivered"] and out["attempts"].tolist() == [2, 2]
    assert out["result"].tolist() == [f"alert {alert['id']} posted", f"task {task['id']} created"]
    assert out["last_error"].isna().all() and out["delivered_at"].tolist() == out["updated_at"].tolist() == [later] * 2
    for step_id, detail in ((alert_id, {"kind": "alert", "result": f"alert {alert['id']} posted"}),
                            (task_id, {"kind": "task", "result": f"task {task['id']} created"})):
        assert [(a["actor"], json.loads(a["detail"])) for a in _audit(ws, "playbook.step.delivered", step_id)] == [
            ("dispatcher", detail)]
    # what the CSM sees: the task in their list, the alert in their inbox
    assert my_tasks(ws.engine, LEE, warehouse=ws.warehouse)["title"].tolist() == [task["title"]]
    assert alerts_for(ws.engine, LEE, warehouse=ws.warehouse)["message"].tolist() == ["Company 3 needs a call"]
    assert get_run(ws.engine, SYSTEM, run.id).status == "active"  # its task is still open

    # never twice: later passes claim nothing, and a delivered step cannot be retried
    assert dispatch_due(ws.engine, ws.settings, at=later + timedelta(days=1)).claimed == 0
    for step_id in (alert_id, task_id):
        with pytest.raises(PlaybookError, match=f"Step {step_id} has not failed, so there is nothing to retry."):
            retry_step(ws.engine, step_id, "manager", warehouse=ws.warehouse)
    assert len(_created(ws, tasks, [alert_id, task_id])) == len(_created(ws, alerts, [alert_id, task_id])) == 1


def test_an_alert_delivered_on_retry_completes_its_run_and_a_retry_without_the_warehouse_changes_nothing(ws):
    _without_csm(ws)
    pb = create_playbook(ws.engine, "manager", name="Heads-up", holdout_pct=0, steps=[ALERT])
    run = trigger_manual(ws.engine, ws.warehouse, pb.id, NOBODY, actor="manager")
    step_id = int(list_outbox(ws.engine)["id"].iloc[0])
    _give_csm(ws, "Lee Chen")
    at = now().replace(microsecond=0)
    retry_step(ws.engine, step_id, "manager")  # without the warehouse, nobody is looked up
    assert list_outbox(ws.engine)["payload"].iloc[0]["recipient_user"] is None
    assert dispatch_due(ws.engine, ws.settings, at=at).failed == 1
    assert get_run(ws.engine, SYSTEM, run.id).status == "active"
    retry_step(ws.engine, step_id, "manager", warehouse=ws.warehouse)
    report = dispatch_due(ws.engine, ws.settings, at=at)
    assert (report.claimed, report.delivered, report.failed) == (1, 1, 0)
    row = list_outbox(ws.engine).iloc[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 2, None)
    assert get_run(ws.engine, SYSTEM, run.id).status == "completed"  # its only step is done
    (completed,) = read_audit(ws.engine, action="playbook.run.complete")
    assert (completed["actor"], completed["target"]) == ("dispatcher", f"run:{run.id}")
    assert len(_created(ws, alerts, [step_id])) == 1
    assert dispatch_due(ws.engine, ws.settings, at=at + timedelta(days=1)).claimed == 0


def test_an_alert_whose_failure_was_reported_to_the_assignee_is_still_posted_once_on_retry(ws):
    """The run's assignee heard that the alert step failed (a failure alert about that step); once the
    account has a CSM and a person retries, the alert itself replaces that notice: one alert per step."""
    _without_csm(ws)
    pb = create_playbook(ws.engine, "manager", name="Heads-up", holdout_pct=0, steps=[ALERT])
    run = trigger_manual(ws.engine, ws.warehouse, pb.id, NOBODY, actor="manager", assignee="Maya Patel")
    step_id = int(list_outbox(ws.engine)["id"].iloc[0])
    maya = Viewer("maya", ("csm",), "Maya Patel")
    (notice,) = _created(ws, alerts, [step_id])
    assert notice["recipient_user"] == "Maya Patel" and "has no CSM to alert" in notice["message"]
    mark_alert_read(ws.engine, maya, notice["id"])
    _give_csm(ws, "Lee Chen")
    at = now().replace(microsecond=0)
    retry_step(ws.engine, step_id, "manager", warehouse=ws.warehouse)
    report = dispatch_due(ws.engine, ws.settings, at=at)
    assert (report.claimed, report.delivered, report.failed, report.errors) == (1, 1, 0, [])
    (alert,) = _created(ws, alerts, [step_id])
    assert (alert["id"], alert["recipient_user"], alert["recipient_role"], alert["message"], alert["created_at"]) == (
        notice["id"], "Lee Chen", None, "Company 3 needs a call", at)
    row = list_outbox(ws.engine).iloc[0]
    assert (row["status"], row["result"], row["last_error"]) == ("delivered", f"alert {alert['id']} posted", None)
    inbox = alerts_for(ws.engine, LEE, warehouse=ws.warehouse)
    assert inbox["message"].tolist() == ["Company 3 needs a call"] and not inbox["read"].any()
    assert alerts_for(ws.engine, maya, warehouse=ws.warehouse).empty
    assert get_run(ws.engine, SYSTEM, run.id).status == "completed"
