"""What the Model lab's tabs share: the model picker, the headline metric row, captions and the chart frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from components import charts, plot
from data.users import User
from data.workspace import Workspace
from models import uncertainty
from models.diagnostics.comparison import uncertainty_sentence
from models.registry import ModelRecord

NO_HOLDOUT = ("This model was registered before held-out predictions were stored with each model, so only its "
              "stored summary is shown. Retrain it (Train tab) to see every chart.")


@dataclass
class Lab:
    """The page's state the tabs read: who is signed in, the workspace and the registry's models (newest first)."""

    user: User
    ws: Workspace
    records: list[ModelRecord]
    by_id: dict[str, ModelRecord] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.records}

    def default_model_id(self) -> str | None:
        """The model under study: the one picked on another tab (or ``?model=``), else production churn, else newest."""
        wanted = st.session_state.get("lab_model_id") or st.query_params.get("model")
        if wanted in self.by_id:
            return wanted
        prod = [r for r in self.records if r.status == "production" and r.target == "churn"]
        return (prod or self.records or [None])[0].id if (prod or self.records) else None

    def pick_model(self, key: str, label: str = "Model", *, exclude: str | None = None,
                   default: str | None = None) -> ModelRecord | None:
        """A model picker whose choice carries across tabs (and into ``?model=``)."""
        ids = [r.id for r in self.records if r.id != exclude]
        if not ids:
            st.info("No models yet. Train one on the Train tab.")
            return None
        start = default or self.default_model_id()
        index = ids.index(start) if start in ids else 0

        def remember() -> None:
            st.session_state["lab_model_id"] = st.session_state[key]
            st.query_params["model"] = st.session_state[key]

        chosen = st.selectbox(label, ids, index=index, key=key, format_func=lambda i: model_label(self.by_id[i]),
                              on_change=remember if exclude is None else None)
        return self.by_id[chosen]


def how(text: str) -> None:
    st.caption(f"How to read this: {text}")


def fmt_metric(v, digits: int = 3) -> str:
    return "–" if v is None or v != v else f"{v:.{digits}f}"


def model_label(r: ModelRecord) -> str:
    return f"{r.id} · {r.status} · ROC-AUC {fmt_metric(r.evaluation.metric('roc_auc'))}"


def horizon_text(r: ModelRecord) -> str:
    if r.validation == "cv":
        return f"{r.target} as labelled in the imported data"
    return f"{r.target} within {r.horizon_days} days"


def snapshot_warning(r: ModelRecord) -> None:
    """Warn when the model reads account attributes whose history is unknown (csm, segment, kept columns)."""
    snap = r.evaluation.snapshot_features
    if snap:
        st.warning("This model uses account attributes as exported today: " + ", ".join(f"**{f}**" for f in snap)
                   + ". Every past month reads today's value, so a reassigned CSM or a segment rewritten after "
                   "an account churned makes the model look better than it is. The leakage check cannot verify "
                   "these columns.", icon=":material/warning:")
    excluded = r.evaluation.excluded_features
    if excluded:
        st.caption("Left out as possible outcome columns or unverifiable snapshots: "
                   + "; ".join(f"{f} ({why})" for f, why in excluded.items()))


def metric_row(r: ModelRecord) -> None:
    ev = r.evaluation
    m = ev.metrics
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
    cols[6].metric("Held-out rows", f"{ev.n_test or 0:,}", border=True,
                   delta=f"{ev.positives_test or 0:,} positive", delta_color="off", delta_arrow="off",
                   help="Rows the model never saw in training (a later time slice, or out-of-fold in flat mode).")
    st.caption("How sure: " + uncertainty_sentence(r.target, ev.positives_test, ev.roc_auc_interval, ev.history))
    parts = []
    for k, name in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("top_decile_lift", "top-decile lift")):
        iv = ev.interval(k)
        if iv is not None:
            parts.append(f"{name} {iv.low:.3f} to {iv.high:.3f}")
    rows = ev.training_rows or {}
    if rows.get("accounts_total") and (rows.get("accounts_observed") or 0) < rows["accounts_total"]:
        st.caption(f"Trained and tested on a fixed sample of {rows['accounts_observed']:,} of "
                   f"{rows['accounts_total']:,} accounts (CSAI_TRAIN_MAX_ACCOUNTS), every date of each; "
                   "scores cover every account.")
    if parts:
        st.caption("95% intervals (bootstrap over accounts, since held-out rows repeat accounts): " + "; ".join(parts)
                   + f". Log-loss {fmt_metric(m.get('log_loss'), 4)}.")
    else:
        st.caption("No confidence intervals stored for this model (trained before they were computed); "
                   "retrain it to see how uncertain these figures are.")


def model_as_of(r: ModelRecord) -> str | None:
    """The end of the data a model was trained and tested on (its history's data end, else its training end)."""
    return r.evaluation.data_end or r.training_end


def lab_chart(fig, key: str, title: str, units: str, *, model: ModelRecord | None = None, note: str | None = None,
              as_of=None) -> None:
    """Draw a Model lab chart with its title, units, model id (or ``note``) and as-of date inside the figure, one
    line each, so its PNG (the camera button, named after the title and model) can go into a deck as it is."""
    if model is not None:
        note = note or f"model {model.id}"
        as_of = as_of if as_of is not None else model_as_of(model)
    if note:
        fig.update_layout(title_text=note)  # charts.deck_title keeps a figure's own note as a line of its own
    plot.show(charts.deck_title(fig, title, units=units, as_of=as_of), key=key,
              filename=f"{title} {model.id}" if model is not None else title)


def details_caption(r: ModelRecord) -> None:
    ev = r.evaluation
    parts = [f"Predicts **{horizon_text(r)}**", f"algorithm **{r.algorithm}**",
             f"validation **{'time-ordered split' if r.validation == 'time-split' else 'cross-validation'}**"]
    if ev.test_dates:
        parts.append(f"tested on {ev.test_dates[0]} to {ev.test_dates[1]}")
    if ev.calibration.method:
        parts.append(f"calibrated with {ev.calibration.method}")
    if ev.feature_groups:
        parts.append("feature groups: " + ", ".join(ev.feature_groups))
    st.caption(" · ".join(parts) + f" · trained by {r.created_by or '–'} on {r.created_at:%d %b %Y %H:%M}")


def interval_text(iv: uncertainty.Interval | None) -> str:
    return f"{iv.low:.3f} to {iv.high:.3f}" if iv else "–"
