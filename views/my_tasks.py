"""My tasks: the playbook tasks assigned to me (or, for managers, to everyone); complete, snooze, reopen.

Overdue tasks come first and are marked red. Each task links to its account. Every
change goes through the playbooks library, which audits it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

import playbooks as pb
from components import auth, cached, layout
from components.session import cursor, settings, workspace
from components.tables import csv_download
from data.errors import UserError
from data.users import list_users

ACCOUNT_PAGE = "views/account.py"
PAGE_SIZE = 25
STATUS_FILTERS = {"Open": ("open", "snoozed"), "Snoozed": ("open", "snoozed"), "Done": ("done",)}

user = auth.current_user()
viewer = auth.viewer(user)
ws = workspace()
manager = viewer.sees_all_accounts

st.title("My tasks")
flash = st.session_state.pop("tasks_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

controls = st.container(horizontal=True, gap="large")
whose = "Mine"
if manager:
    whose = controls.segmented_control("Whose", ["Mine", "Everyone's"], default="Everyone's", required=True,
                                       key="tasks_whose")
which = controls.segmented_control("Show", list(STATUS_FILTERS), default="Open", required=True, key="tasks_which")


def load_tasks(status: tuple[str, ...]) -> pd.DataFrame:
    """Tasks of the chosen people: the user alone, or every user and every CSM name in the data."""
    people: list[tuple[str, str | None]] = [(user.username, user.csm)]
    if whose == "Everyone's":
        people += [(u.username, u.csm) for u in list_users(settings().auth_file)]
        if layout.has_data():
            people += [(name, None) for name in cached.filter_options(viewer)["csm"]]
    frames = [pb.my_tasks(ws.engine, name, csm, status=list(status), viewer=viewer, warehouse=cursor())
              for name, csm in dict.fromkeys(people)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pb.my_tasks(ws.engine, user.username, user.csm, status=list(status), viewer=viewer,
                           warehouse=cursor())
    return pd.concat(frames).drop_duplicates("id").reset_index(drop=True)


tasks = load_tasks(STATUS_FILTERS[which])
counts = load_tasks(("open", "snoozed"))
m = st.columns(3)
open_now = counts[counts["effective_status"] == "open"] if not counts.empty else counts
m[0].metric("Open", f"{len(open_now):,}", border=True)
m[1].metric("Overdue", f"{int(open_now['overdue'].sum()) if len(open_now) else 0:,}", border=True,
            help="Open tasks whose due date has passed.")
m[2].metric("Snoozed", f"{int((counts['effective_status'] == 'snoozed').sum()) if len(counts) else 0:,}",
            border=True)

if not tasks.empty:
    if which == "Open":
        tasks = tasks[tasks["effective_status"] == "open"].sort_values(["overdue", "due_at"], ascending=[False, True])
    elif which == "Snoozed":
        tasks = tasks[tasks["effective_status"] == "snoozed"].sort_values("snoozed_until")
    else:
        tasks = tasks.sort_values("completed_at", ascending=False)

if tasks.empty:
    empty = {"Open": "No open tasks. Tasks appear here when a playbook starts for an account "
                     + ("in your book." if not manager else "."),
             "Snoozed": "No snoozed tasks.", "Done": "No completed tasks yet."}[which]
    st.info(empty, icon=":material/task_alt:")
    st.stop()


def _act(action, message: str) -> None:
    try:
        action()
    except UserError as exc:
        st.error(str(exc))
        return
    st.session_state["tasks_flash"] = message
    st.rerun()


now = datetime.utcnow()


def task_card(task: dict) -> None:
    tid = int(task["id"])
    due = pd.Timestamp(task["due_at"])
    with st.container(border=True, key=f"task_card_{tid}"):
        left, right = st.columns([5, 2], vertical_alignment="center")
        with left:
            st.markdown(f"**{task['title']}**")
            facts = []
            if which == "Done":
                facts.append(f"done {pd.Timestamp(task['completed_at']):%d %b %Y} by {task['completed_by'] or '–'}")
            elif task["overdue"]:
                facts.append(f":red[**overdue by {(now - due).days + 1} days** (due {due:%d %b %Y})]")
            else:
                facts.append(f"due {due:%d %b %Y}")
            if which == "Snoozed" and pd.notna(task["snoozed_until"]):
                facts.append(f"snoozed until {pd.Timestamp(task['snoozed_until']):%d %b %Y}")
            facts.append(f"playbook: {task['playbook']}")
            if whose == "Everyone's":
                facts.append(f"assignee: {task['assignee'] or '–'}")
            st.markdown(" · ".join(facts))
            st.page_link(ACCOUNT_PAGE, label=task["account_name"] or task["account_id"], icon=":material/domain:",
                         query_params={"id": task["account_id"]})
            if isinstance(task.get("description"), str) and task["description"].strip():
                with st.expander("Details"):
                    st.markdown(task["description"])
        with right:
            if which == "Done":
                if st.button("Reopen", key=f"reopen_{tid}", icon=":material/undo:", width="stretch"):
                    _act(lambda: pb.reopen_task(ws.engine, tid, user.username, viewer=viewer, warehouse=cursor()),
                         f"Reopened “{task['title']}”.")
                return
            if st.button("Complete", key=f"complete_{tid}", type="primary", icon=":material/check:",
                         width="stretch"):
                _act(lambda: pb.complete_task(ws.engine, tid, user.username, viewer=viewer, warehouse=cursor()),
                     f"Completed “{task['title']}”.")
            if which == "Snoozed":
                if st.button("Wake up now", key=f"wake_{tid}", icon=":material/alarm_on:", width="stretch"):
                    _act(lambda: pb.reopen_task(ws.engine, tid, user.username, viewer=viewer, warehouse=cursor()),
                         f"“{task['title']}” is open again.")
                return
            with st.popover("Snooze", icon=":material/snooze:", width="stretch"):
                days = st.number_input("Days", 1, 90, 3, key=f"snooze_days_{tid}")
                if st.button(f"Snooze {days} days", key=f"snooze_{tid}"):
                    _act(lambda: pb.snooze_task(ws.engine, tid, user.username, now + timedelta(days=int(days)),
                                                viewer=viewer, warehouse=cursor()),
                         f"Snoozed “{task['title']}” for {days} days.")


shown = tasks.head(PAGE_SIZE).to_dict("records")
for task in shown:
    task_card(task)
if len(tasks) > PAGE_SIZE:
    st.caption(f"Showing the first {PAGE_SIZE} of {len(tasks):,}; complete or snooze these to see more, or export "
               "the full list.")
export = tasks[["id", "title", "account_name", "account_id", "playbook", "assignee", "due_at", "effective_status",
                "overdue", "completed_at"]]
csv_download(export, "tasks.csv", key="export_tasks")
