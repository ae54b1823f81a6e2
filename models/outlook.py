"""Whether and how a workspace's data can train a churn model: the trainer's own verdict, for the Data page and
``cli.py import`` (one rule for all three; see :mod:`models.history` for the history rule it applies).

It sits above :mod:`models.split_choice` (it runs the trainer's split on labels alone), so the history rules below
it import nothing from training.
"""

from __future__ import annotations

from datetime import date

from data.errors import UserError
from data.metrics import compute_labels
from data.readmodel import DEFAULT_HORIZON_DAYS, SHORT_HORIZON_DAYS, DataSupport, TrainingOutlook, data_end
from data.readmodel import data_support as facts
from models.history import (
    DEFAULT_GAP_DAYS,
    RULE_SCORE_MEANWHILE,
    history_supports,
    more_weeks_needed,
    plan_schedule,
    weeks_needed,
)
from models.observations import active_rows, detect_mode, history_start, inactivity_days
from models.split_choice import can_train_on
from models.train_config import TrainConfig


def training_outlook(con) -> TrainingOutlook:
    """Whether ``train`` can train on the workspace behind ``con``, by the rule it applies
    (:func:`history_supports` over the same history start and end as :func:`models.observations.build_observations`),
    for the default 90-day horizon, else 30 days."""
    try:
        mode = detect_mode(con)
    except UserError:
        return TrainingOutlook(False, "Training: a churn model needs billing data, a churn label or activity events. "
                               + RULE_SCORE_MEANWHILE, ["import subscriptions, a churn label or events"])
    if mode == "flat":
        return TrainingOutlook(True, "Training: the label is used directly (no horizon: a flat table has no dates).",
                               ["cli.py train --promote", "cli.py score"])
    first, end = history_start(con), data_end(con)
    gap = inactivity_days() if mode == "activity" else DEFAULT_GAP_DAYS
    label = f" (churn = no activity for {inactivity_days()} days)" if mode == "activity" else ""
    if first is None or end is None:
        return TrainingOutlook(False, "Training: the data has no dated activity to learn from. " + RULE_SCORE_MEANWHILE,
                               ["cli.py score"], SHORT_HORIZON_DAYS)
    weeks = ((end - first).days + 1) / 7
    long_enough = [h for h in (DEFAULT_HORIZON_DAYS, SHORT_HORIZON_DAYS) if history_supports(first, end, h + gap)]
    for horizon in long_enough:
        if trainable_labels(con, first, end, horizon_days=horizon, gap_days=DEFAULT_GAP_DAYS,
                            inactive_days=inactivity_days() if mode == "activity" else None):
            option = "" if horizon == DEFAULT_HORIZON_DAYS else f" --horizon-days {horizon}"
            return TrainingOutlook(True, f"Training: {weeks:.0f} weeks of history is enough for a model with a "
                                         f"{horizon}-day horizon{label}.",
                                   [f"cli.py train --promote{option}", "cli.py score"], horizon)
    if long_enough:
        return TrainingOutlook(
            False, f"Training: the history is long enough ({weeks:.0f} weeks from {first:%d %b %Y}) but no churn is known "
                   f"yet early enough in it for a time-ordered test{label}; import more "
                   "history (or more accounts). " + RULE_SCORE_MEANWHILE,
            ["cli.py score (the rule health score)", "import more history, then cli.py train --promote"],
            SHORT_HORIZON_DAYS)
    more = more_weeks_needed(first, end, SHORT_HORIZON_DAYS + gap)
    return TrainingOutlook(
        False, f"Training: about {more} more weeks of history are needed for a model with a {SHORT_HORIZON_DAYS}-day "
               f"horizon{label} (the activity history covers {weeks:.0f} weeks from {first:%d %b %Y}; a model needs about "
               f"{weeks_needed(SHORT_HORIZON_DAYS + gap)}). " + RULE_SCORE_MEANWHILE,
        ["cli.py score (the rule health score)", f"import more history, then cli.py train --promote --horizon-days "
                                                 f"{SHORT_HORIZON_DAYS}"], SHORT_HORIZON_DAYS)


def trainable_labels(con, first_day: date, data_end: date, *, horizon_days: int, gap_days: int,
                     inactive_days: int | None = None) -> bool:
    """Whether ``train`` (default settings, this horizon) finds churned and retained accounts in every part of
    its time-ordered split: the same schedule, labels and split as training
    (:func:`models.split_choice.can_train_on`), on labels alone (subscriptions, or activity spells without
    billing data), no features."""
    label_gap = 0 if inactive_days is not None else gap_days
    schedule = plan_schedule(first_day, data_end, label_days=horizon_days + label_gap)
    rows = active_rows(con, schedule.dates, data_end, inactive_days)
    if rows.empty:
        return False
    labels = compute_labels(con, rows, horizon_days=horizon_days, gap_days=label_gap, data_end=data_end,
                            inactive_days=inactive_days)
    known = labels[labels["label_known"].fillna(False).astype(bool)].copy()
    known["label_churn"] = known["label_churn"].astype(int)
    known = known.sort_values(["obs_date", "account_id"], kind="stable").reset_index(drop=True)
    return can_train_on(known, TrainConfig(horizon_days=horizon_days, gap_days=label_gap), schedule.cadence)


def data_support(con) -> DataSupport:
    """What the workspace's data supports (:func:`data.readmodel.data_support`), with the trainer's verdict."""
    return facts(con, training_outlook(con))
