"""Outbox delivery against real local servers: SMTP (aiosmtpd) and HTTP (http.server)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from data.access import SYSTEM, Viewer
from data.opstore import now, read_audit
from playbooks import (
    PlaybookError,
    alerts_for,
    confirm_email,
    create_playbook,
    dispatch_due,
    get_run,
    list_outbox,
    mark_alert_read,
    retry_step,
    trigger_bulk,
    trigger_manual,
)
from playbooks.store import steps
from playbooks.templates import TemplateProblem
from tests.support.servers import RecordingServer
from tests.support.workspaces import TASK_AND_EMAIL, build_workspace, open_ws


def _email_step(run):
    return next(s for s in run.steps if s["kind"] == "email")


def test_confirmed_email_is_delivered_to_a_real_smtp_server_once(tmp_path, smtp_server):
    ws = build_workspace(tmp_path / "ws", n=3, csai_smtp_host="127.0.0.1", csai_smtp_port=str(smtp_server.port),
                         csai_smtp_from="cs@vendor.example")
    pb = create_playbook(ws.engine, "manager", name="Mail", steps=TASK_AND_EMAIL)
    run = get_run(ws.engine, SYSTEM, trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya").id)
    step = _email_step(run)
    assert step["status"] == "awaiting_confirmation"
    assert dispatch_due(ws.engine, ws.settings).delivered == 0 and smtp_server.messages == []

    confirm_email(ws.engine, step["id"], "maya", subject="Quick question, Anna")
    report = dispatch_due(ws.engine, ws.settings)
    assert report.delivered == 1
    (msg,) = smtp_server.messages
    assert msg["To"] == "anna.smith0@company0.example" and msg["From"] == "cs@vendor.example"
    assert msg["Subject"] == "Quick question, Anna"
    assert "Weekly active users fell 45%" in msg.get_payload()
    assert dispatch_due(ws.engine, ws.settings).delivered == 0 and len(smtp_server.messages) == 1
    run = get_run(ws.engine, SYSTEM, run.id)
    assert _email_step(run)["status"] == "delivered" and "sent to anna.smith0" in _email_step(run)["result"]
    actions = {a["action"] for a in read_audit(ws.engine)}
    assert {"playbook.step.confirm", "playbook.step.delivered"} <= actions


def test_without_smtp_host_email_is_held_then_sent_once_configured(tmp_path, smtp_server):
    ws = build_workspace(tmp_path / "ws", n=3)
    pb = create_playbook(ws.engine, "manager", name="Internal mail", steps=[
        {"type": "email", "to": "ops@vendor.example", "subject": "{{ account.name }} at risk", "body": "See app."}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya")
    assert dispatch_due(ws.engine, ws.settings).held == 1
    held = list_outbox(ws.engine, status="held")
    assert len(held) == 1 and "No SMTP server configured" in held["result"].iloc[0]
    assert smtp_server.messages == []
    configured = open_ws(ws.path, csai_smtp_host="127.0.0.1", csai_smtp_port=str(smtp_server.port))
    assert dispatch_due(configured.engine, configured.settings).delivered == 1
    assert smtp_server.messages[0]["Subject"] == "Company 2 at risk"


def test_webhook_is_posted_to_a_real_http_server(ws, http_server):
    pb = create_playbook(ws.engine, "manager", name="Slack", allow_hosts=ws.settings.webhook_allow_hosts, steps=[
        {"type": "webhook", "url": http_server.url, "timeout": 5,
         "body": {"text": "{{ account.name }} is {{ score.risk_band }} risk", "account": "{{ account.id }}"}},
        {"type": "alert", "to": "role:manager", "message": "{{ account.name }} started"}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0003", actor="maya")
    assert dispatch_due(ws.engine, ws.settings).delivered == 1
    assert http_server.requests == [{"text": "Company 3 is high risk", "account": "A0003"}]
    inbox = alerts_for(ws.engine, Viewer("boss", ("manager",)))
    assert inbox["message"].tolist() == ["Company 3 started"] and not inbox["read"].iloc[0]
    mark_alert_read(ws.engine, Viewer("boss", ("manager",)), int(inbox["id"].iloc[0]))
    assert alerts_for(ws.engine, Viewer("boss", ("manager",)), unread_only=True).empty
    assert alerts_for(ws.engine, Viewer("maya", ("csm",), "Maya Patel"), warehouse=ws.warehouse).empty


def test_webhook_retried_with_backoff_after_a_500(ws, flaky_server):
    pb = create_playbook(ws.engine, "manager", name="CRM", allow_hosts=ws.settings.webhook_allow_hosts, steps=[
        {"type": "webhook", "url": flaky_server.url, "body": {"account": "{{ account.id }}"}}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0004", actor="maya")
    t0 = now()
    first = dispatch_due(ws.engine, ws.settings, at=t0)
    assert (first.delivered, first.retrying) == (0, 1)
    row = list_outbox(ws.engine).iloc[0]
    assert row["status"] == "retry" and row["attempts"] == 1 and "HTTP 500" in row["last_error"]
    assert row["next_attempt_at"] == t0 + timedelta(minutes=1)
    assert dispatch_due(ws.engine, ws.settings, at=t0 + timedelta(seconds=30)).claimed == 0, "not before backoff"
    second = dispatch_due(ws.engine, ws.settings, at=t0 + timedelta(minutes=2))
    assert second.delivered == 1
    assert len(flaky_server.requests) == 2
    row = list_outbox(ws.engine).iloc[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 2, None)


def test_permanent_failure_is_visible_and_can_be_retried(ws):
    server = RecordingServer(fail_first=1, fail_status=404)
    try:
        pb = create_playbook(ws.engine, "manager", name="Hook", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": server.url}])
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0005", actor="maya")
        assert dispatch_due(ws.engine, ws.settings).failed == 1
        failed = list_outbox(ws.engine, status="failed")
        assert len(failed) == 1 and "HTTP 404" in failed["last_error"].iloc[0]
        step_id = int(failed["id"].iloc[0])
        with pytest.raises(PlaybookError, match=f"Step {step_id} is not an email waiting for confirmation"):
            confirm_email(ws.engine, step_id, "maya")
        retry_step(ws.engine, step_id, "admin")
        assert dispatch_due(ws.engine, ws.settings).delivered == 1
        assert len(server.requests) == 2
        with pytest.raises(PlaybookError, match="has not failed"):
            retry_step(ws.engine, step_id, "admin")
    finally:
        server.stop()


def test_concurrent_dispatchers_never_send_a_step_twice(tmp_path, http_server):
    ws = build_workspace(tmp_path / "ws", n=40, csai_webhook_allow_hosts="127.0.0.1")
    pb = create_playbook(ws.engine, "manager", name="Hook", allow_hosts=ws.settings.webhook_allow_hosts, steps=[
        {"type": "webhook", "url": http_server.url, "body": {"a": "{{ account.id }}"}}])
    assert len(trigger_bulk(ws.engine, ws.warehouse, pb.id, [f"A{i:04d}" for i in range(1, 41)],
                            actor="maya").created) == 40
    barrier = threading.Barrier(4)
    reports = []

    def go():
        barrier.wait()
        reports.append(dispatch_due(ws.engine, ws.settings))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.delivered for r in reports) == 40
    assert sorted(r["a"] for r in http_server.requests) == [f"A{i:04d}" for i in range(1, 41)]


def test_step_left_sending_by_a_dead_dispatcher_is_failed_not_resent(ws, http_server):
    pb = create_playbook(ws.engine, "manager", name="Hook", allow_hosts=ws.settings.webhook_allow_hosts,
                         steps=[{"type": "webhook", "url": http_server.url}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0006", actor="maya")
    with ws.engine.begin() as conn:
        conn.execute(steps.update().values(status="sending", claimed_at=now() - timedelta(hours=1), attempts=1))
    report = dispatch_due(ws.engine, ws.settings)
    assert (report.stale, report.delivered) == (1, 0) and http_server.requests == []
    assert "unknown whether this was delivered" in list_outbox(ws.engine)["last_error"].iloc[0]


def test_sandbox_rejects_unsafe_templates_and_nothing_is_written(ws):
    pb = create_playbook(ws.engine, "manager", name="Sneaky", steps=[
        {"type": "task", "title": "{{ account.__class__.__mro__[1].__subclasses__() }}", "due_days": 1}])
    with pytest.raises(TemplateProblem, match="not allowed"):
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya")
    pb2 = create_playbook(ws.engine, "manager", name="Typo", steps=[
        {"type": "task", "title": "Call {{ acount.name }}", "due_days": 1}])
    with pytest.raises(TemplateProblem, match="acount"):
        trigger_manual(ws.engine, ws.warehouse, pb2.id, "A0001", actor="maya")
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(steps)).scalar_one() == 0
