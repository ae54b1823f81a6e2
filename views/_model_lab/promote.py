"""Model lab, Promote tab: make a candidate the production model of its target (audited), after comparing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cached_models, layout
from models import uncertainty
from models.registry import promote
from views._model_lab.common import Lab, model_label


def render(lab: Lab) -> None:
    """Draw the Promote tab (``views/model_lab.py`` calls it while the tab is open)."""
    flash = st.session_state.pop("lab_promoted", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    prod = pd.DataFrame([{"target": r.target, "model": r.id, "algorithm": r.algorithm,
                          "ROC-AUC": r.evaluation.metric("roc_auc"), "promoted from": r.created_at}
                         for r in cached_models.models() if r.status == "production"])
    st.markdown("**In production now**")
    if prod.empty:
        st.info("No production model yet: promote a candidate below.")
    else:
        st.dataframe(prod, hide_index=True, key="promote_production", column_config={
            "ROC-AUC": st.column_config.NumberColumn(format="%.3f"),
            "promoted from": st.column_config.DatetimeColumn("Trained", format="D MMM YYYY HH:mm")}, placeholder="–")
    candidates = [r for r in lab.records if r.status != "production"]
    if not candidates:
        st.info("No candidates: train a model on the Train tab first.")
    else:
        with st.form("promote_form", border=True, clear_on_submit=True):
            choice = st.selectbox("Model to promote", [r.id for r in candidates], key="promote_choice",
                                  format_func=lambda i: model_label(lab.by_id[i]))
            confirm = st.checkbox("I have compared it with the production model and want new scores to use it.",
                                  key="promote_confirm")
            do_promote = st.form_submit_button("Promote to production", type="primary", icon=":material/publish:")
        chosen = lab.by_id[choice]
        current = next((r for r in lab.records if r.status == "production" and r.target == chosen.target), None)
        if current is not None:
            diff, paired = cached_models.difference(chosen, current)
            iv = diff.get("roc_auc")
            winner = uncertainty.verdict(iv, "roc_auc", chosen.id, current.id)
            span = uncertainty.describe(iv)
            if winner is None:
                st.info(f"**No clear winner** between {chosen.id} and the production model {current.id}: "
                        + (f"ROC-AUC difference {span} contains zero." if span else
                           "no interval of the difference is stored for these models."))
            else:
                st.info(f"**{winner}** ranks accounts better than "
                        f"{current.id if winner == chosen.id else chosen.id}: ROC-AUC difference {span}.")
        st.caption(f"Promoting makes **{chosen.id}** the production {chosen.target} model"
                   + (f" and archives {current.id}" if current else "")
                   + ". It is recorded in the audit log. Accounts get the new scores at the next scoring run "
                     "(**Score now** at the top of this page, or the scheduled job).")
        if do_promote:
            if not confirm:
                st.warning("Tick the confirmation box to promote.")
            else:
                with layout.user_errors():
                    promoted = promote(lab.ws.engine, chosen.id, actor=lab.user.username)
                st.session_state["lab_promoted"] = (f"{promoted.id} is now the production {promoted.target} model"
                                         + (f" (replacing {current.id})." if current else "."))
                st.session_state["lab_model_id"] = promoted.id
                st.rerun()
