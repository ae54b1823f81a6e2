"""Account notes in the operational store: what a CSM learned, kept with the account, audited."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from data.errors import UserError
from data.opstore import audit, now
from data.opstore import notes as notes_table

MAX_NOTE_CHARS = 5_000


def add_note(engine: sa.Engine, account_id: str, author: str, body: str) -> int:
    """Store a note (plain text; rendered escaped) and audit it; returns the note id."""
    text = (body or "").strip()
    if not text:
        raise UserError("The note is empty; write something before saving.")
    if len(text) > MAX_NOTE_CHARS:
        raise UserError(f"Notes can have at most {MAX_NOTE_CHARS:,} characters (this one has {len(text):,}).")
    with engine.begin() as conn:
        note_id = conn.execute(
            notes_table.insert().values(account_id=account_id, author=author, created_at=now(), body=text)
        ).inserted_primary_key[0]
        audit(conn, author, "note.add", account_id, note_id=note_id, chars=len(text))
    return int(note_id)


def list_notes(engine: sa.Engine, account_id: str) -> pd.DataFrame:
    """The account's notes, newest first: id, author, created_at, body."""
    q = (sa.select(notes_table.c.id, notes_table.c.author, notes_table.c.created_at, notes_table.c.body)
         .where(notes_table.c.account_id == account_id).order_by(notes_table.c.id.desc()))
    with engine.connect() as conn:
        return pd.DataFrame([dict(r._mapping) for r in conn.execute(q)], columns=["id", "author", "created_at", "body"])
