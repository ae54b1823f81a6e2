"""Activities a CSM logs by hand (call, meeting, email, note) in the operational store, audited.

Table ``account_activities``: one row per logged touch, dated by the day it happened
(``occurred_on``, not the day it was typed in). With notes, completed tasks and playbook
runs started by a person, these make an account's *last touch* (see :mod:`playbooks.today`).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import sqlalchemy as sa

from data.errors import UserError
from data.opstore import audit, metadata, now

ACTIVITY_KINDS = ("call", "meeting", "email", "note")
MAX_SUMMARY_CHARS = 2_000

activities = sa.Table(
    "account_activities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(200), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # call | meeting | email | note
    sa.Column("occurred_on", sa.Date, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Index("ix_account_activities_occurred_on", "occurred_on"),  # the "last touch" change marker
)

ACTIVITY_COLUMNS = ["id", "account_id", "kind", "occurred_on", "summary", "author", "created_at"]


def log_activity(engine: sa.Engine, account_id: str, author: str, kind: str, occurred_on: date,
                 summary: str) -> int:
    """Store one activity and audit it; returns its id.

    Raises :class:`UserError` for an unknown kind, an empty summary, or a date in the future
    (a touch is logged after it happened); nothing is written then.
    """
    kind = (kind or "").strip().lower()
    if kind not in ACTIVITY_KINDS:
        raise UserError(f"Choose what kind of activity this was: {', '.join(ACTIVITY_KINDS)}.")
    text = (summary or "").strip()
    if not text:
        raise UserError("Say in a few words what happened (the summary is empty).")
    if len(text) > MAX_SUMMARY_CHARS:
        raise UserError(f"A summary can have at most {MAX_SUMMARY_CHARS:,} characters (this one has {len(text):,}).")
    if isinstance(occurred_on, datetime):
        occurred_on = occurred_on.date()
    if occurred_on is None:
        raise UserError("Give the date the activity happened.")
    if occurred_on > now().date():
        raise UserError(f"{occurred_on:%-d %b %Y} is in the future; log an activity once it has happened.")
    with engine.begin() as conn:
        activity_id = conn.execute(activities.insert().values(
            account_id=account_id, kind=kind, occurred_on=occurred_on, summary=text, author=author,
            created_at=now())).inserted_primary_key[0]
        audit(conn, author, "activity.log", account_id, activity_id=activity_id, kind=kind,
              occurred_on=occurred_on.isoformat())
    return int(activity_id)


def list_activities(engine: sa.Engine, account_ids: list[str] | None = None) -> pd.DataFrame:
    """Logged activities, newest first (of the given accounts, or all): :data:`ACTIVITY_COLUMNS`."""
    q = sa.select(activities).order_by(activities.c.occurred_on.desc(), activities.c.id.desc())
    if account_ids is not None:
        q = q.where(activities.c.account_id.in_(list(account_ids)))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=ACTIVITY_COLUMNS)
