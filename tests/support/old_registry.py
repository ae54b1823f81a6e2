"""Models as the registry stored them before ``ModelEvaluation``: the older flat ``metrics`` shape.

Workspaces created before it keep such rows; tests use these helpers to check they still read
(:func:`old_registry_shape`) and still open in the Model lab (:func:`store_in_old_shape`).
"""

from __future__ import annotations

import json

import sqlalchemy as sa


def old_registry_shape(ev: dict) -> dict:
    """``ModelEvaluation.to_json()`` output laid out as models registered before it stored it: headline
    metrics and counts at the top, the rest under ``details``, reliability beside the calibration and
    the rule score named ``health_score`` (also in each backtest row)."""
    details = {k: ev[k] for k in ("horizon_days", "lead_days", "train_dates", "test_dates", "per_segment",
                                  "comparison", "intervals", "importance", "base_rate", "risk_thresholds",
                                  "screened_out", "history", "eligibility", "leakage")}
    details["calibration"] = {"method": ev["calibration"]["method"], "cv_ece": ev["calibration"]["cv_ece"]}
    details["reliability"] = ev["calibration"]["reliability"]
    details["health_score"] = ev["rule_score"]
    details["backtest"] = [{**{k: v for k, v in b.items() if k != "rule_score"}, "health_score": b["rule_score"]}
                           for b in ev["backtest"]]
    return {**ev["metrics"], "n_train": ev["n_train"], "n_test": ev["n_test"],
            "positives_test": ev["positives_test"], "roc_auc_interval": ev["roc_auc_interval"],
            "details": details, "top_features": ev["top_features"], "train_seconds": ev["train_seconds"],
            "feature_groups": ev["feature_groups"]}


def store_in_old_shape(engine: sa.Engine, model_id: str) -> dict:
    """Rewrite one registry row's ``metrics`` column in the old shape; returns what is now stored."""
    from models.registry import get_model, model_registry  # deferred: import time (tests/support loads early)

    old = old_registry_shape(get_model(engine, model_id).evaluation.to_json())
    with engine.begin() as conn:
        conn.execute(model_registry.update().where(model_registry.c.id == model_id).values(metrics=json.dumps(old)))
        return json.loads(conn.execute(sa.select(model_registry.c.metrics)
                                       .where(model_registry.c.id == model_id)).scalar_one())
