"""Tasks: the playbook tasks a person reads and acts on (complete, snooze, reopen), scoped to their book.

Every function takes the :class:`~data.access.Viewer` asking: it names whose tasks
"my tasks" are (their username and CSM name), scopes what they may read or change to the
accounts in their book *now* (:mod:`playbooks.scoping`, a CSM viewer needs ``warehouse``),
and is the actor written to the audit log. Tasks are created with their run
(:mod:`playbooks.runs`).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from data.access import Viewer, csm_account_ids
from data.opstore import audit, now
from playbooks.errors import PlaybookError
from playbooks.runs import refresh_run_status
from playbooks.scoping import require_in_book, scoped
from playbooks.store import playbooks as playbooks_table
from playbooks.store import runs, tasks


def _not_yours(task_id: int) -> str:
    return f"Task {task_id} does not exist or its account is not in your book."


def my_tasks(engine: sa.Engine, viewer: Viewer, *, warehouse=None,
             status: str | list[str] | None = ("open", "snoozed"), at: datetime | None = None,
             everyone: bool = False) -> pd.DataFrame:
    """Tasks assigned to the viewer (by username or CSM name), soonest due first.

    ``everyone=True`` drops the assignee filter: every task the viewer may see (a
    manager's "Everyone's" view, unassigned tasks included). A snoozed task whose snooze
    has passed shows as ``open`` again (``effective_status``). For a CSM viewer only tasks
    of accounts in their book today are returned, and a task that went to the account's
    CSM follows the account: after a reassignment it is the new CSM's, no longer the old one's.
    """
    at = at or now()
    q = (sa.select(tasks, runs.c.account_name, runs.c.playbook_id, playbooks_table.c.name.label("playbook"))
         .join(runs, runs.c.id == tasks.c.run_id)
         .join(playbooks_table, playbooks_table.c.id == runs.c.playbook_id)
         .order_by(tasks.c.due_at, tasks.c.id))
    if not everyone:
        q = q.where(_assigned_to(viewer, warehouse))
    q = scoped(q, viewer, warehouse, tasks.c.account_id)
    if status:
        q = q.where(tasks.c.status.in_([status] if isinstance(status, str) else list(status)))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])
    if not df.empty:
        snoozing = (df["status"] == "snoozed") & df["snoozed_until"].notna() & (df["snoozed_until"] > at)
        df["effective_status"] = df["status"].where(df["status"] != "snoozed", "open").where(~snoozing, "snoozed")
        df["overdue"] = (df["effective_status"] == "open") & (df["due_at"] < at)
    else:
        df["effective_status"] = []
        df["overdue"] = []
    return df


def _assigned_to(viewer: Viewer, warehouse):
    """Tasks addressed to the viewer by name, or to "the account's CSM" of an account that is theirs now."""
    assigned = tasks.c.assignee.in_([n for n in (viewer.username, viewer.csm) if n])
    if viewer.csm and warehouse is not None:
        own = csm_account_ids(warehouse, viewer.csm)
        if own:  # addressed to the CSM of the run's day, and the account is theirs now
            assigned = sa.or_(assigned, sa.and_(tasks.c.assignee == runs.c.csm,
                                                tasks.c.account_id.in_(sorted(own))))
    return assigned


def tasks_for_account(engine: sa.Engine, viewer: Viewer, account_id: str, *, open_only: bool = True,
                      warehouse=None) -> pd.DataFrame:
    """Tasks of one account (for the Account page), soonest due first; empty outside the viewer's current book."""
    q = sa.select(tasks).where(tasks.c.account_id == account_id).order_by(tasks.c.due_at)
    q = scoped(q, viewer, warehouse, tasks.c.account_id)
    if open_only:
        q = q.where(tasks.c.status != "done")
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])


def complete_task(engine: sa.Engine, viewer: Viewer, task_id: int, *, warehouse=None) -> None:
    """Mark a task done (idempotent); completes its run when nothing else is open. Audited as the viewer.

    A CSM may act only on tasks of accounts in their current book (as for every task action).
    """
    require_in_book(engine, tasks, task_id, viewer, warehouse, _not_yours(task_id))
    with engine.begin() as conn:
        row = conn.execute(sa.select(tasks.c.run_id, tasks.c.status).where(tasks.c.id == task_id)).first()
        if row is None:
            raise PlaybookError(f"Task {task_id} does not exist.")
        if row.status == "done":
            return
        conn.execute(tasks.update().where(tasks.c.id == task_id, tasks.c.status != "done")
                     .values(status="done", completed_at=now(), completed_by=viewer.username))
        audit(conn, viewer.username, "playbook.task.complete", f"task:{task_id}")
        refresh_run_status(conn, row.run_id, viewer.username)


def snooze_task(engine: sa.Engine, viewer: Viewer, task_id: int, until: datetime, *, warehouse=None) -> None:
    """Hide a task until ``until`` (it shows as open again afterwards). Audited as the viewer."""
    if until <= now():
        raise PlaybookError("Snooze until a time in the future.")
    require_in_book(engine, tasks, task_id, viewer, warehouse, _not_yours(task_id))
    with engine.begin() as conn:
        res = conn.execute(tasks.update().where(tasks.c.id == task_id, tasks.c.status != "done")
                           .values(status="snoozed", snoozed_until=until))
        if res.rowcount == 0:
            raise PlaybookError(f"Task {task_id} does not exist or is already done.")
        audit(conn, viewer.username, "playbook.task.snooze", f"task:{task_id}", until=until)


def reopen_task(engine: sa.Engine, viewer: Viewer, task_id: int, *, warehouse=None) -> None:
    """Open a done or snoozed task again. Audited as the viewer."""
    require_in_book(engine, tasks, task_id, viewer, warehouse, _not_yours(task_id))
    with engine.begin() as conn:
        res = conn.execute(tasks.update().where(tasks.c.id == task_id)
                           .values(status="open", snoozed_until=None, completed_at=None, completed_by=None))
        if res.rowcount == 0:
            raise PlaybookError(f"Task {task_id} does not exist.")
        audit(conn, viewer.username, "playbook.task.reopen", f"task:{task_id}")
