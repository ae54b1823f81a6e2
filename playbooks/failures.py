"""When a playbook step fails, the account's CSM hears about it: one in-app alert per failed step.

Called where failures are recorded: at run creation (a step that cannot be rendered for the
account, e.g. no recipient) and by the outbox dispatcher (a delivery that failed for good, or
a send whose outcome is unknown). Holdout runs never alert. A step alerts at most once, even
when it is retried and fails again. The alert goes to the account's CSM by name (the run's
``csm``; the run's assignee when the account has no CSM); with neither, nobody is alerted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from data.opstore import audit, now
from playbooks.store import alerts, runs, steps
from playbooks.store import playbooks as playbooks_table

KIND_WORDS = {"email": "email", "webhook": "webhook", "task": "task", "alert": "alert"}
MAX_ERROR_CHARS = 300


def failure_message(playbook: str, account: str, position: int, kind: str, error: str | None) -> str:
    """The alert text: which playbook, account and step failed, and why, in one sentence."""
    reason = (error or "no reason recorded").strip()
    if len(reason) > MAX_ERROR_CHARS:
        reason = reason[: MAX_ERROR_CHARS - 1] + "…"
    return (f"{playbook} for {account}: step {position + 1} ({KIND_WORDS.get(kind, kind)}) failed — {reason} "
            "Open the account's Playbooks tab to fix and retry it.")


def alert_failed_steps(conn: sa.Connection, step_ids: Iterable[int], at: datetime | None = None) -> int:
    """Post an alert to the account's CSM for each of ``step_ids`` that is ``failed``; returns how many.

    Runs inside the caller's transaction; steps of holdout runs, steps already alerted and
    accounts with nobody to tell are left out.
    """
    ids = [int(i) for i in step_ids]
    if not ids:
        return 0
    at = at or now()
    already = sa.select(alerts.c.step_id).where(alerts.c.step_id.in_(ids))
    rows = conn.execute(
        sa.select(steps.c.id, steps.c.run_id, steps.c.position, steps.c.kind, steps.c.last_error, runs.c.account_id,
                  runs.c.account_name, runs.c.csm, runs.c.assignee, playbooks_table.c.name.label("playbook"))
        .join(runs, runs.c.id == steps.c.run_id)
        .join(playbooks_table, playbooks_table.c.id == runs.c.playbook_id)
        .where(steps.c.id.in_(ids), steps.c.status == "failed", runs.c.holdout.is_(False),
               steps.c.id.not_in(already))).all()
    posted = 0
    for row in rows:
        recipient = row.csm or row.assignee
        if not recipient:
            continue
        message = failure_message(row.playbook, row.account_name or row.account_id, row.position, row.kind,
                                  row.last_error)
        alert_id = conn.execute(alerts.insert().values(
            step_id=row.id, run_id=row.run_id, account_id=row.account_id, recipient_user=recipient,
            recipient_role=None, message=message, created_at=at)).inserted_primary_key[0]
        audit(conn, "system", "playbook.step.failure_alert", f"step:{row.id}", alert_id=alert_id, to=recipient)
        posted += 1
    return posted
