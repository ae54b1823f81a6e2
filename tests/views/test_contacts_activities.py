"""Contacts and activities people edit on the Account page; the Timeline shows the team's own events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

import playbooks as pb
from data.activities import activities, log_activity
from data.contacts import add_contact, contact_edits, edit_contact, list_contact_edits, merged_contacts
from data.errors import UserError
from data.notes import add_note
from data.opstore import now
from playbooks.definitions import get_playbook_by_key
from tests.support.apptest import run_app

ACCOUNT = "views/account.py"


def _rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _submit(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


@pytest.mark.stores
def test_a_csm_adds_edits_and_deactivates_a_contact(tiny_ws):
    at = run_app("csm1", ACCOUNT, {"id": "A1", "tab": "Contacts"})
    assert not at.exception
    assert any("the next contacts import" in c.value for c in at.caption)
    at.text_input(key="contact_add_email").input("sam.exec@acme.test")
    at.selectbox(key="contact_add_role").set_value("executive")
    _submit(at, "Add contact")
    assert any("Added sam.exec@acme.test as executive." in s.value for s in at.success)
    table = at.dataframe[0].value
    row = table[table["email"] == "sam.exec@acme.test"].iloc[0]
    assert (row["source"], row["status"], row["role"]) == ("added here", "active", "executive")
    assert "pat@acme.test" in set(table["email"])  # the imported champion is still listed

    contact_id = row["contact_id"]
    at.selectbox(key="contact_edit_pick").set_value(contact_id).run()
    at.text_input(key=f"contact_edit_email_{contact_id}").input("sam@acme.test")
    _submit(at, "Save")
    assert list_contact_edits(tiny_ws.engine, ["A1"]).iloc[0]["email"] == "sam@acme.test"
    at.selectbox(key="contact_edit_pick").set_value(contact_id).run()
    _submit(at, "Deactivate")
    table = at.dataframe[0].value
    assert table.set_index("contact_id").loc[contact_id, "status"] == "deactivated here"


@pytest.mark.stores
def test_a_bad_email_is_refused_and_nothing_is_written(tiny_ws):
    at = run_app("csm1", ACCOUNT, {"id": "A1", "tab": "Contacts"})
    at.text_input(key="contact_add_email").input("not an email")
    _submit(at, "Add contact")
    assert any("is not an email address" in e.value for e in at.error)
    assert _rows(tiny_ws.engine, contact_edits) == 0


def test_data_scientists_read_contacts_but_cannot_change_them(tiny_ws):
    at = run_app("datasci", ACCOUNT, {"id": "A1", "tab": "Contacts"})
    assert not at.exception
    assert not [b for b in at.button if b.label in ("Add contact", "Save", "Deactivate")]


def test_the_import_wins_over_older_edits_and_newer_edits_win_until_then(tiny_ws):
    add_contact(tiny_ws.engine, "A2", "csm2", "new@globex.test", "billing")
    edit_contact(tiny_ws.engine, "A2", "C9", "csm2", email="fixed@globex.test", role="champion")
    edits = list_contact_edits(tiny_ws.engine, ["A2"])
    imported = pd.DataFrame({"contact_id": ["C9"], "email": ["old@globex.test"], "role": ["champion"],
                             "status": ["active"]})
    before_import = merged_contacts(imported, edits, datetime(2020, 1, 1)).set_index("contact_id")
    assert before_import.loc["C9", "email"] == "fixed@globex.test"
    assert before_import.loc["C9", "imported_email"] == "old@globex.test"
    assert before_import.loc["C9", "source"] == "edited here"
    after_import = merged_contacts(imported, edits, now() + timedelta(minutes=1)).set_index("contact_id")
    assert after_import.loc["C9", "email"] == "old@globex.test" and after_import.loc["C9", "source"] == "imported"
    assert "replaced by the import" in after_import.loc["C9", "note"]
    added = after_import[after_import["source"] == "added here"].iloc[0]
    assert added["status"] == "replaced by import"


@pytest.mark.stores
def test_a_contact_added_here_becomes_the_playbook_recipient(tiny_ws):
    pb.ensure_starter_playbooks(tiny_ws.engine)
    playbook = get_playbook_by_key(tiny_ws.engine, "champion_loss")
    email_step = lambda items: next(i for i in items if i["kind"] == "email")  # noqa: E731
    email_step = lambda items: next(i for i in items if i["kind"] == "email"  # noqa: E731
                                    or (i["payload"] or {}).get("instead_of") == "email")
    before = email_step(pb.preview_steps(tiny_ws.engine, tiny_ws.warehouse, playbook.id, "A1"))
    assert before["kind"] == "task" and before["payload"]["to_role"] == "executive"  # no contact: add one first
    add_contact(tiny_ws.engine, "A1", "csm1", "sam.exec@acme.test", "executive")
    after = email_step(pb.preview_steps(tiny_ws.engine, tiny_ws.warehouse, playbook.id, "A1"))
    assert after["problem"] is None and after["payload"]["to"] == "sam.exec@acme.test"


@pytest.mark.stores
def test_log_an_activity_and_see_it_on_the_timeline_with_notes_and_runs(tiny_ws):
    add_note(tiny_ws.engine, "A1", "csm1", "Sponsor is moving to another team")
    pb.ensure_starter_playbooks(tiny_ws.engine)
    pb.trigger_manual(tiny_ws.engine, tiny_ws.warehouse, get_playbook_by_key(tiny_ws.engine, "usage_drop").id, "A1",
                      actor="csm1")
    at = run_app("csm1", ACCOUNT, {"id": "A1", "tab": "Timeline"})
    assert not at.exception
    at.selectbox(key="activity_kind").set_value("meeting")
    at.date_input(key="activity_day").set_value(now().date() - timedelta(days=1))
    at.text_input(key="activity_summary").input("QBR with the sponsor")
    _submit(at, "Log activity")
    assert any("Logged a meeting" in s.value for s in at.success)
    table = at.dataframe[0].value
    kinds = set(table["kind"])
    assert {"Meeting", "Note", "Playbook", "Ticket", "NPS", "Invoice"} <= kinds
    assert any("QBR with the sponsor" in d for d in table["detail"])
    assert any("Usage drop" in d or "usage" in d.lower() for d in table[table["kind"] == "Playbook"]["detail"])


@pytest.mark.parametrize("kind, day, summary, message", [
    ("call", 1, "Talked", "is in the future"),
    ("call", -1, "   ", "summary is empty"),
    ("lunch", -1, "Ate", "Choose what kind of activity"),
])
def test_bad_activities_are_refused_and_nothing_is_written(tiny_ws, kind, day, summary, message):
    with pytest.raises(UserError, match=message):
        log_activity(tiny_ws.engine, "A1", "csm1", kind, now().date() + timedelta(days=day), summary)
    assert _rows(tiny_ws.engine, activities) == 0
