"""Probability calibration on data the model did not train on.

In time-split mode the calibration data are the out-of-sample scores of every rolling
validation block (each later than the rows its model trained on); in flat mode the
out-of-fold prediction of an inner cross-validation. Platt scaling (a logistic curve on
the log-odds) and isotonic regression are both tried. In time mode the method is chosen
leave-one-block-out (fitted on the other blocks, judged on the held-out one: one block
of a churn slice has too few positives to judge on); in flat mode by a cross-validation
inside the calibration data. The criterion is the quantile-bin ECE, so the choice never
looks at the test rows. The kept method is then fitted on all the calibration data.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from models.evaluation import expected_calibration_error, log_loss


class PlattCalibrator:
    """Logistic curve on the model's log-odds."""

    method = "platt"

    def fit(self, scores: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression  # deferred: import time (scikit-learn)

        lr = LogisticRegression(C=1e4, max_iter=1000)
        lr.fit(np.asarray(scores, dtype=float).reshape(-1, 1), np.asarray(y, dtype=int))
        self.a_ = float(lr.coef_[0, 0])
        self.b_ = float(lr.intercept_[0])
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.a_ * np.asarray(scores, dtype=float) + self.b_, -40, 40)))


class IsotonicCalibrator:
    """Monotone step function from log-odds to probability."""

    method = "isotonic"

    def fit(self, scores: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression  # deferred: import time (scikit-learn)

        self.iso_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        self.iso_.fit(np.asarray(scores, dtype=float), np.asarray(y, dtype=float))
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        # Keep probabilities strictly inside (0, 1) so a log-loss never explodes.
        return np.clip(self.iso_.predict(np.asarray(scores, dtype=float)), 1e-4, 1 - 1e-4)


CALIBRATORS = {"platt": PlattCalibrator, "isotonic": IsotonicCalibrator}
ISOTONIC_MARGIN = 0.75  # isotonic is kept only when its cross-validated ECE is below 75 % of Platt's


def choose_calibrator(scores: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0):
    """Fit Platt and isotonic on (scores, y); keep Platt unless isotonic's cross-validated ECE is clearly lower.

    Returns ``(calibrator, report)`` where ``report`` maps method -> CV ECE.
    """
    from sklearn.model_selection import StratifiedKFold  # deferred: import time (scikit-learn)

    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=int)
    report: dict[str, float] = {}
    n_pos = int(y.sum())
    if n_pos < 2 or n_pos > len(y) - 2:
        cal = PlattCalibrator().fit(scores, y) if 0 < n_pos < len(y) else _ConstantCalibrator(y)
        return cal, {"platt": float("nan")}
    k = max(2, min(folds, n_pos, len(y) - n_pos))
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for name, cls in CALIBRATORS.items():
        oof = np.zeros(len(y))
        for tr, te in skf.split(scores, y):
            oof[te] = cls().fit(scores[tr], y[tr]).transform(scores[te])
        report[name] = expected_calibration_error(y, oof)
    # Isotonic steps tie accounts that the model ranks apart (fewer distinct probabilities, lower
    # AUC); with the few positives a churn slice has, it must beat Platt clearly to be chosen.
    best = "isotonic" if report["isotonic"] < ISOTONIC_MARGIN * report["platt"] else "platt"
    return CALIBRATORS[best]().fit(scores, y), report


def choose_calibrator_blocks(blocks: list[tuple[np.ndarray, np.ndarray]], *, seed: int = 0):
    """Choose Platt or isotonic on several validation blocks, then fit it on all of them pooled.

    ``blocks`` are (out-of-sample scores, labels) per rolling validation block, oldest first.
    Each method is fitted on all blocks but one and scored on that one (its quantile-bin ECE
    and log-loss over the held-out blocks' rows together); isotonic must beat Platt's ECE
    clearly (``ISOTONIC_MARGIN``) without a worse log-loss. With one usable block this
    falls back to :func:`choose_calibrator` on it. Returns ``(calibrator, report)``; the
    report holds per-method ECE and log-loss and the number of blocks and positives used.
    """
    usable = [(np.asarray(sc, dtype=float), np.asarray(y, dtype=int)) for sc, y in blocks if len(y)]
    scores = np.concatenate([b[0] for b in usable]) if usable else np.zeros(0)
    y_all = np.concatenate([b[1] for b in usable]) if usable else np.zeros(0, dtype=int)
    n_pos = int(y_all.sum())
    if len(usable) < 2 or n_pos < 4:  # nothing to hold out: cross-validate inside the pooled scores
        cal, report = choose_calibrator(scores, y_all, seed=seed)
        return cal, {**report, "blocks": len(usable), "positives": n_pos}
    report: dict[str, float] = {}
    for name, cls in CALIBRATORS.items():
        preds, ys = [], []
        for i, (sc, y) in enumerate(usable):
            rest_s = np.concatenate([b[0] for j, b in enumerate(usable) if j != i])
            rest_y = np.concatenate([b[1] for j, b in enumerate(usable) if j != i])
            if len(np.unique(rest_y)) < 2:
                continue
            preds.append(cls().fit(rest_s, rest_y).transform(sc))
            ys.append(y)
        if not preds:
            cal, fallback = choose_calibrator(scores, y_all, seed=seed)
            return cal, {**fallback, "blocks": len(usable), "positives": n_pos}
        p, yy = np.concatenate(preds), np.concatenate(ys)
        report[name] = expected_calibration_error(yy, p)
        report[f"{name}_log_loss"] = log_loss(yy, p)
    best = ("isotonic" if report["isotonic"] < ISOTONIC_MARGIN * report["platt"]
            and report["isotonic_log_loss"] <= report["platt_log_loss"] else "platt")
    return CALIBRATORS[best]().fit(scores, y_all), {**report, "blocks": len(usable), "positives": n_pos}


class _ConstantCalibrator:
    method = "constant"

    def __init__(self, y):
        self.rate_ = float(np.mean(y)) if len(y) else 0.0

    def transform(self, scores):
        return np.full(len(scores), self.rate_)


class CalibratedModel:
    """A fitted model plus a calibrator: calibrated ``predict_proba``, raw ``explain``.

    ``explain`` and ``decision_function`` are the base model's (log-odds); the calibrator
    is monotone, so drivers rank the same way before and after calibration.
    """

    def __init__(self, *, base, calibrator):
        self.base = base
        self.calibrator = calibrator

    @property
    def algorithm(self) -> str:
        return self.base.algorithm

    @property
    def features(self) -> list[str]:
        return self.base.features

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        return self.base.decision_function(frame)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        p = self.calibrator.transform(self.base.decision_function(frame))
        return np.column_stack([1 - p, p])

    def explain(self, frame: pd.DataFrame):
        return self.base.explain(frame)

    def explain_calibrated(self, frame: pd.DataFrame):
        """SHAP values in the units of the calibrated probability, where that is exact.

        Platt calibration is ``logit(p) = a * f + b`` on the model's log-odds ``f``, and SHAP
        values are additive in ``f``: multiplying every value by ``a`` and mapping the base
        to ``a * base + b`` gives contributions that add up to the calibrated log-odds exactly.
        Returns ``(explanation, scale)`` with ``scale`` "calibrated" (Platt) or "model"
        (isotonic and other calibrators: a step function has no exact additive form, so the
        values stay on the model's log-odds scale).
        """
        expl = self.base.explain(frame)
        if isinstance(self.calibrator, PlattCalibrator):
            a, b = self.calibrator.a_, self.calibrator.b_
            return replace(expl, values=expl.values * a, base_values=np.asarray(expl.base_values) * a + b), "calibrated"
        return expl, "model"

    def calibrate(self, log_odds) -> np.ndarray:
        """The calibrated probability of model log-odds (e.g. the average account's base value)."""
        return np.asarray(self.calibrator.transform(np.atleast_1d(np.asarray(log_odds, dtype=float))))
