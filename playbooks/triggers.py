"""Triggers: a person starts a playbook (one account or a selection), or a rule enrolls accounts.

Manual triggers dedupe within the playbook's cooldown (at least one day), so a double
click or a second tab returns the run the first one created. Rule runs (``run_rules``,
called by ``cli.py playbooks run-due`` after scoring) enroll every active account that
matches all criteria of the rule and is not in cooldown; a random ``holdout_pct`` of
them is recorded as holdout and never actioned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data.access import NotInBook, Viewer
from data.opstore import audit, now
from data.readmodel import RULE_MODEL_ID
from playbooks.contacts import with_contact_edits, with_edited_contacts
from playbooks.context import account_context, account_contexts, eligibility_frame
from playbooks.definitions import Playbook, PlaybookError, get_playbook, list_playbooks
from playbooks.holdout import draw_holdout
from playbooks.rendering import ADD_CONTACT_DUE_DAYS, render_step
from playbooks.runs import Run, create_run, create_runs_batch
from playbooks.store import runs, steps
from playbooks.templates import TemplateProblem

RULE_BATCH = 1000  # runs per transaction: large enough to be fast, short enough not to block other writers


def _check_scope(viewer: Viewer | None, ctx: dict) -> None:
    if viewer is None or viewer.sees_all_accounts:
        return
    if not viewer.csm or ctx["account"].get("csm") != viewer.csm:
        raise NotInBook(f"Account {ctx['account']['account_id']} is not in your book.")


def _active_playbook(engine: sa.Engine, playbook_id: int) -> Playbook:
    pb = get_playbook(engine, playbook_id)
    if not pb.active:
        raise PlaybookError(f"Playbook {pb.name!r} is deactivated; activate it in the library first.")
    return pb


def preview_steps(engine: sa.Engine, warehouse, playbook_id: int, account_id: str, *, assignee: str | None = None,
                  actor: str = "", note: str | None = None) -> list[dict]:
    """What starting the playbook for this account would do, step by step (nothing is written).

    Each item: ``position``, ``kind``, ``summary`` (one line), ``payload`` (rendered),
    ``requires_confirmation``, ``problem`` (why the step would fail, or None).
    """
    pb = get_playbook(engine, playbook_id)
    ctx = account_context(warehouse, account_id)
    if ctx is None:
        raise PlaybookError(f"Account {account_id} does not exist.")
    ctx = with_edited_contacts(engine, warehouse, ctx)
    out = []
    for i, step in enumerate(pb.steps):
        try:
            r = render_step(pb, i, step, ctx, triggered_by=actor, assignee=assignee, note=note)
        except TemplateProblem as exc:
            out.append({"position": i, "kind": step["type"], "summary": f"{step['type']}: cannot render",
                        "payload": {}, "requires_confirmation": False, "problem": str(exc)})
            continue
        out.append({"position": i, "kind": r["kind"], "summary": _summary(r["kind"], r["payload"], step),
                    "payload": r["payload"], "requires_confirmation": r["requires_confirmation"],
                    "problem": r["problem"]})
    return out


def _summary(kind: str, p: dict, step: dict) -> str:
    if kind == "task":
        days = step.get("due_days", ADD_CONTACT_DUE_DAYS)  # an email with nobody to write to is a task instead
        return f"Task for {p.get('assignee') or 'the CSM'}: {p['title']} (due in {days} day{'' if days == 1 else 's'})"
    if kind == "email":
        who = p.get("to") or (f"CSM {p['to_csm']}" if p.get("to_csm") else f"{step['to']} (no address)")
        if p.get("fallback_from"):
            who += f" (no active {p['fallback_from']} contact)"
        wait = ", sent after you confirm it" if step.get("requires_confirmation") else ""
        return f"Email to {who}: {p['subject']}{wait}"
    if kind == "webhook":
        return f"Webhook POST to {p['url']}"
    if p.get("recipient_user"):
        who = p["recipient_user"]
    elif p.get("recipient_role") == "csm":  # role:csm reaches the account's CSM only (playbooks.alerts)
        who = "the account's CSM"
    elif p.get("recipient_role"):
        who = f"everyone with role {p['recipient_role']}"
    else:  # to the account's CSM, and the account has none (the step's problem says so)
        who = "the account's CSM (none set)"
    return f"Alert to {who}: {p['message']}"


def trigger_manual(engine: sa.Engine, warehouse, playbook_id: int, account_id: str, *, actor: str,
                   assignee: str | None = None, note: str | None = None, idempotency_key: str | None = None,
                   viewer: Viewer | None = None, at: datetime | None = None,
                   skip_steps: frozenset[int] | set[int] = frozenset()) -> Run:
    """Start a playbook for one account by hand; returns the run (``run.created`` False if it already existed).

    ``idempotency_key`` is the form's submission id (e.g. a uuid kept in session state).
    ``skip_steps`` are step positions the person chose to skip before starting (recorded as skipped).
    Raises :class:`PlaybookError` when the account is in this playbook's holdout (so its
    effect can be measured) and :class:`~data.access.NotInBook` outside the viewer's book.
    """
    pb = _active_playbook(engine, playbook_id)
    ctx = account_context(warehouse, account_id)
    if ctx is None:
        raise PlaybookError(f"Account {account_id} does not exist.")
    ctx = with_edited_contacts(engine, warehouse, ctx)
    _check_scope(viewer, ctx)
    run = create_run(engine, pb, ctx, trigger_type="manual", triggered_by=actor, assignee=assignee or None,
                     note=note, request_key=f"manual:{idempotency_key}" if idempotency_key else None, at=at,
                     dedupe_days=max(pb.cooldown_days, 1), skip_steps=skip_steps)
    if run.holdout and not run.created:
        until = run.started_at + timedelta(days=pb.cooldown_days)
        raise PlaybookError(f"{ctx['account']['name']} is in the holdout group of {pb.name!r} until "
                            f"{until:%Y-%m-%d}, so the playbook's effect can be measured; choose another playbook.")
    return run


@dataclass
class BulkResult:
    """Outcome of a bulk trigger: new runs, runs that already existed, and per-account errors."""

    created: list[Run] = field(default_factory=list)
    existing: list[Run] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def trigger_bulk(engine: sa.Engine, warehouse, playbook_id: int, account_ids: list[str], *, actor: str,
                 assignee: str | None = None, note: str | None = None, idempotency_key: str | None = None,
                 viewer: Viewer | None = None) -> BulkResult:
    """Start a playbook for a selection of accounts (each idempotent); problems are collected, not raised."""
    pb = _active_playbook(engine, playbook_id)
    contexts = with_contact_edits(engine, warehouse, account_contexts(warehouse, list(account_ids)))
    result = BulkResult()
    for account_id in dict.fromkeys(account_ids):
        ctx = contexts.get(account_id)
        if ctx is None:
            result.errors[account_id] = "account does not exist"
            continue
        try:
            _check_scope(viewer, ctx)
            run = create_run(engine, pb, ctx, trigger_type="manual", triggered_by=actor, assignee=assignee or None,
                             note=note, dedupe_days=max(pb.cooldown_days, 1),
                             request_key=f"bulk:{idempotency_key}:{account_id}" if idempotency_key else None)
        except (PlaybookError, NotInBook, TemplateProblem) as exc:
            result.errors[account_id] = str(exc)
            continue
        if run.holdout and not run.created:
            result.errors[account_id] = f"in the holdout group of {pb.name!r}"
        else:
            (result.created if run.created else result.existing).append(run)
    with engine.begin() as conn:
        audit(conn, actor, "playbook.bulk_trigger", f"playbook:{playbook_id}", accounts=len(account_ids),
              created=len(result.created), existing=len(result.existing), errors=len(result.errors))
    return result


# ------------------------------------------------------------------ rules
def rule_mask(frame: pd.DataFrame, rule: dict) -> pd.Series:
    """Which rows of :func:`~playbooks.context.eligibility_frame` meet every criterion (and are active).

    ``top_driver_groups`` matches when one of the account's top three risk-raising
    drivers belongs to one of the groups (the strongest alone is too often Contract).
    """
    m = frame["active"].fillna(False).astype(bool)
    if "risk_bands" in rule:
        m &= frame["risk_band"].isin(rule["risk_bands"])
    if "min_p_churn" in rule:  # a probability: the rule health score (scores without a model) has none
        p = pd.to_numeric(frame["p_churn"], errors="coerce")
        if "model_id" in frame:
            p = p.where(frame["model_id"].astype("object") != RULE_MODEL_ID)
        m &= p.fillna(-1) >= rule["min_p_churn"]
    if "top_driver_groups" in rule:
        wanted = set(rule["top_driver_groups"])
        m &= frame["top_driver_groups"].apply(lambda groups: bool(wanted.intersection(groups)))
    if "segments" in rule:
        m &= frame["segment"].isin(rule["segments"])
    if "max_days_to_renewal" in rule:
        d = pd.to_numeric(frame["days_to_renewal"], errors="coerce")
        m &= d.notna() & (d >= 0) & (d <= rule["max_days_to_renewal"])
    if "min_p_expansion" in rule:
        m &= pd.to_numeric(frame["p_expansion"], errors="coerce").fillna(-1) >= rule["min_p_expansion"]
    return m & frame["p_churn"].notna()


def can_act(playbook, ctx: dict) -> bool:
    """Whether every step of ``playbook`` has someone to act for the account: an email to a contact role
    falls back to other contacts, then to a task for the CSM; emails and alerts to the CSM need one."""
    has_csm = bool(ctx["account"].get("csm"))
    contacts = ctx.get("contacts", {})
    for step in playbook.steps:
        to = step.get("to", "")
        if step["type"] in ("email", "alert") and to == "csm" and not has_csm:
            return False
        if step["type"] == "email" and to != "csm" and "@" not in to and not contacts and not has_csm:
            return False
    return True


@dataclass
class RuleReport:
    """What a rule pass did: new runs (of which holdout), accounts skipped by cooldown, and notes."""

    runs_created: int = 0
    holdout: int = 0
    eligible: int = 0
    in_cooldown: int = 0
    already_enrolled: int = 0
    skipped_no_recipient: int = 0
    errors: int = 0
    steps_delivered: int = 0
    steps_failed: int = 0
    per_playbook: dict[str, dict] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def run_rules(engine: sa.Engine, warehouse, *, at: datetime | None = None, playbook_ids: list[int] | None = None,
              rng: np.random.Generator | None = None, actor: str = "rule") -> RuleReport:
    """Evaluate every active rule playbook once and enroll the matching accounts.

    Safe to run twice or concurrently: cooldown and the run idempotency key make a
    second pass create nothing. Without scores nobody is enrolled (a message says so).
    """
    at = at or now()
    report = RuleReport()
    pbs = [p for p in list_playbooks(engine) if p.is_rule and (playbook_ids is None or p.id in playbook_ids)]
    if not pbs:
        report.messages.append("No active rule-triggered playbooks.")
        return report
    frame, has_scores = eligibility_frame(warehouse)
    if not has_scores:
        report.messages.append("No scores yet, so no rule can enroll anyone; run `cli.py score` first.")
        return report
    rng = rng if rng is not None else np.random.default_rng()
    plans = []  # (playbook, stats, accounts to enroll, holdout flags), in playbook order
    for pb in pbs:
        stats = {"eligible": 0, "in_cooldown": 0, "runs_created": 0, "holdout": 0, "already_enrolled": 0,
                 "skipped_no_recipient": 0, "errors": 0}
        eligible = frame.loc[rule_mask(frame, pb.rule), "account_id"].tolist()
        stats["eligible"] = len(eligible)
        todo: list[str] = []
        if eligible:
            with engine.connect() as conn:
                recent = set(conn.execute(
                    sa.select(runs.c.account_id).where(
                        runs.c.playbook_id == pb.id, runs.c.status != "cancelled",
                        runs.c.started_at > at - timedelta(days=pb.cooldown_days))
                ).scalars())
            todo = [a for a in eligible if a not in recent]
            stats["in_cooldown"] = len(eligible) - len(todo)
        plans.append((pb, stats, todo, draw_holdout(len(todo), pb.holdout_pct, rng)))
    wanted = list(dict.fromkeys(a for _, _, todo, _ in plans for a in todo))
    # one read for every playbook; contacts added or deactivated in the app count, as for a manual start
    contexts = with_contact_edits(engine, warehouse, account_contexts(warehouse, wanted)) if wanted else {}
    created_ids: list[int] = []
    for pb, stats, todo, flags in plans:
        if stats["eligible"]:
            known = [(contexts[a], bool(f)) for a, f in zip(todo, flags, strict=True) if a in contexts]
            items = [(ctx, f) for ctx, f in known if can_act(pb, ctx)]
            stats["skipped_no_recipient"] = len(known) - len(items)
            for chunk in range(0, len(items), RULE_BATCH):
                made, errors = create_runs_batch(engine, pb, items[chunk:chunk + RULE_BATCH], trigger_type="rule",
                                                 triggered_by=actor, at=at)
                created_ids.extend(run_id for run_id, _ in made)
                stats["runs_created"] += len(made)
                stats["holdout"] += sum(h for _, h in made)
                stats["errors"] += len(errors)
                report.messages.extend(f"{pb.name}, {e}" for e in errors[: max(0, 20 - len(report.messages))])
            stats["already_enrolled"] = len(items) - stats["runs_created"] - stats["errors"]
        report.per_playbook[pb.name] = stats
        for k in ("eligible", "in_cooldown", "runs_created", "holdout", "already_enrolled", "skipped_no_recipient",
                  "errors"):
            setattr(report, k, getattr(report, k) + stats[k])
    for chunk in range(0, len(created_ids), 500):
        ids = created_ids[chunk:chunk + 500]
        with engine.connect() as conn:
            counts = dict(conn.execute(sa.select(steps.c.status, sa.func.count()).where(steps.c.run_id.in_(ids))
                                       .group_by(steps.c.status)).all())
        report.steps_delivered += counts.get("delivered", 0)
        report.steps_failed += counts.get("failed", 0)
    with engine.begin() as conn:
        audit(conn, actor, "playbook.rules.run", None, runs_created=report.runs_created, holdout=report.holdout,
              eligible=report.eligible, in_cooldown=report.in_cooldown)
    return report
