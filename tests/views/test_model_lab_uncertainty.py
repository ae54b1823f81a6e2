"""AppTest: the Model lab names a winner only when the interval of the difference excludes zero, warns
about snapshot attributes, and says whether its explanations are in or out of sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.support.apptest import run_app
from tests.support.workspaces import served_copy

LAB = "views/model_lab.py"


@pytest.fixture(scope="module")
def ws(sample_workspace_path, tmp_path_factory):
    with served_copy(sample_workspace_path, tmp_path_factory.mktemp("lab_unc_ws") / "ws") as ws:
        yield ws


@pytest.fixture(scope="module")
def twin(ws):
    """A second churn model whose held-out probabilities are the production model's, slightly jittered:
    on the same rows, any difference between the two is noise."""
    from dataclasses import replace

    from models import artifacts
    from models.evaluation import classification_metrics
    from models.registry import load_model, production_model, register_model
    from models.training import TrainResult

    prod = production_model(ws.engine, "churn")
    trained = load_model(prod)
    holdout = artifacts.load_lab_data(prod.artifact_path).holdout.copy()
    rng = np.random.default_rng(0)
    holdout["p"] = np.clip(holdout["p"] * np.exp(rng.normal(0, 0.15, len(holdout))), 1e-4, 0.999)
    y = holdout["y_true"].to_numpy()
    evaluation = replace(prod.evaluation, n_test=len(holdout), positives_test=int(y.sum()),
                         metrics=classification_metrics(y, holdout["p"]))
    result = TrainResult(trained=trained, evaluation=evaluation,
                         global_importance=pd.DataFrame(columns=["feature", "label", "group", "mean_abs_shap"]),
                         predictions=holdout[["account_id", "obs_date", "y_true", "p"]], holdout=holdout)
    record = register_model(ws.engine, ws.settings.models_dir, result, actor="test")
    return prod, record


def test_compare_says_no_clear_winner_when_the_interval_contains_zero(ws, twin):
    from models import artifacts
    from models.diagnostics import comparison

    prod, record = twin
    intervals, paired = comparison.difference_intervals(artifacts.load_lab_data(record.artifact_path).holdout,
                                                 artifacts.load_lab_data(prod.artifact_path).holdout)
    assert paired == "paired" and intervals["roc_auc"].contains_zero  # the overlapping case
    at = run_app("datasci", LAB, {"tab": "Compare", "model": record.id})
    at.selectbox(key="compare_b").set_value(prod.id).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table.loc["ROC-AUC", "Better"] == "no clear winner"
    assert "95% CI" in table.loc["ROC-AUC", "A − B (95% CI)"]
    assert table.loc["Calibration error (ECE)", "Better"] == ""  # no interval, no winner
    shown = " ".join(i.value for i in at.info)
    if not any(intervals[k].low > 0 or intervals[k].high < 0 for k in comparison.TESTED):
        assert "No clear winner" in shown


def test_promote_says_no_clear_winner_against_production(ws, twin):
    prod, record = twin
    at = run_app("datasci", LAB, {"tab": "Promote"})
    at.selectbox(key="promote_choice").set_value(record.id).run()
    assert not at.exception, at.exception
    assert any("No clear winner" in i.value and prod.id in i.value for i in at.info)


def test_rule_vs_ml_verdict_follows_the_interval(ws):
    from models import artifacts
    from models.diagnostics import comparison
    from models.registry import production_model

    prod = production_model(ws.engine, "churn")
    table = comparison.rule_vs_model(artifacts.load_lab_data(prod.artifact_path).holdout)
    diff = table[table["score"].str.startswith("Difference")].iloc[0]
    low, high = (float(x) for x in diff["roc_auc_ci"].split(" to "))
    at = run_app("datasci", LAB, {"tab": "Rule score vs ML", "model": prod.id})
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    if low <= 0 <= high:
        assert "No clear winner" in text and "ranks accounts better" not in text
    else:
        assert "ranks accounts better" in text
    shown = at.dataframe[0].value
    assert "roc_auc_ci" in shown.columns and shown["score"].iloc[-1].startswith("Difference")


def test_rule_vs_ml_names_no_winner_on_overlapping_scores():
    from models.diagnostics import comparison

    rng = np.random.default_rng(1)
    acc = np.repeat(np.arange(150), 3)
    y = (rng.random(acc.size) < 0.1).astype(int)
    base = y * 0.5 + rng.normal(0, 1, acc.size)
    def prob(x):
        return 1 / (1 + np.exp(-(x - 2)))

    holdout = pd.DataFrame({"account_id": acc.astype(str), "y_true": y,
                            "p": prob(base + rng.normal(0, 0.3, acc.size)),
                            "rule_risk": prob(base + rng.normal(0, 0.3, acc.size))})
    assert "No clear winner" in comparison.rule_verdict(comparison.rule_vs_model(holdout))


def test_evaluate_shows_intervals_and_snapshot_warning(ws):
    from models.registry import production_model

    prod = production_model(ws.engine, "churn")
    at = run_app("datasci", LAB, {"tab": "Evaluate", "model": prod.id})
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "95% intervals (bootstrap over accounts" in captions
    assert any(m.label == "Observed / expected" for m in at.metric)
    assert any("csm" in w.value and "cannot verify" in w.value for w in at.warning)  # sample models use csm


def test_explain_says_out_of_sample(ws):
    from models.registry import production_model

    prod = production_model(ws.engine, "churn")
    at = run_app("datasci", LAB, {"tab": "Explain", "model": prod.id})
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "out of sample" in captions and "in-sample" not in captions


def test_data_health_lists_account_columns_left_out_before_training(ws):
    at = run_app("datasci", LAB, {"tab": "Data health"})
    assert not at.exception, at.exception
    left_out = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert {"lead_source", "employee_count"} <= set(left_out["column"])
    assert "segment" not in set(left_out["column"])
