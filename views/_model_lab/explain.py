"""Model lab, Explain tab: what drives the score (SHAP importance, groups, beeswarm, dependence)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cached_models, charts
from views._model_lab.common import NO_HOLDOUT, Lab, how, lab_chart, snapshot_warning


def render(lab: Lab) -> None:
    """Draw the Explain tab (``views/model_lab.py`` calls it while the tab is open)."""
    r = lab.pick_model("explain_model")
    if r is not None:
        snapshot_warning(r)
        sample, in_sample = cached_models.shap_sample(r)
        if sample is None:
            st.info(NO_HOLDOUT)
            top = pd.DataFrame(r.evaluation.top_features)
            if not top.empty:
                lab_chart(charts.fig_importance(top), "explain_stored_importance",
                          "What drives the score, by metric", "mean |SHAP| (log-odds)", model=r)
                how("bar length is the average size of the feature's effect on the score (mean |SHAP|).")
        else:
            where = ("**in-sample**: rows the production model trained on (it was refitted on every labelled "
                     "date), so effects it memorised look larger than they are" if in_sample else
                     "**out of sample**: the latest dates, whose outcome is not known yet, so the production "
                     "model never trained on them")
            st.caption(f"SHAP values of {len(sample.values):,} rows, {where}. Values are in the model's "
                       f"log-odds: positive values raise the predicted {r.target} probability. One-hot columns "
                       "are folded back into their metric.")
            c1, c2 = st.columns([3, 2])
            with c1:
                lab_chart(charts.fig_importance(sample.importance()), "explain_importance",
                          "What drives the score, by metric", "mean |SHAP| (log-odds)", model=r)
                how("bar length is the average size of a metric's push on the score (mean |SHAP|); colour is "
                    "its group.")
            with c2:
                lab_chart(charts.fig_importance(sample.group_importance(), label_col="group"), "explain_groups",
                          "What drives the score, by metric group", "mean |SHAP| per account (log-odds)", model=r)
                how("the same, with each group's metrics added up per account first: which kind of signal "
                    "matters most.")
            lab_chart(charts.fig_beeswarm(sample.beeswarm()), "explain_beeswarm",
                      "Every account's push, metric by metric", "SHAP value (log-odds); colour: the metric's value",
                      model=r)
            how("one dot per account: right of the line raises the score, left lowers it; red dots have a high "
                "value of the metric, blue a low one (grey: category or missing).")
            imp = sample.importance()
            feature = st.selectbox("Dependence plot for", list(imp["feature"]), key="explain_feature",
                                   format_func=lambda f: f"{sample.labels[f]} ({sample.groups[f]})")
            lab_chart(charts.fig_dependence(sample.dependence(feature), sample.labels[feature],
                                            categorical=feature in sample.categorical), "explain_dependence",
                      f"How {sample.labels[feature].lower()} moves the score",
                      "SHAP value (log-odds) vs the metric's value", model=r)
            how("each dot is an account: the metric's value across, its effect on the score up. The shape shows "
                "where the metric starts to matter.")
