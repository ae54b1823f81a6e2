"""The trained model object scoring loads, and a training run's result (the model plus its evaluation)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.metrics import Metric
from data.readmodel import risk_band, risk_thresholds
from models.calibration import CalibratedModel
from models.evaluation import clean_json
from models.explain import Explanation
from models.model_evaluation import HEADLINE_METRICS, ModelEvaluation
from models.observations import ObservationSet
from models.train_config import TrainConfig


@dataclass
class TrainedModel:
    """Everything scoring needs: the calibrated model and how to read its inputs and output."""

    model: CalibratedModel
    target: str
    algorithm: str
    params: dict
    numeric: list[str]
    categorical: list[str]
    catalog: dict[str, Metric]
    mode: str
    horizon_days: int
    lead_days: int
    base_rate: float
    risk_thresholds: tuple[float, float]
    training_window: tuple[str | None, str | None]
    feature_medians: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the target within the horizon, per row."""
        return self.model.predict_proba(frame)[:, 1]

    def risk_band(self, p: np.ndarray) -> np.ndarray:
        """Risk band per probability: the one definition in :func:`data.readmodel.risk_thresholds`."""
        return risk_band(p, risk_thresholds(self.base_rate))

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """SHAP values of ``frame`` (model log-odds), each feature named and grouped from the catalog."""
        return self.model.explain(frame).described(self.catalog)

    def explain_calibrated(self, frame: pd.DataFrame) -> tuple[Explanation, str]:
        """(explanation, scale): SHAP values in calibrated log-odds where exact (Platt), else the model's."""
        if hasattr(self.model, "explain_calibrated"):
            expl, scale = self.model.explain_calibrated(frame)
            return expl.described(self.catalog), scale
        return self.explain(frame), "model"

    def calibrate(self, log_odds) -> np.ndarray:
        """Calibrated probability of model log-odds (e.g. the SHAP base value)."""
        if hasattr(self.model, "calibrate"):
            return self.model.calibrate(log_odds)
        return 1 / (1 + np.exp(-np.asarray(log_odds, dtype=float)))

    def describe(self) -> str:
        """What a score of this model predicts, in one sentence for the UI."""
        what = "churns (no active subscription)" if self.target == "churn" else "grows MRR by at least 10%"
        if self.mode == "flat":
            return f"Probability that the account {what.split(' (')[0]}, learned from the imported label."
        lead = f" starting {self.lead_days} days after the score date" if self.lead_days else ""
        return f"Probability that the account {what} within {self.horizon_days} days{lead}."


@dataclass
class TrainResult:
    """A trained model plus its honest evaluation (:class:`models.model_evaluation.ModelEvaluation`).

    ``holdout`` (the held-out rows with their features, y_true, p and rule_risk), ``reference`` (the
    training rows, the drift reference) and ``unseen`` (rows the production model did not train
    on, for out-of-sample explanations) are stored beside the artifact by the registry."""

    trained: TrainedModel
    evaluation: ModelEvaluation
    global_importance: pd.DataFrame
    predictions: pd.DataFrame
    holdout: pd.DataFrame | None = None
    reference: pd.DataFrame | None = None
    unseen: pd.DataFrame | None = None

    @property
    def metrics(self) -> dict:
        """The headline metrics on the held-out rows (NaN where undefined)."""
        return self.evaluation.metrics

    @property
    def n_train(self) -> int | None:
        return self.evaluation.n_train

    @property
    def n_test(self) -> int | None:
        return self.evaluation.n_test

    @property
    def positives_test(self) -> int | None:
        return self.evaluation.positives_test

    @property
    def seconds(self) -> float:
        return self.evaluation.train_seconds or 0.0

    def top_features(self, k: int = 10) -> list[dict]:
        rows = self.global_importance.head(k)
        return [{"feature": r.feature, "label": r.label, "group": r.group, "mean_abs_shap": float(r.mean_abs_shap)}
                for r in rows.itertuples()]

    def summary(self, model_id: str | None = None) -> dict:
        """The ``train --json`` object."""
        ev = self.evaluation
        return clean_json({
            "model_id": model_id, "target": self.trained.target, "algorithm": self.trained.algorithm,
            "validation": ev.validation, "n_train": ev.n_train, "n_test": ev.n_test,
            "positives_test": ev.positives_test,
            "metrics": {k: ev.metrics.get(k) for k in HEADLINE_METRICS},
            "roc_auc_interval": list(ev.roc_auc_interval) if ev.roc_auc_interval else None,
            "history": ev.history,
            "intervals": ev.intervals,
            "excluded_features": ev.excluded_features,
            "snapshot_features": ev.snapshot_features,
            "leakage": ev.leakage,
            "importance": ev.importance,
            "top_features": self.top_features(),
        })


def trained_model(model, obs: ObservationSet, config: TrainConfig, algo: str, params: dict, base_rate: float,
                  window, frame: pd.DataFrame) -> TrainedModel:
    """The :class:`TrainedModel` of a fitted, calibrated ``model`` (medians of ``frame`` fill missing inputs)."""
    medium, high = risk_thresholds(base_rate)
    medians = {c: float(np.nanmedian(frame[c])) for c in obs.numeric if frame[c].notna().any()}
    return TrainedModel(model=model, target=config.target, algorithm=algo, params=params,
                        numeric=list(obs.numeric), categorical=list(obs.categorical),
                        catalog={k: v for k, v in obs.catalog.items() if k in obs.features}, mode=obs.mode,
                        horizon_days=config.horizon_days, lead_days=config.lead_days, base_rate=base_rate,
                        risk_thresholds=(medium, high), training_window=window, feature_medians=medians)
