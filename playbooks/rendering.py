"""Rendering: a playbook step's templates filled in for one account, before anything is written.

Pure functions of the playbook, the step and the account context from
:mod:`playbooks.context`; the run, its steps and their tasks and alerts are written by
:mod:`playbooks.runs`. The trigger form's preview renders through the same functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from data.opstore import now
from playbooks.context import recipient
from playbooks.definitions import Playbook
from playbooks.templates import render, render_json

ADD_CONTACT_DUE_DAYS = 2
"""Days a CSM gets to add a contact when an email step finds nobody to write to."""


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


