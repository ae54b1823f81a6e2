"""Model lab, Cohorts tab: the outcome rate per tenth of a metric, with Wilson intervals (no model involved)."""

from __future__ import annotations

import streamlit as st

from components import cached, cached_models, charts, layout
from data.vocabulary import TARGET_LABELS, TARGETS
from views._model_lab.common import Lab, how, lab_chart


def render(lab: Lab) -> None:
    """Draw the Cohorts tab (``views/model_lab.py`` calls it while the tab is open)."""
    st.caption("Every labelled observation row (one per account and observation date): the outcome rate per tenth of a "
               "metric, with 95% Wilson confidence intervals. No model involved: this is the raw relationship.")
    c1, c2 = st.columns([1, 3])
    outcome = c1.selectbox("Outcome", TARGETS, key="cohort_target",
                           format_func=TARGET_LABELS.get)
    horizon = c1.selectbox("Within (days)", [30, 60, 90, 180, 365], index=2, key="cohort_horizon")
    with layout.user_errors():
        obs = cached_models.observations(horizon)
    cat = obs.catalog
    metrics = [f for f in [*obs.numeric, *obs.categorical] if f in cat]
    metrics.sort(key=lambda f: (cat[f].group, cat[f].label))
    default = metrics.index("seat_utilisation") if "seat_utilisation" in metrics else 0
    metric = c2.selectbox("Metric", metrics, index=default, key="cohort_metric",
                          format_func=lambda f: f"{cat[f].group} · {cat[f].label}")
    frame = obs.frame
    label = "label_churn" if outcome == "churn" else "label_expansion"
    cohort = cached_models.cohorts(metric, outcome, horizon)
    lab_chart(charts.fig_cohorts(cohort, base_rate=float(frame[label].mean()) if len(frame) else None,
                                 outcome=outcome, label=cat[metric].label), "cohort_chart",
              f"{outcome.capitalize()} within {horizon} days by {cat[metric].label.lower()}",
              "share of observation rows, with 95% confidence intervals", as_of=cached.as_of())
    how(f"each bar is a tenth of the rows ordered by {cat[metric].label.lower()} (or one category); its height is "
        f"the share that saw {outcome} within {horizon} days, the whisker its 95% confidence interval. Bars whose "
        "whiskers clear the dotted overall line differ for real.")
    st.dataframe(cohort.drop(columns=["bucket", "low", "high"]), hide_index=True, key="cohort_table",
                 column_config={"label": "Bucket", "n": st.column_config.NumberColumn("Rows", format="localized"),
                                "positives": st.column_config.NumberColumn("Positives", format="%d"),
                                "rate": st.column_config.NumberColumn("Rate", format="percent"),
                                "ci_low": st.column_config.NumberColumn("95% CI low", format="percent"),
                                "ci_high": st.column_config.NumberColumn("95% CI high", format="percent")}, placeholder="–")
