"""Runs: create one run with its steps in one transaction (idempotently), cancel it, read runs.

Idempotency: before inserting, the latest run of the same playbook and account is read.
Inside the dedupe window (the cooldown, at least one day for manual triggers) that run
is returned instead of a new one. Otherwise the new run's ``idempotency_key`` names the
run it follows (``pb{id}:{account}:after:{latest id or 0}``), so two concurrent triggers
(threads, tabs, processes, two ``run-due`` jobs) compute the same key and the unique
constraint lets exactly one insert win; the loser reads and returns the winner's run.
A form's submission id goes to the unique ``request_key`` for the double-click case.

Readers and the cancel action take the :class:`~data.access.Viewer` asking and are scoped
to its current book (:mod:`playbooks.scoping`). Steps are rendered by
:mod:`playbooks.rendering`; tasks and alerts are read and acted on in :mod:`playbooks.tasks`
and :mod:`playbooks.alerts`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from data.access import Viewer
from data.opstore import audit, audit_log, now
from playbooks.definitions import Playbook, PlaybookError
from playbooks.failures import alert_failed_steps
from playbooks.rendering import render_step
from playbooks.scoping import require_in_book, scoped
from playbooks.store import alerts, runs, steps, tasks
from playbooks.store import playbooks as playbooks_table

__all__ = [
    "TERMINAL_STEP", "Run", "cancel_run", "create_run", "create_runs_batch", "get_run",
    "list_runs", "refresh_run_status",
]

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


def cancel_run(engine: sa.Engine, viewer: Viewer, run_id: int, *, warehouse=None) -> None:
    """Cancel an active run for ``viewer``: undelivered steps are cancelled, open tasks closed. Audited.

    A CSM may cancel only runs of accounts in their current book (read from ``warehouse``).
    """
    require_in_book(engine, runs, run_id, viewer, warehouse, f"Run {run_id} does not exist or is not in your book.")
    actor = viewer.username
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
def list_runs(engine: sa.Engine, viewer: Viewer, *, warehouse=None, playbook_id: int | None = None,
              account_id: str | None = None, status: str | list[str] | None = None, holdout: bool | None = None,
              trigger_type: str | None = None, since: datetime | None = None, limit: int = 1000) -> pd.DataFrame:
    """Runs newest first, with the playbook name and step counts; scoped to the viewer's current book.

    ``csm`` is the account's CSM when the run started (kept for the record); scoping
    uses today's owner (see :func:`~playbooks.scoping.in_book`).
    """
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
    q = scoped(q, viewer, warehouse, runs.c.account_id)
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


def get_run(engine: sa.Engine, viewer: Viewer, run_id: int, *, warehouse=None) -> Run:
    """One run with its steps (payload decoded), for the run detail view; refused outside the viewer's book."""
    with engine.connect() as conn:
        row = conn.execute(scoped(sa.select(runs).where(runs.c.id == run_id), viewer, warehouse,
                                  runs.c.account_id)).first()
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
