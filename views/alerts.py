"""Alerts: in-app messages from playbook steps to me, my CSM book or my role; unread first.

Reading is per user: marking an alert read for me leaves it unread for a colleague
who got the same role alert.
"""

from __future__ import annotations

import streamlit as st

import playbooks as pb
from components import auth
from components import formatting as fmt
from components.session import cursor, workspace

ACCOUNT_PAGE = "views/account.py"
PAGE_SIZE = 50

user = auth.current_user()
viewer = auth.viewer(user)
ws = workspace()

st.title("Alerts")
flash = st.session_state.pop("alerts_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

alerts = pb.alerts_for(ws.engine, viewer, warehouse=cursor(), limit=500)
unread = alerts[~alerts["read"].astype(bool)] if not alerts.empty else alerts
top = st.container(horizontal=True, vertical_alignment="center")
top.markdown(f"**{len(unread):,} unread** of {len(alerts):,}" if len(alerts) else "")
if len(unread) and top.button("Mark all read", key="alerts_all_read", icon=":material/done_all:"):
    n = pb.mark_all_alerts_read(ws.engine, viewer, warehouse=cursor())
    st.session_state["alerts_flash"] = f"Marked {fmt.plural(n, 'alert')} read."
    st.rerun()

if alerts.empty:
    st.info("No alerts. Playbook steps that alert you, your accounts or your role show up here.",
            icon=":material/notifications:")
    st.stop()

show_read = st.toggle("Show read alerts", value=len(unread) == 0, key="alerts_show_read")
view = alerts.sort_values(["read", "created_at"], ascending=[True, False])
if not show_read:
    view = view[~view["read"].astype(bool)]
    if view.empty:
        st.success("All caught up.", icon=":material/done_all:")

for alert in view.head(PAGE_SIZE).to_dict("records"):
    aid = int(alert["id"])
    with st.container(border=True, key=f"alert_{aid}"):
        left, right = st.columns([6, 1], vertical_alignment="center")
        with left:
            marker = "" if alert["read"] else ":blue[●] "
            st.markdown(f"{marker}{'**' if not alert['read'] else ''}{alert['message']}"
                        f"{'**' if not alert['read'] else ''}")
            to = alert["recipient_user"] or f"role {alert['recipient_role']}"
            st.caption(f"{fmt.moment(alert['created_at'])} · to {to} · run #{alert['run_id']}")
            st.page_link(ACCOUNT_PAGE, label=f"Open account {alert['account_id']}", icon=":material/domain:",
                         query_params={"id": alert["account_id"]})
        if not alert["read"] and right.button("Mark read", key=f"read_{aid}", icon=":material/done:"):
            pb.mark_alert_read(ws.engine, viewer, aid)
            st.rerun()
if len(view) > PAGE_SIZE:
    st.caption(f"Showing the newest {PAGE_SIZE} of {len(view):,}; mark these read to see older ones.")
