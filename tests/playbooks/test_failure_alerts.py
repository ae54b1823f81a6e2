"""A failed playbook step alerts the account's CSM: at creation (no recipient) and after a failed delivery."""

from __future__ import annotations

from playbooks import alerts_for, create_playbook, dispatch_due, list_outbox, retry_step, trigger_bulk, trigger_manual
from playbooks.definitions import Playbook
from tests.playbooks.helpers import RecordingServer

# ws (tests/playbooks/conftest.py): A0001 is Maya Patel's, A0002 Jonas Weber's, alternating.
NO_EXEC = [{"type": "task", "title": "Call {{ account.name }}", "due_days": 2},
           {"type": "email", "to": "executive", "subject": "Hello", "body": "Hi"}]


def _playbook(ws, **kw) -> Playbook:
    return create_playbook(ws.engine, "manager", name=kw.pop("name", "Exec outreach"), holdout_pct=0,
                           allow_hosts=ws.settings.webhook_allow_hosts, **kw)


def test_a_step_without_a_recipient_alerts_the_accounts_csm(ws):
    pb = _playbook(ws, steps=NO_EXEC)
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="manager")
    maya = alerts_for(ws.engine, "maya", ("csm",), "Maya Patel")
    assert len(maya) == 1
    message = maya.iloc[0]["message"]
    assert "Exec outreach for Company 1: step 2 (email) failed" in message
    assert "no active executive contact" in message
    assert alerts_for(ws.engine, "jonas", ("csm",), "Jonas Weber").empty


def test_rule_batches_alert_too_and_holdouts_never_do(ws):
    pb = _playbook(ws, steps=NO_EXEC, name="Batch")
    result = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0002", "A0004"], actor="manager")
    assert len(result.created) == 2
    jonas = alerts_for(ws.engine, "jonas", ("csm",), "Jonas Weber")
    assert set(jonas["account_id"]) == {"A0002", "A0004"}


def test_a_failed_delivery_alerts_once_even_when_retried(ws):
    server = RecordingServer(fail_first=5, fail_status=404)
    try:
        pb = _playbook(ws, steps=[{"type": "webhook", "url": server.url}], name="Hook")
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0003", actor="manager")
        assert alerts_for(ws.engine, "maya", ("csm",), "Maya Patel").empty  # pending, not failed yet
        assert dispatch_due(ws.engine, ws.settings).failed == 1
        maya = alerts_for(ws.engine, "maya", ("csm",), "Maya Patel")
        assert len(maya) == 1 and "step 1 (webhook) failed" in maya.iloc[0]["message"]
        assert "HTTP 404" in maya.iloc[0]["message"]
        step_id = int(list_outbox(ws.engine, status="failed")["id"].iloc[0])
        retry_step(ws.engine, step_id, "admin")
        assert dispatch_due(ws.engine, ws.settings).failed == 1
        assert len(alerts_for(ws.engine, "maya", ("csm",), "Maya Patel")) == 1
    finally:
        server.stop()
