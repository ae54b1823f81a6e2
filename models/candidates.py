"""Candidate search: the model choices training tries, fitted and scored on data they did not learn from.

Time mode scores every candidate on rolling validation blocks (:func:`select_candidates`); flat
mode on inner cross-validation folds (:func:`inner_select`). ``auto`` adds the blend of the
best logistic regression and the best LightGBM. :func:`calibrator_for` fits the calibrator on
the chosen candidate's out-of-sample block scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from models.calibration import choose_calibrator_blocks
from models.estimators import PARAM_GRIDS, BlendModel, make_model
from models.observations import ObservationSet
from models.train_config import TrainConfig


def label_column(config: TrainConfig) -> str:
    """The label column of the configured target."""
    return "label_churn" if config.target == "churn" else "label_expansion"


def candidate_grid(algorithm: str) -> list[tuple[str, dict]]:
    """(algorithm, parameters) of every candidate tried for ``algorithm`` (``auto``: both grids)."""
    algos = ["logreg", "gbm"] if algorithm == "auto" else [algorithm]
    return [(a, p) for a in algos for p in PARAM_GRIDS[a]]


def fit_model(algo: str, params: dict, obs: ObservationSet, frame: pd.DataFrame, y, config: TrainConfig):
    """One estimator of ``algo`` with ``params``, fitted on ``frame`` and labels ``y``."""
    extra = {"num_threads": config.num_threads} if algo in ("gbm", "blend") else {}
    return make_model(algo, numeric=obs.numeric, categorical=obs.categorical, random_state=config.seed,
                      **params, **extra).fit(frame, y)


def roc_auc_or_nan(y, s) -> float:
    """ROC-AUC of scores ``s``; NaN when ``y`` has one class only."""
    y = np.asarray(y)
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")



@dataclass
class Candidate:
    """One model choice tried in training and how it did on data it did not learn from.

    ``scores``: its validation scores, one array per rolling block (time mode) or one
    out-of-fold array (flat mode); ``auc`` their ROC-AUC (the mean over blocks)."""

    auc: float
    algorithm: str
    params: dict
    scores: list[np.ndarray] | np.ndarray


def with_blend(scored: list[Candidate], blend, auc_of) -> list[Candidate]:
    """``scored`` plus the blend of its best logistic regression and best LightGBM (``auto`` mode)."""
    lr = max((c for c in scored if c.algorithm == "logreg"), key=lambda c: c.auc)
    gb = max((c for c in scored if c.algorithm == "gbm"), key=lambda c: c.auc)
    scores = blend(lr.scores, gb.scores)
    return [*scored, Candidate(auc_of(scores), "blend", {"logreg": lr.params, "gbm": gb.params}, scores)]


def select_candidates(obs: ObservationSet, folds: list, config: TrainConfig, label: str) -> list[Candidate]:
    """Every candidate fitted on each rolling block's earlier dates and scored on the block, best first
    (``auto`` adds the blend of the best logistic regression and the best LightGBM)."""
    scored = []
    for algo, params in candidate_grid(config.algorithm):
        val_scores = [fit_model(algo, params, obs, t, t[label], config).decision_function(v) for t, v in folds]
        scored.append(Candidate(fold_auc(folds, val_scores, label), algo, params, val_scores))
    if config.algorithm == "auto":
        scored = with_blend(scored, lambda a, b: [(x + y) / 2 for x, y in zip(a, b, strict=True)],
                             lambda scores: fold_auc(folds, scores, label))
    scored.sort(key=lambda c: (-np.nan_to_num(c.auc, nan=-1), c.algorithm, str(c.params)))
    return scored


@dataclass(frozen=True)
class CalibratorChoice:
    """The calibrator chosen for a candidate, fitted, and the per-method report that chose it."""

    calibrator: object
    report: dict


def calibrator_for(val_scores: list[np.ndarray], fold_rows, label: str, config: TrainConfig) -> CalibratorChoice:
    """Calibrator chosen and fitted on the out-of-sample scores of every validation block."""
    calibrator, report = choose_calibrator_blocks(
        [(sc, v[label].to_numpy()) for sc, (_, v) in zip(val_scores, fold_rows, strict=True)], seed=config.seed)
    return CalibratorChoice(calibrator, report)


def fit_candidate(algo: str, params: dict, obs: ObservationSet, frame: pd.DataFrame, label: str,
                   config: TrainConfig, cache: dict | None = None):
    """A candidate (a blend fits its two parts) fitted on ``frame``; ``cache`` shares fits on the same rows."""
    if algo == "blend":
        return BlendModel.from_fitted(fit_candidate("logreg", params["logreg"], obs, frame, label, config, cache),
                                      fit_candidate("gbm", params["gbm"], obs, frame, label, config, cache))
    if cache is None:
        return fit_model(algo, params, obs, frame, frame[label], config)
    key = (algo, repr(sorted(params.items())))
    if key not in cache:
        cache[key] = fit_model(algo, params, obs, frame, frame[label], config)
    return cache[key]



def fold_auc(folds, scores: list[np.ndarray], label: str) -> float:
    """Mean ROC-AUC over the rolling validation blocks."""
    aucs = [roc_auc_or_nan(v[label], s) for (_, v), s in zip(folds, scores, strict=True)]
    aucs = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")




def inner_select(obs: ObservationSet, frame: pd.DataFrame, y: np.ndarray, config: TrainConfig) -> Candidate:
    """Inner CV over the candidates: the best, with its out-of-fold scores."""
    k = max(2, min(config.inner_folds, int(y.sum()), int(len(y) - y.sum())))
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.seed)
    folds = list(skf.split(frame, y))
    scored = []
    for algo, params in candidate_grid(config.algorithm):
        oof = np.zeros(len(y))
        for tr, te in folds:
            m = fit_model(algo, params, obs, frame.iloc[tr], y[tr], config)
            oof[te] = m.decision_function(frame.iloc[te])
        scored.append(Candidate(roc_auc_or_nan(y, oof), algo, params, oof))
    if config.algorithm == "auto":
        scored = with_blend(scored, lambda a, b: (a + b) / 2, lambda scores: roc_auc_or_nan(y, scores))
    best = None
    for c in scored:
        if best is None or c.auc > best.auc + 1e-12:
            best = c
    return best
