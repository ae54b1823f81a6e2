"""Today: the CSM's landing page. Every list is scoped to the viewer in the data layer.

Each row links to its account and carries one action: complete or snooze a task, mark an
alert read, open the account or start a playbook for it.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pandas as pd
import streamlit as st

import playbooks as pb
from components import auth, cached, cached_scores, cached_today, layout, score_now
from components import formatting as fmt
from components.playbook_forms import can_trigger, trigger_form
from components.session import cursor, workspace
from data.errors import UserError
from data.readmodel import RULE_SCORE_NAME, rule_bands_text
from playbooks import today as today_lists

ACCOUNT_PAGE = "views/account.py"
SNOOZE_DAYS = 3
TASK_PAGE = 10
UNTOUCHED_CHOICES = (14, 30, 60, 90)


def _account_url(account_id: str) -> str:
    return f"account?id={quote(str(account_id), safe='')}"


def _act(action, message: str) -> None:
    try:
        action()
    except UserError as exc:
        st.error(str(exc))
        return
    st.session_state["today_flash"] = message
    st.rerun()


def _task_rows(user, lists: today_lists.TodayLists, show_assignee: bool, rule: bool = False) -> None:
    ws = workspace()
    viewer = auth.viewer(user)
    frame = lists.tasks
    if frame.empty:
        st.success("Nothing due today and nothing overdue.", icon=":material/done_all:")
        return
    pages = max(1, -(-len(frame) // TASK_PAGE))
    page = 1
    if pages > 1:
        page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="today_task_page", width=160)
    for task in frame.iloc[(page - 1) * TASK_PAGE: page * TASK_PAGE].to_dict("records"):
        tid = int(task["id"])
        with st.container(border=True, key=f"today_task_{tid}", gap="small"):
            left = st.container()
            mid = right = st.container(horizontal=True, gap="small", vertical_alignment="center")
            if task["overdue"]:
                when = f":red[**:material/schedule: overdue by {fmt.plural(max(task['days_overdue'], 1), 'day')}**]"
            else:
                when = ":orange[**due today**]"
            band = task["risk_band"] if isinstance(task["risk_band"], str) else None
            risk = (f"{band} risk (rule health score)" if band else f"risk {fmt.EMPTY}") if rule else \
                (f"risk {fmt.pct(task['p_churn'])}" + (f" ({band})" if band else ""))
            facts = [when, f"ARR {fmt.money(task['arr'])}", risk,
                     f"renewal {fmt.day(task['renewal_date'])}"]
            if show_assignee:
                facts.append(f"assignee {task['assignee'] or fmt.EMPTY}")
            left.markdown(f"**{task['title']}**  \n" + " · ".join(facts))
            mid.page_link(ACCOUNT_PAGE, label=task["account_name"] or task["account_id"], icon=":material/domain:",
                          query_params={"id": task["account_id"]}, width="stretch")
            if mid.button("Complete", key=f"today_done_{tid}", type="primary", icon=":material/check:"):
                _act(lambda tid=tid: pb.complete_task(ws.engine, viewer, tid, warehouse=cursor()),
                     f"Completed “{task['title']}”.")
            if right.button("Snooze", key=f"today_snooze_{tid}", icon=":material/snooze:",
                            help=f"Hide it for {SNOOZE_DAYS} days"):
                until = lists.at + timedelta(days=SNOOZE_DAYS)
                _act(lambda tid=tid, until=until: pb.snooze_task(ws.engine, viewer, tid, until,
                                                                     warehouse=cursor()),
                     f"Snoozed “{task['title']}” until {fmt.day(until)}.")


def _alert_rows(user, alerts: pd.DataFrame) -> None:
    ws = workspace()
    viewer = auth.viewer(user)
    if alerts.empty:
        st.caption("No new alerts.")
        return
    for alert in alerts.head(TASK_PAGE).to_dict("records"):
        aid = int(alert["id"])
        with st.container(border=True, key=f"today_alert_{aid}", horizontal=True, vertical_alignment="center"):
            left = st.container(width="stretch")
            right = st.container(width="content")
            left.markdown(f"{alert['message']}  \n:gray[{fmt.moment(alert['created_at'])}]")
            left.page_link(ACCOUNT_PAGE, label=f"Open account {alert['account_id']}", icon=":material/domain:",
                           query_params={"id": alert["account_id"]})
            if right.button("Mark read", key=f"today_read_{aid}", icon=":material/done:"):
                _act(lambda aid=aid: pb.mark_alert_read(ws.engine, viewer, aid), "Alert marked read.")
    if len(alerts) > TASK_PAGE:
        st.page_link("views/alerts.py", label=f"All {fmt.plural(len(alerts), 'new alert')} on Alerts",
                     icon=":material/notifications:")


def _risk_columns(rule: bool, help_text: str | None, band: bool = True) -> dict:
    """The risk columns of a Today list: the model's p(churn) and band, or the rule health score and its band."""
    if rule:
        return {"health_score": st.column_config.NumberColumn(RULE_SCORE_NAME, format="%.0f", help=rule_bands_text()),
                "risk_band": st.column_config.TextColumn("Band (rule)")}
    columns = {"p_churn": fmt.pct_column("Risk", help=help_text) if help_text else fmt.pct_column("Risk")}
    return {**columns, "risk_band": st.column_config.TextColumn("Band")} if band else columns


def _account_table(user, frame: pd.DataFrame, columns: dict, key: str, empty: str) -> None:
    """A list of accounts: a link to each, and selecting a row offers to start a playbook for it."""
    if frame.empty:
        st.caption(empty)
        return
    table = frame.assign(open=frame["account_id"].map(_account_url))
    if "arr" in table:
        table["arr"] = fmt.whole_dollars(table["arr"])
    for col in ("risk_band", "last_touch_kind", "top_driver"):  # text cells never read "None"
        if col in table:
            table[col] = table[col].astype("object").where(table[col].notna(), fmt.EMPTY)
    shown = ["name", *[c for c in columns if c != "name"], "open"]
    config = {"name": st.column_config.TextColumn("Account", width="medium"),
              "open": st.column_config.LinkColumn("Open", display_text="Open ↗", width="small",
                                                  help="Open the account")}
    config.update({k: v for k, v in columns.items() if k != "name"})
    event = st.dataframe(table[shown], hide_index=True, column_config=config, key=key, on_select="rerun",
                         selection_mode="single-row", height=min(38 + 35 * len(table), 320), placeholder="–")
    rows = event["selection"]["rows"] if event else []
    if rows:
        one = table.iloc[rows[0]]
        st.page_link(ACCOUNT_PAGE, label=f"Open {one['name']}", icon=":material/open_in_new:",
                     query_params={"id": one["account_id"]})

        if can_trigger(user):
            with st.expander(f"Start a playbook for {one['name']}", expanded=True, icon=":material/play_arrow:"):
                trigger_form(user, str(one["account_id"]))
    else:
        st.caption("Select a row to start a playbook for that account; **Open** goes to the account.")


def render() -> None:
    """Draw the Today page for the signed-in user; ``views/today.py`` calls it on every run."""
    user = auth.current_user()
    viewer = auth.viewer(user)
    st.title("Today")
    flash = st.session_state.pop("today_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    if not layout.has_data():
        layout.no_data_notice()
        st.stop()

    with layout.user_errors():
        listed = cached_scores.accounts_list(viewer)
        accounts, rule = listed.frame, listed.rule_score
        as_of = cached.as_of()
    untouched_days = st.session_state.get("today_untouched_days", today_lists.UNTOUCHED_DAYS)
    lists = today_lists.today_lists(workspace().engine, viewer, accounts, as_of, warehouse=cursor(),
                                    untouched_days=untouched_days)
    who = "your book" if not viewer.sees_all_accounts else "every account"
    with st.container(horizontal=True, vertical_alignment="center", key="today_scored"):
        st.caption(f"For {who} · data as of {fmt.day(as_of)} · {score_now.score_times()}"
                   + (f" · scores: **{RULE_SCORE_NAME}** (no trained model yet)" if rule else ""))
        score_now.score_now_button(user, key="today_score_now")

    with st.container(horizontal=True, gap="small", key="today_metrics"):
        st.metric("Due today or overdue", fmt.number(len(lists.tasks)), border=True, width=190,
                  help="Open playbook tasks due today or earlier.")
        st.metric("Overdue", fmt.number(lists.overdue), border=True, width=190)
        st.metric(f"Renewals in {today_lists.RENEWAL_DAYS} days", fmt.number(len(lists.renewals)), border=True,
                  width=190, help="Annual contracts renewing within 30 days of the data's as-of date.")
        st.metric("Risk rising", fmt.number(len(lists.risk_rising)) if lists.has_scores else fmt.EMPTY,
                  border=True, width=190,
                  help="Accounts whose churn risk rose by 1 point or more since the previous scoring.")
        st.metric("New alerts", fmt.number(len(lists.alerts)), border=True, width=190)
        st.metric(f"Not touched in {untouched_days} days", fmt.number(len(lists.untouched)), border=True,
                  width=190, help="No note, logged activity, completed task or playbook started by a person.")

    with st.container(border=True, key="today_tasks"):
        st.subheader("Tasks due today and overdue", anchor=False)
        _task_rows(user, lists, show_assignee=viewer.sees_all_accounts, rule=rule)
        st.page_link("views/my_tasks.py", label="All my tasks", icon=":material/task_alt:")

    with st.container(border=True, key="today_alerts"):
        st.subheader("New alerts", anchor=False)
        _alert_rows(user, lists.alerts)

    with st.container(border=True, key="today_renewals"):
        st.subheader(f"Renewals in the next {today_lists.RENEWAL_DAYS} days", anchor=False)
        _account_table(user, lists.renewals, {
            "renewal_date": st.column_config.DateColumn("Renewal", format=fmt.DATE_COLUMN_FORMAT),
            "days_to_renewal": st.column_config.NumberColumn("Days left", format="%d"),
            "arr": fmt.money_column("ARR"),
            **_risk_columns(rule, "Probability of churn, latest scoring"),
        }, "today_renewals_table", "No annual contract renews in the next 30 days.")

    with st.container(border=True, key="today_risk"):
        prev = cached_today.previous_scored_at()
        st.subheader("Risk rose since the last scoring", anchor=False)
        if not lists.has_scores:
            st.caption("No scores yet. An admin or data scientist can score accounts with **Score now** "
                       "on the Model lab.")
        elif rule:
            st.caption(f"The latest scores come from the {RULE_SCORE_NAME.lower()} ({rule_bands_text()}) Rising "
                       "risk compares a trained model's churn probability between two scorings.")
        elif prev is None:
            st.caption("Only one scoring so far; changes show after the next one.")
        else:
            st.caption(f"From the scoring of {fmt.moment(prev)} to the latest one.")
            _account_table(user, lists.risk_rising, {
                "p_churn_prev": fmt.pct_column("Before"),
                "p_churn": fmt.pct_column("Now"),
                "p_churn_change": fmt.pct_column("Rise"),
                "arr": fmt.money_column("ARR"),
                "top_driver": st.column_config.TextColumn("Top driver", width="large"),
            }, "today_risk_table", "No account's risk rose by a point or more.")

    with st.container(border=True, key="today_untouched"):
        head, pick = st.columns([3, 1], vertical_alignment="bottom")
        head.subheader("Accounts nobody touched lately", anchor=False)
        pick.selectbox("Not touched in", UNTOUCHED_CHOICES, key="today_untouched_days",
                       index=UNTOUCHED_CHOICES.index(today_lists.UNTOUCHED_DAYS),
                       format_func=lambda d: fmt.plural(d, "day"))
        table = lists.untouched.assign(
            touch=lists.untouched["days_since_touch"].map(
                lambda d: "never" if pd.isna(d) else fmt.plural(d, "day") + " ago"))
        _account_table(user, table, {
            "touch": st.column_config.TextColumn("Last touch", help="Note, activity, completed task or playbook"),
            "last_touch_kind": st.column_config.TextColumn("What"),
            "arr": fmt.money_column("ARR"),
            **_risk_columns(rule, None, band=rule),
            "renewal_date": st.column_config.DateColumn("Renewal", format=fmt.DATE_COLUMN_FORMAT),
        }, "today_untouched_table", f"Every active account was touched in the last {untouched_days} days.")
