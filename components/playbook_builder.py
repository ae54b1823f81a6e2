"""Form-based playbook editing: a rule builder, a step builder and a preview for a sample account.

Managers build a playbook's trigger rule (risk bands, minimum churn risk, driver groups,
segments, renewal window, minimum expansion chance) and its steps (task, email, webhook,
alert) with ordinary widgets instead of typing JSON. Power users keep a JSON box under
"Advanced"; when filled, it replaces the builder's rule or steps.

The builder only *collects* values: it never validates them itself. Saving goes through
:func:`playbooks.create_playbook` / :func:`playbooks.update_playbook`, whose
``validate_rule`` / ``validate_steps`` (with the workspace's ``allow_hosts``) are the single
check, and the preview runs the same validation before rendering a step, so it shows the
message a save would give. Everything here is drawn inside the caller's ``st.form``: the
add, move and remove buttons are form submit buttons, so no typed value is lost.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import streamlit as st

from data.vocabulary import CONTACT_ROLES, METRIC_GROUPS, RISK_BANDS, ROLES
from playbooks.definitions import Playbook, validate_rule, validate_steps
from playbooks.errors import PlaybookError, TemplateProblem
from playbooks.rendering import render_step

STEP_LABELS = {"task": "Task for the CSM", "email": "Email", "webhook": "Webhook (POST to a system)",
               "alert": "In-app alert"}
EMAIL_TARGETS = {**{role: f"the account's {role} contact" for role in CONTACT_ROLES}, "csm": "the account's CSM"}
# role:csm routes like "csm": to the account's own CSM, never to every CSM (playbooks/alerts.py)
ALERT_TARGETS = {"csm": "the account's CSM",
                 **{f"role:{r}": ("the account's CSM (role csm reaches only the account's own CSM)" if r == "csm"
                                  else f"everyone with role {r}") for r in ROLES},
                 "user": "one user (name below)"}
TEMPLATE_HELP = ("You may use {{ account.name }}, {{ contact.name }}, {{ csm.name }}, {{ drivers[0].sentence }} "
                 "and {{ score.p_churn }}; the preview shows them filled in.")
NEW_STEP = {
    "task": {"type": "task", "title": "Call {{ account.name }}", "due_days": 3},
    "email": {"type": "email", "to": "champion", "subject": "Checking in, {{ contact.name }}",
              "body": "Hi {{ contact.name }},\n\n\n{{ csm.name }}", "requires_confirmation": True},
    "webhook": {"type": "webhook", "url": "https://", "body": {"account": "{{ account.id }}"}, "timeout": 10},
    "alert": {"type": "alert", "to": "csm", "message": "{{ account.name }}: "},
}


# --------------------------------------------------------------------------- rule
def rule_builder(prefix: str, rule: dict | None, segments: list[str]) -> dict | None:
    """Widgets for a trigger rule; returns the rule dict (``None`` = manual starts only), unvalidated."""
    rule = rule or {}
    st.markdown("**When does it start?**")
    st.caption("People can always start it from an account or a list. Choose criteria to also start it "
               "automatically, after each scoring, for every active account that matches all of them; leave them "
               "all empty for manual starts only.")
    c1, c2, c3 = st.columns(3)
    bands = c1.multiselect("Risk band is", list(RISK_BANDS), default=rule.get("risk_bands") or [],
                           key=f"{prefix}_rule_bands")
    groups = c2.multiselect("A top-3 risk driver is in", list(METRIC_GROUPS),
                            default=rule.get("top_driver_groups") or [], key=f"{prefix}_rule_groups")
    known = sorted({*segments, *(rule.get("segments") or [])})
    chosen_segments = c3.multiselect("Segment is", known, default=rule.get("segments") or [],
                                     key=f"{prefix}_rule_segments")
    c1, c2, c3 = st.columns(3)
    renewal = c1.number_input("Renewal within (days)", 0, 730, value=rule.get("max_days_to_renewal"), step=15,
                              key=f"{prefix}_rule_renewal", placeholder="any time")
    p_churn = c2.number_input("Churn risk at least (%)", 0.0, 100.0,
                              value=_pct(rule.get("min_p_churn")), step=5.0, format="%.0f",
                              key=f"{prefix}_rule_p_churn", placeholder="any")
    p_expansion = c3.number_input("Expansion chance at least (%)", 0.0, 100.0,
                                  value=_pct(rule.get("min_p_expansion")), step=5.0, format="%.0f",
                                  key=f"{prefix}_rule_p_expansion", placeholder="any")
    out: dict[str, Any] = {}
    if bands:
        out["risk_bands"] = bands
    if groups:
        out["top_driver_groups"] = groups
    if chosen_segments:
        out["segments"] = chosen_segments
    if renewal is not None:
        out["max_days_to_renewal"] = int(renewal)
    if p_churn is not None:
        out["min_p_churn"] = round(float(p_churn) / 100, 4)
    if p_expansion is not None:
        out["min_p_expansion"] = round(float(p_expansion) / 100, 4)
    return out or None


def _pct(value: float | None) -> float | None:
    return None if value is None else round(float(value) * 100, 2)


# --------------------------------------------------------------------------- steps
def _state(prefix: str, steps: list[dict]) -> list[dict]:
    """The builder's step list for this form: ``[{"uid", "initial"}]``, created once from ``steps``."""
    key = f"{prefix}_builder_steps"
    if key not in st.session_state:
        st.session_state[key] = [{"uid": i, "initial": dict(s)} for i, s in enumerate(steps)]
        st.session_state[f"{prefix}_builder_next"] = len(steps)
    return st.session_state[key]


def step_builder(prefix: str, steps: list[dict]) -> list[dict]:
    """Widgets for an ordered list of steps, starting from ``steps``; returns the step dicts, unvalidated."""
    items = _state(prefix, steps)
    st.markdown("**What it does, in order**")
    st.caption(TEMPLATE_HELP)
    out: list[dict] = []
    action: tuple[str, int] | None = None
    for index, item in enumerate(items):
        uid, initial = item["uid"], item["initial"]
        kind = initial["type"]
        with st.container(border=True):
            head = st.columns([6, 1, 1, 1], vertical_alignment="center")
            head[0].markdown(f"**Step {index + 1}: {STEP_LABELS[kind]}**")
            if head[1].form_submit_button("↑", key=f"{prefix}_s{uid}_up", help="Move up", disabled=index == 0):
                action = ("up", index)
            if head[2].form_submit_button("↓", key=f"{prefix}_s{uid}_down", help="Move down",
                                          disabled=index == len(items) - 1):
                action = ("down", index)
            if head[3].form_submit_button("✕", key=f"{prefix}_s{uid}_remove", help="Remove this step"):
                action = ("remove", index)
            out.append(_STEP_FIELDS[kind](f"{prefix}_s{uid}", initial))
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    new_kind = c1.selectbox("Add a step", list(STEP_LABELS), format_func=STEP_LABELS.get, key=f"{prefix}_add_kind")
    if c2.form_submit_button("Add step", key=f"{prefix}_add", icon=":material/add:"):
        action = ("add", -1)
    if action:
        _apply(prefix, items, action, new_kind)
        st.rerun()
    return out


def _apply(prefix: str, items: list[dict], action: tuple[str, int], new_kind: str) -> None:
    verb, index = action
    if verb == "add":
        uid = st.session_state[f"{prefix}_builder_next"]
        st.session_state[f"{prefix}_builder_next"] = uid + 1
        items.append({"uid": uid, "initial": dict(NEW_STEP[new_kind])})
    elif verb == "remove":
        items.pop(index)
    else:
        other = index - 1 if verb == "up" else index + 1
        items[index], items[other] = items[other], items[index]


def _task(key: str, s: dict) -> dict:
    c1, c2 = st.columns([4, 1])
    title = c1.text_input("Task title", s.get("title", ""), key=f"{key}_title", max_chars=500)
    due = c2.number_input("Due in (days)", 0, 365, int(s.get("due_days", 3)), key=f"{key}_due")
    description = st.text_area("Description (optional)", s.get("description", ""), key=f"{key}_description",
                               height=68)
    step = {"type": "task", "title": title, "due_days": int(due)}
    if description.strip():
        step["description"] = description
    return step


def _email(key: str, s: dict) -> dict:
    to = s.get("to", "champion")
    targets = list(EMAIL_TARGETS) + ["address"]
    c1, c2 = st.columns(2)
    choice = c1.selectbox("To", targets, index=targets.index(to) if to in EMAIL_TARGETS else len(targets) - 1,
                          format_func=lambda t: EMAIL_TARGETS.get(t, "an email address (below)"), key=f"{key}_to")
    address = c2.text_input("Email address (when To is an address)", "" if to in EMAIL_TARGETS else to,
                            key=f"{key}_address", max_chars=320)
    subject = st.text_input("Subject", s.get("subject", ""), key=f"{key}_subject", max_chars=500)
    body = st.text_area("Body", s.get("body", ""), key=f"{key}_body", height=120)
    confirm = st.checkbox("Wait for a person to confirm before sending", bool(s.get("requires_confirmation", True)),
                          key=f"{key}_confirm",
                          help="Emails to customer contacts always wait for a person's confirmation.")
    return {"type": "email", "to": address.strip() if choice == "address" else choice, "subject": subject,
            "body": body, "requires_confirmation": bool(confirm) or choice in CONTACT_ROLES}


def _webhook(key: str, s: dict) -> dict:
    c1, c2 = st.columns([4, 1])
    url = c1.text_input("URL", s.get("url", "https://"), key=f"{key}_url", max_chars=2000,
                        help="Internal hosts must be listed in CSAI_WEBHOOK_ALLOW_HOSTS.")
    timeout = c2.number_input("Timeout (s)", 0.5, 60.0, float(s.get("timeout", 10)), step=0.5, key=f"{key}_timeout")
    body = st.text_area("JSON body", json.dumps(s.get("body", {}), indent=2), key=f"{key}_body", height=100,
                        help="A JSON object; its text values may use the placeholders above.")
    return {"type": "webhook", "url": url.strip(), "body": body, "timeout": float(timeout)}


def _alert(key: str, s: dict) -> dict:
    to = s.get("to", "csm")
    targets = list(ALERT_TARGETS)
    current = "user" if to.startswith("user:") else to
    c1, c2 = st.columns(2)
    choice = c1.selectbox("To", targets, index=targets.index(current) if current in targets else 0,
                          format_func=ALERT_TARGETS.get, key=f"{key}_to")
    username = c2.text_input("User name (when To is one user)", to[5:] if to.startswith("user:") else "",
                             key=f"{key}_user", max_chars=100)
    message = st.text_input("Message", s.get("message", ""), key=f"{key}_message", max_chars=2000)
    return {"type": "alert", "to": f"user:{username.strip()}" if choice == "user" else choice, "message": message}


_STEP_FIELDS = {"task": _task, "email": _email, "webhook": _webhook, "alert": _alert}


# --------------------------------------------------------------------------- advanced and preview
def advanced_json(prefix: str) -> tuple[str, str]:
    """The power users' JSON boxes (keys ``{prefix}_rule`` / ``{prefix}_steps``); empty = use the builder."""
    with st.expander("Advanced: rule and steps as JSON", icon=":material/data_object:"):
        st.caption("Filled in, a box replaces what the builder above says (the same checks apply on save). "
                   "Leave a box empty to use the builder.")
        rule = st.text_area("Trigger rule (JSON)", "", key=f"{prefix}_rule", height=80,
                            placeholder='{"risk_bands": ["high"], "top_driver_groups": ["Usage"]}')
        steps = st.text_area("Steps (JSON)", "", key=f"{prefix}_steps", height=140,
                             placeholder='[{"type": "task", "title": "Call {{ account.name }}", "due_days": 3}]')
    return rule.strip(), steps.strip()


def preview(name: str, rule: dict | str | None, steps: list[dict] | str, samples: dict[str, str], load_context,
            *, allow_hosts: tuple[str, ...], key: str) -> None:
    """Each step rendered for one sample account, after the library's own checks (nothing is written).

    ``samples`` maps account id -> label; ``load_context(account_id)`` returns the account's
    template context (:func:`playbooks.context.account_context`).
    """
    st.markdown("**Preview for a sample account**")
    if not samples:
        st.caption("No accounts yet, so there is nothing to preview with.")
        return
    account_id = st.selectbox("Sample account", list(samples), format_func=samples.get, key=f"{key}_sample")
    try:
        validate_rule(rule)
        clean = validate_steps(steps, allow_hosts)
    except PlaybookError as exc:
        st.warning(f"Saving would be refused: {exc}", icon=":material/warning:")
        return
    ctx = load_context(account_id)
    if ctx is None:
        st.caption("That account no longer exists.")
        return
    draft = Playbook(id=0, key="preview", name=name or "New playbook", purpose="", driver_groups=[], rule=None,
                     steps=clean, cooldown_days=0, holdout_pct=0.0, horizon_days=90)
    for i, step in enumerate(clean):
        try:
            r = render_step(draft, i, step, ctx, triggered_by="preview", started_at=datetime.now())
        except TemplateProblem as exc:
            st.warning(f"Step {i + 1}: {exc}", icon=":material/warning:")
            continue
        st.markdown(f"{i + 1}. " + _rendered(r["kind"], r["payload"]))
        if r["problem"]:
            st.caption(f":orange[:material/warning:] {r['problem']}")


def _rendered(kind: str, p: dict) -> str:
    if kind == "task":
        return f"**Task** for {p.get('assignee') or 'the CSM'}: {p.get('title', '')}"
    if kind == "email":
        to = p.get("to") or (f"CSM {p['to_csm']}" if p.get("to_csm") else f"{p.get('to_role', '?')} (no address)")
        return f"**Email** to {to}: *{p.get('subject', '')}*"
    if kind == "webhook":
        return f"**Webhook** POST to {p.get('url', '')} with `{json.dumps(p.get('body', {}))[:200]}`"
    who = p.get("recipient_user") or f"role {p.get('recipient_role')}"
    return f"**Alert** to {who}: {p.get('message', '')}"


def reset(prefix: str) -> None:
    """Forget the builder's steps and fields for ``prefix`` (after a playbook was created from it)."""
    for key in [k for k in st.session_state if str(k).startswith(f"{prefix}_")]:
        del st.session_state[key]
