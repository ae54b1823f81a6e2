"""Starter playbooks for the common driver groups, seeded once per operational store.

Each targets one driver group (the group of the account's top churn driver), has a
rule trigger with a 20 % holdout so its effect is measured, a 60-day cooldown, and links
the Learn resource of its group (``content/resources/<group>.md``). The keys match the
sample company's ``sample_playbook_history.playbook`` values.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from data.opstore import audit, now
from playbooks.definitions import PlaybookError, create_playbook
from playbooks.store import playbooks as playbooks_table

_SIGNATURE = "\n\nBest regards,\n{{ csm.name }}\nCustomer Success"
_DRIVER_LINES = "{% for d in drivers[:3] %}\n- {{ d.sentence }}{% endfor %}"

STARTER_PLAYBOOKS: list[dict] = [
    {
        "key": "usage_drop",
        "name": "Usage drop: re-engage",
        "purpose": "Usage fell. Find out why while the account still cares, and get the main workflow running again.",
        "driver_groups": ["Usage", "Adoption"],
        "rule": {"risk_bands": ["medium", "high"], "top_driver_groups": ["Usage", "Adoption"]},
        "resources": ["usage", "adoption"],
        "steps": [
            {"type": "task", "title": "Call {{ account.name }} about the usage drop", "due_days": 2,
             "description": "What the model sees:" + _DRIVER_LINES
             + "\nAsk what changed (team, project, tool) and agree one concrete next step."},
            {"type": "email", "to": "champion", "subject": "Getting the most out of the platform at {{ account.name }}",
             "body": "Hi {{ contact.name }},\n\nI noticed your team has been using the platform less over the last "
                     "weeks. If something is getting in the way, I would like to help: a 30-minute working session "
                     "on your main workflow usually pays off quickly. Would next week suit you?" + _SIGNATURE},
            {"type": "task", "title": "Check usage of {{ account.name }} two weeks after the call", "due_days": 16},
        ],
    },
    {
        "key": "payment_failure",
        "name": "Payment failure: billing follow-up",
        "purpose": "A payment failed. Fix it before it becomes involuntary churn, and check whether it hides a "
                   "budget or sponsor problem.",
        "driver_groups": ["Billing"],
        "rule": {"risk_bands": ["medium", "high"], "top_driver_groups": ["Billing"]},
        "resources": ["billing"],
        "steps": [
            {"type": "task", "title": "Resolve the failed payment of {{ account.name }}", "due_days": 1,
             "description": "Check the invoice status with finance, then contact the billing admin."},
            {"type": "email", "to": "admin", "subject": "Your recent invoice for {{ account.name }}",
             "body": "Hi {{ contact.name }},\n\nA recent payment for your subscription did not go through. This "
                     "happens, often because a card expired. Could you check the payment method, or tell me if "
                     "you would prefer an invoice? I am happy to help." + _SIGNATURE},
            {"type": "alert", "to": "role:manager",
             "message": "Payment failed at {{ account.name }} (ARR {{ account.arr | round | int }})."},
        ],
    },
    {
        "key": "champion_loss",
        "name": "Champion loss: rebuild the relationship",
        "purpose": "The internal champion left. Find and onboard a new one before the renewal conversation.",
        "driver_groups": ["Relationship"],
        "rule": {"risk_bands": ["medium", "high"], "top_driver_groups": ["Relationship"]},
        "resources": ["relationship"],
        "steps": [
            {"type": "task", "title": "Identify a new champion at {{ account.name }}", "due_days": 3,
             "description": "Look at the most active users and the admin; ask the executive sponsor who owns "
                            "the tool now."},
            {"type": "email", "to": "executive", "subject": "Keeping {{ account.name }}'s rollout on track",
             "body": "Hi {{ contact.name }},\n\nWith the recent change in your team, I want to make sure the "
                     "people now running the platform have what they need. Could you point me to who owns it "
                     "today? I would offer them a short onboarding session." + _SIGNATURE},
            {"type": "task", "title": "Run an onboarding session for the new champion at {{ account.name }}",
             "due_days": 14},
        ],
    },
    {
        "key": "support_pain",
        "name": "Support pain: escalation review",
        "purpose": "Several severe tickets. Show the account that someone owns the problem end to end.",
        "driver_groups": ["Support"],
        "rule": {"risk_bands": ["medium", "high"], "top_driver_groups": ["Support"]},
        "resources": ["support"],
        "steps": [
            {"type": "task", "title": "Review open and recent tickets of {{ account.name }} with support", "due_days": 1},
            {"type": "alert", "to": "role:manager",
             "message": "Support pain at {{ account.name }}: escalation review started by {{ run.triggered_by }}."},
            {"type": "email", "to": "champion", "subject": "Your recent support requests",
             "body": "Hi {{ contact.name }},\n\nI saw that your team ran into several issues recently. I am "
                     "sorry for the trouble. I have reviewed them with our support team and would like to walk "
                     "you through what we are doing about each. Do you have 20 minutes this week?" + _SIGNATURE},
            {"type": "task", "title": "Confirm with {{ account.name }} that the issues are resolved", "due_days": 10},
        ],
    },
    {
        "key": "low_nps",
        "name": "Low NPS: detractor follow-up",
        "purpose": "A detractor answer. Close the loop: thank, ask, and act on what you hear.",
        "driver_groups": ["Sentiment"],
        "rule": {"risk_bands": ["medium", "high"], "top_driver_groups": ["Sentiment"]},
        "resources": ["sentiment"],
        "steps": [
            {"type": "email", "to": "champion", "subject": "Thank you for your feedback",
             "body": "Hi {{ contact.name }},\n\nThank you for your honest feedback in our survey. I would like to "
                     "understand what would make the biggest difference for your team. Could we talk for 15 "
                     "minutes?" + _SIGNATURE},
            {"type": "task", "title": "Log the detractor feedback of {{ account.name }} and agree an action",
             "due_days": 5},
        ],
    },
    {
        "key": "renewal_90d",
        "name": "Renewal in 90 days: prepare",
        "purpose": "Renewal is near and risk is not low. Prepare the value story and surface objections early.",
        "driver_groups": ["Contract"],
        "rule": {"risk_bands": ["medium", "high"], "max_days_to_renewal": 90},
        "resources": ["contract"],
        "steps": [
            {"type": "task", "title": "Prepare the renewal review for {{ account.name }}", "due_days": 7,
             "description": "Renewal on {{ account.renewal_date }}. Summarise outcomes achieved, usage trend and "
                            "open risks:" + _DRIVER_LINES},
            {"type": "email", "to": "champion", "subject": "Planning ahead for your renewal",
             "body": "Hi {{ contact.name }},\n\nYour subscription renews on {{ account.renewal_date }}. Before "
                     "then I would like to review what the platform has delivered for {{ account.name }} and "
                     "what you want from the next year. When would suit you?" + _SIGNATURE},
            {"type": "alert", "to": "csm",
             "message": "{{ account.name }} renews on {{ account.renewal_date }}; renewal prep started."},
        ],
    },
    {
        "key": "expansion",
        "name": "Expansion: offer more seats",
        "purpose": "A healthy account is close to its seat limit. Offer room to grow before it becomes friction.",
        "driver_groups": ["Adoption"],
        "rule": {"risk_bands": ["low"], "min_p_expansion": 0.3},
        "resources": ["adoption"],
        "steps": [
            {"type": "task", "title": "Discuss growth plans with {{ account.name }}", "due_days": 5},
            {"type": "email", "to": "champion", "subject": "Room to grow at {{ account.name }}",
             "body": "Hi {{ contact.name }},\n\nYour team is using almost all of its seats, which is great to "
                     "see. If more colleagues should join, I can put together an option that fits your plans. "
                     "Shall we talk?" + _SIGNATURE},
        ],
    },
]

_seeded: set[str] = set()
_seeded_lock = threading.Lock()


def seed_new_workspace(engine: sa.Engine) -> int:
    """The starter playbooks of a new workspace, written when its store is created (``data.opstore.SEEDERS``).

    Part of the workspace's creation, before anyone acts in it, so no audit rows: the rows
    themselves say ``starter`` and ``created_by = 'system'``.
    """
    return ensure_starter_playbooks(engine, audited=False)


def ensure_starter_playbooks(engine: sa.Engine, *, audited: bool = True) -> int:
    """Insert the starter playbooks that are missing (by key); returns how many were added.

    Idempotent and safe when several processes seed at once (the key is unique). A
    starter that was edited or deactivated is left as it is.
    """
    url = str(engine.url)
    with _seeded_lock:
        if url in _seeded:
            return 0
    with engine.connect() as conn:
        existing = set(conn.execute(sa.select(playbooks_table.c.key)).scalars())
    added = 0
    for spec in STARTER_PLAYBOOKS:
        if spec["key"] in existing:
            continue
        try:
            create_playbook(engine, "system", starter=True, cooldown_days=60, holdout_pct=20.0, horizon_days=90,
                            audited=audited, **spec)
            added += 1
        except PlaybookError:
            pass  # another process seeded it (or a user took the name) a moment ago
    if added and audited:
        with engine.begin() as conn:
            audit(conn, "system", "playbook.seed_starters", None, added=added, at=now())
    with _seeded_lock:
        _seeded.add(url)
    return added
