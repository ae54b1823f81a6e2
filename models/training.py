"""Training: time-correct split, tuning, calibration, backtest, and the trained model object.

Time mode (workspace with subscriptions):

* labelled observation dates are ordered; the last ``test_months`` dates are the test
  slice; training uses only dates whose label window and renewal gap closed before the
  first test date (a *purge* of ``horizon + lead + gap_days`` days);
* candidates (a small grid per algorithm; ``auto`` tries both algorithms and the blend
  of the best of each) are chosen by their mean ROC-AUC over ``validation_blocks``
  rolling-origin blocks of ``calib_months`` dates at the end of that training window,
  each fitted only on dates whose labels closed before its block (the same purge);
* the chosen candidate is refitted on the whole training window and calibrated (Platt,
  or isotonic when clearly better, chosen leave-one-block-out) on its out-of-sample scores
  of every validation block;
* the test slice is scored once, with the rule health score beside it (for churn; an
  expansion model is compared with the health score read as "healthier first"), and
  account-clustered bootstrap intervals are attached to the metrics and to the
  model-minus-rule differences (:mod:`models.uncertainty`); a backtest repeats the whole
  recipe - attribute screening, model choice and calibration on its own earlier
  window - for earlier cut-offs; finally the chosen configuration is refitted on all
  labelled dates for production, and global importance is measured on rows that model
  did not train on (the latest, not yet labelled, dates).

Before any of this, :func:`models.eligibility.apply_eligibility` leaves out account
attributes that may carry the outcome (label-like names, columns that nearly separate the
label, and - in time mode - custom attributes unless kept explicitly).

Short histories (weekly observation dates, :mod:`models.history`): the test slice and the
validation blocks are sized in weeks to the history. When even that leaves no room for a
full purge, :func:`models.split_choice.short_split` holds out accounts as well as dates: the test slice is the
latest dates' rows of a random 30 % of accounts that training never sees, validation is
another 20 % of accounts, and the purge shrinks to what the history allows (reported).

Every training run checks the positive rate per observation date first
(:func:`models.observations.check_label_rates`): one date far from the others is a labelling fault.

Flat mode (one row per account with a label): nested stratified k-fold CV - inner
folds choose the candidate and give out-of-fold scores for calibration, outer folds give
the honest out-of-fold predictions that the metrics are computed on.

Where each step lives: this module is the entry (:func:`train`); :mod:`models.train_config`
the settings; :mod:`models.split_choice` the split and its rows; :mod:`models.candidates` the
candidate search; :mod:`models.time_training` and :mod:`models.flat_training` the two recipes;
:mod:`models.trained` the trained model and the result, whose evaluation is a
:class:`models.model_evaluation.ModelEvaluation`. ``TrainConfig``, ``TrainedModel`` and
``TrainResult`` are also importable from here: model artifacts saved before the split name
``models.training.TrainedModel``, and joblib looks the class up by that name.
"""

from __future__ import annotations

import time
from dataclasses import replace

from data.errors import UserError
from models.candidates import label_column
from models.eligibility import apply_eligibility
from models.flat_training import train_flat
from models.history import history_supports, too_short_message
from models.observations import ObservationSet, build_observations, check_leakage, inactivity_days
from models.progress import progress
from models.time_training import train_time
from models.train_config import ALGORITHM_CHOICES, TrainConfig, TrainConfigError
from models.trained import TrainedModel, TrainResult

__all__ = ["ALGORITHM_CHOICES", "TrainConfig", "TrainConfigError", "TrainResult", "TrainedModel", "train"]


def train(con, config: TrainConfig | None = None, *, observations: ObservationSet | None = None,
          say=None) -> TrainResult:
    """Train and evaluate one model on the workspace behind ``con`` (a warehouse reader)."""
    config = config or TrainConfig()
    config.validate()
    say = say or (lambda _msg: None)
    t0 = time.perf_counter()
    obs = observations or build_observations(con, horizon_days=config.horizon_days, lead_days=config.lead_days,
                                             gap_days=config.gap_days, cadence=config.cadence)
    say(progress("observations", f"  observation rows: {len(obs.frame):,} ({obs.mode} mode) in "
                                 f"{time.perf_counter() - t0:.1f}s"))
    if obs.mode == "flat" and config.target != "churn":
        raise UserError("Flat (one row per account) data only has a churn label; expansion needs subscriptions.")
    if obs.label_source == "inactivity":  # churn by inactivity is known on its day: no renewal gap
        config = replace(config, gap_days=obs.gap_days)
    if obs.label_source == "inactivity" and obs.schedule is not None:
        window = inactivity_days()
        need = replace(obs.schedule, label_days=config.lead_days + config.horizon_days + window)
        if not history_supports(need.first_day, need.data_end, need.label_days):
            raise UserError(too_short_message(need, horizon_days=config.horizon_days, lead_days=config.lead_days,
                                              gap_days=window, gap_name="inactivity window"))
    if obs.label_source == "inactivity" and config.target != "churn":
        raise UserError("Without billing data there is no MRR to grow: expansion needs subscriptions. "
                        "Train the churn model (churn = no activity for the inactivity days).")
    obs, eligibility = apply_eligibility(obs, con, label=label_column(config), keep=config.keep_columns)
    for f, why in eligibility.excluded.items():
        say(progress("eligibility", f"  left out {f}: {why} (keep it with --keep-column {f})", within=0.5))
    if not obs.features:
        raise UserError("No usable features are left after leaving out columns that may carry the outcome; "
                        "import activity data, or keep a column explicitly with --keep-column.")
    leakage = None
    if obs.mode == "flat":
        result = train_flat(obs, config)
    else:
        if config.leakage_check:
            leakage = check_leakage(con, obs.frame[["account_id", "obs_date"]], n_dates=2, n_accounts=40,
                                    seed=config.seed)
            leakage.raise_if_leaking()
            leakage.unverifiable = [f for f in leakage.unverifiable if f in obs.features]
            if leakage.unverifiable:
                say(progress("eligibility", "  leakage check: cannot be verified (account snapshot, value at "
                             "export time): " + ", ".join(leakage.unverifiable)))
        result = train_time(obs, config, say)
    result.evaluation.eligibility = eligibility.to_json()
    result.evaluation.leakage = leakage.to_json() if leakage is not None else {}
    result.evaluation.top_features = result.top_features(25)
    result.evaluation.train_seconds = time.perf_counter() - t0
    return result

