"""Churn and expansion models: features -> training -> calibration -> scoring -> explanations -> registry.

A plain Python library (no Streamlit), importable from a notebook::

    from models import TrainConfig, train, build_observations
    with ws.warehouse.reader() as con:
        result = train(con, TrainConfig(target="churn", algorithm="auto"))

Names are imported lazily so ``import models`` stays cheap, and importing it changes nothing
in the process (thread limits are set by the entry points: :func:`data.compat.limit_threads`).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "build_observations": "models.observations",
    "check_leakage": "models.observations",
    "ObservationSet": "models.observations",
    "LogisticRegressionModel": "models.estimators",
    "GradientBoostingModel": "models.estimators",
    "Explanation": "models.explain",
    "CalibratedModel": "models.calibration",
    "classification_metrics": "models.evaluation",
    "ModelEvaluation": "models.model_evaluation",
    "TrainConfig": "models.training",
    "TrainedModel": "models.training",
    "TrainResult": "models.training",
    "train": "models.training",
    "global_importance": "models.explain",
    "HealthScoreConfig": "models.health_score",
    "health_score": "models.health_score",
    "register_model": "models.registry",
    "promote": "models.registry",
    "list_models": "models.registry",
    "load_model": "models.registry",
    "production_model": "models.registry",
    "AccountExplanation": "models.scoring",
    "score_workspace": "models.scoring",
    "latest_scores": "models.scoring",
    "account_explanation": "models.scoring",
    "score_history": "models.scoring",
    "account_features": "models.scoring",
    "load_production": "models.scoring",
    "what_if": "models.scoring",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
