"""Portfolio: the book at a glance — KPIs, where the risk is, renewals, movers, revenue, retention.

Managers and admins see every account; a CSM sees the same page for their own book (the
scope is applied in SQL). Clicking a segment or CSM bar opens Accounts filtered by it;
clicking a renewal or a mover opens the Account page.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from components import auth, cached_portfolio, charts, data_support, layout, plot, score_now
from components import formatting as fmt
from components.tables import risk_dataframe
from data.readmodel import RULE_SCORE_NAME, is_rule_score, rule_bands_text

ACCOUNTS_PAGE = "views/accounts.py"
ACCOUNT_PAGE = "views/account.py"
NO_SCORES = ("No scores yet. An admin or data scientist makes them with **Score now** on the Model lab; "
             "risk shows here afterwards.")
ACTIVE_HELP = {
    "billing": "Accounts with a subscription active on the as-of date.",
    "flat": "Accounts not labelled as churned.",
    "activity": "Accounts with activity in the days before the as-of date (no billing data: inactivity means churn).",
}


def _selected_group(event) -> str | None:
    """The group name of the clicked bar in a plotly selection event (customdata[0], else y)."""
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if not points:
        return None
    point = points[0]
    custom = point.get("customdata")
    if isinstance(custom, list | tuple) and custom:
        return str(custom[0])
    return str(point["y"]) if point.get("y") is not None else None


def _drilldown_chart(viewer, chart: str, param: str, title: str, caption: str) -> None:
    """A risk × ARR bar chart whose clicked bar opens the Accounts page filtered by ``param``."""
    event = plot.show(cached_portfolio.chart(viewer, chart), key=chart, on_select="rerun", selection_mode="points")
    st.caption(caption)
    group = _selected_group(event)
    if group and group != "no segment":
        st.switch_page(ACCOUNTS_PAGE, query_params={param: group})


def _selected_account(event, frame: pd.DataFrame) -> str | None:
    rows = event["selection"]["rows"] if event else []
    return str(frame.iloc[rows[0]]["account_id"]) if rows else None


def _renewals(viewer, as_of: pd.Timestamp, rule: bool = False) -> None:
    """The renewals ahead: a window choice, a bubble chart and a table that opens the account."""
    f1, f2, _ = st.columns([2, 2, 4])
    window = f1.segmented_control("Renewing within", ["90 days", "180 days"], default="90 days", key="renewal_window",
                                  required=True)
    include_monthly = f2.toggle("Include monthly plans", value=False, key="renewals_monthly",
                                help="Monthly plans renew every month; leave off to focus on annual contracts.")
    days = 90 if window == "90 days" else 180
    ahead = cached_portfolio.renewals_window(viewer, days, include_monthly)
    if not ahead.count:
        st.info(f"No {'' if include_monthly else 'annual '}renewals in the next {days} days.")
    else:
        st.caption(f"{ahead.count:,} renewals worth {layout.money(ahead.arr)} ARR by "
                   f"{(as_of + timedelta(days=days)):%d %b %Y}; {ahead.at_risk_count:,} of them at medium or high "
                   f"risk ({layout.money(ahead.at_risk_arr)} ARR).")
        plot.show(cached_portfolio.renewals_chart(viewer, days, include_monthly), key="renewals_chart")
        st.caption("How to read this: when each account renews (across) and its churn risk (up); "
                   "bigger bubbles carry more ARR; the five with the largest expected loss are named. "
                   "Big bubbles high up and soon come first.")
        table = ahead.table
        renew_event = risk_dataframe(
            ahead.styled, hide_index=True, on_select="rerun", selection_mode="single-row",
            key="renewals_table", height=360,
            column_config={
                "name": st.column_config.TextColumn("Account", width="medium"),
                "renewal_date": st.column_config.DateColumn("Renews", format="D MMM YYYY"),
                "arr": st.column_config.NumberColumn("ARR", format="$%,d"),
                "p_churn": None if rule else st.column_config.NumberColumn("p(churn)", format="%.1f%%"),
                "risk_band": st.column_config.TextColumn("Risk (rule)" if rule else "Risk"),
                "expected_arr_loss": None if rule else st.column_config.NumberColumn("Expected loss", format="$%,d"),
                "csm": st.column_config.TextColumn("CSM"),
                "account_id": None,
            })
        st.caption(f"Risk is the {RULE_SCORE_NAME.lower()}'s band (no trained model yet). Click a row to open the "
                   "account." if rule else "Sorted by expected ARR loss (p(churn) × ARR). Click a row to open the "
                   "account.")
        account_id = _selected_account(renew_event, table)
        if account_id:
            st.switch_page(ACCOUNT_PAGE, query_params={"id": account_id})


def render() -> None:
    """Draw the Portfolio page for the signed-in user; ``views/portfolio.py`` calls it on every run."""
    user = auth.current_user()
    viewer = auth.viewer(user)

    st.title("Portfolio")
    if not layout.has_data():
        layout.no_data_notice()
        st.stop()

    with layout.user_errors():
        figures = cached_portfolio.portfolio_figures(viewer)
    k = figures["kpis"]
    scored = figures["has_scores"] and k.scored_at is not None
    rule = scored and is_rule_score(k.model_id)  # the rule health score, not a model: no probabilities
    no_scores = NO_SCORES if scored else data_support.no_scores_message()
    flat = k.shape == "flat"  # a flat table has no dates: no horizon is claimed
    horizon = None if flat else cached_portfolio.horizon_days(k.model_id)
    horizon_text = f"{horizon} days" if horizon else "the model's horizon"
    within = "" if flat else f" within {horizon_text}"
    paren = "" if flat else f" ({horizon_text})"
    as_of = pd.Timestamp(figures["as_of"])

    book = "All accounts" if viewer.sees_all_accounts else f"Book of {viewer.csm or user.username}"
    subtitle = f"{book} · data as of {fmt.day(as_of)} · {score_now.score_times()}"
    if rule:
        subtitle += f" · scores: {RULE_SCORE_NAME} (no trained model yet)"
    st.caption(subtitle)
    if rule:
        st.caption(rule_bands_text() + " A trained and promoted model takes over at the next scoring.")

    if k.accounts == 0 and figures["movements"].empty:
        if viewer.sees_all_accounts:
            st.info(f"No active accounts as of {as_of:%d %b %Y}. Open Accounts and choose 'All' to see churned "
                    "accounts, or import newer data on the Data page.")
        else:
            st.info("No accounts in your book yet. Ask an admin to assign accounts to you.")
        st.stop()

    # --------------------------------------------------------------------------- KPIs
    r = figures["retention"]
    revenue = k.has_revenue
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Active accounts", f"{k.accounts:,}", border=True, help=ACTIVE_HELP[k.shape])
    if revenue:
        c2.metric("ARR", layout.money(k.arr), border=True, help="Annual recurring revenue: 12 × current MRR.")
    else:
        c2.metric("ARR · no revenue data", "–", border=True,
                  help="The data has no subscriptions or revenue, so the figures on this page count accounts.")
    c3.metric("GRR, last 12 months", layout.pct(r["grr"], 1), border=True,
              help="Gross revenue retention: MRR kept from the accounts paying 12 months ago, after churn and contraction, "
                   "÷ their MRR then. 100% = nothing lost.")
    c4.metric("NRR, last 12 months", layout.pct(r["nrr"], 1), border=True,
              help="Net revenue retention: like GRR, plus expansion from the same accounts. Above 100% = the book grows without new logos.")

    c5, c6, c7, c8 = st.columns(4)
    annual_90 = cached_portfolio.renewals_window(viewer, 90, False)
    if rule:
        c5.metric("Accounts at high risk (rule)", f"{k.high_risk_accounts:,}", border=True,
                  delta=f"{layout.money(k.high_risk_arr)} ARR" if revenue else None, delta_color="off",
                  delta_arrow="off", help=f"Accounts in the high risk band of the {RULE_SCORE_NAME.lower()}"
                                          + (", and their ARR." if revenue else "."))
        c6.metric("ARR at high risk (rule)" if revenue else "Share at high risk (rule)",
                  layout.money(k.high_risk_arr) if revenue else layout.pct(k.high_risk_accounts / max(k.scored_accounts, 1)),
                  border=True, help="A rule score has no probability, so no expected loss: this is what the "
                                    "high risk band holds.")
        c7.metric("Scored accounts", f"{k.scored_accounts:,}", border=True,
                  help=f"Accounts scored with the {RULE_SCORE_NAME.lower()} in the latest run.")
    elif scored and revenue:
        c5.metric(f"Expected ARR loss{paren}", layout.money(k.expected_arr_loss), border=True,
                  help=f"Σ p(churn) × ARR over scored accounts: the ARR we expect to lose{within} "
                       "if nothing changes.")
        c6.metric("Accounts at high risk", f"{k.high_risk_accounts:,}", border=True,
                  delta=f"{layout.money(k.high_risk_arr)} ARR", delta_color="off", delta_arrow="off",
                  help="Accounts in the high risk band of the latest scoring, and their ARR.")
        c7.metric("Expansion pipeline", layout.money(k.expansion_pipeline), border=True,
                  help=f"Σ p(expansion) × ARR: ARR-weighted chance of an upsell{within}.")
    elif scored:
        c5.metric(f"Expected churned accounts{paren}", f"{k.expected_churned_accounts:,.1f}", border=True,
                  help=f"Σ p(churn) over scored accounts: how many accounts we expect to lose{within} "
                       "if nothing changes (no revenue data, so accounts are counted instead of ARR).")
        c6.metric("Accounts at high risk", f"{k.high_risk_accounts:,}", border=True,
                  help="Accounts in the high risk band of the latest scoring.")
        c7.metric("Scored accounts", f"{k.scored_accounts:,}", border=True,
                  help="Accounts scored in the latest run.")
    else:
        for col, label in ((c5, "Expected ARR loss"), (c6, "Accounts at high risk"), (c7, "Expansion pipeline")):
            col.metric(label, "–", border=True, help=no_scores)
    if revenue:
        c8.metric("Annual renewals in 90 days", f"{annual_90.count:,}", border=True,
                  delta=f"{layout.money(annual_90.arr)} ARR", delta_color="off", delta_arrow="off",
                  help="Annual contracts renewing within 90 days of the as-of date, and their ARR.")
    else:
        c8.metric("Renewals", "–", border=True, help="No subscriptions, so no renewal dates.")

    # --------------------------------------------------------------------------- risk
    st.subheader("Where the risk is")
    measure, measure_lower = ("ARR", "ARR") if revenue else ("Accounts", "the number of accounts")
    if not scored:
        st.info(no_scores)
    else:
        columns = st.columns(3 if viewer.sees_all_accounts else 2)
        with columns[0]:
            if rule:
                st.markdown(f"**{RULE_SCORE_NAME}**")
                st.caption(f"{k.high_risk_accounts:,} of {k.scored_accounts:,} scored accounts are in the high risk "
                           f"band. {rule_bands_text()} The bars show which segments and CSMs hold them.")
            else:
                plot.show(cached_portfolio.chart(viewer, "risk_distribution"), key="risk_distribution")
                st.caption(f"How to read this: each bar counts accounts at that chance of churning{within}; "
                           "colour and pattern show the risk band. A fat tail to the right is trouble.")
        with columns[1]:
            _drilldown_chart(viewer, "risk_by_segment", "segment", f"{measure} by risk band and segment",
                             f"How to read this: bar length is {measure_lower}; the red and amber part is at risk. "
                             "Click a bar to open that segment's accounts.")
        if viewer.sees_all_accounts:
            with columns[2]:
                _drilldown_chart(viewer, "risk_by_csm", "csm", f"{measure} by risk band and CSM",
                                 "How to read this: each CSM's book by ARR and risk band. "
                                 "Click a bar to open that CSM's accounts.")

    # --------------------------------------------------------------------------- renewals
    st.subheader("Renewals ahead")
    if revenue:
        _renewals(viewer, as_of, rule)
    else:
        st.info("No subscriptions in the data, so there are no renewal dates to show.")

    # --------------------------------------------------------------------------- movers
    st.subheader("Top movers since the previous scoring")
    runs = figures["scoring_runs"]
    movers = figures["movers"]
    if not scored:
        st.info(no_scores)
    elif rule:
        st.info(f"The latest scores come from the {RULE_SCORE_NAME.lower()}; movers compare a trained model's "
                "churn risk between two scoring runs, so they appear once a model has scored twice.")
    elif len(runs) < 2:
        st.info("Only one scoring run so far. Movers appear after the next run (the scheduled job, or Score now), "
                "comparing each account's churn risk with this one.")
    elif movers.empty:
        st.info(f"No account's churn risk moved by half a point or more between {pd.Timestamp(runs[1]):%d %b} "
                f"and {pd.Timestamp(runs[0]):%d %b %Y}.")
    else:
        st.caption(f"Churn risk on {pd.Timestamp(runs[0]):%d %b %Y} against {pd.Timestamp(runs[1]):%d %b %Y}. "
                   "How to read this: the driver is the reason whose contribution moved most in the same direction "
                   "as the risk. Click a row to open the account.")
        mover_columns = {
            "name": st.column_config.TextColumn("Account", width="medium"),
            "p_now": st.column_config.NumberColumn("Risk now", format="%.1f%%"),
            "change": st.column_config.NumberColumn("Change", format="%+.1f pts"),
            "driver": st.column_config.TextColumn("Driver that moved", width="medium"),
            "arr": st.column_config.NumberColumn("ARR", format="$%,d"),
            "account_id": None,
        }
        shown_movers = movers.assign(p_now=movers["p_now"] * 100, change=movers["change"] * 100)
        up_col, down_col = st.columns(2)
        for col, direction, title in ((up_col, "up", "Risk up"), (down_col, "down", "Risk down")):
            part = shown_movers[shown_movers["direction"] == direction][list(mover_columns)].reset_index(drop=True)
            with col:
                st.markdown(f"**{title}**")
                if part.empty:
                    st.caption(f"No account's risk went {direction}.")
                    continue
                event = st.dataframe(part, hide_index=True, on_select="rerun", selection_mode="single-row",
                                     key=f"movers_{direction}", column_config=mover_columns, placeholder="–")
                account_id = _selected_account(event, part)
                if account_id:
                    st.switch_page(ACCOUNT_PAGE, query_params={"id": account_id})

    # --------------------------------------------------------------------------- revenue movements
    st.subheader("Revenue movements")
    movements = figures["movements"]
    if movements.empty:
        st.info("No subscriptions in the last 12 months." if revenue else
                "No revenue data: the data has no subscriptions, so there are no MRR movements to show.")
    else:
        left, right = st.columns([3, 2])
        with left:
            plot.show(cached_portfolio.chart(viewer, "mrr_waterfall"), key="mrr_waterfall")
            st.caption("How to read this: bars above zero are MRR won (new accounts, expansion), bars below are MRR "
                       "lost (contraction, churn); the line is the month's net change.")
        with right:
            plot.show(cached_portfolio.chart(viewer, "mrr_bridge"), key="mrr_bridge")
            st.caption("How to read this: "
                       + charts.mrr_bridge_caption(charts.mrr_bridge_steps(movements)))

    # --------------------------------------------------------------------------- retention
    st.subheader("How long customers stay")
    survival = figures["survival"]
    if survival.empty:
        st.info("No subscription history to draw retention curves from.")
    else:
        left, right = st.columns(2)
        with left:
            plot.show(cached_portfolio.chart(viewer, "survival_segment"), key="survival_segment")
            st.caption("How to read this: the share of customers still with us after each month since they first "
                       "subscribed (Kaplan–Meier; customers still active count until today). Lower = churns sooner. "
                       "The shaded band is the 95% confidence interval: wide where few customers are left to count.")
        with right:
            cohorts = figures["cohorts"]
            default = cohorts[2::4][:4] if len(cohorts) > 6 else cohorts[:4]  # one a year, skipping the newest
            st.markdown("**By signup quarter**")
            chosen = st.multiselect("Signup quarters", cohorts, default=default, key="cohorts", max_selections=8,
                                    label_visibility="collapsed", placeholder="Pick signup quarters to compare")
            plot.show(cached_portfolio.cohort_chart(viewer, sorted(chosen)), key="survival_cohort")
            st.caption("How to read this: each line is the customers who signed up in one quarter. A newer line "
                       "below an older one at the same month means recent customers churn faster.")
