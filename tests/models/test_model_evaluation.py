"""ModelEvaluation: one typed evaluation from training to the registry, the CLI and the Model lab.

Its JSON round-trips, and models registered before it (their ``metrics`` column in the older flat
shape: headline metrics at the top, the rest under ``details``) still read. That the Model lab still
opens them: tests/views/test_model_lab_old_models.py.
"""

from __future__ import annotations

import json
import math

import pytest

from models.model_evaluation import BacktestCutoff, Calibration, ModelEvaluation, ReliabilityBin
from tests.support.old_registry import old_registry_shape, store_in_old_shape
from tests.support.workspaces import served_copy


def _full_evaluation() -> ModelEvaluation:
    return ModelEvaluation(
        validation="time-split",
        metrics={"roc_auc": 0.81, "pr_auc": 0.32, "brier": 0.07, "top_decile_lift": 3.1, "ece": 0.012,
                 "oe_ratio": 1.04, "log_loss": float("nan")},
        n_train=1200, n_test=300, positives_test=41, roc_auc_interval=(0.76, 0.86),
        calibration=Calibration(method="platt", cv_ece={"platt": 0.01, "isotonic": 0.02, "blocks": 3},
                                reliability=(ReliabilityBin(0.02, 0.03, 30), ReliabilityBin(0.3, 0.28, 30))),
        per_segment={"SMB": {"roc_auc": 0.8, "n": 200, "positives": 30}},
        backtest=[BacktestCutoff("2025-01-01", "2025-03-01", 280, 35, {"roc_auc": 0.79}, {"roc_auc": 0.7},
                                 "gbm", {"learning_rate": 0.05}, ["industry"], ["2024-06-01", "2024-09-01"])],
        rule_score={"roc_auc": 0.7, "pr_auc": 0.2, "top_decile_lift": 2.0, "reads_as": "risk"},
        intervals={"scores": {"model": {"roc_auc": {"estimate": 0.81, "low": 0.76, "high": 0.86}}},
                   "differences": {"model - rule": {"roc_auc": {"estimate": 0.11, "low": 0.05, "high": 0.17}}},
                   "draws": 300, "clusters": 120, "level": 0.95},
        importance={"in_sample": False, "rows": 500, "on": "the latest dates"},
        eligibility={"excluded": {"status": "named like an outcome"}, "kept_on_request": [],
                     "snapshot_features": ["csm"]},
        leakage={"ok": True, "unverifiable": ["csm"]},
        history={"cadence": "monthly", "labelled_dates": 30, "test_dates": 3, "purge_days": 120, "gap_days": 30,
                 "accounts_held_out": None, "data_end": "2025-06-30"},
        train_dates=["2023-01-01", "2024-10-01"], test_dates=["2025-04-01", "2025-06-01"],
        top_features=[{"feature": "logins", "label": "Logins", "group": "Usage", "mean_abs_shap": 0.4}],
        train_seconds=12.5, feature_groups=["Usage", "Billing"], horizon_days=90, lead_days=0,
    )


def test_the_json_round_trips():
    ev = _full_evaluation()
    stored = json.loads(json.dumps(ev.to_json(), allow_nan=False))  # strict JSON, as the registry stores it
    back = ModelEvaluation.from_json(stored)
    assert back.metrics["log_loss"] is None and math.isnan(ev.metrics["log_loss"])
    ev.metrics["log_loss"] = None
    assert back == ev
    assert back.interval("roc_auc").low == 0.76 and back.difference("roc_auc").high == 0.17
    assert back.calibration.frame()["observed_rate"].tolist() == [0.03, 0.28]
    assert back.excluded_features == {"status": "named like an outcome"} and back.data_end == "2025-06-30"


def test_the_older_flat_shape_still_reads():
    new = _full_evaluation().to_json()
    old = json.loads(json.dumps(old_registry_shape(new)))
    assert "format" not in old and "details" in old and "roc_auc" in old
    ev = ModelEvaluation.from_json(old, validation="time-split")
    assert ev.validation == "time-split"
    assert ev.metric("roc_auc") == 0.81 and ev.n_test == 300 and ev.positives_test == 41
    assert ev.roc_auc_interval == (0.76, 0.86)
    assert ev.calibration.method == "platt"
    assert [b.observed_rate for b in ev.calibration.reliability] == [0.03, 0.28]
    assert ev.rule_score["reads_as"] == "risk"
    assert ev.backtest[0].rule_score == {"roc_auc": 0.7} and ev.backtest[0].algorithm == "gbm"
    assert ev.snapshot_features == ["csm"] and ev.history["data_end"] == "2025-06-30"
    assert ev.feature_groups == ["Usage", "Billing"] and ev.top_features[0]["feature"] == "logins"
    assert ev.to_json() == {**new, "validation_blocks": None, "calibration_dates": None}


def test_a_model_with_almost_nothing_stored_reads():
    ev = ModelEvaluation.from_json({"roc_auc": 0.7, "n_test": 10}, validation="cv")
    assert ev.metric("roc_auc") == 0.7 and ev.metric("ece") is None
    assert ev.calibration.reliability == () and ev.backtest == [] and ev.interval("roc_auc") is None


@pytest.fixture(scope="module")
def old_model(sample_workspace_path, tmp_path_factory):
    """A copy of the sample workspace whose production churn model's registry row is in the old shape."""
    from models.registry import production_model

    with served_copy(sample_workspace_path, tmp_path_factory.mktemp("old_eval_ws") / "ws") as ws:
        prod = production_model(ws.engine, "churn")
        stored = store_in_old_shape(ws.engine, prod.id)
        assert "details" in stored and "format" not in stored
        yield ws, prod


def test_the_registry_reads_a_model_stored_in_the_old_shape(old_model):
    from models.registry import get_model

    ws, prod = old_model
    record = get_model(ws.engine, prod.id)
    assert record.evaluation.n_test == prod.evaluation.n_test
    assert record.evaluation.metrics == prod.evaluation.metrics
    assert record.evaluation.calibration == prod.evaluation.calibration
    assert record.evaluation.backtest == prod.evaluation.backtest
    assert record.evaluation.validation == prod.validation == "time-split"
