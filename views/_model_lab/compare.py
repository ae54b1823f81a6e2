"""Model lab, Compare tab: two models side by side, a winner only where the interval of the difference says so."""

from __future__ import annotations

import streamlit as st

from components import cached_models, charts
from models import uncertainty
from models.diagnostics.comparison import METRIC_LABELS, NO_CLEAR_WINNER, TESTED, better_model, compare_table
from views._model_lab.common import Lab, how, lab_chart, model_as_of


def render(lab: Lab) -> None:
    """Draw the Compare tab (``views/model_lab.py`` calls it while the tab is open)."""
    if len(lab.records) < 2:
        st.info("Train a second model to compare (Train tab).")
    else:
        c1, c2 = st.columns(2)
        with c1:
            a = lab.pick_model("compare_a", "Model A")
        others = [x for x in lab.records if x.id != a.id]
        same_target = [x for x in others if x.target == a.target]
        with c2:
            b = lab.pick_model("compare_b", "Model B", exclude=a.id, default=(same_target or others)[0].id)
        if a.target != b.target:
            st.warning(f"These models predict different targets ({a.target} vs {b.target}); their metrics are "
                       "not comparable.")
        table = compare_table([a, b])
        intervals, paired = cached_models.difference(a, b)
        wins = better_model(a, b, intervals)
        shown = table.astype("object").map(lambda v: f"{v:.3f}" if isinstance(v, float) else ("–" if v is None
                                                                                               else str(v)))
        winner_col, diff_col = [], []
        for idx in shown.index:
            key = next((k for k, lbl in METRIC_LABELS.items() if lbl == idx), None)
            w = wins.get(key) if key else None
            iv = intervals.get(key) if key else None
            diff_col.append(uncertainty.describe(iv) if iv is not None else "")
            if key in TESTED:
                winner_col.append("A" if w == a.id else ("B" if w == b.id else NO_CLEAR_WINNER))
            else:
                winner_col.append("")
        shown.columns = [f"A · {a.id}", f"B · {b.id}"]
        shown["A − B (95% CI)"] = diff_col
        shown["Better"] = winner_col
        st.dataframe(shown, key="compare_table", height=36 * (len(shown) + 1) + 4, placeholder="–")
        tested = [wins.get(k) for k in TESTED]
        if a.target == b.target and not any(tested):
            st.info(f"**No clear winner**: on every ranking metric the 95% interval of the difference contains "
                    f"zero ({'paired on the rows both models scored' if paired == 'paired' else paired + ' intervals'}).")
        how("the same held-out metrics for both models; 'Better' names a model only when the 95% interval of "
            "the difference (bootstrap over accounts; paired when both models scored the same rows) excludes "
            "zero. Calibration error and observed/expected have no interval, so no winner is named on them.")
        ev_a, ev_b = cached_models.evaluation(a), cached_models.evaluation(b)
        c3, c4 = st.columns(2)
        with c3:
            lab_chart(charts.fig_roc({"A": ev_a.curves.roc if ev_a.curves else None,
                                     "B": ev_b.curves.roc if ev_b.curves else None}), "compare_roc",
                      "ROC curves of two models", f"A = {a.id}", note=f"B = {b.id}", as_of=model_as_of(a))
            how("the curve higher and further left separates better.")
        with c4:
            lab_chart(charts.fig_reliability({"A": ev_a.calibration, "B": ev_b.calibration}), "compare_reliability",
                "Reliability of two models", f"A = {a.id}", note=f"B = {b.id}", as_of=model_as_of(a))
            how("the line closer to the diagonal gives probabilities you can take at face value.")
