"""How the outbox records the end of each attempt: the backoff between retries, the last attempt,
and a dispatcher that comes back after its claim was released (found by mutation testing of
``playbooks/outbox.py``: these are the outcomes no other test pinned down)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from data.opstore import now, read_audit
from playbooks import alerts_for, create_playbook, dispatch_due, list_outbox, retry_step, trigger_manual
from tests.support.servers import RecordingServer


def _hook_playbook(ws, url: str):
    pb = create_playbook(ws.engine, "manager", name="CRM", allow_hosts=ws.settings.webhook_allow_hosts,
                         steps=[{"type": "webhook", "url": url, "body": {"account": "{{ account.id }}"}}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0004", actor="maya")


def _audit(ws, step_id: int) -> list[dict]:
    """The audit rows about one step, oldest first."""
    return [a for a in reversed(read_audit(ws.engine)) if a["target"] == f"step:{step_id}"]


def _actions(ws, step_id: int) -> list[str]:
    return [a["action"] for a in _audit(ws, step_id)]


def test_retries_wait_one_two_four_eight_minutes_then_the_fifth_failure_is_final(ws):
    server = RecordingServer(fail_first=10, fail_status=503)
    try:
        _hook_playbook(ws, server.url)
        origin = f"http://127.0.0.1:{server.server_address[1]}"  # the message never shows the URL's path
        at = now().replace(microsecond=0)
        waits = []
        for attempt, wait in enumerate((1, 2, 4, 8), start=1):
            report = dispatch_due(ws.engine, ws.settings, at=at)
            assert (report.claimed, report.delivered, report.retrying, report.failed) == (1, 0, 1, 0)
            row = list_outbox(ws.engine).iloc[0]
            assert (row["status"], row["attempts"]) == ("retry", attempt)
            assert row["next_attempt_at"] == at + timedelta(minutes=wait), f"wait after attempt {attempt}"
            assert row["updated_at"] == at and row["last_error"] == f"HTTP 503 Service Unavailable from {origin}"
            nearly = row["next_attempt_at"] - timedelta(seconds=1)
            assert dispatch_due(ws.engine, ws.settings, at=nearly).claimed == 0, "not before the backoff ends"
            waits.append(row["next_attempt_at"])
            at = row["next_attempt_at"]  # due exactly when the backoff ends
        last = dispatch_due(ws.engine, ws.settings, at=at)
        assert (last.claimed, last.retrying, last.failed) == (1, 0, 1)
        row = list_outbox(ws.engine).iloc[0]
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", 5, None)
        assert row["updated_at"] == at and "HTTP 503" in row["last_error"]
        assert dispatch_due(ws.engine, ws.settings, at=at + timedelta(days=1)).claimed == 0
        assert len(server.requests) == 5
        step_id = int(row["id"])
        rows = _audit(ws, step_id)
        assert [a["action"] for a in rows] == ["playbook.step.retry_scheduled"] * 4 + [
            "playbook.step.failed", "playbook.step.failure_alert"]
        assert [a["actor"] for a in rows[:5]] == ["dispatcher"] * 5
        details = [json.loads(a["detail"]) for a in rows[:5]]
        assert [d["error"] for d in details] == [f"HTTP 503 Service Unavailable from {origin}"] * 5
        assert [d["next_attempt_at"] for d in details] == [str(w) for w in waits] + [None]
        inbox = alerts_for(ws.engine, "jonas", csm="Jonas Weber", warehouse=ws.warehouse)  # A0004's CSM
        assert len(inbox) == 1 and "HTTP 503" in inbox["message"].iloc[0]
        assert inbox["created_at"].iloc[0] == at
    finally:
        server.stop()


def test_a_dispatcher_whose_claim_was_released_never_overwrites_the_outcome(ws):
    """A dispatcher stalls mid-send; its claim goes stale, a person retries, a second dispatcher delivers.
    When the first one's late error arrives, the step stays delivered and nothing records that error."""
    gate = threading.Event()
    server = RecordingServer(fail_first=1, fail_status=503, hold_first=gate)
    try:
        _hook_playbook(ws, server.url)
        stalled: list = []
        first = threading.Thread(target=lambda: stalled.append(dispatch_due(ws.engine, ws.settings)))
        first.start()
        assert server.holding.wait(60), "the first request never arrived"
        step_id = int(list_outbox(ws.engine, status="sending")["id"].iloc[0])

        later = now() + timedelta(minutes=16)
        assert dispatch_due(ws.engine, ws.settings, at=later).stale == 1
        assert "unknown whether this was delivered" in list_outbox(ws.engine)["last_error"].iloc[0]
        retry_step(ws.engine, step_id, "admin")
        assert dispatch_due(ws.engine, ws.settings, at=later).delivered == 1

        gate.set()  # the stalled dispatcher now gets its 503
        first.join(60)
        assert not first.is_alive()
        row = list_outbox(ws.engine).iloc[0]
        assert (row["status"], row["last_error"], row["next_attempt_at"]) == ("delivered", None, None)
        assert row["updated_at"] == later and row["attempts"] == 2
        assert dispatch_due(ws.engine, ws.settings, at=later + timedelta(days=1)).claimed == 0
        assert len(server.requests) == 2
        actions = _actions(ws, step_id)
        assert actions[-1] == "playbook.step.delivered" and "playbook.step.retry_scheduled" not in actions
        (report,) = stalled
        assert (report.claimed, report.retrying, report.failed) == (1, 0, 0)
        assert report.errors == [f"step {step_id}: the send took over 15 minutes and its claim was released, so this "
                                 "outcome was not recorded: HTTP 503 Service Unavailable from "
                                 f"http://127.0.0.1:{server.server_address[1]}"]
    finally:
        gate.set()
        server.stop()


def test_a_webhook_that_does_not_answer_within_its_timeout_is_retried(ws):
    gate = threading.Event()
    server = RecordingServer(hold_first=gate)
    try:
        pb = create_playbook(ws.engine, "manager", name="Slow CRM", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": server.url + "?token=s3cret", "timeout": 1}])
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0004", actor="maya")
        at = now()
        report = dispatch_due(ws.engine, ws.settings, at=at)
        assert (report.delivered, report.retrying) == (0, 1)
        row = list_outbox(ws.engine).iloc[0]
        assert row["status"] == "retry" and row["next_attempt_at"] == at + timedelta(minutes=1)
        assert row["last_error"] == f"No answer from http://127.0.0.1:{server.server_address[1]} within 1 s"
    finally:
        gate.set()
        server.stop()
