"""The start form's preview: one line per step that says exactly what starting the playbook would do, and writes nothing."""

from __future__ import annotations

import pytest

from data.contacts import deactivate_contact
from playbooks import PlaybookError, preview_steps
from playbooks.store import runs, steps, tasks
from tests.support.workspaces import build_workspace, count_rows, new_playbook

EVERY_KIND = [
    {"type": "task", "title": "Call {{ account.name }}", "due_days": 1},
    {"type": "task", "title": "Plan the QBR", "due_days": 3},
    {"type": "email", "to": "champion", "subject": "Hello {{ contact.name }}", "body": "Hi"},
    {"type": "email", "to": "csm", "subject": "Heads up", "body": "See the account."},
    {"type": "email", "to": "billing", "subject": "Your invoice", "body": "Hi"},
    {"type": "email", "to": "ops@vendor.example", "subject": "Direct", "body": "Hi", "requires_confirmation": True},
    {"type": "webhook", "url": "http://127.0.0.1:9/hook", "body": {"account": "{{ account.name }}"}},
    {"type": "alert", "to": "csm", "message": "Risk on {{ account.name }}"},
    {"type": "alert", "to": "user:lee", "message": "Look at this one"},
    {"type": "alert", "to": "role:manager", "message": "Escalation"},
    {"type": "alert", "to": "role:csm", "message": "Only this account's CSM"},
]


@pytest.fixture()
def every_kind(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=4, csai_webhook_allow_hosts="127.0.0.1")
    return ws, new_playbook(ws, name="Every kind", steps=EVERY_KIND, allow_hosts=ws.settings.webhook_allow_hosts)


def _written(ws) -> tuple[int, int, int]:
    return count_rows(ws, runs), count_rows(ws, steps), count_rows(ws, tasks)


def test_each_kind_of_step_reads_as_one_exact_line_and_nothing_is_written(every_kind):
    ws, pb = every_kind
    preview = preview_steps(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya")
    assert [p["summary"] for p in preview] == [
        "Task for Maya Patel: Call Company 1 (due in 1 day)",
        "Task for Maya Patel: Plan the QBR (due in 3 days)",
        "Email to anna.smith0@company0.example: Hello Anna Smith, sent after you confirm it",  # a customer
        "Email to CSM Maya Patel: Heads up",
        "Email to anna.smith0@company0.example (no active billing contact): Your invoice, sent after you confirm it",
        "Email to ops@vendor.example: Direct, sent after you confirm it",
        "Webhook POST to http://127.0.0.1:9/hook",
        "Alert to Maya Patel: Risk on Company 1",
        "Alert to lee: Look at this one",
        "Alert to everyone with role manager: Escalation",
        "Alert to the account's CSM: Only this account's CSM",  # role:csm reaches the account's CSM only
    ]
    assert [p["position"] for p in preview] == list(range(len(EVERY_KIND)))
    assert [p["kind"] for p in preview] == [s["type"] for s in EVERY_KIND]
    assert [p["requires_confirmation"] for p in preview] == [False, False, True, False, True, True] + [False] * 5
    assert [p["problem"] for p in preview] == [None] * len(EVERY_KIND)
    assert preview[6]["payload"]["body"] == {"account": "Company 1"}
    assert _written(ws) == (0, 0, 0)


def test_the_assignee_chosen_on_the_form_is_who_the_tasks_are_for(every_kind):
    ws, pb = every_kind
    preview = preview_steps(ws.engine, ws.warehouse, pb.id, "A0002", assignee="jonas")
    assert preview[0]["summary"] == "Task for jonas: Call Company 2 (due in 1 day)"
    assert preview[0]["payload"]["assignee"] == "jonas"
    assert preview[7]["summary"] == "Alert to Jonas Weber: Risk on Company 2", "an alert to the CSM stays with the CSM"


def test_an_account_with_no_csm_and_no_contact_says_who_is_missing(every_kind):
    ws, pb = every_kind
    with ws.warehouse.writer("raw") as con:
        con.execute("UPDATE accounts SET csm = NULL WHERE account_id = 'A0003'")
    deactivate_contact(ws.engine, "A0003", "C00002", "maya", email="anna.smith2@company2.example", role="champion")
    preview = preview_steps(ws.engine, ws.warehouse, pb.id, "A0003")
    by_position = {p["position"]: p for p in preview}
    add_contact = by_position[2]  # the email to the champion, with nobody to write to
    assert add_contact["kind"] == "task"
    assert add_contact["summary"] == ("Task for the CSM: Add a contact with an email address for Company 3 "
                                      "(due in 2 days)")
    assert add_contact["problem"] == "Company 3 has no contact with an email address and no CSM to add one."
    assert by_position[3]["summary"] == "Email to csm (no address): Heads up"
    assert by_position[3]["problem"] == "Company 3 has no CSM, so there is nobody to email."
    assert by_position[7]["summary"] == "Alert to the account's CSM (none set): Risk on Company 3"
    assert by_position[7]["problem"] == "Company 3 has no CSM to alert."
    assert by_position[8]["problem"] is None and by_position[9]["problem"] is None
    assert _written(ws) == (0, 0, 0)


def test_a_contact_deactivated_in_the_app_is_not_previewed_as_the_recipient(every_kind):
    ws, pb = every_kind
    deactivate_contact(ws.engine, "A0001", "C00000", "maya", email="anna.smith0@company0.example", role="champion")
    preview = preview_steps(ws.engine, ws.warehouse, pb.id, "A0001")
    assert "anna.smith0@company0.example" not in preview[2]["summary"]
    assert preview[2]["summary"].startswith("Task for Maya Patel: Add a contact with an email address for Company 1")


def test_a_step_that_cannot_render_is_named_with_the_reason_and_the_other_steps_still_show(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=2)
    with ws.warehouse.writer("results") as con:
        con.execute("DELETE FROM score_drivers")
    pb = new_playbook(ws, name="Needs drivers", steps=[
        {"type": "email", "to": "champion", "subject": "Hi", "body": "{{ drivers[0].sentence }}"},
        {"type": "task", "title": "Call {{ account.name }}", "due_days": 2},
    ])
    first, second = preview_steps(ws.engine, ws.warehouse, pb.id, "A0001")
    assert (first["position"], first["kind"], first["summary"]) == (0, "email", "email: cannot render")
    assert first["payload"] == {} and first["requires_confirmation"] is False
    assert first["problem"].startswith("Needs drivers, step 1 (email): ")
    assert second["summary"] == "Task for Maya Patel: Call Company 1 (due in 2 days)" and second["problem"] is None
    assert _written(ws) == (0, 0, 0)


def test_the_preview_renders_who_starts_it_and_their_note_as_the_start_will(every_kind):
    ws, _ = every_kind
    pb = new_playbook(ws, name="Signed", steps=[
        {"type": "task", "title": "Follow up for {{ run.triggered_by }}", "due_days": 2,
         "description": "Note: {{ run.note }}"}])
    (step,) = preview_steps(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", note="spoke at the QBR")
    assert step["payload"]["title"] == "Follow up for maya"
    assert step["payload"]["description"] == "Note: spoke at the QBR"
    (unsigned,) = preview_steps(ws.engine, ws.warehouse, pb.id, "A0001")
    assert (unsigned["payload"]["title"], unsigned["payload"]["description"]) == ("Follow up for ", "Note: ")


def test_an_unknown_account_is_refused_in_words(every_kind):
    ws, pb = every_kind
    with pytest.raises(PlaybookError) as err:
        preview_steps(ws.engine, ws.warehouse, pb.id, "A9999")
    assert str(err.value) == "Account A9999 does not exist."
    assert _written(ws) == (0, 0, 0)

