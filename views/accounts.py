"""Accounts: the viewer's book, filtered, searched, sorted; select a row to open it."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from components import auth, cached, layout
from components.tables import ACCOUNT_COLUMNS, csv_download

user = auth.current_user()
viewer = auth.viewer(user)

st.title("Accounts")
if not layout.has_data():
    layout.no_data_notice()
    st.stop()

with layout.user_errors():
    overview = cached.account_overview(viewer)
    options = cached.filter_options(viewer)

RENEWAL_WINDOWS = {"Any time": None, "Next 30 days": 30, "Next 60 days": 60, "Next 90 days": 90,
                   "Next 180 days": 180}

f1, f2, f3, f4 = st.columns([3, 2, 2, 2])
search = f1.text_input("Search by name", key="q", placeholder="Company name or ID", bind="query-params",
                       max_chars=100)
segments = f2.multiselect("Segment", options["segment"], key="segment", bind="query-params")
plans = f3.multiselect("Plan", options["plan"], key="plan", bind="query-params")
renewal = f4.selectbox("Renewal", list(RENEWAL_WINDOWS), key="renewal", bind="query-params")
g1, g2, _ = st.columns([3, 2, 4])
if viewer.sees_all_accounts:
    csms = g1.multiselect("CSM", options["csm"], key="csm", bind="query-params")
else:
    csms = []
status = g2.segmented_control("Status", ["Active", "Churned", "All"], default="Active", key="status",
                              bind="query-params", required=True)

view = overview
if search:
    needle = search.strip().lower()
    view = view[view["name"].str.lower().str.contains(needle, regex=False, na=False)
                | view["account_id"].str.lower().str.contains(needle, regex=False, na=False)]
if segments:
    view = view[view["segment"].isin(segments)]
if plans:
    view = view[view["plan"].isin(plans)]
if csms:
    view = view[view["csm"].isin(csms)]
if status == "Active":
    view = view[view["status"] == "active"]
elif status == "Churned":
    view = view[view["status"] == "churned"]
as_of = pd.Timestamp(cached.as_of())


def renewing_within(frame: pd.DataFrame, days: int) -> pd.Series:
    renew = pd.to_datetime(frame["renewal_date"])
    return (renew >= as_of) & (renew <= as_of + timedelta(days=days))


days = RENEWAL_WINDOWS.get(renewal)
if days is not None:
    view = view[renewing_within(view, days)]

m1, m2, m3 = st.columns(3)
m1.metric("Accounts shown", f"{len(view):,}", border=True)
m2.metric("ARR shown", layout.money(float(view["arr"].sum())), border=True)
m3.metric("Renewing in 90 days", f"{int(renewing_within(view, 90).sum()):,}", border=True)

if view.empty:
    st.info("No account matches these filters. Clear the search or widen the filters.")
    st.stop()

columns = ["name", "segment", "plan", "csm", "arr", "seats", "renewal_date", "tenure_days", "status", "account_id"]
st.caption("Click a row to open the account. Click a column header to sort.")
event = st.dataframe(
    view[columns], hide_index=True, column_config=ACCOUNT_COLUMNS, on_select="rerun",
    selection_mode="single-row", key="accounts_table", height=560,
)
rows = event["selection"]["rows"] if event else []
if rows:
    account_id = view.iloc[rows[0]]["account_id"]
    st.switch_page("views/account.py", query_params={"id": account_id})

csv_download(view[columns], "accounts.csv", key="export_accounts")
