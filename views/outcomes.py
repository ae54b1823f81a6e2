"""Outcomes: did each playbook lower churn or raise expansion? Treated vs randomly held-out accounts.

Only rule starts are compared (their holdout is drawn at random). A run counts once
its horizon has passed by the data's as-of date. The library computes rates, the
difference with a Newcombe 95 % interval, and a plain statement per playbook.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import playbooks as pb
from components import auth, charts, layout, plot
from components.session import workspace
from components.tables import csv_download

METRICS = {"Churn": "churn", "Expansion": "expansion"}

user = auth.current_user()
ws = workspace()

st.title("Outcomes")
if not layout.has_data():
    layout.no_data_notice()
    st.stop()

with layout.user_errors():
    outcomes = pb.playbook_outcomes(ws.engine, ws.warehouse)
frame = pb.outcomes_frame(outcomes)
as_of = next((o.as_of for o in outcomes if o.as_of), None)
st.caption("Treated vs holdout accounts of each rule-triggered playbook"
           + (f" · data as of {pd.Timestamp(as_of):%d %b %Y}" if as_of else ""))
with st.expander("How to read this", icon=":material/help:"):
    st.markdown(
        "When a rule starts a playbook, a random share of the matching accounts (the **holdout**) is recorded but "
        "not actioned. Because the split is random, the only systematic difference between the two groups is the "
        "playbook. So comparing the share of **treated** and **holdout** accounts that churned (or expanded) "
        "within the playbook's horizon measures its effect.\n\n"
        "- The **difference** is treated minus holdout, in percentage points. For churn, below zero is good; "
        "for expansion, above zero is good.\n"
        "- The bar around it is the **95 % confidence interval**. If it crosses zero, the data cannot yet tell "
        "the playbook apart from doing nothing.\n"
        "- At least 30 measured runs in each group are needed before a verdict is given. Manual starts are counted "
        "but not compared: who gets them is a person's choice, not chance.")

if frame.empty:
    st.info("No playbooks yet.")
    st.stop()

runs_total = sum(o.runs_total for o in outcomes)
measured = int(frame[frame["metric"] == "churn"][["treated_n", "holdout_n"]].sum().sum())
verdicts = [o for o in outcomes if o.churn.enough_data or o.expansion.enough_data]
c = st.columns(3)
c[0].metric("Runs recorded", f"{runs_total:,}", border=True)
c[1].metric("Runs past their horizon", f"{measured:,}", border=True,
            help="Rule runs whose horizon has passed, in accounts that were customers when the run started.")
c[2].metric("Playbooks with enough data", f"{len(verdicts)} of {len(outcomes)}", border=True)

metric_label = st.segmented_control("Outcome", list(METRICS), default="Churn", required=True, key="outcome_metric")
metric = METRICS[metric_label]
left, right = st.columns(2)
with left:
    st.subheader(f"Effect on {metric}")
    st.caption("How to read this: each row is a playbook; the diamond is treated − holdout in percentage points and "
               "the bar its 95 % interval. Green means the whole interval is on the good side of zero, red the bad "
               "side; grey crosses zero or has too few runs (hollow).")
    plot.show(charts.deck_title(charts.fig_outcomes_forest(frame, metric), f"Effect of playbooks on {metric}",
                                units="treated − holdout, percentage points", as_of=as_of), key=f"forest_{metric}")
with right:
    st.subheader(f"{metric_label} rate by group")
    st.caption("How to read this: the share of treated (blue) and holdout (grey) accounts that "
               f"{'churned' if metric == 'churn' else 'expanded'} within the horizon; n is the number of runs.")
    plot.show(charts.deck_title(charts.fig_outcome_rates(frame, metric), f"{metric_label} rate by group",
                                units="share of runs within the horizon", as_of=as_of), key=f"rates_{metric}")

st.subheader("Per playbook")
for o in outcomes:
    cmp = o.churn if metric == "churn" else o.expansion
    with st.container(border=True):
        st.markdown(f"**{o.playbook}** · horizon {o.horizon_days} days · {o.rule_runs:,} rule runs, "
                    f"{o.manual_runs:,} manual, {o.pending_runs:,} still inside the horizon")
        if cmp.enough_data:
            tone = charts.effect_tone(metric, cmp.ci_low, cmp.ci_high)
            {"good": st.success, "bad": st.error, "neutral": st.info}[tone](cmp.statement)
        else:
            st.info(cmp.statement, icon=":material/hourglass_empty:")
        if cmp.treated_n or cmp.holdout_n:
            st.dataframe(pd.DataFrame({
                "group": ["Treated", "Holdout"], "runs": [cmp.treated_n, cmp.holdout_n],
                "events": [cmp.treated_events, cmp.holdout_events],
                "rate": [None if r is None else 100 * r for r in (cmp.treated_rate, cmp.holdout_rate)],
            }), hide_index=True, width=480, key=f"arms_{o.playbook_id}_{metric}", column_config={
                "group": "Group", "runs": "Runs measured",
                "events": "Churned" if metric == "churn" else "Expanded",
                "rate": st.column_config.NumberColumn("Rate", format="%.1f%%")}, placeholder="–")
        for note in o.notes:
            st.caption(note)

csv_download(frame, "playbook_outcomes.csv", label="Export outcomes (CSV)", key="export_outcomes")
