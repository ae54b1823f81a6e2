"""Runs: create one run with its steps in one transaction (idempotently), read runs, tasks, alerts.

Idempotency: before inserting, the latest run of the same playbook and account is read.
Inside the dedupe window (the cooldown, at least one day for manual triggers) that run
is returned instead of a new one. Otherwise the new run's ``idempotency_key`` names the
run it follows (``pb{id}:{account}:after:{latest id or 0}``), so two concurrent triggers
(threads, tabs, processes, two ``run-due`` jobs) compute the same key and the unique
constraint lets exactly one insert win; the loser reads and returns the winner's run.
A form's submission id goes to the unique ``request_key`` for the double-click case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from data.access import Viewer, book_account_ids, csm_account_ids
from data.opstore import audit, audit_log, now
from playbooks.context import recipient
from playbooks.definitions import Playbook, PlaybookError
from playbooks.store import alert_reads, alerts, runs, steps, tasks
from playbooks.templates import render, render_json

TERMINAL_STEP = ("delivered", "skipped", "cancelled", "failed")


@dataclass
class Run:
    """One enrolment of an account in a playbook, with the score snapshot taken at that moment."""

    id: int
    playbook_id: int
    account_id: str
    account_name: str | None
    csm: str | None
    trigger_type: str
    triggered_by: str
    started_at: datetime
    assignee: str | None
    note: str | None
    holdout: bool
    status: str
    p_churn: float | None
    risk_band: str | None
    p_expansion: float | None
    arr: float | None
    model_id: str | None
    scored_at: datetime | None
    drivers: list[dict]
    created: bool = False
    playbook_name: str | None = None
    steps: list[dict] = field(default_factory=list)


def _run_from_row(row, created: bool = False) -> Run:
    m = row._mapping
    return Run(
        id=m["id"], playbook_id=m["playbook_id"], account_id=m["account_id"], account_name=m["account_name"],
        csm=m["csm"], trigger_type=m["trigger_type"], triggered_by=m["triggered_by"], started_at=m["started_at"],
        assignee=m["assignee"], note=m["note"], holdout=bool(m["holdout"]), status=m["status"],
        p_churn=m["p_churn"], risk_band=m["risk_band"], p_expansion=m["p_expansion"], arr=m["arr"],
        model_id=m["model_id"], scored_at=m["scored_at"], drivers=json.loads(m["drivers"] or "[]"), created=created,
    )


# ------------------------------------------------------------------ rendering
def template_context(playbook: Playbook, ctx: dict, *, contact: dict | None = None, triggered_by: str = "",
                     assignee: str | None = None, note: str | None = None,
                     started_at: datetime | None = None) -> dict[str, Any]:
    """Plain-data context for step templates (see :mod:`playbooks.templates`)."""
    account = ctx["account"]
    contacts = ctx.get("contacts", {})
    blank = {"name": "", "email": "", "role": ""}
    default_contact = contacts.get("champion") or next(iter(contacts.values()), None) or blank
    return {
        "account": account,
        "contact": {**blank, **(contact or default_contact)},
        "drivers": ctx.get("drivers", []),
        "score": ctx.get("score", {}),
        "playbook": {"name": playbook.name, "purpose": playbook.purpose, "resources": playbook.resources},
        "run": {"triggered_by": triggered_by, "assignee": assignee or account.get("csm") or "", "note": note or "",
                "started_at": (started_at or now()).date().isoformat()},
        "csm": {"name": account.get("csm") or ""},
    }


def render_step(playbook: Playbook, position: int, step: dict, ctx: dict, *, triggered_by: str = "",
                assignee: str | None = None, note: str | None = None,
                started_at: datetime | None = None) -> dict[str, Any]:
    """Render one step for one account: ``{kind, payload, requires_confirmation, problem}``.

    A missing recipient is a ``problem`` (the step will show as failed); a template
    error raises :class:`~playbooks.templates.TemplateProblem`.
    """
    started_at = started_at or now()
    kind = step["type"]
    where = f"{playbook.name}, step {position + 1} ({kind})"
    account = ctx["account"]
    owner = assignee or account.get("csm")
    problem = None
    contact = None
    payload: dict[str, Any] = {}
    if kind == "email":
        to = step["to"]
        if to == "csm":
            contact = {"name": account.get("csm") or "", "email": "", "role": "csm"}
            payload.update(to=None, to_csm=account.get("csm"))
            if not account.get("csm"):
                problem = f"{account['name']} has no CSM, so there is nobody to email."
        elif "@" in to:
            contact = {"name": "", "email": to, "role": ""}
            payload.update(to=to)
        else:
            contact, used = recipient(ctx.get("contacts", {}), to)
            payload.update(to=contact["email"] if contact else None, to_role=used or to)
            if used and used != to:
                payload["fallback_from"] = to
    tctx = template_context(playbook, ctx, contact=contact, triggered_by=triggered_by, assignee=owner, note=note,
                            started_at=started_at)
    if kind == "email" and payload.get("to_role") and not payload.get("to"):
        return _add_contact_task(playbook, step, tctx, where, started_at, owner)
    if kind == "task":
        payload.update(title=render(step["title"], tctx, where),
                       description=render(step.get("description") or "", tctx, where),
                       due_at=(started_at + timedelta(days=step["due_days"])).isoformat(timespec="seconds"),
                       assignee=owner)
    elif kind == "email":
        payload.update(subject=render(step["subject"], tctx, where), body=render(step["body"], tctx, where),
                       contact_name=(contact or {}).get("name", ""))
    elif kind == "webhook":
        payload.update(url=step["url"], body=render_json(step.get("body", {}), tctx, where),
                       timeout=step.get("timeout", 10.0))
    elif kind == "alert":
        to = step["to"]
        if to == "csm":
            payload.update(recipient_user=account.get("csm"), recipient_role=None)
            if not account.get("csm"):
                problem = f"{account['name']} has no CSM to alert."
        elif to.startswith("user:"):
            payload.update(recipient_user=to[5:], recipient_role=None)
        else:
            payload.update(recipient_user=None, recipient_role=to[5:])
        payload.update(message=render(step["message"], tctx, where))
    return {"kind": kind, "payload": payload, "requires_confirmation": bool(step.get("requires_confirmation")),
            "problem": problem}


ADD_CONTACT_DUE_DAYS = 2


def _add_contact_task(playbook: Playbook, step: dict, tctx: dict, where: str, started_at: datetime,
                      owner: str | None) -> dict[str, Any]:
    """An email step for an account without any contact with an email: a task for the CSM to add one."""
    account = tctx["account"]
    subject = render(step["subject"], tctx, where)
    payload = {"title": f"Add a contact with an email address for {account['name']}",
               "description": f"'{playbook.name}' wanted to email the {step['to']} contact ('{subject}'), but the "
                              "account has no active contact with an email address. Add one, then send the email.",
               "due_at": (started_at + timedelta(days=ADD_CONTACT_DUE_DAYS)).isoformat(timespec="seconds"),
               "assignee": owner,
               "instead_of": "email", "to_role": step["to"]}
    problem = None if owner else f"{account['name']} has no contact with an email address and no CSM to add one."
    return {"kind": "task", "payload": payload, "requires_confirmation": False, "problem": problem}


# ------------------------------------------------------------------ creation
def _latest_run(conn, playbook_id: int, account_id: str):
    return conn.execute(
        sa.select(runs).where(runs.c.playbook_id == playbook_id, runs.c.account_id == account_id)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(1)
    ).first()


def _find_existing(engine: sa.Engine, idempotency_key: str, request_key: str | None):
    with engine.connect() as conn:
        q = sa.select(runs).where(runs.c.idempotency_key == idempotency_key)
        if request_key:
            q = sa.select(runs).where(sa.or_(runs.c.idempotency_key == idempotency_key,
                                             runs.c.request_key == request_key))
        return conn.execute(q.order_by(runs.c.id).limit(1)).first()


def create_run(engine: sa.Engine, playbook: Playbook, ctx: dict, *, trigger_type: str, triggered_by: str,
               holdout: bool = False, assignee: str | None = None, note: str | None = None,
               request_key: str | None = None, at: datetime | None = None,
               dedupe_days: float | None = None, skip_steps: frozenset[int] | set[int] = frozenset()) -> Run:
    """Create a run with its steps, tasks and alerts in one transaction, or return the existing one.

    ``Run.created`` tells which. ``dedupe_days`` defaults to the playbook's cooldown.
    Holdout runs get their steps recorded as ``skipped`` and nothing is actioned.
    Template errors raise :class:`TemplateProblem` before anything is written.
    """
    at = at or now()
    account = ctx["account"]
    account_id = account["account_id"]
    window = timedelta(days=playbook.cooldown_days if dedupe_days is None else dedupe_days)
    with engine.connect() as conn:
        if request_key:
            row = conn.execute(sa.select(runs).where(runs.c.request_key == request_key)).first()
            if row is not None:
                return _run_from_row(row)
        latest = _latest_run(conn, playbook.id, account_id)
    if latest is not None and latest.status != "cancelled" and latest.started_at > at - window:
        return _run_from_row(latest)
    idem = f"pb{playbook.id}:{account_id}:after:{latest.id if latest is not None else 0}"

    rendered = [render_step(playbook, i, s, ctx, triggered_by=triggered_by, assignee=assignee, note=note,
                            started_at=at) for i, s in enumerate(playbook.steps)]
    for position in skip_steps:  # skipped by a person before starting: recorded, not actioned, not a failure
        if 0 <= position < len(rendered):
            rendered[position] = {**rendered[position], "problem": None, "skipped_by": triggered_by}
    score = ctx.get("score", {})
    values = dict(
        playbook_id=playbook.id, account_id=account_id, account_name=account.get("name"), csm=account.get("csm"),
        idempotency_key=idem, request_key=request_key, trigger_type=trigger_type, triggered_by=triggered_by,
        started_at=at, assignee=assignee or account.get("csm"), note=note or None, holdout=holdout,
        status="holdout" if holdout else "active", p_churn=score.get("p_churn"), risk_band=score.get("risk_band"),
        p_expansion=score.get("p_expansion"), arr=account.get("arr"), model_id=score.get("model_id"),
        scored_at=score.get("scored_at"),
        drivers=json.dumps(ctx.get("drivers", [])[:5], default=str),
    )
    try:
        with engine.begin() as conn:
            run_id = conn.execute(runs.insert().values(**values)).inserted_primary_key[0]
            for position, r in enumerate(rendered):
                _insert_step(conn, run_id, position, r, account_id, holdout, at)
            audit(conn, triggered_by, "playbook.run.create", f"run:{run_id}", playbook_id=playbook.id,
                  account_id=account_id, trigger=trigger_type, holdout=holdout)
    except sa.exc.IntegrityError:
        row = _find_existing(engine, idem, request_key)
        if row is None:
            raise
        return _run_from_row(row)
    with engine.connect() as conn:
        return _run_from_row(conn.execute(sa.select(runs).where(runs.c.id == run_id)).one(), created=True)


def create_runs_batch(engine: sa.Engine, playbook: Playbook, items: list[tuple[dict, bool]], *, trigger_type: str,
                      triggered_by: str, at: datetime | None = None) -> tuple[list[tuple[int, bool]], list[str]]:
    """Create many runs of one playbook in one transaction (the rule job's fast path).

    ``items`` are (account context, holdout flag). Accounts with a run inside the
    cooldown are left out. Returns ((run id, holdout) of the new runs, error messages).
    If another process inserted one of the runs meanwhile (unique key), the batch is
    rolled back and every item goes through :func:`create_run` one by one instead.
    """
    at = at or now()
    window = timedelta(days=playbook.cooldown_days)
    ids = [ctx["account"]["account_id"] for ctx, _ in items]
    latest: dict[str, Any] = {}
    with engine.connect() as conn:
        for chunk in range(0, len(ids), 500):
            for row in conn.execute(sa.select(runs.c.id, runs.c.account_id, runs.c.started_at, runs.c.status).where(
                    runs.c.playbook_id == playbook.id, runs.c.account_id.in_(ids[chunk:chunk + 500]))):
                cur = latest.get(row.account_id)
                if cur is None or (row.started_at, row.id) > (cur.started_at, cur.id):
                    latest[row.account_id] = row
    prepared, errors = [], []
    for ctx, holdout in items:
        account = ctx["account"]
        prev = latest.get(account["account_id"])
        if prev is not None and prev.status != "cancelled" and prev.started_at > at - window:
            continue
        try:
            rendered = [render_step(playbook, i, s, ctx, triggered_by=triggered_by, started_at=at)
                        for i, s in enumerate(playbook.steps)]
        except PlaybookError as exc:
            errors.append(f"{account['account_id']}: {exc}")
            continue
        score = ctx.get("score", {})
        prepared.append((dict(
            playbook_id=playbook.id, account_id=account["account_id"], account_name=account.get("name"),
            csm=account.get("csm"), idempotency_key=f"pb{playbook.id}:{account['account_id']}:after:"
                                                    f"{prev.id if prev is not None else 0}",
            request_key=None, trigger_type=trigger_type, triggered_by=triggered_by, started_at=at,
            assignee=account.get("csm"), note=None, holdout=holdout, status="holdout" if holdout else "active",
            p_churn=score.get("p_churn"), risk_band=score.get("risk_band"), p_expansion=score.get("p_expansion"),
            arr=account.get("arr"), model_id=score.get("model_id"), scored_at=score.get("scored_at"),
            drivers=json.dumps(ctx.get("drivers", [])[:5], default=str),
        ), rendered, ctx))
    created: list[tuple[int, bool]] = []
    try:
        with engine.begin() as conn:
            created = _insert_runs(conn, prepared, triggered_by, trigger_type, playbook.id, at)
    except sa.exc.IntegrityError:
        created = []
        for values, _, ctx in prepared:
            run = create_run(engine, playbook, ctx, trigger_type=trigger_type, triggered_by=triggered_by,
                             holdout=values["holdout"], at=at)
            if run.created:
                created.append((run.id, run.holdout))
    return created, errors


def _insert_runs(conn, prepared: list[tuple[dict, list[dict], dict]], actor: str, trigger_type: str,
                 playbook_id: int, at: datetime) -> list[tuple[int, bool]]:
    """Insert prepared runs with their steps, tasks, alerts and audit rows: one multi-row INSERT per table."""
    if not prepared:
        return []
    # multi-row INSERT ... RETURNING; the rows come back in any order, so they are matched by their keys
    key_to_run = dict(conn.execute(runs.insert().returning(runs.c.idempotency_key, runs.c.id),
                                   [values for values, _, _ in prepared]).all())
    run_ids = [key_to_run[values["idempotency_key"]] for values, _, _ in prepared]
    step_rows, step_of = [], []
    for run_id, (values, rendered, _) in zip(run_ids, prepared, strict=True):
        for position, r in enumerate(rendered):
            step_rows.append(_step_row(run_id, position, r, values["holdout"], at))
            step_of.append((run_id, values["account_id"], r["payload"]))
    step_ids: list[int] = []
    if step_rows:
        made_steps = {(run_id, position): step_id for step_id, run_id, position in conn.execute(
            steps.insert().returning(steps.c.id, steps.c.run_id, steps.c.position), step_rows).all()}
        step_ids = [made_steps[(row["run_id"], row["position"])] for row in step_rows]
    results = []
    for table, kind, label in ((tasks, "task", "task {} created"), (alerts, "alert", "alert {} posted")):
        made = [_outcome_row(kind, step_id, run_id, account_id, payload, at)
                for step_id, row, (run_id, account_id, payload) in zip(step_ids, step_rows, step_of, strict=True)
                if row["status"] == "delivered" and row["kind"] == kind]
        if made:
            results += [{"b_id": step_id, "b_result": label.format(new_id)} for new_id, step_id in conn.execute(
                table.insert().returning(table.c.id, table.c.step_id), made).all()]
    if results:
        conn.execute(steps.update().where(steps.c.id == sa.bindparam("b_id")).values(result=sa.bindparam("b_result")),
                     results)
    failed = [step_id for step_id, row in zip(step_ids, step_rows, strict=True) if row["status"] == "failed"]
    if failed:
        from playbooks.failures import alert_failed_steps

        alert_failed_steps(conn, failed, at)
    stamp = now()
    conn.execute(audit_log.insert(), [
        {"at": stamp, "actor": actor, "action": "playbook.run.create", "target": f"run:{run_id}",
         "detail": json.dumps({"playbook_id": playbook_id, "account_id": values["account_id"], "trigger": trigger_type,
                               "holdout": values["holdout"]}, default=str, sort_keys=True)}
        for run_id, (values, _, _) in zip(run_ids, prepared, strict=True)])
    return [(run_id, values["holdout"]) for run_id, (values, _, _) in zip(run_ids, prepared, strict=True)]


def _step_row(run_id: int, position: int, r: dict, holdout: bool, at: datetime) -> dict[str, Any]:
    """The outbox row of one rendered step: holdout steps are skipped, problems fail, tasks and alerts deliver."""
    kind, payload = r["kind"], r["payload"]
    status, result, error = "pending", None, None
    if holdout:
        status, result = "skipped", "holdout: recorded, not actioned"
    elif r.get("skipped_by"):
        status, result = "skipped", f"skipped by {r['skipped_by']} before starting"
    elif r["problem"]:
        status, error = "failed", r["problem"]
    elif kind in ("task", "alert"):
        status = "delivered"
    elif kind == "email" and r["requires_confirmation"]:
        status = "awaiting_confirmation"
    return dict(run_id=run_id, position=position, kind=kind, status=status, payload=json.dumps(payload, default=str),
                requires_confirmation=r["requires_confirmation"], attempts=0, max_attempts=5, result=result,
                last_error=error, created_at=at, updated_at=at, delivered_at=at if status == "delivered" else None)


def _outcome_row(kind: str, step_id: int, run_id: int, account_id: str, payload: dict, at: datetime) -> dict[str, Any]:
    """The task or alert row a delivered step creates."""
    if kind == "task":
        return dict(step_id=step_id, run_id=run_id, account_id=account_id, title=payload["title"],
                    description=payload.get("description") or None, assignee=payload.get("assignee"),
                    due_at=datetime.fromisoformat(payload["due_at"]), status="open", created_at=at)
    return dict(step_id=step_id, run_id=run_id, account_id=account_id, recipient_user=payload.get("recipient_user"),
                recipient_role=payload.get("recipient_role"), message=payload["message"], created_at=at)


def _insert_step(conn, run_id: int, position: int, r: dict, account_id: str, holdout: bool, at: datetime) -> None:
    row = _step_row(run_id, position, r, holdout, at)
    step_id = conn.execute(steps.insert().values(**row)).inserted_primary_key[0]
    if row["status"] == "failed":
        from playbooks.failures import alert_failed_steps

        alert_failed_steps(conn, [step_id], at)
    if row["status"] != "delivered":
        return
    table, label = (tasks, "task {} created") if r["kind"] == "task" else (alerts, "alert {} posted")
    new_id = conn.execute(table.insert().values(**_outcome_row(r["kind"], step_id, run_id, account_id, r["payload"],
                                                               at))).inserted_primary_key[0]
    conn.execute(steps.update().where(steps.c.id == step_id).values(result=label.format(new_id)))


def refresh_run_status(conn, run_id: int, actor: str = "system") -> None:
    """Mark an active run completed once every step is final and every task is done."""
    run = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).first()
    if run is None or run.status != "active":
        return
    open_steps = conn.execute(sa.select(sa.func.count()).select_from(steps).where(
        steps.c.run_id == run_id, steps.c.status.not_in(TERMINAL_STEP))).scalar_one()
    open_tasks = conn.execute(sa.select(sa.func.count()).select_from(tasks).where(
        tasks.c.run_id == run_id, tasks.c.status != "done")).scalar_one()
    if open_steps == 0 and open_tasks == 0:
        conn.execute(runs.update().where(runs.c.id == run_id, runs.c.status == "active")
                     .values(status="completed", completed_at=now()))
        audit(conn, actor, "playbook.run.complete", f"run:{run_id}")


def _require_in_book(engine: sa.Engine, table: sa.Table, row_id: int, viewer: Viewer | None, warehouse,
                     refusal: str) -> None:
    """Raise :class:`PlaybookError` (``refusal``) unless row ``row_id`` of ``table`` is about an account
    in the viewer's current book. Checked before the write transaction opens (it reads the warehouse)."""
    predicate = in_book(table.c.account_id, viewer, warehouse)
    if predicate is None:
        return
    with engine.connect() as conn:
        if conn.execute(sa.select(table.c.id).where(table.c.id == row_id, predicate)).first() is None:
            raise PlaybookError(refusal)


def cancel_run(engine: sa.Engine, run_id: int, actor: str, *, viewer: Viewer | None = None,
               warehouse=None) -> None:
    """Cancel an active run: undelivered steps are cancelled, open tasks closed. Audited.

    With a CSM ``viewer``, only runs of accounts in their current book.
    """
    _require_in_book(engine, runs, run_id, viewer, warehouse, f"Run {run_id} does not exist or is not in your book.")
    with engine.begin() as conn:
        res = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.status == "active")
                           .values(status="cancelled", completed_at=now()))
        if res.rowcount == 0:
            raise PlaybookError(f"Run {run_id} is not active, so it cannot be cancelled.")
        conn.execute(steps.update().where(steps.c.run_id == run_id, steps.c.status.in_(
            ("pending", "awaiting_confirmation", "held", "retry"))).values(status="cancelled", updated_at=now()))
        conn.execute(tasks.update().where(tasks.c.run_id == run_id, tasks.c.status != "done")
                     .values(status="done", completed_at=now(), completed_by=actor))
        audit(conn, actor, "playbook.run.cancel", f"run:{run_id}")


# ------------------------------------------------------------------ reading
def in_book(account_column, viewer: Viewer | None, warehouse):
    """A SQL predicate keeping rows whose account (``account_column``) is in the viewer's book *now*.

    ``None`` when nothing is filtered (no viewer, or a role that sees every account).
    The book is read from the warehouse (``accounts.csm``), never from the CSM copied
    onto operational rows when they were made, so reassigned accounts move with their
    runs, steps, tasks and alerts. A CSM viewer needs ``warehouse``: a Warehouse, or an
    open DuckDB connection such as a page's cached cursor (much cheaper per call).
    """
    if viewer is None or viewer.sees_all_accounts:
        return None
    if warehouse is None:
        raise TypeError("Scoping to a CSM's book reads the warehouse: pass warehouse=.")
    ids = book_account_ids(warehouse, viewer)
    return account_column.in_(sorted(ids)) if ids else sa.false()


def _scope(q, viewer: Viewer | None, warehouse, account_column=None):
    predicate = in_book(runs.c.account_id if account_column is None else account_column, viewer, warehouse)
    return q if predicate is None else q.where(predicate)


def list_runs(engine: sa.Engine, *, viewer: Viewer | None = None, warehouse=None, playbook_id: int | None = None,
              account_id: str | None = None, status: str | list[str] | None = None, holdout: bool | None = None,
              trigger_type: str | None = None, since: datetime | None = None, limit: int = 1000) -> pd.DataFrame:
    """Runs newest first, with the playbook name and step counts; scoped to the viewer's current book.

    ``csm`` is the account's CSM when the run started (kept for the record); scoping
    uses today's owner (see :func:`in_book`).
    """
    from playbooks.store import playbooks as playbooks_table

    step_counts = (sa.select(
        steps.c.run_id,
        sa.func.count().label("steps_total"),
        sa.func.sum(sa.case((steps.c.status == "delivered", 1), else_=0)).label("steps_delivered"),
        sa.func.sum(sa.case((steps.c.status == "failed", 1), else_=0)).label("steps_failed"),
        sa.func.sum(sa.case((steps.c.status == "awaiting_confirmation", 1), else_=0)).label("steps_awaiting"),
    ).group_by(steps.c.run_id).subquery())
    q = (sa.select(runs.c.id, runs.c.playbook_id, playbooks_table.c.name.label("playbook"), runs.c.account_id,
                   runs.c.account_name, runs.c.csm, runs.c.trigger_type, runs.c.triggered_by, runs.c.started_at,
                   runs.c.assignee, runs.c.holdout, runs.c.status, runs.c.p_churn, runs.c.risk_band,
                   runs.c.p_expansion, runs.c.model_id, step_counts.c.steps_total, step_counts.c.steps_delivered,
                   step_counts.c.steps_failed, step_counts.c.steps_awaiting)
         .join(playbooks_table, playbooks_table.c.id == runs.c.playbook_id)
         .outerjoin(step_counts, step_counts.c.run_id == runs.c.id)
         .order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit))
    q = _scope(q, viewer, warehouse)
    if playbook_id is not None:
        q = q.where(runs.c.playbook_id == playbook_id)
    if account_id is not None:
        q = q.where(runs.c.account_id == account_id)
    if status:
        q = q.where(runs.c.status.in_([status] if isinstance(status, str) else list(status)))
    if holdout is not None:
        q = q.where(runs.c.holdout.is_(holdout))
    if trigger_type:
        q = q.where(runs.c.trigger_type == trigger_type)
    if since is not None:
        q = q.where(runs.c.started_at >= since)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])


def get_run(engine: sa.Engine, run_id: int, *, viewer: Viewer | None = None, warehouse=None) -> Run:
    """One run with its steps (payload decoded), for the run detail view."""
    from playbooks.store import playbooks as playbooks_table

    with engine.connect() as conn:
        row = conn.execute(_scope(sa.select(runs).where(runs.c.id == run_id), viewer, warehouse)).first()
        if row is None:
            raise PlaybookError(f"Run {run_id} does not exist or is not in your book.")
        run = _run_from_row(row)
        run.playbook_name = conn.execute(sa.select(playbooks_table.c.name)
                                         .where(playbooks_table.c.id == run.playbook_id)).scalar_one()
        run.steps = [_step_dict(r) for r in conn.execute(
            sa.select(steps).where(steps.c.run_id == run_id).order_by(steps.c.position))]
    return run


def _step_dict(row) -> dict:
    d = dict(row._mapping)
    d["payload"] = json.loads(d["payload"] or "{}")
    d.pop("claim_token", None)
    return d


# ------------------------------------------------------------------ tasks
def _not_yours(task_id: int) -> str:
    return f"Task {task_id} does not exist or its account is not in your book."


def my_tasks(engine: sa.Engine, username: str, csm: str | None = None, *,
             status: str | list[str] | None = ("open", "snoozed"), at: datetime | None = None,
             viewer: Viewer | None = None, warehouse=None) -> pd.DataFrame:
    """Tasks assigned to the user (by username or their CSM name), soonest due first.

    A snoozed task whose snooze has passed shows as ``open`` again (``effective_status``).
    With a CSM ``viewer`` (and the ``warehouse``), only tasks of accounts in their book
    today are returned, and a task that went to the account's CSM follows the account:
    after a reassignment it is the new CSM's, no longer the old one's.
    """
    from playbooks.store import playbooks as playbooks_table

    at = at or now()
    names = [n for n in (username, csm) if n]
    assigned = tasks.c.assignee.in_(names)
    if csm and warehouse is not None:
        own = csm_account_ids(warehouse, csm)
        if own:  # addressed to "the account's CSM" (the CSM of the run's day), and the account is theirs now
            assigned = sa.or_(assigned, sa.and_(tasks.c.assignee == runs.c.csm,
                                                tasks.c.account_id.in_(sorted(own))))
    q = (sa.select(tasks, runs.c.account_name, runs.c.playbook_id, playbooks_table.c.name.label("playbook"))
         .join(runs, runs.c.id == tasks.c.run_id)
         .join(playbooks_table, playbooks_table.c.id == runs.c.playbook_id)
         .where(assigned).order_by(tasks.c.due_at, tasks.c.id))
    q = _scope(q, viewer, warehouse, tasks.c.account_id)
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


def tasks_for_account(engine: sa.Engine, account_id: str, *, open_only: bool = True, viewer: Viewer | None = None,
                      warehouse=None) -> pd.DataFrame:
    """Tasks of one account (for the Account page), soonest due first; empty outside the viewer's current book."""
    q = sa.select(tasks).where(tasks.c.account_id == account_id).order_by(tasks.c.due_at)
    q = _scope(q, viewer, warehouse, tasks.c.account_id)
    if open_only:
        q = q.where(tasks.c.status != "done")
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])


def complete_task(engine: sa.Engine, task_id: int, actor: str, *, viewer: Viewer | None = None,
                  warehouse=None) -> None:
    """Mark a task done (idempotent); completes its run when nothing else is open. Audited.

    With a CSM ``viewer``, only tasks of accounts in their current book (as for every task action).
    """
    _require_in_book(engine, tasks, task_id, viewer, warehouse, _not_yours(task_id))
    with engine.begin() as conn:
        row = conn.execute(sa.select(tasks.c.run_id, tasks.c.status).where(tasks.c.id == task_id)).first()
        if row is None:
            raise PlaybookError(f"Task {task_id} does not exist.")
        if row.status == "done":
            return
        conn.execute(tasks.update().where(tasks.c.id == task_id, tasks.c.status != "done")
                     .values(status="done", completed_at=now(), completed_by=actor))
        audit(conn, actor, "playbook.task.complete", f"task:{task_id}")
        refresh_run_status(conn, row.run_id, actor)


def snooze_task(engine: sa.Engine, task_id: int, actor: str, until: datetime, *, viewer: Viewer | None = None,
                warehouse=None) -> None:
    """Hide a task until ``until`` (it shows as open again afterwards). Audited."""
    if until <= now():
        raise PlaybookError("Snooze until a time in the future.")
    _require_in_book(engine, tasks, task_id, viewer, warehouse, _not_yours(task_id))
    with engine.begin() as conn:
        res = conn.execute(tasks.update().where(tasks.c.id == task_id, tasks.c.status != "done")
                           .values(status="snoozed", snoozed_until=until))
        if res.rowcount == 0:
            raise PlaybookError(f"Task {task_id} does not exist or is already done.")
        audit(conn, actor, "playbook.task.snooze", f"task:{task_id}", until=until)


def reopen_task(engine: sa.Engine, task_id: int, actor: str, *, viewer: Viewer | None = None,
                warehouse=None) -> None:
    """Open a done or snoozed task again. Audited."""
    _require_in_book(engine, tasks, task_id, viewer, warehouse, _not_yours(task_id))
    with engine.begin() as conn:
        res = conn.execute(tasks.update().where(tasks.c.id == task_id)
                           .values(status="open", snoozed_until=None, completed_at=None, completed_by=None))
        if res.rowcount == 0:
            raise PlaybookError(f"Task {task_id} does not exist.")
        audit(conn, actor, "playbook.task.reopen", f"task:{task_id}")


# ------------------------------------------------------------------ alerts
def alerts_for(engine: sa.Engine, username: str, roles: tuple[str, ...] | list[str] = (), csm: str | None = None,
               *, unread_only: bool = False, limit: int = 200, viewer: Viewer | None = None,
               warehouse=None) -> pd.DataFrame:
    """Alerts to the user (by username or CSM name) or to one of their roles, newest first, with ``read``.

    An alert to ``role:csm`` or to the account's CSM is for the account's CSM *today*:
    it reaches a CSM only while the account is in their book (read from ``warehouse``;
    without it such alerts reach nobody by role). With a CSM ``viewer``, alerts about
    accounts outside their current book are left out altogether.
    """
    names = [n for n in (username, csm) if n]
    other_roles = [r for r in roles if r != "csm"]
    addressed = [alerts.c.recipient_user.in_(names)]
    if other_roles:
        addressed.append(alerts.c.recipient_role.in_(other_roles))
    if csm and warehouse is not None:
        own = sorted(csm_account_ids(warehouse, csm))
        if own:
            mine_now = alerts.c.account_id.in_(own)
            addressed.append(sa.and_(alerts.c.recipient_user == runs.c.csm, mine_now))
            if "csm" in roles:
                addressed.append(sa.and_(alerts.c.recipient_role == "csm", mine_now))
    read = (sa.select(alert_reads.c.alert_id).where(alert_reads.c.username == username)).subquery()
    q = (sa.select(alerts, (read.c.alert_id.is_not(None)).label("read"))
         .join(runs, runs.c.id == alerts.c.run_id)
         .outerjoin(read, read.c.alert_id == alerts.c.id)
         .where(sa.or_(*addressed))
         .order_by(alerts.c.created_at.desc(), alerts.c.id.desc()).limit(limit))
    q = _scope(q, viewer, warehouse, alerts.c.account_id)
    if unread_only:
        q = q.where(read.c.alert_id.is_(None))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])


def unread_alert_count(engine: sa.Engine, username: str, roles: tuple[str, ...] | list[str] = (),
                       csm: str | None = None, *, viewer: Viewer | None = None, warehouse=None) -> int:
    return len(alerts_for(engine, username, roles, csm, unread_only=True, viewer=viewer, warehouse=warehouse))


def mark_alert_read(engine: sa.Engine, alert_id: int, username: str) -> None:
    """Mark one alert read for this user (idempotent)."""
    try:
        with engine.begin() as conn:
            conn.execute(alert_reads.insert().values(alert_id=alert_id, username=username, read_at=now()))
    except sa.exc.IntegrityError:
        pass


def mark_all_alerts_read(engine: sa.Engine, username: str, roles: tuple[str, ...] | list[str] = (),
                         csm: str | None = None, *, viewer: Viewer | None = None, warehouse=None) -> int:
    """Mark every unread alert of the user read (as :func:`alerts_for` scopes them); returns how many."""
    unread = alerts_for(engine, username, roles, csm, unread_only=True, limit=10_000, viewer=viewer,
                        warehouse=warehouse)
    for alert_id in unread["id"].tolist():
        mark_alert_read(engine, int(alert_id), username)
    return len(unread)
