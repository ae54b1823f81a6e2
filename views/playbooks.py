"""Playbooks: the library (create, edit, deactivate), runs with their steps, the outbox, and bulk starts.

Everyone may read; managers and admins edit the library; CSMs, managers and admins act
on runs (retry, confirm or cancel a step). A CSM sees only the runs of their own book:
every read passes the viewer to the library, which filters in SQL.

One module over 400 lines on purpose: one page whose four tabs share the rule, step and payload renderers at
the top of the file.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import playbooks as pb
from components import auth, cached, cached_scores, layout, playbook_builder, playbook_forms
from components.session import cursor, settings, workspace
from components.tables import csv_download
from data.access import book_account_ids
from data.errors import UserError
from data.vocabulary import METRIC_GROUPS, RISK_BANDS
from playbooks.context import account_context, eligibility_frame
from playbooks.redact import mask_url, mask_urls

EDIT_ROLES = playbook_forms.EDIT_ROLES
ACCOUNT_PAGE = "views/account.py"
RUN_STATUSES = ["active", "completed", "holdout", "cancelled"]
ATTENTION = ["failed", "awaiting_confirmation", "held", "retry"]
STATUS_COLORS = {"delivered": "green", "pending": "blue", "sending": "blue", "awaiting_confirmation": "orange",
                 "held": "orange", "retry": "orange", "failed": "red", "skipped": "gray", "cancelled": "gray"}
STATUS_LABELS = {"awaiting_confirmation": "awaiting confirmation", "held": "held (no SMTP)",
                 "retry": "retrying", "skipped": "skipped (holdout)"}
NEW_STEPS = json.dumps([
    {"type": "task", "title": "Call {{ account.name }} about {{ drivers[0].label if drivers else 'their plans' }}",
     "due_days": 3},
    {"type": "email", "to": "champion", "subject": "Checking in, {{ contact.name }}",
     "body": "Hi {{ contact.name }},\n\nCould we find 30 minutes next week?\n\n{{ csm.name }}",
     "requires_confirmation": True},
    {"type": "alert", "to": "role:manager", "message": "{{ account.name }} started this playbook."},
], indent=2)

user = auth.current_user()
viewer = auth.viewer(user)
ws = workspace()
can_edit = playbook_forms.can_edit_playbooks(user)
can_act = bool(set(playbook_forms.ACT_ROLES).intersection(user.roles))

st.title("Playbooks")
st.caption("What the team does about a risk, and proof of whether it works. "
           + ("All accounts." if viewer.sees_all_accounts else f"Runs of your book ({viewer.csm or 'no book'})."))

flash = st.session_state.pop("playbooks_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")


def rule_text(rule: dict | None) -> str:
    """A rule in words, e.g. 'risk high · top driver Usage · renewal ≤ 90 days'."""
    if not rule:
        return "manual only"
    parts = []
    if rule.get("risk_bands"):
        parts.append("risk " + "/".join(rule["risk_bands"]))
    if rule.get("min_p_churn") is not None:
        parts.append(f"p(churn) ≥ {rule['min_p_churn']:.0%}")
    if rule.get("top_driver_groups"):
        parts.append("top driver " + ", ".join(rule["top_driver_groups"]))
    if rule.get("segments"):
        parts.append("segment " + ", ".join(rule["segments"]))
    if rule.get("max_days_to_renewal") is not None:
        parts.append(f"renewal ≤ {rule['max_days_to_renewal']} days")
    if rule.get("min_p_expansion") is not None:
        parts.append(f"p(expansion) ≥ {rule['min_p_expansion']:.0%}")
    return "rule: " + " · ".join(parts)


def secret(text: str) -> str:
    """Webhook URLs (and the messages that quote them) whole for editors, masked for everyone else."""
    return str(text) if can_edit else mask_urls(text)


def step_text(step: dict) -> str:
    """One line for a step definition (templates unrendered)."""
    kind = step.get("type")
    if kind == "task":
        return f"Task: {step['title']} (due in {step.get('due_days', 3)} days)"
    if kind == "email":
        wait = " — waits for a person to confirm" if step.get("requires_confirmation") else ""
        return f"Email to {step['to']}: {step['subject']}{wait}"
    if kind == "webhook":
        return f"Webhook POST to {step['url'] if can_edit else mask_url(step['url'])}"
    return f"Alert to {step.get('to', 'csm')}: {step['message']}"


def payload_text(kind: str, payload: dict) -> str:
    """One line for a rendered outbox step."""
    if kind == "task":
        return f"{payload.get('title', '')} → {payload.get('assignee') or 'nobody'}"
    if kind == "email":
        to = payload.get("to") or (f"CSM {payload['to_csm']}" if payload.get("to_csm") else
                                   f"{payload.get('to_role', '?')} (no address)")
        return f"To {to}: {payload.get('subject', '')}"
    if kind == "webhook":
        return f"POST {secret(payload.get('url', ''))}"
    who = payload.get("recipient_user") or ("the account's CSM" if payload.get("recipient_role") == "csm"
                                            else f"role {payload.get('recipient_role')}")
    return f"To {who}: {payload.get('message', '')}"


def _act(action, success: str) -> None:
    """Run a library action; show its error, or remember the success and rerun."""
    try:
        action()
    except UserError as exc:
        st.error(str(exc))
        return
    st.session_state["playbooks_flash"] = success
    st.rerun()


# --------------------------------------------------------------------------- library
def playbook_fields(prefix: str, current: pb.Playbook | None) -> dict:
    """The inputs of the create / edit form; returns the raw values (validated by the library)."""
    c1, c2 = st.columns([2, 3])
    name = c1.text_input("Name", value=current.name if current else "", key=f"{prefix}_name", max_chars=200)
    groups = c2.multiselect("Driver groups it addresses", METRIC_GROUPS,
                            default=current.driver_groups if current else [], key=f"{prefix}_groups")
    purpose = st.text_area("Purpose", value=current.purpose if current else "", key=f"{prefix}_purpose", height=80)
    c1, c2, c3 = st.columns(3)
    holdout = c1.number_input("Holdout % (rule starts)", 0.0, 90.0, float(current.holdout_pct if current else 20.0),
                              step=5.0, key=f"{prefix}_holdout",
                              help="Share of rule-enrolled accounts recorded but not actioned, to measure the effect.")
    cooldown = c2.number_input("Cooldown (days)", 0, 3650, int(current.cooldown_days if current else 30),
                               key=f"{prefix}_cooldown", help="An account is not enrolled again within this time.")
    horizon = c3.number_input("Outcome horizon (days)", 7, 730, int(current.horizon_days if current else 90),
                              key=f"{prefix}_horizon", help="How long after a start churn and expansion are counted.")
    rule = playbook_builder.rule_builder(prefix, current.rule if current else None, _segments())
    steps = playbook_builder.step_builder(prefix, current.steps if current else json.loads(NEW_STEPS))
    rule_json, steps_json = playbook_builder.advanced_json(prefix)
    rule, steps = (rule_json or rule), (steps_json or steps)
    playbook_builder.preview(name, rule, steps, _samples(), _sample_context, allow_hosts=ws.settings.webhook_allow_hosts,
                             key=prefix)
    st.form_submit_button("Update preview", key=f"{prefix}_preview", icon=":material/refresh:")
    return dict(name=name, purpose=purpose, driver_groups=groups, rule=rule or None, steps=steps,
                cooldown_days=int(cooldown), holdout_pct=float(holdout), horizon_days=int(horizon))


def _segments() -> list[str]:
    return list(cached.filter_options(viewer)["segment"]) if layout.has_data() else []


def _samples() -> dict[str, str]:
    """Up to 30 accounts to preview with, riskiest first: id -> "name (id)"."""
    if not layout.has_data():
        return {}
    frame = cached_scores.accounts_list(viewer).frame.head(30)
    return {str(r.account_id): f"{r.name} ({r.account_id})" for r in frame.itertuples()}


def _sample_context(account_id: str) -> dict | None:
    return account_context(ws.warehouse, account_id)


def library_tab() -> None:
    items = pb.list_playbooks(ws.engine, include_inactive=can_edit)
    if not items:
        st.info("No playbooks yet." + (" Create one below." if can_edit else ""))
    else:
        table = pd.DataFrame([{
            "name": p.name, "purpose": p.purpose, "driver_groups": ", ".join(p.driver_groups),
            "trigger": rule_text(p.rule), "holdout_pct": p.holdout_pct / 100 if p.rule else None,
            "cooldown_days": p.cooldown_days, "steps": len(p.steps), "active": p.active,
        } for p in items])
        st.dataframe(table, hide_index=True, key="library_table", column_config={
            "name": st.column_config.TextColumn("Playbook", width="medium"),
            "purpose": st.column_config.TextColumn("Purpose", width="large"),
            "driver_groups": "Driver groups", "trigger": st.column_config.TextColumn("Trigger", width="medium"),
            "holdout_pct": st.column_config.NumberColumn("Holdout", format="percent",
                                                         help="Only rule starts have a holdout."),
            "cooldown_days": st.column_config.NumberColumn("Cooldown", format="%d days"), "steps": "Steps",
            "active": st.column_config.CheckboxColumn("Active"),
        }, placeholder="–")
        by_id = {p.id: p for p in items}
        chosen_id = st.selectbox("Open a playbook", list(by_id), key="library_open",
                                 format_func=lambda i: by_id[i].name + ("" if by_id[i].active else " (inactive)"))
        chosen = by_id[chosen_id]
        with st.container(border=True):
            st.subheader(chosen.name)
            if not chosen.active:
                st.badge("Inactive: not started by rules or forms", color="gray")
            st.markdown(chosen.purpose or "_No purpose written._")
            st.caption(f"{rule_text(chosen.rule).capitalize()} · holdout {chosen.holdout_pct:.0f}% · cooldown "
                       f"{chosen.cooldown_days} days · outcomes after {chosen.horizon_days} days · last changed by "
                       f"{chosen.updated_by or '–'}")
            for i, step in enumerate(chosen.steps):
                st.markdown(f"{playbook_forms.STEP_ICONS.get(step['type'], '')} {i + 1}. {step_text(step)}")
            if chosen.resources:
                links = st.container(horizontal=True)
                for name in chosen.resources:
                    links.page_link("views/learn.py", label=f"Learn: {name}", icon=":material/school:",
                                    query_params={"topic": name})
            if can_edit:
                with st.expander("Edit this playbook", icon=":material/edit:"):
                    with st.form(f"edit_form_{chosen.id}"):
                        values = playbook_fields(f"edit_{chosen.id}", chosen)
                        save = st.form_submit_button("Save changes", type="primary")
                    if save:
                        _act(lambda: pb.update_playbook(ws.engine, chosen.id, user.username,
                                                        allow_hosts=ws.settings.webhook_allow_hosts, **values),
                             f"Saved {values['name']!r}. Runs already started keep their steps.")
                if chosen.active:
                    if st.button("Deactivate", key=f"deactivate_{chosen.id}", icon=":material/pause_circle:",
                                 help="Stops new starts; runs and outcomes stay."):
                        _act(lambda: pb.deactivate_playbook(ws.engine, chosen.id, user.username),
                             f"Deactivated {chosen.name!r}.")
                elif st.button("Activate", key=f"activate_{chosen.id}", icon=":material/play_circle:"):
                    _act(lambda: pb.set_active(ws.engine, chosen.id, user.username, True), f"Activated {chosen.name!r}.")
    if can_edit:
        with st.expander("New playbook", icon=":material/add:", expanded=not items):
            with st.form("create_playbook_form"):
                values = playbook_fields("new", None)
                create = st.form_submit_button("Create playbook", type="primary")
            if create:
                _act(lambda: (pb.create_playbook(ws.engine, user.username,
                                                 allow_hosts=ws.settings.webhook_allow_hosts, **values),
                              playbook_builder.reset("new")),
                     f"Created {values['name']!r}.")


# --------------------------------------------------------------------------- runs and steps
def step_card(step: dict, prefix: str) -> None:
    """One outbox step: status, what it does, result or error, and the actions a person can take."""
    kind, status, payload = step["kind"], step["status"], step["payload"]
    with st.container(border=True):
        head = st.container(horizontal=True, vertical_alignment="center")
        head.markdown(f"{playbook_forms.STEP_ICONS.get(kind, '')} **{kind.capitalize()}** · "
                      f"{payload_text(kind, payload)}")
        head.badge(STATUS_LABELS.get(status, status), color=STATUS_COLORS.get(status, "gray"))
        if step.get("last_error") and status in ("failed", "retry"):
            st.error(secret(step["last_error"]), icon=":material/error:")
        elif step.get("result"):
            st.caption(f"Result: {secret(step['result'])}")
        details = [f"attempts {int(step['attempts'])}"] if step.get("attempts") else []
        if status == "retry" and pd.notna(step.get("next_attempt_at")):
            details.append(f"next attempt {pd.Timestamp(step['next_attempt_at']):%d %b %H:%M} UTC")
        if step.get("confirmed_by"):
            details.append(f"confirmed by {step['confirmed_by']}")
        if details:
            st.caption(" · ".join(details))
        if kind == "email" and payload.get("body") and status != "awaiting_confirmation":
            with st.expander("Email text"):
                st.text(payload["body"])
        if not can_act:
            return
        sid = int(step["id"])
        if status == "awaiting_confirmation":
            with st.form(f"{prefix}_confirm_{sid}", border=False):
                subject = st.text_input("Subject", payload.get("subject", ""), key=f"{prefix}_subject_{sid}")
                body = st.text_area("Body", payload.get("body", ""), key=f"{prefix}_body_{sid}", height=180)
                b1, b2 = st.columns([1, 4])
                confirm = b1.form_submit_button("Confirm and send", type="primary", icon=":material/send:")
                cancel = b2.form_submit_button("Don't send", icon=":material/cancel:")
            if confirm:
                _act(lambda: pb.confirm_email(ws.engine, sid, user.username,
                                              subject=subject if subject != payload.get("subject") else None,
                                              body=body if body != payload.get("body") else None),
                     f"Email of step {sid} confirmed; it goes out with the next delivery pass.")
            if cancel:
                _act(lambda: pb.cancel_step(ws.engine, sid, user.username), f"Step {sid} cancelled.")
            return
        buttons = st.container(horizontal=True)
        if status == "failed" and buttons.button("Retry", key=f"{prefix}_retry_{sid}", icon=":material/refresh:"):
            _act(lambda: pb.retry_step(ws.engine, sid, user.username, warehouse=ws.warehouse),
                 f"Step {sid} queued again.")
        if status in ("pending", "held", "retry", "failed") and buttons.button(
                "Cancel step", key=f"{prefix}_cancel_{sid}", icon=":material/cancel:"):
            _act(lambda: pb.cancel_step(ws.engine, sid, user.username), f"Step {sid} cancelled.")


def run_detail(run_id: int) -> None:
    try:
        run = pb.get_run(ws.engine, viewer, run_id, warehouse=cursor())
    except UserError as exc:
        st.error(str(exc))
        return
    st.subheader(f"Run #{run.id}: {run.playbook_name}")
    st.page_link(ACCOUNT_PAGE, label=f"{run.account_name or run.account_id} ({run.account_id})",
                 icon=":material/domain:", query_params={"id": run.account_id})
    c = st.columns(4)
    c[0].metric("Started", f"{pd.Timestamp(run.started_at):%d %b %Y}", border=True,
                help=f"{run.trigger_type} start by {run.triggered_by}")
    c[1].metric("Group", "Holdout" if run.holdout else "Treated", border=True,
                help="Holdout runs are recorded but never actioned, so the playbook's effect can be measured.")
    c[2].metric("Risk at start", layout.pct(run.p_churn), border=True,
                help=f"Risk band {run.risk_band or '–'} · model {run.model_id or '–'}")
    c[3].metric("Status", run.status.capitalize(), border=True)
    st.caption(f"Started by {run.triggered_by} ({run.trigger_type}) · assignee {run.assignee or '–'}"
               + (f" · note: {run.note}" if run.note else ""))
    rising = [d for d in run.drivers if (d.get("shap") or 0) > 0] or run.drivers
    if rising:
        st.markdown("**Why, at the time:** " + "; ".join(
            str(d.get("sentence") or d.get("label") or d.get("feature")) for d in rising[:3]))
    for step in run.steps:
        step_card(step, f"run{run.id}")
    if can_act and run.status == "active" and st.button("Cancel this run", key=f"cancel_run_{run.id}",
                                                        icon=":material/stop_circle:",
                                                        help="Cancels undelivered steps and closes open tasks."):
        _act(lambda: pb.cancel_run(ws.engine, viewer, run.id, warehouse=cursor()),
             f"Run {run.id} cancelled.")


def runs_tab() -> None:
    items = pb.list_playbooks(ws.engine, include_inactive=True)
    names = {p.id: p.name for p in items}
    f1, f2, f3, f4 = st.columns([3, 3, 3, 3])
    playbook_id = f1.selectbox("Playbook", [None, *names], format_func=lambda i: "All playbooks" if i is None
                               else names[i], key="runs_playbook")
    search = f2.text_input("Account", key="runs_account", placeholder="Name or ID", max_chars=100)
    statuses = f3.multiselect("Status", RUN_STATUSES, key="runs_status")
    group = f4.segmented_control("Group", ["All", "Treated", "Holdout"], default="All", required=True,
                                 key="runs_group")
    runs = pb.list_runs(ws.engine, viewer, warehouse=cursor(), playbook_id=playbook_id, status=statuses or None,
                        holdout={"All": None, "Treated": False, "Holdout": True}[group], limit=5000)
    if search.strip():
        needle = search.strip().lower()
        runs = runs[runs["account_id"].str.lower().str.contains(needle, regex=False, na=False)
                    | runs["account_name"].fillna("").str.lower().str.contains(needle, regex=False)]
    m = st.columns(4)
    m[0].metric("Runs shown", f"{len(runs):,}", border=True)
    m[1].metric("In holdout", layout.pct(runs["holdout"].mean() if len(runs) else None), border=True)
    m[2].metric("Failed steps", f"{int(runs['steps_failed'].fillna(0).sum()):,}", border=True)
    m[3].metric("Emails awaiting confirmation", f"{int(runs['steps_awaiting'].fillna(0).sum()):,}", border=True)
    linked = int(st.query_params["run"]) if str(st.query_params.get("run", "")).isdigit() else None
    if runs.empty:
        st.info("No run matches these filters." if (playbook_id or search or statuses or group != "All")
                else "No playbook has run yet. Start one from an account, or let a rule run after scoring.")
        if linked is not None:
            run_detail(linked)
        return
    st.caption("Click a run to see its steps, delivery status and errors.")
    columns = ["id", "started_at", "playbook", "account_name", "csm", "trigger_type", "holdout", "status",
               "steps_delivered", "steps_total", "steps_failed", "steps_awaiting", "p_churn"]
    shown = runs[columns].head(1000).reset_index(drop=True)
    event = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="single-row", key="runs_table",
                         height=380, column_config={
                             "id": st.column_config.NumberColumn("Run", format="#%d"),
                             "started_at": st.column_config.DatetimeColumn("Started", format="D MMM YYYY"),
                             "playbook": st.column_config.TextColumn("Playbook", width="medium"),
                             "account_name": st.column_config.TextColumn("Account", width="medium"),
                             "csm": "CSM", "trigger_type": "Trigger", "holdout": st.column_config.CheckboxColumn(
                                 "Holdout"), "status": "Status", "steps_delivered": "Done", "steps_total": "Steps",
                             "steps_failed": "Failed", "steps_awaiting": "To confirm",
                             "p_churn": st.column_config.ProgressColumn("Risk then", format="percent", min_value=0,
                                                                        max_value=1)}, placeholder="–")
    if len(runs) > len(shown):
        st.caption(f"Showing the newest {len(shown):,} of {len(runs):,}; narrow the filters to see older runs.")
    csv_download(runs, "playbook_runs.csv", key="export_runs")
    rows = event["selection"]["rows"] if event else []
    selected = int(shown.iloc[rows[0]]["id"]) if rows else linked
    if selected is not None:
        st.divider()
        run_detail(selected)


def outbox_tab() -> None:
    if not settings().smtp.host:
        st.info("No SMTP server is configured (CSAI_SMTP_HOST), so confirmed emails are kept here as *held* "
                "and shown, not sent.", icon=":material/mail:")
    f1, f2, f3 = st.columns([3, 2, 3])
    which = f1.segmented_control("Show", ["Needs attention", "All"], default="Needs attention", required=True,
                                 key="outbox_which")
    kind = f2.selectbox("Kind", [None, "email", "webhook", "task", "alert"], key="outbox_kind",
                        format_func=lambda k: "All kinds" if k is None else k)
    if can_edit:
        with f3:
            st.write("")
            if st.button("Deliver due steps now", key="outbox_dispatch", icon=":material/send:",
                         help="Sends pending emails and webhooks now instead of waiting for the scheduled delivery job."):
                report = pb.dispatch_due(ws.engine, settings(), actor=user.username)
                st.session_state["playbooks_flash"] = (
                    f"Delivery pass: {report.delivered} delivered, {report.retrying} retrying, {report.failed} "
                    f"failed, {report.held} held.")
                st.rerun()
    box = pb.list_outbox(ws.engine, status=ATTENTION if which == "Needs attention" else None, kind=kind,
                         viewer=viewer, warehouse=cursor(), limit=1000)
    if box.empty:
        st.success("Nothing needs attention: no failed, held or unconfirmed steps." if which == "Needs attention"
                   else "The outbox is empty.", icon=":material/inbox:")
        return
    box = box.assign(what=[payload_text(k, p) for k, p in zip(box["kind"], box["payload"], strict=True)],
                     last_error=box["last_error"].map(lambda v: secret(v) if isinstance(v, str) else v),
                     result=box["result"].map(lambda v: secret(v) if isinstance(v, str) else v),
                     shown_status=box["status"].map(lambda v: STATUS_LABELS.get(v, v)))
    shown = box[["id", "run_id", "playbook", "account_name", "kind", "shown_status", "what", "attempts", "last_error",
                 "updated_at"]]
    st.caption("Click a step to act on it (confirm, retry or cancel).")
    event = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="single-row", key="outbox_table",
                         column_config={
                             "id": st.column_config.NumberColumn("Step", format="#%d"),
                             "run_id": st.column_config.NumberColumn("Run", format="#%d"),
                             "playbook": "Playbook", "account_name": "Account", "kind": "Kind", "shown_status": "Status",
                             "what": st.column_config.TextColumn("What", width="large"), "attempts": "Attempts",
                             "last_error": st.column_config.TextColumn("Last error", width="medium"),
                             "updated_at": st.column_config.DatetimeColumn("Updated", format="D MMM HH:mm")}, placeholder="–")
    csv_download(shown, "outbox.csv", key="export_outbox")
    rows = event["selection"]["rows"] if event else []
    if rows:
        step_card(box.iloc[rows[0]].to_dict(), "outbox")


# --------------------------------------------------------------------------- bulk start
def bulk_tab() -> None:
    if not layout.has_data():
        layout.no_data_notice()
        return
    frame, has_scores = eligibility_frame(ws.warehouse)
    book = book_account_ids(cursor(), viewer)
    if book is not None:
        frame = frame[frame["account_id"].isin(book)]
    frame = frame[frame["active"].fillna(False).astype(bool)]
    st.caption("Filter the active accounts of " + ("the company" if viewer.sees_all_accounts else "your book")
               + ", then start one playbook for all of them.")
    f1, f2, f3, f4 = st.columns(4)
    segments = f1.multiselect("Segment", sorted(frame["segment"].dropna().unique()), key="bulk_segment")
    bands = f2.multiselect("Risk band", list(RISK_BANDS), key="bulk_band", disabled=not has_scores)
    groups = f3.multiselect("Top driver group", list(METRIC_GROUPS), key="bulk_groups", disabled=not has_scores)
    renewal = f4.number_input("Renewal within (days, 0 = any)", 0, 730, 0, step=30, key="bulk_renewal")
    if not has_scores:
        st.caption("No scores yet, so risk filters are off.")
    if segments:
        frame = frame[frame["segment"].isin(segments)]
    if bands:
        frame = frame[frame["risk_band"].isin(bands)]
    if groups:
        wanted = set(groups)
        frame = frame[frame["top_driver_groups"].apply(lambda g: bool(wanted.intersection(g)))]
    if renewal:
        days = pd.to_numeric(frame["days_to_renewal"], errors="coerce")
        frame = frame[days.between(0, renewal)]
    with st.expander(f"{len(frame):,} accounts selected"):
        st.dataframe(frame[["name", "segment", "csm", "arr", "risk_band", "p_churn", "days_to_renewal"]],
                     hide_index=True, height=260, column_config={
                         "name": "Account", "segment": "Segment", "csm": "CSM",
                         "arr": st.column_config.NumberColumn("ARR", format="dollar"), "risk_band": "Risk",
                         "p_churn": st.column_config.ProgressColumn("p(churn)", format="percent", min_value=0,
                                                                    max_value=1),
                         "days_to_renewal": "Days to renewal"}, placeholder="–")
    playbook_forms.bulk_trigger_form(user, frame["account_id"].tolist())


tab_names = ["Library", "Runs", "Outbox"] + (["Start for many"] if playbook_forms.can_trigger(user) else [])
# Lazy tabs: only the open one runs; ``?tab=Runs&run=42`` deep-links to a run.
tabs = st.tabs(tab_names, key="tab", bind="query-params", on_change="rerun")
for tab, render in zip(tabs, (library_tab, runs_tab, outbox_tab, bulk_tab), strict=False):
    if tab.open:
        with tab:
            render()
