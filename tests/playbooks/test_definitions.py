"""Playbook definitions: validation messages, starter playbooks, edits and audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from data.opstore import read_audit
from playbooks import (
    PlaybookError,
    create_playbook,
    deactivate_playbook,
    ensure_starter_playbooks,
    list_playbooks,
    resource_text,
    update_playbook,
    validate_rule,
    validate_steps,
)
from playbooks.starter import STARTER_PLAYBOOKS
from playbooks.store import playbooks as playbooks_table


def test_starter_playbooks_seeded_once_with_learn_resources(ws):
    ensure_starter_playbooks(ws.engine)
    ensure_starter_playbooks(ws.engine)
    pbs = list_playbooks(ws.engine)
    assert sorted(p.key for p in pbs) == sorted(s["key"] for s in STARTER_PLAYBOOKS)
    assert {"usage_drop", "payment_failure", "champion_loss", "support_pain", "low_nps", "renewal_90d",
            "expansion"} <= {p.key for p in pbs}
    for p in pbs:
        assert p.rule and p.holdout_pct == 20 and p.driver_groups
        for name in p.resources:
            text = resource_text(name)
            assert text and text.startswith("# "), name


@pytest.mark.parametrize("steps, message", [
    ([], "at least one step"),
    ([{"type": "sms"}], "type 'sms' is unknown"),
    ([{"type": "email", "to": "champion", "subject": "Hi", "body": "x", "requires_confirmation": False}],
     "only after a person confirms"),
    ([{"type": "email", "to": "nobody", "subject": "Hi", "body": "x"}], "'to' must be a contact role"),
    ([{"type": "webhook", "url": "ftp://x"}], "must start with http"),
    ([{"type": "webhook", "url": "https://x.example/h", "body": "{not json"}], "not valid JSON"),
    ([{"type": "task", "title": "Call {{ account.name ", "due_days": 2}], "template is not valid"),
    ([{"type": "alert", "to": "role:boss", "message": "x"}], "'to' must be 'csm'"),
])
def test_bad_steps_are_rejected_with_a_message_and_nothing_written(ws, steps, message):
    with pytest.raises(PlaybookError, match=message):
        create_playbook(ws.engine, "manager", name="Broken", steps=steps)
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(playbooks_table.c.id).where(playbooks_table.c.name == "Broken")).first() is None


def test_customer_email_defaults_to_confirmation_and_csm_email_does_not():
    steps = validate_steps([{"type": "email", "to": "champion", "subject": "s", "body": "b"},
                            {"type": "email", "to": "csm", "subject": "s", "body": "b"}])
    assert [s["requires_confirmation"] for s in steps] == [True, False]


def test_rule_validation():
    assert validate_rule({}) is None
    assert validate_rule({"risk_bands": ["high"], "min_p_churn": 0.3}) == {"risk_bands": ["high"], "min_p_churn": 0.3}
    with pytest.raises(PlaybookError, match="not a criterion"):
        validate_rule({"colour": "red"})
    with pytest.raises(PlaybookError, match="probability between 0 and 1"):
        validate_rule({"min_p_churn": 30})
    with pytest.raises(PlaybookError, match="is not one of"):
        validate_rule({"top_driver_groups": ["Vibes"]})


def test_create_update_deactivate_are_audited(ws):
    pb = create_playbook(ws.engine, "manager", name="Exec sponsor check-in",
                         steps=[{"type": "task", "title": "Call", "due_days": 1}], rule={"risk_bands": ["high"]},
                         holdout_pct=10)
    pb = update_playbook(ws.engine, pb.id, "manager", cooldown_days=14, name="Exec check-in")
    assert (pb.name, pb.cooldown_days) == ("Exec check-in", 14)
    deactivate_playbook(ws.engine, pb.id, "manager")
    assert pb.id not in {p.id for p in list_playbooks(ws.engine)}
    assert pb.id in {p.id for p in list_playbooks(ws.engine, include_inactive=True)}
    actions = [a["action"] for a in read_audit(ws.engine, actor="manager")]
    assert {"playbook.create", "playbook.update", "playbook.deactivate"} <= set(actions)
    with pytest.raises(PlaybookError, match="already exists"):
        create_playbook(ws.engine, "manager", name="Exec check-in", steps=[{"type": "task", "title": "x"}])
