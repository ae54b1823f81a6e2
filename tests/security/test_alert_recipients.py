"""Attack: an alert to ``role:csm`` about one account reached every CSM, whatever their book.

It must reach the account's CSM only (today's owner); other role alerts keep going to
everyone with that role.
"""

from __future__ import annotations

import pytest

import playbooks as pb
from data import users as user_store
from data.access import Viewer
from playbooks.definitions import create_playbook
from tests.support.apptest import run_app
from tests.support.workspaces import build_workspace

MAYA = Viewer("maya", ("csm",), "Maya Patel")
JONAS = Viewer("jonas", ("csm",), "Jonas Weber")
BOSS = Viewer("boss", ("manager",))


@pytest.fixture()
def alerted(tmp_path, monkeypatch):
    """An alert to role:csm and one to role:manager about A0001 (Maya's account; Jonas has A0002...)."""
    ws = build_workspace(tmp_path / "ws", n=4, scores=False)
    for name, role, csm in [("maya", "csm", "Maya Patel"), ("jonas", "csm", "Jonas Weber"),
                            ("boss", "manager", None)]:
        user_store.add_user(ws.settings.auth_file, name, role=role, password=f"{name}-password-1", csm=csm)
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    playbook = create_playbook(ws.engine, "boss", name="Heads-up", steps=[
        {"type": "alert", "to": "role:csm", "message": "Churn risk rising at {{ account.name }}"},
        {"type": "alert", "to": "role:manager", "message": "Manager note on {{ account.name }}"}])
    pb.trigger_manual(ws.engine, ws.warehouse, playbook.id, "A0001", actor="boss")
    return ws


def _messages(ws, viewer: Viewer) -> list[str]:
    frame = pb.alerts_for(ws.engine, viewer, warehouse=ws.warehouse)
    return sorted(frame["message"])


def test_a_role_csm_alert_reaches_the_accounts_csm_only(alerted):
    assert _messages(alerted, MAYA) == ["Churn risk rising at Company 1"]
    assert _messages(alerted, JONAS) == []
    assert _messages(alerted, BOSS) == ["Manager note on Company 1"]
    # Without the warehouse nobody can be matched as "the account's CSM", so nobody is.
    assert pb.alerts_for(alerted.engine, Viewer("jonas", ("csm",), "Jonas Weber"), warehouse=alerted.warehouse).empty


@pytest.mark.stores
def test_another_csm_sees_no_role_csm_alert_on_the_alerts_page(alerted):
    at = run_app("jonas", "views/alerts.py")
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "Churn risk rising" not in shown
    assert any("No alerts" in i.value for i in at.info)

    at = run_app("maya", "views/alerts.py")
    assert not at.exception
    assert any("Churn risk rising at Company 1" in m.value for m in at.markdown)
    assert any("the account's CSM" in c.value or "role csm" in c.value for c in at.caption)


def test_the_preview_says_the_alert_goes_to_the_accounts_csm(alerted):
    playbook = next(p for p in pb.list_playbooks(alerted.engine) if p.name == "Heads-up")
    preview = pb.preview_steps(alerted.engine, alerted.warehouse, playbook.id, "A0001")
    assert preview[0]["summary"] == "Alert to the account's CSM: Churn risk rising at Company 1"
