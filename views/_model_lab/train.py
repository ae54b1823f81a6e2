"""Model lab, Train tab: the training form, and the running job's progress and result."""

from __future__ import annotations

import secrets
import time

import streamlit as st

from components import cached_models, layout, training_inputs
from data.vocabulary import TARGET_LABELS, TARGETS
from models.training import ALGORITHM_CHOICES, TrainConfig
from views._model_lab.common import Lab, fmt_metric

ALGORITHMS = {"logreg": "Logistic regression (baseline)", "gbm": "Gradient-boosted trees (LightGBM)",
              "auto": "Auto: try both and a blend, keep the best"}


def render(lab: Lab) -> None:
    """Draw the Train tab (``views/model_lab.py`` calls it while the tab is open)."""
    groups = training_inputs.metric_groups()
    jobs = cached_models.training_jobs()
    st.session_state.setdefault("lab_train_token", secrets.token_hex(8))
    st.markdown("Runs the same pipeline as `python cli.py train`: monthly observation rows, a leakage check, "
                "time-ordered tuning and test, calibration on a later slice, a backtest. The new model is "
                "registered as a **candidate**; promote it on the Promote tab.")
    with st.form("train_form", border=True):
        c1, c2 = st.columns(2)
        target = c1.selectbox("Target", TARGETS, format_func=lambda t: TARGET_LABELS[t] + (" (MRR +10%)" if t == "expansion" else ""), key="train_target")
        algorithm = c2.selectbox("Algorithm", ALGORITHM_CHOICES, index=0, format_func=ALGORITHMS.get,
                                 key="train_algorithm")
        c3, c4 = st.columns(2)
        horizon = c3.number_input("Horizon (days)", min_value=7, max_value=730, value=90, step=30,
                                  key="train_horizon", help="The model predicts the outcome within this many days.")
        lead = c4.number_input("Lead time (days)", min_value=0, max_value=365, value=0, step=15,
                               key="train_lead", help="Skip this many days after the score date before the "
                               "horizon starts (time to act).")
        chosen_groups = st.multiselect("Feature groups", groups, default=groups, key="train_groups",
                                       help="Only metrics of these groups are used as features.")
        keep = st.multiselect("Account attributes to use anyway", training_inputs.keepable_columns(), default=[],
                              key="train_keep", help="Custom account columns hold today's value for every "
                              "past month, and columns named like an outcome (status, churned, cancel date) "
                              "may be recorded after it: both are left out unless you pick them here.")
        submitted = st.form_submit_button("Train model", type="primary", icon=":material/model_training:")
    if submitted:
        if not chosen_groups:
            st.error("Pick at least one feature group.")
        else:
            config = TrainConfig(target=target, algorithm=algorithm, horizon_days=int(horizon),
                                 lead_days=int(lead), keep_columns=tuple(keep))
            with layout.user_errors():
                config.validate()
            all_groups = None if set(chosen_groups) == set(groups) else list(chosen_groups)
            jobs.start(st.session_state["lab_train_token"], lab.ws, config, groups=all_groups, actor=lab.user.username)
            st.session_state["lab_train_job"] = st.session_state["lab_train_token"]
    job = jobs.get(st.session_state.get("lab_train_job", ""))
    if job is not None:
        what = f"{job.settings['target']} · {job.settings['algorithm']} · {job.settings['horizon_days']} days"
        with st.status(f"Training {what}", expanded=not job.done, state="running") as status:
            bar = st.progress(job.fraction)
            log = st.empty()
            while not job.done:
                log.markdown("\n".join(f"- {m}" for m in job.messages) or "- starting...")
                bar.progress(job.fraction, text=f"{time.time() - job.started:.0f} s")
                time.sleep(0.4)
            log.markdown("\n".join(f"- {m}" for m in job.messages))
            bar.progress(1.0, text=f"finished in {job.finished - job.started:.0f} s")
            status.update(label=f"Trained {what}" if not job.error else f"Training failed ({what})",
                          state="error" if job.error else "complete", expanded=bool(job.error))
        if job.error:
            st.error(job.error)
        else:
            ev = job.record.evaluation
            roc_iv = ev.interval("roc_auc")
            roc_ci = f" (95% CI {roc_iv.low:.3f} to {roc_iv.high:.3f})" if roc_iv is not None else ""
            st.success(f"Registered **{job.record.id}** as a candidate: ROC-AUC {fmt_metric(ev.metric('roc_auc'))}"
                       f"{roc_ci}, top-decile lift {fmt_metric(ev.metric('top_decile_lift'), 2)}, calibration error "
                       f"{fmt_metric(ev.metric('ece'))} on {ev.n_test or 0:,} held-out rows. Look at it on the Evaluate "
                       "tab, compare it on Compare, promote it on Promote.", icon=":material/check_circle:")
            st.session_state["lab_model_id"] = job.record.id
        if st.session_state.get("lab_train_token") == job.key:  # the next submission trains again
            st.session_state["lab_train_token"] = secrets.token_hex(8)
