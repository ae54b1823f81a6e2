"""Model lab, Evaluate tab: the headline metrics, curves, a confusion matrix at your capacity, per segment and
the backtest of one model."""

from __future__ import annotations

import streamlit as st

from components import cached_models, charts, layout
from models.diagnostics.comparison import backtest_table, segment_metrics
from models.diagnostics.curves import confusion_at
from views._model_lab.common import NO_HOLDOUT, Lab, details_caption, how, lab_chart, metric_row, snapshot_warning


def render(lab: Lab) -> None:
    """Draw the Evaluate tab (``views/model_lab.py`` calls it while the tab is open)."""
    r = lab.pick_model("eval_model")
    if r is not None:
        details_caption(r)
        snapshot_warning(r)
        metric_row(r)
        ev = cached_models.evaluation(r)
        cv = ev.curves
        if cv is None:
            st.info(NO_HOLDOUT)
        c1, c2 = st.columns(2)
        with c1:
            lab_chart(charts.fig_roc({"model": cv.roc if cv else None}), "eval_roc", "ROC curve",
                      "true positive rate vs false positive rate, held-out rows", model=r)
            how("the higher the curve bows above the dotted diagonal, the better the model separates "
                "positives from the rest; the area under it is the ROC-AUC.")
        with c2:
            lab_chart(charts.fig_pr(cv.pr if cv else None, cv.base_rate if cv else None), "eval_pr", "Precision–recall curve",
                      "precision vs recall, held-out rows", model=r)
            how("precision (of the accounts you flag, how many really churn) as you flag more to catch more; "
                "the dotted line is what flagging at random gives.")
        c3, c4 = st.columns(2)
        with c3:
            lab_chart(charts.fig_reliability({"model": ev.calibration}), "eval_reliability",
                      "Reliability diagram", "observed rate vs predicted probability, tenths of held-out rows",
                      model=r)
            how("each dot is a tenth of the held-out rows by predicted probability (equal-count bins, so the "
                "many low scores are spread over several dots): predicted across, what really happened up. "
                "On the diagonal, a 20% score means 20% churn.")
        with c4:
            lab_chart(charts.fig_gains({"model": cv.gains if cv else None}), "eval_gains", "Cumulative gains",
                      "share of positives reached vs share of the list worked", model=r)
            how("working the list from the highest score down, the share of all positives you reach; "
                "the diagonal is calling accounts in random order.")
        lab_chart(charts.fig_lift(cv.gains if cv else None), "eval_lift", "Lift by score decile",
                  "outcome rate ÷ average rate, per tenth of the list", model=r)
        how("how many times the average rate each tenth of the list has, highest scores on the left; "
            "bars above 1 beat random.")

        st.subheader("If you act on the list")
        if cv is not None:
            y, p = cv.y, cv.p
            c5, c6 = st.columns([1, 2])
            with c5:
                mode = st.radio("Flag accounts by", ["Capacity (top N)", "Probability threshold"],
                                key="eval_flag_mode", horizontal=True)
                if mode.startswith("Capacity"):
                    n = st.slider("Accounts your team can work", 1, len(y), min(len(y), max(1, len(y) // 10)),
                                  key="eval_top_n")
                    cm = confusion_at(y, p, top_n=n)
                else:
                    thr = st.slider("Flag when p ≥", 0.0, 1.0, float(round(min(0.99, 2 * cv.base_rate), 2)),
                                    0.01, key="eval_threshold", format="%.2f")
                    cm = confusion_at(y, p, threshold=thr)
                st.metric("Flagged", f"{cm.flagged:,}", border=True,
                          help=f"Held-out rows flagged (p ≥ {cm.threshold:.3f}).")
                st.metric("Precision", layout.pct(cm.precision, 1), border=True,
                          help="Of the flagged rows, the share that really had the outcome.")
                st.metric("Recall", layout.pct(cm.recall, 1), border=True,
                          help="Of all rows with the outcome, the share the list caught.")
            with c6:
                lab_chart(charts.fig_confusion(cm.matrix()), "eval_confusion", "Flagged vs what happened",
                          f"held-out rows, flagging p ≥ {cm.threshold:.3f}", model=r)
                how("green cells are right calls (caught positives, left-alone negatives), red ones are "
                    "misses and false alarms, for the held-out rows at this capacity or threshold.")
        else:
            st.info(NO_HOLDOUT)

        st.subheader("By segment")
        seg = cv.segments if cv is not None else segment_metrics(None, ev)
        if seg is None or seg.empty:
            st.info("No segment column in this data.")
        else:
            st.dataframe(seg, hide_index=True, key="eval_segments", column_config={
                "segment": "Segment", "rows": st.column_config.NumberColumn("Rows", format="localized"),
                "positives": st.column_config.NumberColumn("Positives", format="%d"),
                "roc_auc": st.column_config.NumberColumn("ROC-AUC", format="%.3f"),
                "pr_auc": st.column_config.NumberColumn("PR-AUC", format="%.3f"),
                "brier": st.column_config.NumberColumn("Brier", format="%.4f"),
                "top_decile_lift": st.column_config.NumberColumn("Top-decile lift", format="%.2f"),
                "ece": st.column_config.NumberColumn("Calibration error", format="%.3f")}, placeholder="–")
            how("the same metrics on each segment's held-out rows; a segment far below the others needs a "
                "look before you trust its scores.")

        st.subheader("Backtest over cut-off dates")
        bt = backtest_table(ev)
        lab_chart(charts.fig_backtest(bt), "eval_backtest", "Backtest over cut-off dates",
                  "held-out metrics per test window", model=r)
        how("the whole pipeline re-run as if it were earlier: each point trains on data before a cut-off and "
            "tests on the months after it. A steady line means the model's quality is not a one-off.")
        if not bt.empty:
            st.dataframe(bt, hide_index=True, key="eval_backtest_table", column_config={
                "test_start": "Test from", "test_end": "Test to",
                "rows": st.column_config.NumberColumn("Rows", format="localized"),
                "positives": st.column_config.NumberColumn("Positives", format="%d"),
                "roc_auc": st.column_config.NumberColumn("ROC-AUC", format="%.3f"),
                "pr_auc": st.column_config.NumberColumn("PR-AUC", format="%.3f"),
                "top_decile_lift": st.column_config.NumberColumn("Top-decile lift", format="%.2f"),
                "ece": st.column_config.NumberColumn("Calibration error", format="%.3f"),
                "rule_roc_auc": st.column_config.NumberColumn("Rule score ROC-AUC", format="%.3f"),
                "rule_top_decile_lift": st.column_config.NumberColumn("Rule score lift", format="%.2f"),
                "algorithm": "Model chosen at this cut-off"}, placeholder="–")
