"""Accounts: the viewer's book, filtered, searched, sorted; select a row to open it."""

from __future__ import annotations

import streamlit as st

from components import auth, cached, cached_scores, cached_today, layout, score_now
from components import formatting as fmt
from components.tables import (
    ACCOUNT_COLUMNS,
    ACCOUNTS_FIRST,
    RULE_SCORE_COLUMNS,
    SCORE_COLUMNS,
    csv_download,
    lead_columns,
)
from data.readmodel import RULE_SCORE_NAME, rule_bands_text
from data.vocabulary import RISK_BANDS

TOUCH_COLUMN = st.column_config.NumberColumn(
    "Days since last touch", format="%d",
    help="Whole days since the latest note, logged activity, completed task or playbook started by a person "
         "(as on Today); blank: never touched.")
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
        accounts = cached_scores.accounts_list(viewer)
        options = cached.filter_options(viewer)
    has_scores = accounts.has_scores
    st.caption(f"Data as of {fmt.day(cached.as_of())} · {score_now.score_times()}")

    f1, f2, f3, f4 = st.columns([3, 2, 2, 2])
    search = f1.text_input("Search by name", key="q", placeholder="Company name or ID", bind="query-params",
                           max_chars=100)
    segments = f2.multiselect("Segment", options["segment"], key="segment", bind="query-params")
    plans = f3.multiselect("Plan", options["plan"], key="plan", bind="query-params")
    revenue = accounts.has_revenue
    renewal = (f4.selectbox("Renewal", list(RENEWAL_WINDOWS), key="renewal", bind="query-params") if revenue
               else "Any time")  # no subscriptions: no renewal dates to filter on
    g1, g2, g3, g4 = st.columns([3, 2, 2, 3])  # Status' three choices need the room at 900 px
    if viewer.sees_all_accounts:
        csms = g1.multiselect("CSM", options["csm"], key="csm", bind="query-params")
    else:
        csms = []
    bands = g2.multiselect("Risk band", list(reversed(RISK_BANDS)), key="risk", bind="query-params",
                           disabled=not has_scores)
    groups = g3.multiselect("Top driver group", accounts.driver_groups, key="driver", bind="query-params",
                            disabled=not has_scores)
    status = g4.segmented_control("Status", ["Active", "Churned", "All"], default="Active", key="status",
                                  bind="query-params", required=True)
    metrics_row = st.container()  # drawn above the sort choice, filled once the view is known
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    orders = [o for o in cached_scores.ORDERS if (has_scores or o not in cached_scores.SCORE_ORDERS)
              and not (accounts.rule_score and o in cached_scores.PROBABILITY_ORDERS)]
    order = c2.selectbox("Sort by", orders, key="sort", bind="query-params") or orders[0]
    filters = cached_scores.AccountFilters(
        search=search or "", segments=tuple(segments), plans=tuple(plans), csms=tuple(csms), bands=tuple(bands),
        driver_groups=tuple(groups), status=status, renewal_days=RENEWAL_WINDOWS.get(renewal), order=order)
    shown = cached_scores.accounts_view(viewer, filters, cached.as_of())

    m1, m2, m3, m4 = metrics_row.columns(4)
    m1.metric("Accounts shown", f"{shown.accounts:,}", border=True)
    if shown.rule_score:
        m3.metric("High risk (rule)", f"{shown.high_risk:,}", border=True,
                  delta=f"{layout.money(shown.high_risk_arr)} ARR" if shown.has_revenue else None,
                  delta_color="off", delta_arrow="off",
                  help="Accounts shown in the high risk band of the rule health score (no model yet).")
    if shown.has_revenue:
        m2.metric("ARR shown", layout.money(shown.arr), border=True)
    if shown.has_revenue and not shown.rule_score:
        m3.metric("Expected ARR loss", layout.money(shown.expected_arr_loss) if has_scores else "–", border=True,
                  help="Σ p(churn) × ARR over the accounts shown.")
    if shown.has_revenue:
        m4.metric("Annual renewals in 90 days", f"{shown.renewing_90:,}", border=True,
                  help="Active annual contracts renewing within 90 days of the as-of date (as on the Portfolio).")
    else:
        m2.metric("ARR · no revenue data", "–", border=True,
                  help="The data has no subscriptions or revenue, so accounts are counted instead.")
        if not shown.rule_score:
            m3.metric("Expected churned accounts", f"{shown.expected_churned:,.1f}" if has_scores else "–", border=True,
                      help="Σ p(churn) over the accounts shown.")
        m4.metric("Renewals", "–", border=True, help="No subscriptions, so no renewal dates.")

    if accounts.rule_score:
        st.caption(f"Scores in use: **{RULE_SCORE_NAME}** (no trained model yet). {rule_bands_text()}")
    if not shown.accounts:
        c1.info("No account matches these filters. Clear the search or widen the filters.")
        st.stop()

    # new frames (the cached view stays untouched); the export adds the column to every row when clicked
    table = cached_today.with_days_since_touch(shown.table)
    for money in ("arr", "expected_arr_loss"):
        if money in table:
            table[money] = fmt.whole_dollars(table[money])
    if has_scores and not accounts.has_previous and not accounts.rule_score:
        st.caption("Δ since last: – (first scoring). The change in churn risk appears after the next scoring run.")
    if len(table) < shown.accounts:
        by = order if order.isupper() else order.lower()  # "ARR" stays upper case
        c1.caption(f"Showing the first {len(table):,} of {shown.accounts:,} accounts by {by}: search or filter to "
                   f"narrow the list, or sort by another column. Export CSV has all {shown.accounts:,}. "
                   "Click a row's name to open the account; tick rows to start a playbook for them.")
    else:
        c1.caption("Click a row's name to open the account; tick several rows to start a playbook for all of them. "
                   "Click a column header to sort.")
    event = st.dataframe(
        table, hide_index=True,
        column_config={**ACCOUNT_COLUMNS, **SCORE_COLUMNS, "arr": fmt.money_column("ARR"),
                       "expected_arr_loss": fmt.money_column("Expected loss", help="p(churn) × ARR"),
                       "days_since_touch": TOUCH_COLUMN,
                       **(RULE_SCORE_COLUMNS if accounts.rule_score else {})},
        column_order=lead_columns(table.columns, (*ACCOUNTS_FIRST, "days_since_touch")),
        on_select="rerun", selection_mode=["multi-row", "single-cell"], key="accounts_table", height=560,
        placeholder="–",
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
            from components.playbook_forms import bulk_trigger_form  # deferred: import time (playbooks)

            bulk_trigger_form(user, chosen)

    csv_download(lambda: cached_today.with_days_since_touch(shown.rows), "accounts.csv", key="export_accounts")
