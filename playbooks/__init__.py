"""Playbooks: definitions, triggers (manual and rules with holdouts), runs, outbox delivery, outcomes.

A plain library (no Streamlit). Pages and notebooks call the functions re-exported here;
``cli.py playbooks run-due`` calls :func:`run_due` after scoring.
"""

from __future__ import annotations

import sqlalchemy as sa

from playbooks.definitions import (
    Playbook,
    PlaybookError,
    create_playbook,
    deactivate_playbook,
    get_playbook,
    list_playbooks,
    set_active,
    update_playbook,
    validate_rule,
    validate_steps,
)
from playbooks.outbox import cancel_step, confirm_email, dispatch_due, list_outbox, retry_step
from playbooks.outcomes import outcomes_frame, playbook_outcomes
from playbooks.resources import list_resources, resource_text
from playbooks.runs import (
    Run,
    alerts_for,
    cancel_run,
    complete_task,
    get_run,
    list_runs,
    mark_alert_read,
    mark_all_alerts_read,
    my_tasks,
    reopen_task,
    snooze_task,
    tasks_for_account,
    unread_alert_count,
)
from playbooks.starter import ensure_starter_playbooks
from playbooks.store import steps
from playbooks.triggers import preview_steps, run_rules, trigger_bulk, trigger_manual


def run_due(engine, warehouse, settings, *, at=None, rng=None) -> dict:
    """Evaluate the rules, then deliver due outbox steps; the summary ``cli.py playbooks run-due`` prints.

    ``steps_delivered`` counts tasks and alerts created by new runs plus emails and
    webhooks sent in this pass; ``steps_failed`` counts steps that failed at creation
    (e.g. no contact address) plus failed delivery attempts (some will be retried).
    ``skipped_no_recipient`` counts eligible accounts a playbook could not act on (no contact with an
    email and no CSM to add one): they are not enrolled.
    """
    rules = run_rules(engine, warehouse, at=at, rng=rng)
    sent = dispatch_due(engine, settings, at=at)
    return {
        "runs_created": rules.runs_created,
        "holdout": rules.holdout,
        "eligible": rules.eligible,
        "in_cooldown": rules.in_cooldown,
        "already_enrolled": rules.already_enrolled,
        "skipped_no_recipient": rules.skipped_no_recipient,
        "steps_delivered": rules.steps_delivered + sent.delivered,
        "steps_failed": rules.steps_failed + sent.attempts_failed,
        "steps_awaiting_confirmation": _awaiting(engine),
        "steps_retrying": sent.retrying,
        "steps_held": sent.held,
        "per_playbook": rules.per_playbook,
        "messages": rules.messages + sent.errors[:20],
    }


def _awaiting(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(steps)
                            .where(steps.c.status == "awaiting_confirmation")).scalar_one()


__all__ = [
    "Playbook", "PlaybookError", "Run", "alerts_for", "cancel_run", "cancel_step", "complete_task", "confirm_email",
    "create_playbook", "deactivate_playbook", "dispatch_due", "ensure_starter_playbooks", "get_playbook", "get_run",
    "list_outbox", "list_playbooks", "list_resources", "list_runs", "mark_alert_read", "mark_all_alerts_read",
    "my_tasks", "outcomes_frame", "playbook_outcomes", "preview_steps", "reopen_task", "resource_text", "retry_step",
    "run_due", "run_rules", "set_active", "snooze_task", "tasks_for_account", "trigger_bulk", "trigger_manual",
    "unread_alert_count", "update_playbook", "validate_rule", "validate_steps",
]
