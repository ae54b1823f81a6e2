"""The playbook form has no dead ends: a missing recipient is given inline or skipped, the last run shows,
the note goes to Notes."""

from __future__ import annotations

import sqlalchemy as sa

import playbooks as pb
from data.access import SYSTEM, Viewer
from data.contacts import contact_edits, list_contact_edits
from data.notes import list_notes
from playbooks.definitions import get_playbook_by_key
from playbooks.store import steps
from tests.support.apptest import button, texts
from tests.support.playbook_pages import trigger_app


def _usage(ws):
    pb.ensure_starter_playbooks(ws.engine)
    return get_playbook_by_key(ws.engine, "usage_drop")


def _email_position(playbook) -> int:
    return next(i for i, s in enumerate(playbook.steps) if s["type"] == "email")


def _open(ws, username="csm1"):
    usage = _usage(ws)
    at = trigger_app(username)
    at.selectbox(key="pbform_playbook:acct:A1").set_value(usage.id).run()
    assert not at.exception
    return at, usage


def test_an_email_without_a_contact_becomes_a_task_to_add_one_and_nothing_fails(tiny_ws):
    at, usage = _open(tiny_ws)
    pos = _email_position(usage)
    assert any("a task to add one is created instead" in i.value for i in at.info)  # said before starting
    button(at, "Start playbook").click().run()
    assert not at.exception and not at.error
    run = pb.list_runs(tiny_ws.engine, SYSTEM, account_id="A1").iloc[0]
    assert int(run["steps_failed"] or 0) == 0
    with tiny_ws.engine.connect() as conn:
        kind, payload = conn.execute(sa.select(steps.c.kind, steps.c.payload).where(
            steps.c.run_id == int(run["id"]), steps.c.position == pos)).one()
    assert kind == "task" and "Add a contact with an email address" in payload


def test_an_email_given_inline_becomes_the_recipient_and_a_contact(tiny_ws):
    at, usage = _open(tiny_ws)
    pos = _email_position(usage)
    at.text_input(key=f"pbfix:acct:A1:{usage.id}:email:{pos}").input("new.champion@acme.test")
    button(at, "Start playbook").click().run()
    assert not at.exception and not at.error
    run = pb.list_runs(tiny_ws.engine, SYSTEM, account_id="A1").iloc[0]
    assert int(run["steps_failed"] or 0) == 0
    with tiny_ws.engine.connect() as conn:
        email = conn.execute(sa.select(steps.c.payload).where(steps.c.run_id == int(run["id"]),
                                                              steps.c.position == pos)).scalar_one()
    assert "new.champion@acme.test" in email
    edits = list_contact_edits(tiny_ws.engine, ["A1"])
    assert list(edits["email"]) == ["new.champion@acme.test"] and list(edits["role"]) == ["champion"]


def test_a_bad_inline_email_is_refused_and_nothing_is_written(tiny_ws):
    at, usage = _open(tiny_ws)
    at.text_input(key=f"pbfix:acct:A1:{usage.id}:email:{_email_position(usage)}").input("champion at acme")
    button(at, "Start playbook").click().run()
    assert any("is not an email address" in e.value for e in at.error)
    assert pb.list_runs(tiny_ws.engine, SYSTEM).empty
    with tiny_ws.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(contact_edits)).scalar_one() == 0


def test_a_skipped_step_is_recorded_as_skipped_not_failed_and_alerts_nobody(tiny_ws):
    at, usage = _open(tiny_ws)
    pos = _email_position(usage)
    at.checkbox(key=f"pbfix:acct:A1:{usage.id}:skip:{pos}").check()
    button(at, "Start playbook").click().run()
    assert any("1 step skipped" in s.value for s in at.success)
    run = pb.get_run(tiny_ws.engine, SYSTEM, int(pb.list_runs(tiny_ws.engine, SYSTEM).iloc[0]["id"]))
    step = run.steps[pos]
    assert step["status"] == "skipped" and step["result"] == "skipped by csm1 before starting"
    assert pb.alerts_for(tiny_ws.engine, Viewer("csm1", ("csm",), "Avery Chen"), warehouse=tiny_ws.warehouse).empty


def test_the_form_shows_the_last_run_and_saves_the_note_to_notes(tiny_ws):
    at, usage = _open(tiny_ws)
    assert "Never run on this account before." in texts(at)
    at.checkbox(key=f"pbfix:acct:A1:{usage.id}:skip:{_email_position(usage)}").check()
    at.text_input(key="pbform_note:acct:A1").input("Sponsor agreed to a usage review")
    button(at, "Start playbook").click().run()
    assert not at.exception
    notes = list_notes(tiny_ws.engine, "A1")
    assert len(notes) == 1 and "Sponsor agreed to a usage review" in notes.iloc[0]["body"]
    assert notes.iloc[0]["author"] == "csm1"
    again = trigger_app("csm1")
    again.selectbox(key="pbform_playbook:acct:A1").set_value(usage.id).run()
    line = next(m.value for m in again.markdown if "Last run on this account" in m.value)
    assert "by csm1" in line and "active" in line and "1 skipped" not in line
    assert "step" in line
