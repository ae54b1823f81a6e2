"""Model lab, Drift tab: how far today's accounts have moved from a model's training rows (PSI per metric)."""

from __future__ import annotations

import streamlit as st

from components import cached, cached_models, charts, layout
from views._model_lab.common import NO_HOLDOUT, Lab, fmt_metric, how, lab_chart


def render(lab: Lab) -> None:
    """Draw the Drift tab (``views/model_lab.py`` calls it while the tab is open)."""
    r = lab.pick_model("drift_model")
    if r is not None:
        with layout.user_errors():
            table = cached_models.drift(r)
        if table is None:
            st.info(NO_HOLDOUT)
        else:
            shifted = table[table["shifted"]]
            c = st.columns(3)
            c[0].metric("Metrics compared", f"{len(table):,}", border=True)
            c[1].metric("Shifted (PSI > 0.2)", f"{len(shifted):,}", border=True)
            c[2].metric("Largest PSI", fmt_metric(table["psi"].max()), border=True)
            if len(shifted):
                st.warning("Shifted: " + ", ".join(shifted["label"].head(8)) + (" …" if len(shifted) > 8 else "")
                           + ". Check the data feed, or retrain if the business has changed.")
            lab_chart(charts.fig_psi(table), "drift_chart", "Drift since training, per metric",
                      "population stability index (PSI); above 0.2 = shifted",
                      note=f"vs the training rows of {r.id}", as_of=cached.as_of())
            how("each bar compares a metric's distribution in the model's training rows with the accounts as of "
                "the latest data; past the dashed line (0.2) the model sees a population it was not trained on.")
            st.dataframe(table.drop(columns=["feature"]), hide_index=True, key="drift_table", column_config={
                "label": "Metric", "group": "Group", "psi": st.column_config.NumberColumn("PSI", format="%.3f"),
                "shifted": st.column_config.CheckboxColumn("Shifted"),
                "reference_median": st.column_config.NumberColumn("Median in training", format="%.3g"),
                "current_median": st.column_config.NumberColumn("Median now", format="%.3g")}, placeholder="–")
