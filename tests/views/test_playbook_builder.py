"""AppTest of the playbook builder: a manager builds rule and steps with widgets, previews them, saves.

Bad input is refused by the library's own validation (its message is shown) and nothing is written.
"""

from __future__ import annotations

import pytest

import playbooks as pb
from playbooks.definitions import validate_steps
from playbooks.errors import PlaybookError
from tests.support.apptest import button, run_app, texts
from tests.support.playbook_pages import PLAYBOOKS, playbook_count

# The new-playbook form starts with three steps (uids 0, 1, 2): a task, an email to the champion, an alert.


def _names(ws) -> list[str]:
    return [p.name for p in pb.list_playbooks(ws.engine, include_inactive=True)]


def test_manager_creates_a_playbook_through_the_builder(tiny_ws):
    at = run_app("manager", PLAYBOOKS)
    assert not at.exception
    at.text_input(key="new_name").input("Renewal rescue")
    at.multiselect(key="new_rule_bands").set_value(["high"])
    at.multiselect(key="new_rule_groups").set_value(["Usage"])
    at.number_input(key="new_rule_renewal").set_value(60)
    at.number_input(key="new_rule_p_churn").set_value(25.0)
    at.text_input(key="new_s0_title").input("Renewal call with {{ account.name }}")
    at.number_input(key="new_s0_due").set_value(2)
    at.button(key="new_s1_remove").click().run()  # drop the email
    assert not at.exception
    at.selectbox(key="new_add_kind").set_value("alert")
    at.button(key="new_add").click().run()
    assert not at.exception
    at.text_input(key="new_s3_message").input("{{ account.name }} renews soon")
    at.selectbox(key="new_s3_to").set_value("role:manager")
    at.button(key="new_s3_up").click().run()  # the new alert before the old one
    at.selectbox(key="new_sample").set_value("A1")
    at.button(key="new_preview").click().run()
    assert not at.exception
    shown = texts(at)
    assert "Renewal call with Acme Corp" in shown  # the preview, filled in for the sample account
    assert "Acme Corp renews soon" in shown

    button(at, "Create playbook").click().run()
    assert not at.exception and not at.error
    created = next(p for p in pb.list_playbooks(tiny_ws.engine) if p.name == "Renewal rescue")
    assert created.rule == {"risk_bands": ["high"], "top_driver_groups": ["Usage"], "max_days_to_renewal": 60,
                            "min_p_churn": 0.25}
    assert [s["type"] for s in created.steps] == ["task", "alert", "alert"]
    assert created.steps[0] == {"type": "task", "title": "Renewal call with {{ account.name }}", "due_days": 2}
    assert created.steps[1] == {"type": "alert", "to": "role:manager", "message": "{{ account.name }} renews soon"}
    assert any("Created 'Renewal rescue'" in s.value for s in at.success)


def test_the_alert_recipients_read_as_they_route(tiny_ws):
    """``role:csm`` reaches only the account's own CSM (tests/security/test_alert_recipients.py): the builder must
    not offer it as "everyone with role csm"; the other roles do reach everyone holding them."""
    at = run_app("manager", PLAYBOOKS)
    assert not at.exception
    options = at.selectbox(key="new_s2_to").options  # the new form's third step is an alert
    assert "everyone with role csm" not in options
    assert "the account's CSM (role csm reaches only the account's own CSM)" in options
    assert {"everyone with role manager", "everyone with role admin", "the account's CSM"} <= set(options)


def test_editing_through_the_builder_keeps_what_is_not_touched(tiny_ws):
    pb.ensure_starter_playbooks(tiny_ws.engine)
    starter = next(p for p in pb.list_playbooks(tiny_ws.engine) if p.rule)
    at = run_app("manager", PLAYBOOKS)
    at.selectbox(key="library_open").set_value(starter.id).run()
    at.text_input(key=f"edit_{starter.id}_s0_title").input("Phone {{ account.name }} today")
    button(at, "Save changes").click().run()
    assert not at.exception and not at.error
    saved = pb.get_playbook(tiny_ws.engine, starter.id)
    assert saved.steps[0]["title"] == "Phone {{ account.name }} today"
    assert saved.steps[1:] == starter.steps[1:] and saved.rule == starter.rule


def _refused(step: dict, position: int) -> str:
    with pytest.raises(PlaybookError) as exc:
        validate_steps([{"type": "task", "title": "ok", "due_days": 1}] * position + [step])
    return str(exc.value)


def test_a_webhook_to_a_private_address_is_refused_with_the_validators_message(tiny_ws):
    before = playbook_count(tiny_ws)
    at = run_app("manager", PLAYBOOKS)
    at.text_input(key="new_name").input("Ping internal")
    at.selectbox(key="new_add_kind").set_value("webhook")
    at.button(key="new_add").click().run()
    at.text_input(key="new_s3_url").input("http://127.0.0.1:8080/hook")
    button(at, "Create playbook").click().run()
    assert not at.exception
    expected = _refused({"type": "webhook", "url": "http://127.0.0.1:8080/hook", "body": {}}, 3)
    assert "Step 4 (webhook)" in expected
    assert [e.value for e in at.error] == [expected]
    assert any(expected in w.value for w in at.warning)  # the preview says the same before saving
    assert playbook_count(tiny_ws) == before and "Ping internal" not in _names(tiny_ws)


def test_a_broken_template_is_refused_with_the_validators_message(tiny_ws):
    before = playbook_count(tiny_ws)
    at = run_app("manager", PLAYBOOKS)
    at.text_input(key="new_name").input("Broken template")
    at.text_input(key="new_s0_title").input("Call {{ account.name")
    button(at, "Create playbook").click().run()
    assert not at.exception
    expected = _refused({"type": "task", "title": "Call {{ account.name", "due_days": 3}, 0)
    assert [e.value for e in at.error] == [expected]
    assert playbook_count(tiny_ws) == before and "Broken template" not in _names(tiny_ws)


def test_power_users_keep_json(tiny_ws):
    at = run_app("manager", PLAYBOOKS)
    at.text_input(key="new_name").input("From JSON")
    at.text_area(key="new_rule").input('{"segments": ["SMB"]}')
    at.text_area(key="new_steps").input('[{"type": "task", "title": "Hello", "due_days": 1}]')
    button(at, "Create playbook").click().run()
    assert not at.exception and not at.error
    created = next(p for p in pb.list_playbooks(tiny_ws.engine) if p.name == "From JSON")
    assert created.rule == {"segments": ["SMB"]} and created.steps == [{"type": "task", "title": "Hello",
                                                                           "due_days": 1}]
