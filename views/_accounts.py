"""Accounts: the viewer's book, filtered, searched, sorted; select a row to open it."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from components import auth, cached, cached_scores, layout
from components.tables import ACCOUNT_COLUMNS, RISK_BAND_LABELS, SCORE_COLUMNS, csv_download

RENEWAL_WINDOWS = {"Any time": None, "Next 30 days": 30, "Next 60 days": 60, "Next 90 days": 90,
                   "Next 180 days": 180}


def render() -> None:
    """Draw the Accounts page for the signed-in user; ``views/accounts.py`` calls it on every run."""
    user = auth.current_user()
    viewer = auth.viewer(user)

    st.title("Accounts")
    if not layout.has_data():
        layout.no_data_notice()
        st.stop()

    with layout.user_errors():
        overview = cached_scores.scored_overview(viewer)
        options = cached.filter_options(viewer)
    has_scores = overview["p_churn"].notna().any()

    f1, f2, f3, f4 = st.columns([3, 2, 2, 2])
    search = f1.text_input("Search by name", key="q", placeholder="Company name or ID", bind="query-params",
                           max_chars=100)
    segments = f2.multiselect("Segment", options["segment"], key="segment", bind="query-params")
    plans = f3.multiselect("Plan", options["plan"], key="plan", bind="query-params")
    renewal = f4.selectbox("Renewal", list(RENEWAL_WINDOWS), key="renewal", bind="query-params")
    g1, g2, g3, g4 = st.columns([3, 2, 2, 2])
    if viewer.sees_all_accounts:
        csms = g1.multiselect("CSM", options["csm"], key="csm", bind="query-params")
    else:
        csms = []
    bands = g2.multiselect("Risk band", ["high", "medium", "low"], key="risk", bind="query-params",
                           disabled=not has_scores)
    groups = g3.multiselect("Top driver group", sorted(overview["top_driver_group"].dropna().unique()), key="driver",
                            bind="query-params", disabled=not has_scores)
    status = g4.segmented_control("Status", ["Active", "Churned", "All"], default="Active", key="status",
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
    if bands:
        view = view[view["risk_band"].isin(bands)]
    if groups:
        view = view[view["top_driver_group"].isin(groups)]
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

    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Accounts shown", f"{len(view):,}", border=True)
    m2.metric("ARR shown", layout.money(float(view["arr"].sum())), border=True)
    m3.metric("Expected ARR loss", layout.money(float(pd.to_numeric(view["expected_arr_loss"]).sum()))
              if has_scores else "–", border=True, help="Σ p(churn) × ARR over the accounts shown.")
    m4.metric("Renewing in 90 days", f"{int(renewing_within(view, 90).sum()):,}", border=True)

    if view.empty:
        st.info("No account matches these filters. Clear the search or widen the filters.")
        st.stop()

    columns = ["name", "segment", "plan", "csm", "arr", "seats", "renewal_date", "tenure_days", "status", "account_id"]
    if has_scores:
        view = view.sort_values(["p_churn", "arr"], ascending=[False, False], na_position="last")
        columns = ["name", "risk_band", "p_churn", "p_churn_change", "top_driver", "p_expansion", "expected_arr_loss",
                   "segment", "plan", "csm", "arr", "seats", "renewal_date", "status", "account_id"]
    table = view[columns].reset_index(drop=True)
    if has_scores:
        table["risk_band"] = table["risk_band"].map(RISK_BAND_LABELS).fillna("not scored")
    st.caption("Click a row's name to open the account; tick several rows to start a playbook for all of them. "
               "Click a column header to sort.")
    event = st.dataframe(
        table, hide_index=True, column_config={**ACCOUNT_COLUMNS, **SCORE_COLUMNS,
                                               "name": st.column_config.TextColumn("Account", pinned=True)},
        on_select="rerun", selection_mode=["multi-row", "single-cell"], key="accounts_table", height=560,
    )
    selection = event["selection"] if event else {}
    cells = selection.get("cells", []) if selection else []
    if cells and cells[0][1] == "name":
        st.switch_page("views/account.py", query_params={"id": table.iloc[cells[0][0]]["account_id"]})
    rows = selection.get("rows", []) if selection else []
    if len(rows) == 1:
        one = table.iloc[rows[0]]
        st.page_link("views/account.py", label=f"Open {one['name']}", icon=":material/open_in_new:",
                     query_params={"id": one["account_id"]})
    if rows:
        chosen = table.iloc[rows]["account_id"].tolist()
        with st.expander(f"Start a playbook for the {len(chosen)} selected account(s)", expanded=True):
            from components.playbook_forms import bulk_trigger_form

            bulk_trigger_form(user, chosen)

    csv_download(table, "accounts.csv", key="export_accounts")
