"""Account 360: header, usage, active users vs seats, tickets/NPS/invoices timeline, contacts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import auth, cached, charts, layout
from data.access import NotInBook

user = auth.current_user()
viewer = auth.viewer(user)

if not layout.has_data():
    st.title("Account")
    layout.no_data_notice()
    st.stop()

account_id = st.query_params.get("id")
if not account_id:
    st.title("Account")
    overview = cached.account_overview(viewer)
    if overview.empty:
        st.info("Your book has no accounts yet.")
        st.stop()
    choice = st.selectbox("Open an account", overview["account_id"], index=None,
                          format_func=lambda a: f"{overview.set_index('account_id').at[a, 'name']} ({a})",
                          placeholder="Type to search your book")
    if choice:
        st.query_params["id"] = choice
        st.rerun()
    st.stop()

try:
    detail = cached.account_detail(viewer, account_id)
except NotInBook:
    st.title("Account")
    st.error(f"Account {account_id!r} is not in your book.")
    st.page_link("views/accounts.py", label="Back to your accounts", icon=":material/arrow_back:")
    st.stop()

acct = detail["overview"]
as_of = pd.Timestamp(cached.as_of())

st.page_link("views/accounts.py", label="All accounts", icon=":material/arrow_back:")
st.title(acct["name"])
badges = st.container(horizontal=True)
with badges:
    status_color = {"active": "green", "churned": "red"}.get(acct["status"], "gray")
    st.badge(acct["status"].capitalize(), color=status_color)
    for value in (acct["segment"], acct["plan"], acct["region"], acct["industry"]):
        if isinstance(value, str) and value:
            st.badge(value, color="gray")
    st.badge(acct["account_id"], color="blue")
    st.badge(f"CSM: {acct['csm'] or 'unassigned'}", icon=":material/person:", color="violet")

renewal = acct["renewal_date"]
if pd.notna(renewal):
    days_left = (pd.Timestamp(renewal) - as_of).days
    renewal_text = f"in {days_left} days"
    renewal_help = f"{pd.Timestamp(renewal):%d %b %Y} · {acct['billing_period']}"
elif acct["status"] == "churned" and pd.notna(acct["churned_on"]):
    renewal_text, renewal_help = "–", f"churned on {pd.Timestamp(acct['churned_on']):%d %b %Y}"
else:
    renewal_text, renewal_help = "–", None
tenure_months = int(acct["tenure_days"] // 30) if pd.notna(acct["tenure_days"]) else 0

c = st.columns(4)
c[0].metric("ARR", layout.money(acct["arr"]), border=True)
c[1].metric("Seats", f"{int(acct['seats']):,}" if pd.notna(acct["seats"]) else "–", border=True)
c[2].metric("Renewal", renewal_text, delta=renewal_help, delta_color="off", delta_arrow="off", border=True)
c[3].metric("Tenure", f"{tenure_months // 12} y {tenure_months % 12} m" if tenure_months >= 12 else f"{tenure_months} months",
            border=True)

usage_tab, timeline_tab, contacts_tab, billing_tab = st.tabs(["Usage", "Timeline", "Contacts", "Subscription"])
with usage_tab:
    left, right = st.columns(2)
    with left:
        st.subheader("Usage by event type")
        st.caption("How to read this: weekly count of each product action; a falling line is an early churn sign.")
        st.plotly_chart(charts.fig_usage_by_type(detail["usage"]), key="usage_chart")
    with right:
        st.subheader("Active users vs seats")
        st.caption("How to read this: the gap between the dashed seats line and active users is unused licences.")
        st.plotly_chart(charts.fig_active_users(detail["active_users"], detail["subscriptions"]), key="users_chart")

with timeline_tab:
    st.subheader("Tickets, NPS, invoices and contacts")
    st.caption("How to read this: each dot is one event; red dots are warning signs (urgent tickets, detractor NPS, "
               "failed or late payments, a champion leaving).")
    st.plotly_chart(charts.fig_timeline(detail["timeline"]), key="timeline_chart")
    tl = detail["timeline"].copy()
    st.dataframe(
        tl[["occurred_at", "kind", "detail"]], hide_index=True, height=320,
        column_config={"occurred_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY"),
                       "kind": "Type", "detail": st.column_config.TextColumn("What happened", width="large")},
    )

with contacts_tab:
    contacts = detail["contacts"]
    if contacts.empty:
        st.info("No contacts recorded for this account.")
    else:
        st.dataframe(contacts.drop(columns=["contact_id"]), hide_index=True,
                     column_config={"email": "Email", "role": "Role", "status": "Status",
                                    "active_from": st.column_config.DateColumn("Since", format="D MMM YYYY"),
                                    "active_to": st.column_config.DateColumn("Left", format="D MMM YYYY")})

with billing_tab:
    subs = detail["subscriptions"]
    if subs.empty:
        st.info("No subscriptions recorded for this account.")
    else:
        st.dataframe(subs, hide_index=True, column_config={
            "start_date": st.column_config.DateColumn("From", format="D MMM YYYY"),
            "end_date": st.column_config.DateColumn("Until", format="D MMM YYYY"),
            "renewal_date": st.column_config.DateColumn("Term ends", format="D MMM YYYY"),
            "mrr": st.column_config.NumberColumn("MRR", format="dollar"), "seats": "Seats",
            "product": "Product", "billing_period": "Billing"})
