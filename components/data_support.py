"""The Data page's front door: what the imported data supports, and the next step with a progress bar.

Reads :func:`data.readmodel.data_support` (cached per data version) and offers "Train and score"
when a model can be trained: the same pipeline as ``cli.py train --promote`` then ``cli.py score``,
run here with a progress bar.
"""

from __future__ import annotations

import streamlit as st

from components.session import cursor, data_version, workspace
from data import readmodel
from data.errors import UserError


@st.cache_data(show_spinner=False, max_entries=4)
def _support(version: str) -> readmodel.DataSupport:
    from models.outlook import data_support  # deferred: import time (loads the trainer)

    return data_support(cursor())


def support() -> readmodel.DataSupport:
    """What the workspace's current data supports."""
    return _support(data_version())


@st.cache_data(show_spinner=False, max_entries=4)
def _score_in_use(version: str) -> str | None:
    return readmodel.score_source(cursor())


def score_in_use() -> str:
    """Which score the pages show: a trained model's churn probability, the rule health score, or none yet."""
    source = _score_in_use(data_version())
    if source is None:
        return "Scores in use: none yet."
    if readmodel.is_rule_score(source):
        return (f"Scores in use: **{readmodel.RULE_SCORE_NAME}** (no trained model yet; 0-100, not a probability). "
                "A trained and promoted model takes over at the next scoring.")
    return f"Scores in use: the churn model `{source}` (a calibrated probability of churn)."


def no_scores_message() -> str:
    """What a page says before the first scoring: the next step, or why no model can be trained yet."""
    info = support()
    if info.can_train:
        return ("No scores yet. An admin or data scientist makes them with **Score now** on the Model lab; "
                "risk shows here afterwards.")
    return ("No scores yet. An admin or data scientist makes them with **Score now** on the Model lab or the Data "
            f"page: with the {readmodel.RULE_SCORE_NAME.lower()} while there is not enough history to train a model. "
            "Risk shows here afterwards, labelled as the rule score.")


def render(actor: str) -> None:
    """The 'What your data supports' panel and its next-step button."""
    info = support()
    st.subheader("What your data supports")
    lines = info.to_text().splitlines()
    st.markdown("\n".join(f"- {line.strip()}" if not line.startswith("  - ") else f"    {line.strip()}"
                          for line in lines if not line.startswith(("Pages:", "Next:"))))
    st.markdown(score_in_use())
    if not info.can_train:
        st.info("Next: " + "; then ".join(info.next_steps) + ".", icon=":material/info:")
        if st.button(f"Score with the {readmodel.RULE_SCORE_NAME.lower()}", type="primary", key="data_rule_score",
                     icon=":material/rule:"):
            _score_with_rules()
        return
    st.caption(f"Next: train a model on this data and score every account (the same as `{info.next_steps[0]}` "
               "then `cli.py score`).")
    if st.button("Train and score", type="primary", key="data_train_score", icon=":material/model_training:"):
        _train_and_score(actor)


def _score_with_rules() -> None:
    """``cli.py score`` without a production model: every active account gets the rule health score."""
    from models.scoring import score_workspace  # deferred: import time (scoring loads on the button's press)

    bar = st.progress(0.1, text=f"Scoring every active account with the {readmodel.RULE_SCORE_NAME.lower()}…")
    try:
        run = score_workspace(workspace())
    except UserError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.progress(1.0, text=f"Scored {run.accounts:,} accounts.")
    what = readmodel.RULE_SCORE_NAME.lower() if run.by_rules else f"the production model {run.model_id}"
    st.success(f"Scored {run.accounts:,} accounts with the {what}. Open Portfolio or Accounts to see them.",
               icon=":material/check_circle:")


def _train_and_score(actor: str) -> None:
    from models.pipeline import train_and_register  # deferred: import time (training loads on the button's press)
    from models.scoring import score_workspace  # deferred: import time (scoring loads on the button's press)
    from models.training import TrainConfig  # deferred: import time (training loads on the button's press)

    ws = workspace()
    bar = st.progress(0.02, text="Building observation rows…")

    def training_progress(event) -> None:  # models.progress.Progress: training is the first 80 % of the bar
        bar.progress(0.8 * event.fraction, text=str(event).strip()[:120])

    try:
        record, _ = train_and_register(ws, TrainConfig(horizon_days=support().horizon_days or 90), actor=actor,
                                       make_production=True, say=training_progress)
        bar.progress(0.8, text="Scoring every account…")
        run = score_workspace(ws)
    except UserError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.progress(1.0, text=f"Scored {run.accounts:,} accounts with {record.id}.")
    st.success(f"Model {record.id} trained, promoted and used to score {run.accounts:,} accounts. "
               "Open Portfolio or Accounts to see them.", icon=":material/check_circle:")
