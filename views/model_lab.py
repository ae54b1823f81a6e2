"""Model lab: check the data, train, evaluate, explain, compare, promote and watch drift.

For data scientists and admins. Every number comes from :mod:`models.lab` (computation)
through :mod:`components.cached_models` (cached per model id and data version); charts
are the ``fig_*`` builders in :mod:`components.charts`. Tabs are lazy (only the open one
runs) and bound to ``?tab=``; the model under study is ``?model=`` so a view can be linked.
"""

from __future__ import annotations

import secrets
import time

import pandas as pd
import streamlit as st

from components import auth, cached, cached_models, charts, layout, plot, score_now
from components import formatting as fmt
from components.session import cursor, data_version, workspace
from data.vocabulary import TARGET_LABELS, TARGETS
from models import lab, uncertainty
from models.registry import promote
from models.training import ALGORITHM_CHOICES, TrainConfig

TABS = ["Data health", "Train", "Evaluate", "Explain", "Cohorts", "Rule score vs ML", "Compare", "Promote", "Drift"]
ALGORITHMS = {"logreg": "Logistic regression (baseline)", "gbm": "Gradient-boosted trees (LightGBM)",
              "auto": "Auto: try both and a blend, keep the best"}
NO_HOLDOUT = ("This model was registered before held-out predictions were stored with each model, so only its "
              "stored summary is shown. Retrain it (Train tab) to see every chart.")

user = auth.current_user()
state = st.session_state
ws = workspace()

st.title("Model lab")
if not layout.has_data():
    layout.no_data_notice()
    st.stop()
with st.container(horizontal=True, vertical_alignment="center", key="lab_score_now"):
    st.caption(score_now.scored_caption())
    score_now.score_now_button(user, key="lab_score_now_button")


@st.cache_data(show_spinner=False, max_entries=4)
def _left_out(version: str, mode: str) -> dict[str, str]:
    from models.eligibility import attribute_report

    return attribute_report(cursor(), mode)


def how(text: str) -> None:
    st.caption(f"How to read this: {text}")


def fmt_metric(v, digits: int = 3) -> str:
    return "–" if v is None or v != v else f"{v:.{digits}f}"


def model_label(r) -> str:
    auc = r.metrics.get("roc_auc")
    return f"{r.id} · {r.status} · ROC-AUC {fmt_metric(auc)}"


def horizon_text(r) -> str:
    if r.validation == "cv":
        return f"{r.target} as labelled in the imported data"
    return f"{r.target} within {r.horizon_days} days"


records = cached_models.models()
by_id = {r.id: r for r in records}


def default_model_id() -> str | None:
    wanted = state.get("lab_model_id") or st.query_params.get("model")
    if wanted in by_id:
        return wanted
    prod = [r for r in records if r.status == "production" and r.target == "churn"]
    return (prod or records or [None])[0].id if (prod or records) else None


def pick_model(key: str, label: str = "Model", *, exclude: str | None = None, default: str | None = None):
    """A model picker whose choice carries across tabs (and into ``?model=``)."""
    ids = [r.id for r in records if r.id != exclude]
    if not ids:
        st.info("No models yet. Train one on the Train tab.")
        return None
    start = default or default_model_id()
    index = ids.index(start) if start in ids else 0

    def remember() -> None:
        state["lab_model_id"] = state[key]
        st.query_params["model"] = state[key]

    chosen = st.selectbox(label, ids, index=index, key=key, format_func=lambda i: model_label(by_id[i]),
                          on_change=remember if exclude is None else None)
    return by_id[chosen]


def interval_of(r, metric: str, score: str = "model") -> uncertainty.Interval | None:
    iv = ((r.metrics.get("details") or {}).get("intervals") or {}).get("scores", {}).get(score, {})
    return uncertainty.Interval.from_json(iv.get(metric))


def snapshot_warning(r) -> None:
    """Warn when the model reads account attributes whose history is unknown (csm, segment, kept columns)."""
    elig = (r.metrics.get("details") or {}).get("eligibility") or {}
    snap = elig.get("snapshot_features") or []
    if snap:
        st.warning("This model uses account attributes as exported today: " + ", ".join(f"**{f}**" for f in snap)
                   + ". Every past month reads today's value, so a reassigned CSM or a segment rewritten after "
                   "an account churned makes the model look better than it is. The leakage check cannot verify "
                   "these columns.", icon=":material/warning:")
    excluded = elig.get("excluded") or {}
    if excluded:
        st.caption("Left out as possible outcome columns or unverifiable snapshots: "
                   + "; ".join(f"{f} ({why})" for f, why in excluded.items()))


def metric_row(r) -> None:
    m = r.metrics
    cols = st.columns(7)
    cols[0].metric("ROC-AUC", fmt_metric(m.get("roc_auc")), border=True,
                   help="Chance that a random positive is scored above a random negative. 0.5 = coin flip.")
    cols[1].metric("PR-AUC", fmt_metric(m.get("pr_auc")), border=True,
                   help="Average precision over all recall levels; compare it with the base rate, not with 1.")
    cols[2].metric("Brier score", fmt_metric(m.get("brier"), 4), border=True,
                   help="Mean squared error of the probabilities. Lower is better.")
    cols[3].metric("Top-decile lift", fmt_metric(m.get("top_decile_lift"), 2), border=True,
                   help="Positive rate among the 10% highest scores ÷ the overall rate.")
    cols[4].metric("Calibration error", fmt_metric(m.get("ece"), 3), border=True,
                   help="Expected calibration error over ten equal-count (quantile) bins of the predictions: the "
                        "average gap between predicted and observed rates. Read it against the base rate.")
    cols[5].metric("Observed / expected", fmt_metric(m.get("oe_ratio"), 2), border=True,
                   help="Churns that happened ÷ churns the probabilities predicted. 1.00 is right on average; "
                        "1.8 means the model predicts 45% too few.")
    cols[6].metric("Held-out rows", f"{m.get('n_test') or 0:,}", border=True,
                   delta=f"{m.get('positives_test') or 0:,} positive", delta_color="off", delta_arrow="off",
                   help="Rows the model never saw in training (a later time slice, or out-of-fold in flat mode).")
    st.caption("How sure: " + lab.uncertainty_sentence(r.target, m.get("positives_test"), m.get("roc_auc_interval"),
                                                       (m.get("details") or {}).get("history")))
    parts = []
    for k, name in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("top_decile_lift", "top-decile lift")):
        iv = interval_of(r, k)
        if iv is not None:
            parts.append(f"{name} {iv.low:.3f} to {iv.high:.3f}")
    if parts:
        st.caption("95% intervals (bootstrap over accounts, since held-out rows repeat accounts): " + "; ".join(parts)
                   + f". Log-loss {fmt_metric(m.get('log_loss'), 4)}.")
    else:
        st.caption("No confidence intervals stored for this model (trained before they were computed); "
                   "retrain it to see how uncertain these figures are.")


def model_as_of(r) -> str | None:
    """The end of the data a model was trained and tested on (its history's data end, else its training end)."""
    history = (r.metrics.get("details") or {}).get("history") or {}
    return history.get("data_end") or r.training_end


def lab_chart(fig, key: str, title: str, units: str, *, model=None, note: str | None = None, as_of=None) -> None:
    """Draw a Model lab chart with its title, units, model id (or ``note``) and as-of date inside the figure, one
    line each, so its PNG (the camera button, named after the title and model) can go into a deck as it is."""
    if model is not None:
        note = note or f"model {model.id}"
        as_of = as_of if as_of is not None else model_as_of(model)
    if note:
        fig.update_layout(title_text=note)  # charts.deck_title keeps a figure's own note as a line of its own
    plot.show(charts.deck_title(fig, title, units=units, as_of=as_of), key=key,
              filename=f"{title} {model.id}" if model is not None else title)


def details_caption(r) -> None:
    d = r.metrics.get("details") or {}
    parts = [f"Predicts **{horizon_text(r)}**", f"algorithm **{r.algorithm}**",
             f"validation **{'time-ordered split' if r.validation == 'time-split' else 'cross-validation'}**"]
    if d.get("test_dates"):
        parts.append(f"tested on {d['test_dates'][0]} to {d['test_dates'][1]}")
    if d.get("calibration", {}).get("method"):
        parts.append(f"calibrated with {d['calibration']['method']}")
    groups = r.metrics.get("feature_groups")
    if groups:
        parts.append("feature groups: " + ", ".join(groups))
    st.caption(" · ".join(parts) + f" · trained by {r.created_by or '–'} on {r.created_at:%d %b %Y %H:%M}")


tabs = dict(zip(TABS, st.tabs(TABS, key="tab", bind="query-params"), strict=True))

# --------------------------------------------------------------------------- data health
with tabs["Data health"]:
    if tabs["Data health"].open:
        as_of = cached.as_of()
        health = cached_models.health(as_of)
        accounts = health["accounts"]
        events = health.get("events")
        subs = health.get("subscriptions")
        warnings = [(t, w) for t, h in health.items() for w in h.warnings]
        c = st.columns(4)
        c[0].metric("Accounts", f"{accounts.rows:,}", border=True)
        c[1].metric("Usage events", f"{events.rows:,}" if events else "–", border=True)
        fresh = events.freshness_days if events and events.freshness_days is not None else None
        c[2].metric("Newest event", f"{fmt.plural(fresh, 'day')} old" if fresh is not None else "–", border=True,
                    help=f"Measured against {as_of:%d %b %Y}, the date this workspace's data describes.")
        c[3].metric("Warnings", f"{len(warnings)}", border=True)
        layout.health_warnings(warnings, "No data-health warnings: every table is present, fresh and covers the "
                                         "accounts, and there are enough churned accounts to train on.")
        summary = pd.DataFrame([{
            "table": t, "rows": h.rows, "coverage": h.coverage,
            "first": pd.Timestamp(h.first) if h.first is not None else pd.NaT,
            "last": pd.Timestamp(h.last) if h.last is not None else pd.NaT,
            "freshness": h.freshness_days, "warnings": len(h.warnings)} for t, h in health.items()])
        for col in ("first", "last"):
            summary[col] = pd.to_datetime(summary[col])
        summary["freshness"] = summary["freshness"].astype("Int64")
        st.dataframe(summary, hide_index=True, key="lab_health_table", column_config={
            "table": "Table", "rows": st.column_config.NumberColumn("Rows", format="localized"),
            "coverage": st.column_config.ProgressColumn("Share of accounts", format="percent", min_value=0,
                                                        max_value=1),
            "first": st.column_config.DateColumn("From", format="D MMM YYYY"),
            "last": st.column_config.DateColumn("To", format="D MMM YYYY"),
            "freshness": st.column_config.NumberColumn("Newest row (days old)", format="%d"),
            "warnings": st.column_config.NumberColumn("Warnings", format="%d")}, placeholder="–")
        st.caption("The Data page has per-table detail (rows per day, empty columns). "
                   f"Churn history comes from {'subscriptions' if subs and subs.rows else 'the imported label'}.")
        left_out = _left_out(data_version(), "time" if subs and subs.rows else "flat")
        if left_out:
            st.markdown("**Account columns left out of training unless you keep them** (Train tab)")
            st.dataframe(pd.DataFrame({"column": list(left_out), "why": list(left_out.values())}), hide_index=True,
                         key="lab_left_out", column_config={"column": "Column", "why": "Why"}, placeholder="–")

# --------------------------------------------------------------------------- train
with tabs["Train"]:
    if tabs["Train"].open:
        @st.cache_data(show_spinner=False, max_entries=4)
        def _groups(version: str) -> list[str]:
            from data.metrics import catalog_for

            return lab.feature_groups(catalog_for(cursor()))

        groups = _groups(data_version())

        @st.cache_data(show_spinner=False, max_entries=4)
        def _keepable(version: str) -> list[str]:
            from models.eligibility import candidate_attributes

            return candidate_attributes(cursor())

        jobs = cached_models.training_jobs()
        state.setdefault("lab_train_token", secrets.token_hex(8))
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
            keep = st.multiselect("Account attributes to use anyway", _keepable(data_version()), default=[],
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
                jobs.start(state["lab_train_token"], ws, config, groups=all_groups, actor=user.username)
                state["lab_train_job"] = state["lab_train_token"]
        job = jobs.get(state.get("lab_train_job", ""))
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
                s = job.summary
                m = s["metrics"]
                roc_iv = ((s.get("intervals") or {}).get("scores") or {}).get("model", {}).get("roc_auc") or {}
                roc_ci = (f" (95% CI {roc_iv['low']:.3f} to {roc_iv['high']:.3f})"
                          if roc_iv.get("low") is not None else "")
                st.success(f"Registered **{job.record.id}** as a candidate: ROC-AUC {fmt_metric(m['roc_auc'])}{roc_ci}, "
                           f"top-decile lift {fmt_metric(m['top_decile_lift'], 2)}, calibration error "
                           f"{fmt_metric(m['ece'])} on {s['n_test']:,} held-out rows. Look at it on the Evaluate "
                           "tab, compare it on Compare, promote it on Promote.", icon=":material/check_circle:")
                state["lab_model_id"] = job.record.id
            if state.get("lab_train_token") == job.key:  # the next submission trains again
                state["lab_train_token"] = secrets.token_hex(8)

# --------------------------------------------------------------------------- evaluate
with tabs["Evaluate"]:
    if tabs["Evaluate"].open:
        r = pick_model("eval_model")
        if r is not None:
            details_caption(r)
            snapshot_warning(r)
            metric_row(r)
            ev = cached_models.evaluation(r)
            d = r.metrics.get("details") or {}
            if not ev:
                st.info(NO_HOLDOUT)
            c1, c2 = st.columns(2)
            with c1:
                lab_chart(charts.fig_roc({"model": ev.get("roc")}), "eval_roc", "ROC curve",
                          "true positive rate vs false positive rate, held-out rows", model=r)
                how("the higher the curve bows above the dotted diagonal, the better the model separates "
                    "positives from the rest; the area under it is the ROC-AUC.")
            with c2:
                lab_chart(charts.fig_pr(ev.get("pr"), ev.get("base_rate")), "eval_pr", "Precision–recall curve",
                          "precision vs recall, held-out rows", model=r)
                how("precision (of the accounts you flag, how many really churn) as you flag more to catch more; "
                    "the dotted line is what flagging at random gives.")
            c3, c4 = st.columns(2)
            with c3:
                lab_chart(charts.fig_reliability({"model": d.get("reliability")}), "eval_reliability",
                          "Reliability diagram", "observed rate vs predicted probability, tenths of held-out rows",
                          model=r)
                how("each dot is a tenth of the held-out rows by predicted probability (equal-count bins, so the "
                    "many low scores are spread over several dots): predicted across, what really happened up. "
                    "On the diagonal, a 20% score means 20% churn.")
            with c4:
                lab_chart(charts.fig_gains({"model": ev.get("gains")}), "eval_gains", "Cumulative gains",
                          "share of positives reached vs share of the list worked", model=r)
                how("working the list from the highest score down, the share of all positives you reach; "
                    "the diagonal is calling accounts in random order.")
            lab_chart(charts.fig_lift(ev.get("gains")), "eval_lift", "Lift by score decile",
                      "outcome rate ÷ average rate, per tenth of the list", model=r)
            how("how many times the average rate each tenth of the list has, highest scores on the left; "
                "bars above 1 beat random.")

            st.subheader("If you act on the list")
            if ev:
                y, p = ev["y"], ev["p"]
                c5, c6 = st.columns([1, 2])
                with c5:
                    mode = st.radio("Flag accounts by", ["Capacity (top N)", "Probability threshold"],
                                    key="eval_flag_mode", horizontal=True)
                    if mode.startswith("Capacity"):
                        n = st.slider("Accounts your team can work", 1, len(y), min(len(y), max(1, len(y) // 10)),
                                      key="eval_top_n")
                        cm = lab.confusion_at(y, p, top_n=n)
                    else:
                        thr = st.slider("Flag when p ≥", 0.0, 1.0, float(round(min(0.99, 2 * ev["base_rate"]), 2)),
                                        0.01, key="eval_threshold", format="%.2f")
                        cm = lab.confusion_at(y, p, threshold=thr)
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
            seg = ev.get("segments") if ev else lab.segment_metrics(None, d)
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
            bt = lab.backtest_table(d)
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

# --------------------------------------------------------------------------- explain
with tabs["Explain"]:
    if tabs["Explain"].open:
        r = pick_model("explain_model")
        if r is not None:
            snapshot_warning(r)
            sample, in_sample = cached_models.shap_sample(r)
            if sample is None:
                st.info(NO_HOLDOUT)
                top = pd.DataFrame(r.metrics.get("top_features") or [])
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

# --------------------------------------------------------------------------- cohorts
with tabs["Cohorts"]:
    if tabs["Cohorts"].open:
        st.caption("Every labelled observation row (one per account and observation date): the outcome rate per tenth of a "
                   "metric, with 95% Wilson confidence intervals. No model involved: this is the raw relationship.")
        c1, c2 = st.columns([1, 3])
        outcome = c1.selectbox("Outcome", TARGETS, key="cohort_target",
                               format_func=TARGET_LABELS.get)
        horizon = c1.selectbox("Within (days)", [30, 60, 90, 180, 365], index=2, key="cohort_horizon")
        with layout.user_errors():
            obs = cached_models.observations(horizon)
        cat = obs["catalog"]
        metrics = [f for f in [*obs["numeric"], *obs["categorical"]] if f in cat]
        metrics.sort(key=lambda f: (cat[f].group, cat[f].label))
        default = metrics.index("seat_utilisation") if "seat_utilisation" in metrics else 0
        metric = c2.selectbox("Metric", metrics, index=default, key="cohort_metric",
                              format_func=lambda f: f"{cat[f].group} · {cat[f].label}")
        frame = obs["frame"]
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

# --------------------------------------------------------------------------- rule vs ML
with tabs["Rule score vs ML"]:
    if tabs["Rule score vs ML"].open:
        r = pick_model("rule_model")
        if r is not None:
            d = r.metrics.get("details") or {}
            h = d.get("health_score") or {}
            ev = cached_models.evaluation(r)
            if r.target != "churn" and h.get("reads_as") != "health":
                st.info("The rule health score is a churn score: ranking expansion by churn risk says nothing about "
                        "this model. Models trained now compare expansion with the health score read as "
                        "\"healthier first\"; retrain this one to see that comparison.")
                ev = {}
                table = pd.DataFrame()
            else:
                st.caption("The rule health score is the familiar weighted scorecard (usage, adoption, support, "
                           "billing, relationship, sentiment). Both scores rank the same held-out rows"
                           + (", the rule read as \"healthier first\" for expansion" if r.target != "churn" else "")
                           + ". The 95% intervals come from resampling accounts.")
                table = ev.get("rule_vs_model") if ev else None
                if table is None or table.empty:
                    rule_iv = ((d.get("intervals") or {}).get("differences") or {}).get("model - rule") or {}
                    table = pd.DataFrame([{"score": "ML model", **{k: r.metrics.get(k) for k in (
                        "roc_auc", "pr_auc", "top_decile_lift")}}, {"score": "Rule health score", **{
                            k: h.get(k) for k in ("roc_auc", "pr_auc", "top_decile_lift")}}]) if h else pd.DataFrame()
                    if h and rule_iv:
                        diff = {k: uncertainty.Interval.from_json(rule_iv.get(k)) for k in ("roc_auc",)}
                        iv = diff["roc_auc"]
                        table = pd.concat([table, pd.DataFrame([{
                            "score": "Difference (ML − rule)", "roc_auc": iv.estimate if iv else None,
                            "roc_auc_ci": f"{iv.low:.3f} to {iv.high:.3f}" if iv else "–"}])], ignore_index=True)
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
                st.markdown(lab.rule_verdict(table))
            if ev:
                c1, c2 = st.columns(2)
                with c1:
                    lab_chart(charts.fig_roc({"ML model": ev.get("roc"), "rule health score": ev.get("rule_roc")}),
                              "rule_roc", "ROC: ML model vs rule health score",
                              "true positive rate vs false positive rate, held-out rows", model=r)
                    how("the curve further up and left separates churners from stayers better.")
                with c2:
                    lab_chart(charts.fig_gains({"ML model": ev.get("gains"), "rule health score":
                                                ev.get("rule_gains")}), "rule_gains",
                              "Cumulative gains: ML model vs rule health score",
                              "share of churners reached vs share of the list worked", model=r)
                    how("working each list from the top, the share of churners reached; higher is better.")
            lab_chart(charts.fig_backtest(lab.backtest_table(d)), "rule_backtest",
                      "Backtest: ML model vs rule health score", "held-out metrics per test window", model=r)
            how("ROC-AUC of both scores at each backtest cut-off: which one to trust, and whether that holds over time.")

# --------------------------------------------------------------------------- compare
with tabs["Compare"]:
    if tabs["Compare"].open:
        if len(records) < 2:
            st.info("Train a second model to compare (Train tab).")
        else:
            c1, c2 = st.columns(2)
            with c1:
                a = pick_model("compare_a", "Model A")
            others = [x for x in records if x.id != a.id]
            same_target = [x for x in others if x.target == a.target]
            with c2:
                b = pick_model("compare_b", "Model B", exclude=a.id, default=(same_target or others)[0].id)
            if a.target != b.target:
                st.warning(f"These models predict different targets ({a.target} vs {b.target}); their metrics are "
                           "not comparable.")
            table = lab.compare_table([a, b])
            intervals, paired = cached_models.difference(a, b)
            wins = lab.better_model(a, b, intervals)
            shown = table.astype("object").map(lambda v: f"{v:.3f}" if isinstance(v, float) else ("–" if v is None
                                                                                                   else str(v)))
            winner_col, diff_col = [], []
            for idx in shown.index:
                key = next((k for k, lbl in lab.METRIC_LABELS.items() if lbl == idx), None)
                w = wins.get(key) if key else None
                iv = intervals.get(key) if key else None
                diff_col.append(uncertainty.describe(iv) if iv is not None else "")
                if key in lab.TESTED:
                    winner_col.append("A" if w == a.id else ("B" if w == b.id else lab.NO_CLEAR_WINNER))
                else:
                    winner_col.append("")
            shown.columns = [f"A · {a.id}", f"B · {b.id}"]
            shown["A − B (95% CI)"] = diff_col
            shown["Better"] = winner_col
            st.dataframe(shown, key="compare_table", height=36 * (len(shown) + 1) + 4, placeholder="–")
            tested = [wins.get(k) for k in lab.TESTED]
            if a.target == b.target and not any(tested):
                st.info(f"**No clear winner**: on every ranking metric the 95% interval of the difference contains "
                        f"zero ({'paired on the rows both models scored' if paired == 'paired' else paired + ' intervals'}).")
            how("the same held-out metrics for both models; 'Better' names a model only when the 95% interval of "
                "the difference (bootstrap over accounts; paired when both models scored the same rows) excludes "
                "zero. Calibration error and observed/expected have no interval, so no winner is named on them.")
            ev_a, ev_b = cached_models.evaluation(a), cached_models.evaluation(b)
            c3, c4 = st.columns(2)
            with c3:
                lab_chart(charts.fig_roc({"A": ev_a.get("roc"), "B": ev_b.get("roc")}), "compare_roc",
                          "ROC curves of two models", f"A = {a.id}", note=f"B = {b.id}", as_of=model_as_of(a))
                how("the curve higher and further left separates better.")
            with c4:
                lab_chart(charts.fig_reliability({
                    "A": (a.metrics.get("details") or {}).get("reliability"),
                    "B": (b.metrics.get("details") or {}).get("reliability")}), "compare_reliability",
                    "Reliability of two models", f"A = {a.id}", note=f"B = {b.id}", as_of=model_as_of(a))
                how("the line closer to the diagonal gives probabilities you can take at face value.")

# --------------------------------------------------------------------------- promote
with tabs["Promote"]:
    if tabs["Promote"].open:
        flash = state.pop("lab_promoted", None)
        if flash:
            st.success(flash, icon=":material/check_circle:")
        prod = pd.DataFrame([{"target": r.target, "model": r.id, "algorithm": r.algorithm,
                              "ROC-AUC": r.metrics.get("roc_auc"), "promoted from": r.created_at}
                             for r in cached_models.models() if r.status == "production"])
        st.markdown("**In production now**")
        if prod.empty:
            st.info("No production model yet: promote a candidate below.")
        else:
            st.dataframe(prod, hide_index=True, key="promote_production", column_config={
                "ROC-AUC": st.column_config.NumberColumn(format="%.3f"),
                "promoted from": st.column_config.DatetimeColumn("Trained", format="D MMM YYYY HH:mm")}, placeholder="–")
        candidates = [r for r in records if r.status != "production"]
        if not candidates:
            st.info("No candidates: train a model on the Train tab first.")
        else:
            with st.form("promote_form", border=True, clear_on_submit=True):
                choice = st.selectbox("Model to promote", [r.id for r in candidates], key="promote_choice",
                                      format_func=lambda i: model_label(by_id[i]))
                confirm = st.checkbox("I have compared it with the production model and want new scores to use it.",
                                      key="promote_confirm")
                do_promote = st.form_submit_button("Promote to production", type="primary", icon=":material/publish:")
            chosen = by_id[choice]
            current = next((r for r in records if r.status == "production" and r.target == chosen.target), None)
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
                        promoted = promote(ws.engine, chosen.id, actor=user.username)
                    state["lab_promoted"] = (f"{promoted.id} is now the production {promoted.target} model"
                                             + (f" (replacing {current.id})." if current else "."))
                    state["lab_model_id"] = promoted.id
                    st.rerun()

# --------------------------------------------------------------------------- drift
with tabs["Drift"]:
    if tabs["Drift"].open:
        r = pick_model("drift_model")
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
