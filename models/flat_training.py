"""Flat mode (one row per account with an imported label): nested stratified cross-validation.

Inner folds choose the candidate and give out-of-fold scores for calibration; outer folds give
the honest out-of-fold predictions the metrics are computed on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from data.errors import UserError
from models import uncertainty
from models.calibration import CalibratedModel, choose_calibrator
from models.candidates import fit_model, inner_select
from models.evaluation import classification_metrics, per_segment, reliability_curve
from models.explain import global_importance
from models.health_score import health_risk
from models.model_evaluation import Calibration, ModelEvaluation, interval_bounds
from models.observations import ObservationSet
from models.train_config import TrainConfig
from models.trained import TrainResult, trained_model


def fit_flat(obs: ObservationSet, frame: pd.DataFrame, y: np.ndarray, config: TrainConfig):
    """(calibrated model, algorithm, params, calibration report) chosen and fitted on ``frame`` by inner CV."""
    best = inner_select(obs, frame, y, config)
    algo, params, oof = best.algorithm, best.params, best.scores
    base = fit_model(algo, params, obs, frame, y, config)
    cal, report = choose_calibrator(oof, y, seed=config.seed)
    return CalibratedModel(base=base, calibrator=cal), algo, params, report


def cross_validate(obs: ObservationSet, config: TrainConfig) -> tuple[np.ndarray, list[dict]]:
    """Nested stratified CV in flat mode: out-of-fold calibrated predictions and fold choices."""
    frame = obs.labelled()
    y = frame["label_churn"].to_numpy(dtype=int)
    if y.sum() < config.cv_folds or len(y) - y.sum() < config.cv_folds:
        raise UserError(f"Too few churned (or retained) accounts for {config.cv_folds}-fold cross-validation.")
    skf = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=config.seed)
    oof = np.zeros(len(y))
    choices = []
    for tr, te in skf.split(frame, y):
        model, algo, params, _ = fit_flat(obs, frame.iloc[tr], y[tr], config)
        oof[te] = model.predict_proba(frame.iloc[te])[:, 1]
        choices.append({"algorithm": algo, "params": params})
    return oof, choices


def train_flat(obs: ObservationSet, config: TrainConfig) -> TrainResult:
    """Train and evaluate on one labelled row per account (nested cross-validation)."""
    frame = obs.labelled()
    y = frame["label_churn"].to_numpy(dtype=int)
    oof, choices = cross_validate(obs, config)
    metrics = classification_metrics(y, oof)
    model, algo, params, cal_report = fit_flat(obs, frame, y, config)
    base_rate = float(y.mean())
    trained = trained_model(model, obs, config, algo, params, base_rate, (None, None), frame)
    importance = global_importance(trained, frame)
    boot = uncertainty.bootstrap_metrics(y, {"model": oof}, frame["account_id"], pairs=[],
                                         draws=config.bootstrap_draws, seed=config.seed)
    intervals = uncertainty.to_json(boot)
    evaluation = ModelEvaluation(
        validation="cv", metrics=metrics, n_train=len(frame), n_test=len(frame), positives_test=int(y.sum()),
        roc_auc_interval=interval_bounds(intervals),
        intervals=intervals,
        importance={"in_sample": True, "rows": int(min(len(frame), 3000)),
                    "on": "the labelled accounts, which the production model trained on (flat data has no "
                          "unseen rows)"},
        folds=config.cv_folds, fold_choices=choices,
        calibration=Calibration.from_json({"method": model.calibrator.method, "cv_ece": cal_report,
                                           "reliability": reliability_curve(y, oof)}),
        per_segment=per_segment(y, oof, frame["segment"]) if "segment" in frame else {},
        base_rate=base_rate, risk_thresholds=list(trained.risk_thresholds),
    )
    predictions = pd.DataFrame({"account_id": frame["account_id"].to_numpy(), "obs_date": "", "y_true": y, "p": oof})
    holdout = frame.assign(y_true=y, p=oof, rule_risk=health_risk(frame))
    return TrainResult(trained=trained, evaluation=evaluation, global_importance=importance,
                       predictions=predictions, holdout=holdout, reference=frame.assign(y_true=y))
