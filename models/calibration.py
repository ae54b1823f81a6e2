"""Probability calibration on data the model did not train on.

In time-split mode the calibration data is a later time slice than the training rows;
in flat mode it is the out-of-fold prediction of an inner cross-validation. Platt
scaling (a logistic curve on the log-odds) and isotonic regression are both tried;
the one with the lower expected calibration error in a cross-validation *inside the
calibration data* is kept, so the choice never looks at the test rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.evaluation import expected_calibration_error


class PlattCalibrator:
    """Logistic curve on the model's log-odds."""

    method = "platt"

    def fit(self, scores: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

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
        from sklearn.isotonic import IsotonicRegression

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
    from sklearn.model_selection import StratifiedKFold

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
