"""A failed playbook step alerts the account's CSM (a missing recipient no longer fails: it falls back)."""

from __future__ import annotations

from data.access import Viewer
from playbooks import alerts_for, create_playbook, dispatch_due, list_outbox, retry_step, trigger_bulk, trigger_manual
from playbooks.definitions import Playbook
from tests.support.servers import RecordingServer

MAYA = Viewer("maya", ("csm",), "Maya Patel")
JONAS = Viewer("jonas", ("csm",), "Jonas Weber")

# ws (tests/playbooks/conftest.py): A0001 is Maya Patel's, A0002 Jonas Weber's, alternating.
NO_EXEC = [{"type": "task", "title": "Call {{ account.name }}", "due_days": 2},
           {"type": "email", "to": "executive", "subject": "Hello", "body": "Hi"}]


def _playbook(ws, **kw) -> Playbook:
    return create_playbook(ws.engine, "manager", name=kw.pop("name", "Exec outreach"), holdout_pct=0,
                           allow_hosts=ws.settings.webhook_allow_hosts, **kw)


def test_a_step_without_its_recipient_falls_back_and_alerts_nobody(ws):
    pb = _playbook(ws, steps=NO_EXEC)
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="manager")
    # no executive: the email goes to the next contact (issue 12's fallback), so nothing failed
    assert alerts_for(ws.engine, MAYA, warehouse=ws.warehouse).empty
    assert alerts_for(ws.engine, JONAS, warehouse=ws.warehouse).empty


def test_rule_batches_alert_the_accounts_csm_after_a_failed_delivery(ws):
    server = RecordingServer(fail_first=10, fail_status=404)
    try:
        pb = _playbook(ws, steps=[{"type": "webhook", "url": server.url}], name="Batch")
        result = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0002", "A0004"], actor="manager")
        assert len(result.created) == 2
        assert dispatch_due(ws.engine, ws.settings).failed == 2
        jonas = alerts_for(ws.engine, JONAS, warehouse=ws.warehouse)
        assert set(jonas["account_id"]) == {"A0002", "A0004"}
        assert alerts_for(ws.engine, MAYA, warehouse=ws.warehouse).empty
    finally:
        server.stop()


def test_a_failed_delivery_alerts_once_even_when_retried(ws):
    server = RecordingServer(fail_first=5, fail_status=404)
    try:
        pb = _playbook(ws, steps=[{"type": "webhook", "url": server.url}], name="Hook")
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0003", actor="manager")
        assert alerts_for(ws.engine, MAYA, warehouse=ws.warehouse).empty  # pending, not failed yet
        assert dispatch_due(ws.engine, ws.settings).failed == 1
        maya = alerts_for(ws.engine, MAYA, warehouse=ws.warehouse)
        assert len(maya) == 1 and "step 1 (webhook) failed" in maya.iloc[0]["message"]
        assert "HTTP 404" in maya.iloc[0]["message"]
        step_id = int(list_outbox(ws.engine, status="failed")["id"].iloc[0])
        retry_step(ws.engine, step_id, "admin")
        assert dispatch_due(ws.engine, ws.settings).failed == 1
        assert len(alerts_for(ws.engine, MAYA, warehouse=ws.warehouse)) == 1
    finally:
        server.stop()
