"""Issue 18: snapshot columns do not leak, calibration metrics that mean something at churn base
rates, account-clustered intervals, fair comparisons, out-of-sample importance, exact waterfall."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.workspace import open_workspace
from tests.support.synthetic import make_company, write_company

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--horizon-days", "60"]


def _cli(ws_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(ws_path), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def crm_ws(tmp_path_factory):
    """The synthetic company whose accounts export carries CRM outcome columns (as a real export does)."""
    tables = make_company(n=160, months=17, seed=3)
    subs = tables["subscriptions"]
    ended = set(subs.loc[subs["end_date"].notna(), "account_id"])
    acc = tables["accounts"]
    acc["churned"] = acc["account_id"].isin(ended).astype(int)
    acc["account_status"] = np.where(acc["churned"] == 1, "Cancelled", "Active")
    path = tmp_path_factory.mktemp("crm_ws")
    ws = open_workspace(str(path))
    write_company(ws.warehouse, tables)
    return ws


@pytest.fixture(scope="module")
def crm_train(crm_ws):
    proc = _cli(crm_ws.path, "train", "--json", "--algorithm", "logreg", "--promote", *FAST)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_crm_churned_column_is_not_a_feature_in_time_mode(crm_ws, crm_train):
    summary, log = crm_train
    features = {t["feature"] for t in summary["top_features"]}
    assert "churned" not in features and "account_status" not in features
    assert {"churned", "account_status"} <= set(summary["excluded_features"])
    assert "outcome" in summary["excluded_features"]["churned"]
    # custom attributes are opt-in in time mode
    assert "lead_source" in summary["excluded_features"] and "lead_source" not in features
    assert "left out churned" in log
    # the stored production model cannot read it either
    from models.registry import get_model, load_model

    trained = load_model(get_model(crm_ws.engine, summary["model_id"]))
    assert "churned" not in trained.features and "account_status" not in trained.features
    assert summary["metrics"]["roc_auc"] < 0.99  # what the leaking column gave: 0.996


def test_leakage_report_lists_snapshot_attributes_as_unverifiable(crm_train):
    summary, log = crm_train
    leak = summary["leakage"]
    assert leak["ok"] is True and leak["checked_rows"] > 0
    assert "segment" in leak["unverifiable"] and "csm" in leak["unverifiable"]
    assert "churned" not in leak["unverifiable"]  # not a feature any more
    assert {"segment", "csm"} <= set(summary["snapshot_features"])
    assert "cannot be verified" in log


def test_keep_column_opts_a_custom_attribute_in(crm_ws):
    proc = _cli(crm_ws.path, "train", "--json", "--algorithm", "logreg", "--keep-column", "employee_count", *FAST)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert "employee_count" not in summary["excluded_features"]
    assert "employee_count" in summary["leakage"]["unverifiable"]
    assert "churned" in summary["excluded_features"]


def test_train_json_has_intervals_and_calibration_figures(crm_train):
    summary, _ = crm_train
    m = summary["metrics"]
    assert m["oe_ratio"] is not None and m["log_loss"] is not None
    iv = summary["intervals"]["scores"]["model"]["roc_auc"]
    assert iv["low"] <= m["roc_auc"] <= iv["high"] and iv["high"] - iv["low"] > 0
    diff = summary["intervals"]["differences"]["model - rule"]["roc_auc"]
    assert diff["low"] < diff["high"]
    assert summary["intervals"]["clusters"] > 50


def test_flat_mode_refuses_post_outcome_columns_unless_kept(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 1.2 * x)))).astype(int)
    df = pd.DataFrame({"account_id": [f"F{i}" for i in range(n)], "usage_score": x,
                       "plan": rng.choice(["a", "b", "c"], n),
                       "months_active": np.where(y == 1, rng.integers(1, 12, n), np.nan),
                       "crm_flag": y * 3 + rng.random(n) * 0.1,  # nearly separates the label, neutral name
                       "churned": y})
    ws = open_workspace(str(tmp_path / "flat"))
    with ws.warehouse.writer("raw", fresh=True) as con:
        con.register("_df", df)
        con.execute("DROP TABLE accounts")
        con.execute("CREATE TABLE accounts AS SELECT * FROM _df")
    proc = _cli(ws.path, "train", "--json", "--algorithm", "logreg")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {"months_active", "crm_flag"} <= set(summary["excluded_features"])
    assert "separates" in summary["excluded_features"]["crm_flag"]
    assert {t["feature"] for t in summary["top_features"]} == {"usage_score", "plan"}
    assert summary["importance"]["in_sample"] is True
    kept = json.loads(_cli(ws.path, "train", "--json", "--algorithm", "logreg", "--keep-column", "crm_flag").stdout)
    assert "crm_flag" in {t["feature"] for t in kept["top_features"]}


# --------------------------------------------------------------------------- waterfall in calibrated units
def test_platt_waterfall_adds_up_to_the_calibrated_probability(crm_ws, crm_train):
    from components.charts import fig_shap_waterfall, shap_steps
    from models.registry import get_model, load_model
    from models.scoring import account_explanation

    summary, _ = crm_train
    trained = load_model(get_model(crm_ws.engine, summary["model_id"]))
    assert trained.model.calibrator.method == "platt"
    proc = _cli(crm_ws.path, "score", "--json")
    assert proc.returncode == 0, proc.stderr
    with crm_ws.warehouse.reader() as con:
        scores = con.execute("SELECT account_id, p_churn, shap_base, shap_other, shap_scale FROM scores").df()
        drivers = con.execute("SELECT account_id, sum(shap) AS s FROM score_drivers WHERE target = 'churn' "
                              "GROUP BY 1").df()
    both = scores.merge(drivers, on="account_id")
    assert (both["shap_scale"] == "calibrated").all()
    logit = np.log(both["p_churn"] / (1 - both["p_churn"]))
    np.testing.assert_allclose(both["shap_base"] + both["s"] + both["shap_other"], logit, atol=1e-6)
    e = account_explanation(crm_ws.warehouse, both["account_id"].iloc[0])
    steps = shap_steps(e.drivers, e.shap_base, e.shap_other, e.p_churn, scale=e.shap_scale, p_base=e.p_base)
    assert "Calibration" not in set(steps["label"])  # no lump: the bars are the calibrated movement
    assert steps.loc[steps["measure"] != "total", "delta"].sum() == pytest.approx(e.p_churn, abs=1e-9)
    fig = fig_shap_waterfall(e.drivers, e.shap_base, e.shap_other, e.p_churn, scale=e.shap_scale, p_base=e.p_base)
    assert "model's own" not in str(fig.layout.title.text)


def test_isotonic_waterfall_shows_calibrated_start_and_end_and_says_bars_are_model_scale():
    from components.charts import MODEL_SCALE_NOTE, fig_shap_waterfall, shap_steps
    from models.calibration import CalibratedModel, IsotonicCalibrator
    from models.estimators import LogisticRegressionModel

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=600)})
    y = (rng.random(600) < 1 / (1 + np.exp(-(-2 + 1.5 * frame["x"])))).astype(int)
    base = LogisticRegressionModel(numeric=["x"], categorical=[]).fit(frame, y)
    model = CalibratedModel(base=base, calibrator=IsotonicCalibrator().fit(base.decision_function(frame), y))
    expl, scale = model.explain_calibrated(frame.head(1))
    assert scale == "model"
    p_final = float(model.predict_proba(frame.head(1))[0, 1])
    p_base = float(model.calibrate(expl.base_values)[0])
    drivers = pd.DataFrame({"label": ["x"], "shap": [float(expl.values["x"].iloc[0])], "sentence": ["x"],
                            "group": ["Usage"], "rank": [1]})
    steps = shap_steps(drivers, float(np.asarray(expl.base_values).ravel()[0]), 0.0, p_final, scale=scale,
                       p_base=p_base)
    assert steps.iloc[0]["delta"] == pytest.approx(p_base)  # calibrated start
    assert steps.iloc[-1]["delta"] == pytest.approx(p_final)  # calibrated end
    assert "Calibration" in set(steps["label"])
    fig = fig_shap_waterfall(drivers, float(np.asarray(expl.base_values).ravel()[0]), 0.0, p_final, scale=scale,
                             p_base=p_base)
    assert MODEL_SCALE_NOTE in fig.layout.title.text


# --------------------------------------------------------------------------- fair comparisons, importance
def _with_expansions(tables: dict, seed: int = 1) -> dict:
    """Add an upsell subscription (a second product) to a third of the accounts, part-way through."""
    rng = np.random.default_rng(seed)
    subs = tables["subscriptions"]
    first = subs.groupby("account_id").first().reset_index()
    picked = first[rng.random(len(first)) < 0.35]
    rows = []
    for r in picked.itertuples():
        start = pd.Timestamp(r.start_date) + pd.Timedelta(days=int(rng.integers(60, 380)))
        if r.end_date is not None and not pd.isna(r.end_date) and start >= pd.Timestamp(r.end_date):
            continue
        rows.append((r.account_id, "addon", start.date(), r.end_date, 2 * r.mrr, 5, "monthly", None))
    tables["subscriptions"] = pd.concat([subs, pd.DataFrame(rows, columns=subs.columns)], ignore_index=True)
    return tables


def _spied_train(ws, config):
    """Train in-process, recording each model choice's validation dates and the rows importance reads."""
    import models.time_training as time_training
    import models.training as training

    calls = {"select": [], "importance": []}
    real_select, real_importance = time_training.select_candidates, time_training.global_importance

    def spy_select(obs, folds, config, label):
        calls["select"].append([d for _, v in folds for d in v["obs_date"].unique()])
        return real_select(obs, folds, config, label)

    def spy_importance(trained, frame, *a, **k):
        calls["importance"].append(frame)
        return real_importance(trained, frame, *a, **k)

    time_training.select_candidates, time_training.global_importance = spy_select, spy_importance
    try:
        with ws.warehouse.reader() as con:
            result = training.train(con, config)
    finally:
        time_training.select_candidates, time_training.global_importance = real_select, real_importance
    return result, calls


@pytest.fixture(scope="module")
def expansion_run(tmp_path_factory):
    from models.training import TrainConfig

    ws = open_workspace(str(tmp_path_factory.mktemp("expansion_ws")))
    write_company(ws.warehouse, _with_expansions(make_company(n=160, months=15, seed=3)))
    return _spied_train(ws, TrainConfig(target="expansion", algorithm="logreg", horizon_days=60, test_months=2,
                                        calib_months=2, backtest_cutoffs=1))


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory):
    from models.training import TrainConfig

    ws = open_workspace(str(tmp_path_factory.mktemp("long_ws")))
    write_company(ws.warehouse, make_company(n=200, months=22, seed=4))
    return _spied_train(ws, TrainConfig(algorithm="logreg", horizon_days=60, test_months=2, calib_months=2,
                                        validation_blocks=2, backtest_cutoffs=3, backtest_step_months=2,
                                        backtest_blocks=1))


def test_expansion_is_compared_with_health_not_with_churn_risk(expansion_run):
    from sklearn.metrics import roc_auc_score

    from models.health_score import health_risk

    result, _ = expansion_run
    h = result.evaluation.rule_score
    assert h["reads_as"] == "health"
    holdout = result.holdout
    y = holdout["y_true"].to_numpy()
    health_first = roc_auc_score(y, 1 - health_risk(holdout))
    assert h["roc_auc"] == pytest.approx(health_first)  # not the churn-risk ranking (1 - this)
    assert result.holdout["rule_risk"].to_numpy() == pytest.approx(1 - health_risk(holdout))


def test_backtest_cutoffs_redo_model_choice_on_their_own_earlier_window(churn_run):
    from datetime import date, timedelta

    result, calls = churn_run
    backtest = result.evaluation.backtest
    assert len(backtest) == 3
    gap = timedelta(days=60)
    assert len(calls["select"]) == len(backtest)  # one model choice per cut-off, not one reused
    for row, validated in zip(backtest, calls["select"], strict=True):
        test_start = date.fromisoformat(row.test_start)
        assert row.algorithm in ("logreg", "gbm", "blend") and isinstance(row.screened_out, list)
        assert max(validated) + gap <= test_start  # chose the model without seeing its test period's labels
        assert date.fromisoformat(row.selection_dates[1]) + gap <= test_start


def test_global_importance_is_measured_on_rows_the_production_model_did_not_train_on(churn_run):
    result, calls = churn_run
    frame = calls["importance"][-1]
    assert len(frame) and not frame["labelled"].any()  # no row the production model trained on
    assert result.evaluation.importance["in_sample"] is False
    assert result.unseen is not None and not result.unseen["labelled"].any()
