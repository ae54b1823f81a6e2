"""My tasks: the playbook tasks assigned to me (or, for managers, to everyone) as one compact table.

Sortable (due date, ARR, risk, renewal, account) and paged: every task is reachable, none is
hidden behind a cap. Select rows (or pick them below) to complete, snooze or reopen them; each
row links to its account. Every change goes through the playbooks library, which audits it.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pandas as pd
import streamlit as st

import playbooks as pb
from components import auth, cached_scores, layout
from components import formatting as fmt
from components.session import cursor, workspace
from components.tables import csv_download
from data.errors import UserError
from data.opstore import now
from playbooks.today import with_account_facts

STATUS_FILTERS = {"Open": ("open", "snoozed"), "Snoozed": ("open", "snoozed"), "Done": ("done",)}
SORTS = {"Due date": ("due_at", True), "ARR": ("arr", False), "Risk": ("p_churn", False),
         "Renewal": ("renewal_date", True), "Account": ("account_name", True)}
PAGE_SIZES = (25, 50, 100)

user = auth.current_user()
viewer = auth.viewer(user)
ws = workspace()
manager = viewer.sees_all_accounts

st.title("My tasks")
flash = st.session_state.pop("tasks_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

controls = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
whose = "Mine"
if manager:
    whose = controls.segmented_control("Whose", ["Mine", "Everyone's"], default="Everyone's", required=True,
                                       key="tasks_whose")
which = controls.segmented_control("Show", list(STATUS_FILTERS), default="Open", required=True, key="tasks_which")
sort = controls.selectbox("Sort by", list(SORTS), key="tasks_sort", width=160)
size = controls.selectbox("Rows per page", PAGE_SIZES, key="tasks_page_size", width=140)


def load_tasks(status: tuple[str, ...]) -> pd.DataFrame:
    """Tasks assigned to the user, or (a manager's "Everyone's") every task they may see."""
    return pb.my_tasks(ws.engine, viewer, warehouse=cursor(), status=list(status), everyone=whose == "Everyone's")


tasks = load_tasks(STATUS_FILTERS[which])
counts = load_tasks(("open", "snoozed"))
open_now = counts[counts["effective_status"] == "open"] if not counts.empty else counts
with st.container(horizontal=True, gap="small"):
    st.metric("Open", fmt.number(len(open_now)), border=True, width=180)
    st.metric("Overdue", fmt.number(int(open_now["overdue"].sum()) if len(open_now) else 0), border=True, width=180,
              help="Open tasks whose due date has passed.")
    st.metric("Snoozed", fmt.number(int((counts["effective_status"] == "snoozed").sum()) if len(counts) else 0),
              border=True, width=180)

if not tasks.empty:
    if which == "Open":
        tasks = tasks[tasks["effective_status"] == "open"]
    elif which == "Snoozed":
        tasks = tasks[tasks["effective_status"] == "snoozed"]

if tasks.empty:
    empty = {"Open": "No open tasks. Tasks appear here when a playbook starts for an account "
                     + ("in your book." if not manager else "."),
             "Snoozed": "No snoozed tasks.", "Done": "No completed tasks yet."}[which]
    st.info(empty, icon=":material/task_alt:")
    st.stop()

at = now()
book = cached_scores.accounts_list(viewer).frame if layout.has_data() else pd.DataFrame(columns=["account_id"])
tasks = with_account_facts(tasks.reset_index(drop=True), book)
column, ascending = SORTS[sort]
if which == "Done" and sort == "Due date":
    column, ascending = "completed_at", False
tasks = tasks.sort_values([column, "due_at", "id"], ascending=[ascending, True, True], na_position="last",
                          kind="stable").reset_index(drop=True)


def _state(task: dict) -> str:
    if which == "Done":
        return f"done {fmt.day(task['completed_at'])}"
    if task["effective_status"] == "snoozed":
        return f"snoozed until {fmt.day(task['snoozed_until'])}"
    if task["overdue"]:
        return f"overdue by {fmt.plural(max((at - pd.Timestamp(task['due_at'])).days, 1), 'day')}"
    return "open"


tasks["state"] = [_state(t) for t in tasks.to_dict("records")]
tasks["account_link"] = [f"account?id={quote(str(a), safe='')}" for a in tasks["account_id"]]
tasks["account_label"] = tasks["account_name"].fillna(tasks["account_id"])
tasks["arr"] = fmt.whole_dollars(tasks["arr"])
for text_column in ("risk_band", "assignee", "playbook"):  # text cells never read "None"
    tasks[text_column] = tasks[text_column].astype("object").where(tasks[text_column].notna(), fmt.EMPTY)

pages = max(1, -(-len(tasks) // size))
head, pager = st.columns([4, 1], vertical_alignment="bottom")
page = pager.number_input(f"Page (of {pages})", 1, pages, 1, key="tasks_page") if pages > 1 else 1
page = min(int(page), pages)
first = (page - 1) * size
shown = tasks.iloc[first: first + size]
head.caption(f"{fmt.plural(len(tasks), 'task')} · showing {first + 1:,}–{first + len(shown):,}, sorted by "
             f"{sort.lower()}. Select rows to act on them; **Open** goes to the account.")

columns = ["due_at", "state", "title", "account_label", "arr", "p_churn", "risk_band", "renewal_date", "playbook"]
if whose == "Everyone's":
    columns.append("assignee")
columns.append("account_link")
event = st.dataframe(
    shown[columns], hide_index=True, key=f"tasks_table_{which}_{page}", on_select="rerun",
    selection_mode="multi-row", height=min(38 + 35 * len(shown), 38 + 35 * 25),
    column_config={
        "due_at": st.column_config.DatetimeColumn("Due", format=fmt.DATE_COLUMN_FORMAT),
        "state": st.column_config.TextColumn("Status"),
        "title": st.column_config.TextColumn("Task", width="large"),
        "account_label": st.column_config.TextColumn("Account", width="medium"),
        "arr": fmt.money_column("ARR"),
        "p_churn": fmt.pct_column("Risk", help="Latest p(churn)"),
        "risk_band": st.column_config.TextColumn("Band"),
        "renewal_date": st.column_config.DateColumn("Renewal", format=fmt.DATE_COLUMN_FORMAT),
        "playbook": st.column_config.TextColumn("Playbook"),
        "assignee": st.column_config.TextColumn("Assignee"),
        "account_link": st.column_config.LinkColumn("Open", display_text="Open ↗", width="small"),
    },
    placeholder="–",
)

labels = {int(t["id"]): f"{t['title']} · {t['account_label']} ({t['state']})" for t in shown.to_dict("records")}
selected_rows = event["selection"]["rows"] if event else []
selected_ids = [int(shown.iloc[r]["id"]) for r in selected_rows]
if selected_ids and st.session_state.get("tasks_synced") != selected_ids:
    st.session_state["tasks_pick"] = selected_ids
    st.session_state["tasks_synced"] = selected_ids


def _act(action, message: str) -> None:
    try:
        action()
    except UserError as exc:
        st.error(str(exc))
        return
    st.session_state["tasks_flash"] = message
    st.session_state.pop("tasks_pick", None)
    st.rerun()


with st.container(border=True, key="tasks_actions"):
    picked = st.multiselect("Tasks to act on", list(labels), format_func=lambda i: labels.get(i, f"task {i}"),
                            key="tasks_pick", placeholder="Select rows above, or pick tasks here")
    picked = [i for i in picked if i in labels]
    bar = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    n = fmt.plural(len(picked), "task")
    if which == "Done":
        if bar.button(f"Reopen {n}", key="tasks_reopen", icon=":material/undo:", disabled=not picked):
            _act(lambda: [pb.reopen_task(ws.engine, viewer, i, warehouse=cursor()) for i in picked], f"Reopened {n}.")
    else:
        if bar.button(f"Complete {n}", key="tasks_complete", type="primary", icon=":material/check:",
                      disabled=not picked):
            _act(lambda: [pb.complete_task(ws.engine, viewer, i, warehouse=cursor()) for i in picked], f"Completed {n}.")
        days = bar.number_input("Snooze for days", 1, 90, 3, key="tasks_snooze_days", width=140)
        if bar.button(f"Snooze {n}", key="tasks_snooze", icon=":material/snooze:", disabled=not picked):
            until = at + timedelta(days=int(days))
            _act(lambda: [pb.snooze_task(ws.engine, viewer, i, until, warehouse=cursor()) for i in picked],
                 f"Snoozed {n} until {fmt.day(until)}.")
        if which == "Snoozed" and bar.button(f"Wake up {n}", key="tasks_wake", icon=":material/alarm_on:",
                                             disabled=not picked):
            _act(lambda: [pb.reopen_task(ws.engine, viewer, i, warehouse=cursor()) for i in picked], f"{n} open again.")

export = tasks[["id", "title", "account_name", "account_id", "playbook", "assignee", "due_at", "effective_status",
                "overdue", "completed_at", "arr", "p_churn", "risk_band", "renewal_date"]]
csv_download(export, "tasks.csv", key="export_tasks")
