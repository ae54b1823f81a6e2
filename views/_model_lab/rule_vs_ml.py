"""Model lab, Rule score vs ML tab: the model and the rule health score ranking the same held-out rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cached_models, charts
from models.diagnostics.comparison import backtest_table, rule_verdict
from views._model_lab.common import Lab, how, interval_text, lab_chart


def render(lab: Lab) -> None:
    """Draw the Rule score vs ML tab (``views/model_lab.py`` calls it while the tab is open)."""
    r = lab.pick_model("rule_model")
    if r is not None:
        ev = cached_models.evaluation(r)
        h = ev.rule_score
        cv = ev.curves
        if r.target != "churn" and h.get("reads_as") != "health":
            st.info("The rule health score is a churn score: ranking expansion by churn risk says nothing about "
                    "this model. Models trained now compare expansion with the health score read as "
                    "\"healthier first\"; retrain this one to see that comparison.")
            cv = None
            table = pd.DataFrame()
        else:
            st.caption("The rule health score is the familiar weighted scorecard (usage, adoption, support, "
                       "billing, relationship, sentiment). Both scores rank the same held-out rows"
                       + (", the rule read as \"healthier first\" for expansion" if r.target != "churn" else "")
                       + ". The 95% intervals come from resampling accounts.")
            table = cv.rule_vs_model if cv is not None else None
            if table is None or table.empty:
                iv = ev.difference("roc_auc")
                table = pd.DataFrame([{"score": "ML model", **{k: ev.metric(k) for k in (
                    "roc_auc", "pr_auc", "top_decile_lift")}}, {"score": "Rule health score", **{
                        k: h.get(k) for k in ("roc_auc", "pr_auc", "top_decile_lift")}}]) if h else pd.DataFrame()
                if h and (ev.intervals.get("differences") or {}).get("model - rule"):
                    table = pd.concat([table, pd.DataFrame([{
                        "score": "Difference (ML − rule)", "roc_auc": iv.estimate if iv else None,
                        "roc_auc_ci": interval_text(iv)}])], ignore_index=True)
        if table.empty:
            if r.target == "churn":
                st.info("No rule-score comparison for this model (flat data has no health-score metrics).")
        else:
            st.dataframe(table, hide_index=True, key="rule_table", column_config={
                "score": "Score", "roc_auc": st.column_config.NumberColumn("ROC-AUC", format="%.3f"),
                "roc_auc_ci": "ROC-AUC 95% CI",
                "pr_auc": st.column_config.NumberColumn("PR-AUC", format="%.3f"), "pr_auc_ci": "PR-AUC 95% CI",
                "top_decile_lift": st.column_config.NumberColumn("Top-decile lift", format="%.2f"),
                "top_decile_lift_ci": "Lift 95% CI",
                "rows": st.column_config.NumberColumn("Rows", format="localized"),
                "positives": st.column_config.NumberColumn("Positives", format="%d")}, placeholder="–")
            st.markdown(rule_verdict(table))
        if cv is not None:
            c1, c2 = st.columns(2)
            with c1:
                lab_chart(charts.fig_roc({"ML model": cv.roc, "rule health score": cv.rule_roc}),
                          "rule_roc", "ROC: ML model vs rule health score",
                          "true positive rate vs false positive rate, held-out rows", model=r)
                how("the curve further up and left separates churners from stayers better.")
            with c2:
                lab_chart(charts.fig_gains({"ML model": cv.gains, "rule health score": cv.rule_gains}), "rule_gains",
                          "Cumulative gains: ML model vs rule health score",
                          "share of churners reached vs share of the list worked", model=r)
                how("working each list from the top, the share of churners reached; higher is better.")
        lab_chart(charts.fig_backtest(backtest_table(ev)), "rule_backtest",
                  "Backtest: ML model vs rule health score", "held-out metrics per test window", model=r)
        how("ROC-AUC of both scores at each backtest cut-off: which one to trust, and whether that holds over time.")
