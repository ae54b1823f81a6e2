"""Model lab computations: PSI, Wilson intervals, confusion at a capacity, cohorts, curves, stored lab data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import artifacts
from models.diagnostics import cohorts, comparison, curves, drift, shap_sample


def test_psi_on_known_shares():
    # (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5)
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert drift.psi_from_shares([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    assert drift.psi_from_shares([0.2, 0.8], [0.2, 0.8]) == 0.0


def test_psi_is_zero_for_the_same_sample_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    ref = pd.Series(rng.normal(0, 1, 5000))
    assert drift.psi(ref, ref) == pytest.approx(0.0, abs=1e-9)
    assert drift.psi(ref, pd.Series(rng.normal(0, 1, 5000))) < 0.05
    assert drift.psi(ref, pd.Series(rng.normal(1.5, 1, 5000))) > 0.2


def test_psi_categorical_and_missing_values():
    ref = pd.Series(["a"] * 50 + ["b"] * 50)
    cur = pd.Series(["a"] * 25 + ["b"] * 75)
    assert drift.psi(ref, cur, categorical=True) == pytest.approx(drift.psi_from_shares([0.5, 0.5], [0.25, 0.75]))
    # half the current values missing: a bin of its own, a clear shift
    assert drift.psi(pd.Series([1.0, 2.0] * 50), pd.Series([1.0, np.nan] * 50)) > 0.2


def test_wilson_interval_known_values():
    lo, hi = cohorts.wilson_interval(10, 100)
    assert lo == pytest.approx(0.0552, abs=1e-4)
    assert hi == pytest.approx(0.1744, abs=1e-4)
    lo0, hi0 = cohorts.wilson_interval(0, 20)
    assert lo0 == 0.0 and 0.15 < hi0 < 0.17  # never below zero, still informative at 0 events
    assert all(math.isnan(v) for v in cohorts.wilson_interval(0, 0))


def test_confusion_at_top_n_flags_exactly_n():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    c = curves.confusion_at(y, p, top_n=3)
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 4)
    assert c.flagged == 3 and c.threshold == 0.7
    assert c.precision == pytest.approx(2 / 3) and c.recall == pytest.approx(2 / 3)
    assert c.matrix().loc["actual positive", "flagged"] == 2
    t = curves.confusion_at(y, p, threshold=0.45)
    assert (t.tp, t.fp, t.fn, t.tn) == (2, 3, 1, 2)
    with pytest.raises(ValueError, match="exactly one of threshold and top_n"):
        curves.confusion_at(y, p)


def test_decile_cohorts_rates_intervals_and_missing_bucket():
    values = pd.Series(list(range(100)) + [np.nan] * 10)
    y = np.array([1 if v < 10 else 0 for v in range(100)] + [1] * 10)
    df = cohorts.decile_cohorts(values, y)
    assert list(df["label"])[-1] == "missing"
    assert df["n"].sum() == 110
    first = df.iloc[0]
    assert first["rate"] == 1.0 and first["n"] == 10
    assert (df["ci_low"] <= df["rate"]).all() and (df["rate"] <= df["ci_high"]).all()
    cats = cohorts.decile_cohorts(pd.Series(["x", "y", "x", "y"]), [1, 0, 1, 1], categorical=True)
    assert dict(zip(cats["label"], cats["rate"], strict=True)) == {"x": 1.0, "y": 0.5}


def test_gains_and_curves():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.linspace(1, 0.1, 10)
    g = curves.gains(y, p, bins=5)
    assert list(g["share_captured"]) == [1.0, 1.0, 1.0, 1.0, 1.0]
    assert g["lift"].iloc[0] == pytest.approx(5.0)
    roc = curves.roc_points(y, p)
    assert roc["tpr"].iloc[-1] == 1.0 and roc["fpr"].iloc[0] == 0.0
    assert curves.roc_points([0, 0], [0.1, 0.2]).empty


def test_compare_table_and_better_model():
    from datetime import datetime
    from types import SimpleNamespace

    from models.model_evaluation import ModelEvaluation

    def rec(i, auc, brier):
        return SimpleNamespace(id=i, target="churn", algorithm="logreg", status="candidate", validation="time-split",
                               horizon_days=90, training_start="2025-01-01", training_end="2026-01-01",
                               evaluation=ModelEvaluation(
                                   metrics={"roc_auc": auc, "pr_auc": 0.2, "brier": brier, "top_decile_lift": 2.0,
                                            "ece": 0.01}, n_test=100, positives_test=5),
                               created_at=datetime(2026, 1, 1))

    a, b = rec("a", 0.8, 0.05), rec("b", 0.7, 0.04)
    table = comparison.compare_table([a, b])
    assert table.loc["ROC-AUC", "a"] == 0.8 and table.loc["Brier score", "b"] == 0.04
    from models.uncertainty import Interval

    assert all(w is None for w in comparison.better_model(a, b).values())  # no intervals: no winner named
    wins = comparison.better_model(a, b, {"roc_auc": Interval(0.1, 0.02, 0.18), "brier": Interval(0.01, 0.002, 0.02),
                                   "pr_auc": Interval(0.0, -0.05, 0.05)})
    assert wins["roc_auc"] == "a" and wins["brier"] == "b" and wins["pr_auc"] is None
    assert wins["ece"] is None


def test_models_store_lab_data_and_drift_runs(sample_workspace):
    from models.registry import list_models, load_model
    from models.scoring import features_as_of

    record = next(r for r in list_models(sample_workspace.engine, "churn") if r.status == "production")
    data = artifacts.load_lab_data(record.artifact_path)
    assert data.has_predictions
    assert len(data.holdout) == record.evaluation.n_test
    assert int(data.holdout["y_true"].sum()) == record.evaluation.positives_test
    assert {"rule_risk", "segment"} <= set(data.holdout.columns)
    trained = load_model(record)
    assert set(trained.features) <= set(data.reference.columns)
    with sample_workspace.warehouse.reader() as con:
        current = features_as_of(con)
    table = drift.drift_table(data.reference, current, trained)
    assert set(table["feature"]) == set(trained.features)
    assert table["psi"].notna().all() and (table["psi"] >= 0).all()
    sample = shap_sample.shap_sample(trained, data.holdout, max_rows=200)
    assert sample.values.shape == (200, len(trained.features))
    assert sample.group_importance()["mean_abs_shap"].gt(0).any()


def test_drift_compares_today_with_the_newest_training_snapshot_not_every_date():
    """Tenure grows with every observation date: against all training dates, today's book always reads
    as "shifted". Against the newest snapshot it does not, while a real shift still shows."""
    import numpy as np
    import pandas as pd

    from models.diagnostics.drift import drift_reference, psi

    rng = np.random.default_rng(3)
    dates = pd.date_range("2024-01-01", periods=12, freq="MS")
    reference = pd.concat([pd.DataFrame({"obs_date": d, "tenure": rng.normal(400 + 30 * i, 150, 300),
                                         "logins": rng.normal(50, 10, 300)}) for i, d in enumerate(dates)])
    today = pd.DataFrame({"tenure": rng.normal(400 + 30 * 12, 150, 300), "logins": rng.normal(30, 10, 300)})
    newest = drift_reference(reference)
    assert set(newest["obs_date"]) == {dates[-1]} and len(newest) == 300
    assert psi(reference["tenure"], today["tenure"]) > 0.3  # every date: age alone looks like drift
    assert psi(newest["tenure"], today["tenure"]) < 0.2  # the newest snapshot: no false alarm
    assert psi(newest["logins"], today["logins"]) > 0.2  # a real fall in usage still shows
    small = reference.groupby("obs_date").head(80)  # 80 rows a date: dates are added until 200 rows
    assert small[small["obs_date"].isin(drift_reference(small)["obs_date"].unique())].shape[0] == 240
    assert drift_reference(reference.drop(columns="obs_date")) is not None
