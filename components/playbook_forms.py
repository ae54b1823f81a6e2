"""Reusable playbook widgets for the Account and Accounts pages: start one, start many, history and tasks.

Every write goes through :mod:`playbooks` (which audits it) inside an ``st.form``. A
form's idempotency key is generated once and kept in ``st.session_state`` (one per
account and playbook), so a double click re-submits the same key and the library
returns the run the first click created; a second browser tab is caught by the
playbook's dedupe window. A CSM only ever sees and starts runs in their own book.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import pandas as pd
import streamlit as st

import playbooks as pb
from components import auth
from components import formatting as fmt
from components.session import cursor, settings, workspace
from data.access import NotInBook
from data.contacts import add_contact, validate_contact
from data.errors import UserError
from data.notes import add_note
from data.users import User, assignable_users
from models.scoring import account_explanation
from playbooks.context import account_context
from playbooks.redact import mask_urls

TRIGGER_ROLES = ("admin", "manager", "csm")
EDIT_ROLES = ("admin", "manager")
ACT_ROLES = ("admin", "manager", "csm")
STEP_ICONS = {"task": ":material/task_alt:", "email": ":material/mail:", "webhook": ":material/webhook:",
              "alert": ":material/notifications:"}
ACCOUNT_PAGE = "views/account.py"


def can_trigger(user: User) -> bool:
    """Managers, admins and CSMs start playbooks; data scientists only read."""
    return bool(set(TRIGGER_ROLES).intersection(user.roles))


def can_edit_playbooks(user: User) -> bool:
    """Managers and admins edit the library, and so see webhook URLs whole; others see them masked."""
    return bool(set(EDIT_ROLES).intersection(user.roles))


_day = fmt.day


def suggested_playbook_ids(account_id: str, playbooks: list[pb.Playbook]) -> list[int]:
    """Playbooks whose driver groups match the account's top three risk drivers, best match first.

    Empty when the account has no score yet (or the models room cannot be read).
    """
    try:
        explanation = account_explanation(workspace().warehouse, account_id)
    except Exception:  # noqa: BLE001 - suggestions are optional; the form works without them
        return []
    if explanation is None:
        return []
    risk = explanation.risk_drivers
    if risk is None or risk.empty or "group" not in risk:
        return []
    groups = [g for g in risk["group"].head(3).tolist() if isinstance(g, str)]
    ranked = []
    for p in playbooks:
        hits = [groups.index(g) for g in p.driver_groups if g in groups]
        if hits:
            ranked.append((min(hits), p.name, p.id))
    return [pid for _, _, pid in sorted(ranked)]


def _assignee_choices(account_csm: str | None, user: User) -> tuple[list[str], dict[str, str], int]:
    """Options for the assignee box: "" (the account's CSM) first, then the people ``user`` may assign to
    (:func:`data.users.assignable_users`: everyone for managers and admins; a CSM sees themselves,
    managers and admins)."""
    users = assignable_users(settings().auth_file, user)
    label = f"{account_csm} (the account's CSM)" if account_csm else "The account's CSM (none assigned)"
    options: list[str] = [""]
    labels: dict[str, str] = {"": label}
    for u in users:
        if account_csm and u.csm == account_csm:
            continue
        options.append(u.username)
        labels[u.username] = f"{u.name or u.username} ({u.username})"
    return options, labels, 0


def _form_key(scope: str, playbook_id: int) -> str:
    """The idempotency key of the form for ``scope`` and this playbook, created once per session."""
    slot = f"pbform_key:{scope}:{playbook_id}"
    if slot not in st.session_state:
        st.session_state[slot] = uuid.uuid4().hex
    return st.session_state[slot]


def _rotate_key(scope: str, playbook_id: int) -> None:
    st.session_state.pop(f"pbform_key:{scope}:{playbook_id}", None)


def render_preview(preview: list[dict], fix_key: str | None = None, *,
                   show_secrets: bool = False) -> dict[int, tuple[str | None, str, bool, bool]]:
    """The steps a playbook would run, one line each, with what needs a person and what would fail.

    With ``fix_key`` (inside the trigger form), a step that would fail, or an email that would become
    a task to add a contact (no contact with an email), offers a way out: an email for the missing
    recipient and an explicit "skip this step". Returns, per such step, (the role that needs an email
    or None, the email typed, skip ticked, whether the step would fail without a fix). Webhook URLs
    are masked unless ``show_secrets`` (the viewer may edit playbooks).
    """
    fixes: dict[int, tuple[str | None, str, bool, bool]] = {}
    for item in preview:
        payload = item.get("payload") or {}
        summary = item["summary"] if show_secrets else mask_urls(item["summary"])
        line = f"{item['position'] + 1}. {summary}"
        fallback = item["kind"] == "task" and payload.get("instead_of") == "email"
        if not item.get("problem") and not fallback:
            st.markdown(f"{STEP_ICONS.get(item['kind'], '')} {line}")
            continue
        if item.get("problem"):
            problem = item["problem"] if show_secrets else mask_urls(item["problem"])
            st.warning(f"{line}  \n{problem}", icon=":material/warning:")
        else:
            st.info(f"{line}  \nNo contact with an email for the {payload.get('to_role') or 'recipient'}: a task to "
                    "add one is created instead, unless you give an email now.", icon=":material/contact_mail:")
        if fix_key is None:
            continue
        role = payload.get("to_role") if item["kind"] == "email" or fallback else None
        email = ""
        with st.container(horizontal=True, vertical_alignment="bottom"):
            if role:
                email = st.text_input(f"Email of the {role}", key=f"{fix_key}:email:{item['position']}",
                                      max_chars=320, placeholder="name@company.com",
                                      help=f"Saved as this account's {role} contact (Contacts tab) and used now.")
            skip = st.checkbox("Skip this step", key=f"{fix_key}:skip:{item['position']}")
        fixes[item["position"]] = (role, email.strip(), skip, bool(item.get("problem")))
    return fixes


def _last_run_line(runs: pd.DataFrame) -> str | None:
    """"Last run on this account: 3 Oct 2026 by csm1 · completed · 2 of 3 steps done, 1 failed", or None."""
    if runs.empty:
        return None
    r = runs.iloc[0]
    state = "holdout (not actioned)" if bool(r["holdout"]) else r["status"]
    total, done, failed = (int(r[c]) if pd.notna(r[c]) else 0 for c in ("steps_total", "steps_delivered",
                                                                         "steps_failed"))
    line = (f"Last run on this account: {fmt.day(r['started_at'])} by {r['triggered_by']} · {state} · "
            f"{done} of {fmt.plural(total, 'step')} done")
    return line + (f", {failed} failed" if failed else "")


def trigger_form(user: User, account_id: str) -> None:
    """Start a playbook for one account: pick a playbook (suggested first), preview, assignee, note, Start.

    Two clicks for a CSM: the best-matching playbook is preselected. Shows "already
    started on <date>" when the playbook is running for the account already.
    """
    ws = workspace()
    viewer = auth.viewer(user)
    scope = f"acct:{account_id}"
    flash = st.session_state.pop(f"pbform_flash:{scope}", None)
    if flash:
        getattr(st, flash[0])(flash[1], icon=flash[2])
    if not can_trigger(user):
        st.caption("Your role can read playbooks but not start them.")
        return

    ctx = account_context(ws.warehouse, account_id)
    if ctx is None or (not viewer.sees_all_accounts and ctx["account"].get("csm") != viewer.csm):
        st.error(f"Account {account_id!r} is not in your book.")
        return
    available = pb.list_playbooks(ws.engine)
    if not available:
        st.info("No active playbooks. A manager can create or activate one on the Playbooks page.")
        return
    suggested = suggested_playbook_ids(account_id, available)
    by_id = {p.id: p for p in available}
    order = suggested + [p.id for p in available if p.id not in suggested]

    def label(pid: int) -> str:
        return f"★ {by_id[pid].name} (suggested)" if pid in suggested else by_id[pid].name

    playbook_id = st.selectbox("Playbook", order, format_func=label, key=f"pbform_playbook:{scope}",
                               help="Suggested playbooks address the account's top risk drivers.")
    chosen = by_id[playbook_id]
    if chosen.purpose:
        st.caption(chosen.purpose)
    last = _last_run_line(pb.list_runs(ws.engine, viewer, warehouse=cursor(), playbook_id=playbook_id,
                                       account_id=account_id, limit=1))
    st.markdown(f":material/history: {last}" if last else ":material/history: Never run on this account before.")
    options, labels, default = _assignee_choices(ctx["account"].get("csm"), user)
    with st.form(f"pbform:{scope}", border=True):
        assignee = st.selectbox("Assignee of the tasks", options, index=default, format_func=lambda o: labels[o],
                                key=f"pbform_assignee:{scope}")
        note = st.text_input("Note (optional; saved to the account's Notes)", key=f"pbform_note:{scope}",
                             max_chars=500, placeholder="e.g. agreed with the sponsor on the QBR call")
        fixes: dict[int, tuple[str | None, str, bool, bool]] = {}
        with st.expander("What will happen", expanded=True, icon=":material/list:"):
            try:
                fixes = render_preview(pb.preview_steps(ws.engine, ws.warehouse, playbook_id, account_id,
                                                        assignee=assignee or None, actor=user.username,
                                                        note=note or None),
                                       fix_key=f"pbfix:{scope}:{playbook_id}", show_secrets=can_edit_playbooks(user))
            except UserError as exc:
                st.error(str(exc))
        submitted = st.form_submit_button("Start playbook", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return
    try:
        skip_steps = _apply_fixes(ws.engine, account_id, user.username, fixes)
        run = pb.trigger_manual(ws.engine, ws.warehouse, playbook_id, account_id, actor=user.username,
                                assignee=assignee or None, note=note or None,
                                idempotency_key=_form_key(scope, playbook_id), viewer=viewer, skip_steps=skip_steps)
    except (UserError, NotInBook) as exc:
        st.error(str(exc))
        return
    if run.created:
        _rotate_key(scope, playbook_id)
        if note and note.strip():
            add_note(ws.engine, account_id, user.username, f"{chosen.name} (run #{run.id}): {note.strip()}")
        msg = (f"Started **{chosen.name}** for {run.account_name or account_id}: "
               f"{fmt.plural(len(chosen.steps), 'step')}, run #{run.id}"
               + (f", {fmt.plural(len(skip_steps), 'step')} skipped" if skip_steps else "") + ".")
        st.session_state[f"pbform_flash:{scope}"] = ("success", msg, ":material/check_circle:")
    else:
        msg = (f"**{chosen.name}** was already started for {run.account_name or account_id} on "
               f"{_day(run.started_at)} (run #{run.id}); nothing new was started.")
        st.session_state[f"pbform_flash:{scope}"] = ("info", msg, ":material/info:")
    st.rerun()


def _apply_fixes(engine, account_id: str, actor: str,
                 fixes: dict[int, tuple[str | None, str, bool, bool]]) -> set[int]:
    """Check every failing step has a way out, save the emails given inline as contacts; the steps to skip.

    Raises :class:`UserError` (nothing written) when a failing step has neither an email nor "skip",
    or an email is not valid. An email that would become an add-a-contact task needs neither.
    """
    skip, new_contacts = set(), {}
    for position, (role, email, skipped, blocking) in sorted(fixes.items()):
        if skipped:
            skip.add(position)
        elif role and email:
            new_contacts[role] = validate_contact(email, role)[0]
        elif not blocking:
            continue
        else:
            what = f"give the {role}'s email" if role else "tick Skip"
            raise UserError(f"Step {position + 1} cannot run as it is: {what}" + (" or tick Skip" if role else "")
                            + ", then start again. Nothing was started.")
    for role, email in new_contacts.items():
        add_contact(engine, account_id, actor, email, role)
    return skip


def bulk_trigger_form(user: User, account_ids: list[str]) -> None:
    """Start one playbook for a filtered selection of accounts; then a summary of created/existing/errors."""
    ws = workspace()
    ids = list(dict.fromkeys(str(a) for a in account_ids))
    scope = "bulk:" + hashlib.sha1("|".join(sorted(ids)).encode()).hexdigest()[:12]
    summary = st.session_state.pop("pbform_bulk_summary", None)
    if summary:
        _bulk_summary(*summary)
    if not can_trigger(user):
        st.caption("Your role can read playbooks but not start them.")
        return
    if not ids:
        st.info("No accounts selected; widen the filters.")
        return
    available = pb.list_playbooks(ws.engine)
    if not available:
        st.info("No active playbooks. A manager can create or activate one on the Playbooks page.")
        return
    by_id = {p.id: p for p in available}
    with st.form("pbform_bulk", border=True):
        st.markdown(f"Start a playbook for the **{fmt.plural(len(ids), 'account')}** selected by the filters.")
        playbook_id = st.selectbox("Playbook", list(by_id), format_func=lambda i: by_id[i].name,
                                   key="pbform_bulk_playbook")
        note = st.text_input("Note (optional)", key="pbform_bulk_note", max_chars=500)
        st.caption("Tasks go to each account's CSM. Accounts already in this playbook (or in its holdout) are "
                   "left as they are.")
        submitted = st.form_submit_button(f"Start for {fmt.plural(len(ids), 'account')}", type="primary",
                                          icon=":material/play_arrow:")
    if not submitted:
        return
    try:
        result = pb.trigger_bulk(ws.engine, ws.warehouse, playbook_id, ids, actor=user.username, note=note or None,
                                 idempotency_key=_form_key(scope, playbook_id), viewer=auth.viewer(user))
    except UserError as exc:
        st.error(str(exc))
        return
    _rotate_key(scope, playbook_id)
    st.session_state["pbform_bulk_summary"] = (by_id[playbook_id].name, len(result.created), len(result.existing),
                                               dict(result.errors))
    st.rerun()


def _bulk_summary(name: str, created: int, existing: int, errors: dict[str, str]) -> None:
    text = f"**{name}**: {fmt.plural(created, 'run')} started, {fmt.number(existing)} already running"
    if errors:
        st.warning(f"{text}, {fmt.number(len(errors))} not started.", icon=":material/warning:")
        with st.expander(f"Why {fmt.plural(len(errors), 'account was', 'accounts were')} not started"):
            st.dataframe(pd.DataFrame({"account_id": list(errors), "reason": list(errors.values())}),
                         hide_index=True, column_config={"account_id": "Account", "reason": "Reason"}, placeholder="–")
    else:
        st.success(f"{text}.", icon=":material/check_circle:")


def account_playbook_panel(user: User, account_id: str) -> None:
    """The account's playbook runs and open tasks (with Complete buttons), scoped to the viewer's book."""
    ws = workspace()
    viewer = auth.viewer(user)
    runs = pb.list_runs(ws.engine, viewer, warehouse=cursor(), account_id=account_id, limit=100)
    tasks = pb.tasks_for_account(ws.engine, viewer, account_id, open_only=True, warehouse=cursor())
    tasks = tasks[tasks["run_id"].isin(runs["id"])] if not tasks.empty else tasks
    st.markdown("**Open tasks**")
    if tasks.empty:
        st.caption("No open tasks for this account.")
    now = datetime.utcnow()
    for task in tasks.to_dict("records"):
        overdue = task["status"] == "open" and pd.Timestamp(task["due_at"]) < pd.Timestamp(now)
        with st.container(border=True):
            left, right = st.columns([4, 1], vertical_alignment="center")
            due = f":red[overdue since {_day(task['due_at'])}]" if overdue else f"due {_day(task['due_at'])}"
            left.markdown(f"**{task['title']}**  \n{due} · {task['assignee'] or 'unassigned'}"
                          + (" · snoozed" if task["status"] == "snoozed" else ""))
            if set(ACT_ROLES).intersection(user.roles) and right.button(
                    "Complete", key=f"pbpanel_done:{task['id']}", icon=":material/check:", width="stretch"):
                try:
                    pb.complete_task(ws.engine, viewer, int(task["id"]), warehouse=cursor())
                except UserError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
    st.markdown("**Playbook history**")
    if runs.empty:
        st.caption("No playbook has run for this account yet.")
        return
    view = runs.assign(outcome=runs["status"].where(~runs["holdout"].astype(bool), "holdout (not actioned)"))
    st.dataframe(
        view[["started_at", "playbook", "trigger_type", "triggered_by", "outcome", "steps_delivered", "steps_total",
              "p_churn"]],
        hide_index=True, key=f"pbpanel_runs:{account_id}",
        column_config={
            "started_at": st.column_config.DatetimeColumn("Started", format="D MMM YYYY"),
            "playbook": st.column_config.TextColumn("Playbook", width="medium"), "trigger_type": "Trigger",
            "triggered_by": "By", "outcome": "Status", "steps_delivered": "Steps done", "steps_total": "Steps",
            "p_churn": st.column_config.ProgressColumn("Risk then", format="percent", min_value=0, max_value=1),
        },
        placeholder="–",
    )
