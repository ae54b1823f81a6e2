"""Model lab: check the data, train, evaluate, explain, compare, promote and watch drift.

For data scientists and admins. This page lays out the tabs; each tab is a module of
:mod:`views._model_lab` with ``render(lab)``. Every number comes from :mod:`models.diagnostics`
(computation) through :mod:`components.cached_models` (cached per model id and data version);
charts are the ``fig_*`` builders in :mod:`components.charts`. Tabs are lazy (only the open one
runs) and bound to ``?tab=``; the model under study is ``?model=`` so a view can be linked.
"""

from __future__ import annotations

import streamlit as st

from components import auth, cached_models, layout, score_now
from components.session import workspace
from views._model_lab import (
    cohorts,
    compare,
    data_health,
    drift,
    evaluate,
    explain,
    promote,
    rule_vs_ml,
    train,
)
from views._model_lab.common import Lab

TABS = {"Data health": data_health, "Train": train, "Evaluate": evaluate, "Explain": explain, "Cohorts": cohorts,
        "Rule score vs ML": rule_vs_ml, "Compare": compare, "Promote": promote, "Drift": drift}

user = auth.current_user()
ws = workspace()

st.title("Model lab")
if not layout.has_data():
    layout.no_data_notice()
    st.stop()
with st.container(horizontal=True, vertical_alignment="center", key="lab_score_now"):
    st.caption(score_now.scored_caption())
    score_now.score_now_button(user, key="lab_score_now_button")

lab = Lab(user=user, ws=ws, records=cached_models.models())
for tab_module, tab in zip(TABS.values(), st.tabs(list(TABS), key="tab", bind="query-params"), strict=True):
    with tab:
        if tab.open:
            tab_module.render(lab)
