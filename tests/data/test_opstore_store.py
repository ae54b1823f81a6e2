"""Notes and the audit log on SQLite and on PostgreSQL (``opstore_url``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.errors import UserError
from data.notes import add_note, list_notes
from data.opstore import audit, get_engine, now, read_audit


def test_notes_are_kept_newest_first_and_audited(opstore_url):
    engine = get_engine(opstore_url)
    first = add_note(engine, "A0001", "maya", "  Champion left; new contact is Sam  ")
    second = add_note(engine, "A0001", "jonas", "Renewal call booked — 30 Sep ✓")
    add_note(engine, "A0002", "maya", "Other account")
    notes = list_notes(engine, "A0001")
    assert notes["id"].tolist() == [second, first]
    assert notes["body"].tolist() == ["Renewal call booked — 30 Sep ✓", "Champion left; new contact is Sam"]
    assert notes["author"].tolist() == ["jonas", "maya"]
    rows = read_audit(engine, action="note.add")
    assert [(r["actor"], r["target"]) for r in rows] == [("maya", "A0002"), ("jonas", "A0001"), ("maya", "A0001")]


def test_bad_notes_are_refused_and_nothing_is_written(opstore_url):
    engine = get_engine(opstore_url)
    with pytest.raises(UserError, match="empty"):
        add_note(engine, "A0001", "maya", "   ")
    with pytest.raises(UserError, match="at most 5,000 characters"):
        add_note(engine, "A0001", "maya", "x" * 5_001)
    assert list_notes(engine, "A0001").empty and read_audit(engine) == []


def test_audit_filters_by_actor_action_and_time(opstore_url):
    engine = get_engine(opstore_url)
    with engine.begin() as conn:
        audit(conn, "admin", "user.add", "maya", role="csm")
        audit(conn, "maya", "login", None)
    try:
        with engine.begin() as conn:
            audit(conn, "admin", "user.remove", "jonas")
            raise RuntimeError("rolled back with its transaction")
    except RuntimeError:
        pass
    assert [r["action"] for r in read_audit(engine)] == ["login", "user.add"]
    assert [r["action"] for r in read_audit(engine, actor="admin")] == ["user.add"]
    assert read_audit(engine, action="user.add")[0]["detail"] == '{"role": "csm"}'
    assert read_audit(engine, since=now() + timedelta(minutes=1)) == []
