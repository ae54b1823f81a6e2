"""Demo: seed the starter playbooks and import the sample company's playbook history as rule runs.

``sample_playbook_history`` (written by :mod:`data.sample`) lists which accounts each
starter playbook enrolled in the last year and which were held out. The generator
planted the true effect of each playbook on treated accounts, so the Outcomes view
shows real, recoverable results. Re-running is idempotent (one key per history row).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from data.opstore import audit, now
from data.readmodel import as_of_date
from playbooks.context import _has_table
from playbooks.definitions import get_playbook_by_key
from playbooks.starter import STARTER_PLAYBOOKS, ensure_starter_playbooks
from playbooks.store import runs, steps, tasks
from playbooks.templates import TemplateProblem, render

RECENT_DAYS = 14


def seed_playbook_history(ws, say: Callable[[str], None] = print) -> int:
    """Seed starter playbooks and import the sample playbook history; returns the runs added.

    Runs older than :data:`RECENT_DAYS` before the data's last day are completed; newer
    treated runs stay active with open tasks for their CSM. Emails and webhooks of the
    history are marked delivered without being sent.
    """
    engine = ws.engine
    ensure_starter_playbooks(engine)
    with ws.warehouse.reader() as con:
        if not _has_table(con, "sample_playbook_history"):
            say("  playbooks: starter playbooks ready (no playbook history in this data)")
            return 0
        as_of = as_of_date(con)
        history = con.execute(
            """SELECT h.account_id, h.playbook, h.started_at, h.holdout, a.name, a.csm
               FROM sample_playbook_history h LEFT JOIN accounts a USING (account_id)
               ORDER BY h.started_at, h.account_id, h.playbook"""
        ).fetchall()
    pbs = {spec["key"]: get_playbook_by_key(engine, spec["key"]) for spec in STARTER_PLAYBOOKS}
    with engine.connect() as conn:
        existing = set(conn.execute(sa.select(runs.c.idempotency_key)
                                    .where(runs.c.idempotency_key.like("history:%"))).scalars())
    recent_from = as_of - timedelta(days=RECENT_DAYS)
    rows = []
    for account_id, key, started, holdout, name, csm in history:
        pb = pbs.get(key)
        idem = f"history:{key}:{account_id}:{started.isoformat()}"
        if pb is None or idem in existing:
            continue
        recent = started > recent_from
        rows.append(dict(
            playbook_id=pb.id, account_id=account_id, account_name=name, csm=csm, idempotency_key=idem,
            trigger_type="rule", triggered_by="rule (demo history)",
            started_at=datetime.combine(started, time(9, 0)), assignee=csm, holdout=bool(holdout),
            status="holdout" if holdout else ("active" if recent else "completed"), drivers="[]",
            completed_at=None if holdout or recent else datetime.combine(started, time(9, 0)) + timedelta(days=21),
        ))
    if not rows:
        say("  playbooks: starter playbooks ready, history already imported")
        return 0
    ts = now()
    with engine.begin() as conn:
        conn.execute(runs.insert(), rows)
        ids = dict(conn.execute(sa.select(runs.c.idempotency_key, runs.c.id)
                                .where(runs.c.idempotency_key.in_([r["idempotency_key"] for r in rows]))).all())
        step_rows = []
        recent_tasks = []
        for r in rows:
            pb = next(p for p in pbs.values() if p is not None and p.id == r["playbook_id"])
            for position, step in enumerate(pb.steps):
                is_task = step["type"] == "task"
                status, result = "delivered", "demo history: recorded, not sent"
                if r["holdout"]:
                    status, result = "skipped", "holdout: recorded, not actioned"
                elif r["status"] == "active" and not is_task:
                    result = "demo history: recorded, not sent"
                step_rows.append(dict(
                    run_id=ids[r["idempotency_key"]], position=position, kind=step["type"], status=status,
                    payload=json.dumps({"demo": True, "title": step.get("title") or step.get("subject")
                                        or step.get("message") or step.get("url")}),
                    requires_confirmation=bool(step.get("requires_confirmation")), attempts=0, max_attempts=5,
                    result=result, created_at=r["started_at"], updated_at=r["started_at"],
                    delivered_at=r["started_at"] if status == "delivered" else None,
                ))
                if is_task and r["status"] == "active":
                    recent_tasks.append((r, position, step))
        conn.execute(steps.insert(), step_rows)
        if recent_tasks:
            step_ids = {(s.run_id, s.position): s.id for s in conn.execute(
                sa.select(steps.c.id, steps.c.run_id, steps.c.position)
                .where(steps.c.run_id.in_([ids[r["idempotency_key"]] for r, _, _ in recent_tasks])))}
            task_rows = []
            for r, position, step in recent_tasks:
                run_id = ids[r["idempotency_key"]]
                try:
                    title = render(step["title"], {"account": {"name": r["account_name"] or r["account_id"],
                                                               "account_id": r["account_id"]}})
                except TemplateProblem:
                    title = step["title"]
                task_rows.append(dict(
                    step_id=step_ids[(run_id, position)], run_id=run_id, account_id=r["account_id"],
                    title=title,
                    assignee=r["assignee"], due_at=r["started_at"] + timedelta(days=step["due_days"]),
                    status="open", created_at=r["started_at"],
                ))
            conn.execute(tasks.insert(), task_rows)
        audit(conn, "system", "playbook.demo_history", None, runs=len(rows), at=ts)
    held = sum(r["holdout"] for r in rows)
    say(f"  playbooks: {len(rows):,} historical runs imported ({held:,} holdout) across {len(pbs)} starter playbooks")
    return len(rows)
