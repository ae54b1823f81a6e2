"""Models end to end on a tiny synthetic company: leakage, determinism, SHAP, registry, scoring, CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.errors import UserError
from data.workspace import open_workspace
from models.estimators import GradientBoostingModel, LogisticRegressionModel
from models.observations import build_observations, check_leakage
from models.training import TrainConfig, train
from tests.support.cli import cli_ok
from tests.support.synthetic import make_company, write_company

ROOT = Path(__file__).resolve().parents[2]
FAST = {"backtest_cutoffs": 2, "test_months": 2, "calib_months": 2}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic_ws")
    workspace = open_workspace(str(path))
    write_company(workspace.warehouse, make_company(n=160, months=17, seed=3))
    return workspace


@pytest.fixture(scope="module")
def obs(ws):
    with ws.warehouse.reader() as con:
        return build_observations(con, horizon_days=60)


@pytest.fixture(scope="module")
def result(ws, obs):
    with ws.warehouse.reader() as con:
        return train(con, TrainConfig(algorithm="gbm", horizon_days=60, **FAST), observations=obs)


def test_observations_are_monthly_active_accounts_with_labels(obs):
    f = obs.frame
    assert set(pd.to_datetime(f["obs_date"]).dt.day) == {1}
    assert not f.duplicated(["account_id", "obs_date"]).any()
    assert f["label_churn"].isin([0, 1]).all() and f.loc[f["labelled"], "label_churn"].sum() > 10
    assert not f.loc[f["obs_date"] == max(f["obs_date"]), "labelled"].any()  # the scoring date has no label yet


def test_leakage_check_passes_on_metric_layer(ws, obs):
    with ws.warehouse.reader() as con:
        report = check_leakage(con, obs.frame[["account_id", "obs_date"]], n_dates=3, n_accounts=30)
    assert report.ok, report.leaking_features
    assert report.checked_rows > 0


def test_leakage_check_catches_a_planted_leak(ws, obs):
    from data.metrics import compute_metrics

    def leaky(con, o):
        frame = compute_metrics(con, o).frame
        con.register("_o", o)
        future = con.execute("""SELECT o.account_id, count(e.account_id) AS future_logins FROM _o o
            LEFT JOIN events e ON e.account_id = o.account_id AND e.event_time >= o.obs_date
             AND e.event_time < o.obs_date + 30 GROUP BY 1""").df()
        con.unregister("_o")
        return frame.merge(future, on="account_id", how="left")

    with ws.warehouse.reader() as con:
        report = check_leakage(con, obs.frame[["account_id", "obs_date"]], feature_fn=leaky, n_dates=2, n_accounts=30)
    assert not report.ok
    assert set(report.leaking_features) == {"future_logins"}
    with pytest.raises(AssertionError, match="future_logins"):
        report.raise_if_leaking()


def test_training_reports_time_split_metrics(result):
    assert result.evaluation.validation == "time-split"
    assert result.n_test > 0 and result.positives_test > 0
    assert result.metrics["roc_auc"] > 0.6
    assert 0 <= result.metrics["ece"] < 0.2
    summary = result.summary("m1")
    assert set(summary) == {"model_id", "target", "algorithm", "validation", "n_train", "n_test", "positives_test",
                            "metrics", "roc_auc_interval", "history", "intervals", "excluded_features", "snapshot_features", "leakage",
                            "importance", "top_features"}
    assert set(summary["metrics"]) == {"roc_auc", "pr_auc", "brier", "top_decile_lift", "ece", "oe_ratio", "log_loss"}
    assert set(summary["top_features"][0]) == {"feature", "label", "group", "mean_abs_shap"}
    # the planted cause is usage decline: a Usage metric is among the two leading drivers (importance is
    # measured out of sample, on the latest dates, where tenure - older than any training row - also pushes)
    assert {t["group"] for t in summary["top_features"][:2]} & {"Usage", "Adoption"}
    assert result.evaluation.backtest and result.evaluation.backtest[0].rule_score


def test_same_data_and_seed_give_same_metrics(ws, obs, result):
    with ws.warehouse.reader() as con:
        again = train(con, TrainConfig(algorithm="gbm", horizon_days=60, leakage_check=False, **FAST),
                      observations=obs)
    assert again.metrics == result.metrics
    np.testing.assert_array_equal(again.predictions["p"], result.predictions["p"])


@pytest.mark.parametrize("cls", [LogisticRegressionModel, GradientBoostingModel])
def test_shap_values_sum_to_log_odds(obs, cls):
    frame = obs.labelled()
    model = cls(numeric=obs.numeric, categorical=obs.categorical).fit(frame, frame["label_churn"])
    rows = frame.head(50)
    expl = model.explain(rows)
    np.testing.assert_allclose(expl.output(), model.decision_function(rows), atol=1e-6)
    assert list(expl.values.columns) == obs.features  # one-hot columns folded back into their feature
    p = model.predict_proba(rows)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-model.decision_function(rows))), atol=1e-9)


def test_estimators_follow_sklearn_conventions(obs):
    import inspect

    for cls in (LogisticRegressionModel, GradientBoostingModel):
        params = inspect.signature(cls.__init__).parameters.values()
        assert all(p.kind == p.KEYWORD_ONLY for p in params if p.name != "self")
        frame = obs.labelled().head(400)
        m = cls(numeric=obs.numeric, categorical=obs.categorical)
        assert m.fit(frame, frame["label_churn"]) is m
        assert not any(k.endswith("_") for k in m.get_params())


@pytest.mark.slow
def test_cli_train_score_explain_end_to_end(ws, tmp_path):
    preds = tmp_path / "pred.csv"
    out = json.loads(cli_ok(ws.path, "train", "--algorithm", "logreg", "--horizon-days", "60", "--promote", "--json",
                          "--predictions-out", str(preds)))
    assert out["validation"] == "time-split" and out["algorithm"] == "logreg" and out["model_id"]
    assert set(out["metrics"]) == {"roc_auc", "pr_auc", "brier", "top_decile_lift", "ece", "oe_ratio", "log_loss"}
    df = pd.read_csv(preds)
    assert list(df.columns) == ["account_id", "obs_date", "y_true", "p"] and len(df) == out["n_test"]

    first = json.loads(cli_ok(ws.path, "score", "--json"))
    assert first["model_id"] == out["model_id"] and first["accounts"] > 0
    second = json.loads(cli_ok(ws.path, "score", "--json"))
    assert second["accounts"] == first["accounts"]

    from models.scoring import account_explanation, latest_scores, score_history

    latest = latest_scores(ws.warehouse)
    assert len(latest) == first["accounts"] and latest["account_id"].is_unique
    assert latest["risk_band"].isin(["low", "medium", "high"]).all()
    np.testing.assert_allclose(latest["expected_arr_loss"], latest["p_churn"] * latest["arr"])
    assert latest["p_churn_prev"].notna().all()  # history kept across runs
    acc = latest["account_id"].iloc[0]
    assert len(score_history(ws.warehouse, acc)) == 2
    e = account_explanation(ws.warehouse, acc)
    assert e is not None and e.model_id == out["model_id"] and len(e.drivers) == 10
    assert e.changes and e.changes[0].startswith("Churn risk")
    # stored drivers + the rest add up to the model's log-odds for this account
    from models.scoring import features_as_of, load_production

    _, model = load_production(ws.engine, "churn")
    with ws.warehouse.reader() as con:
        log_odds = model.model.decision_function(features_as_of(con, [acc]))[0]
    if e.shap_scale == "calibrated":  # Platt: stored in calibrated units, adding up to the shown probability's logit
        log_odds = float(np.log(e.p_churn / (1 - e.p_churn)))
    assert e.shap_base + e.drivers["shap"].sum() + e.shap_other == pytest.approx(log_odds, abs=1e-6)
    assert e.drivers["shap"].abs().sum() > 0  # the drivers carry part of it

    text = json.loads(cli_ok(ws.path, "explain", acc, "--json"))
    assert text["account_id"] == acc and text["drivers"][0]["sentence"]
    assert account_explanation(ws.warehouse, "nope") is None


def test_what_if_rescoring(ws, result):
    from models.scoring import account_features, what_if

    trained = result.trained
    with ws.warehouse.reader() as con:
        from models.scoring import features_as_of

        frame = features_as_of(con)
    row = frame.iloc[[0]]
    out = what_if(trained, row, {"ev_core_action_change_30v60": -0.9, "ev_login_change_30v60": -0.9})
    assert set(out) == {"p_before", "p_after", "delta", "drivers"}
    assert 0 <= out["p_after"] <= 1
    with pytest.raises(UserError, match=r"Unknown feature\(s\) for this model: no_such_feature\."):
        what_if(trained, row, {"no_such_feature": 1})
    assert len(account_features(ws.warehouse, row["account_id"].iat[0])) == 1


def test_registry_promotes_one_per_target_and_verifies_checksums(result, opstore_url, tmp_path):
    """On a fresh SQLite store and a fresh PostgreSQL database (``opstore_url``)."""
    from data.opstore import get_engine
    from models.registry import list_models, load_model, production_model, promote, register_model

    engine = get_engine(opstore_url)
    a = register_model(engine, tmp_path / "models", result, actor="test")
    b = register_model(engine, tmp_path / "models", result, actor="test")
    assert a.status == "candidate" and a.artifact_sha256 and a.features
    promote(engine, a.id, actor="test")
    promote(engine, b.id, actor="test")
    statuses = {m.id: m.status for m in list_models(engine, "churn")}
    assert statuses == {b.id: "production", a.id: "archived"}
    assert production_model(engine, "churn").id == b.id
    Path(a.artifact_path).write_bytes(b"tampered")
    with pytest.raises(UserError, match="checksum"):
        load_model(a)
    from data.opstore import read_audit

    assert any(r["action"] == "model.promote" and r["target"] == b.id for r in read_audit(engine))


def test_flat_table_mode_uses_cv_and_ignores_identifiers(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    usage = rng.normal(size=n)
    tickets = rng.poisson(2, n)
    logit = -1.5 - 1.2 * usage + 0.3 * tickets
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    accounts = pd.DataFrame({
        "account_id": [f"F{i}" for i in range(n)], "name": [f"Co {i}" for i in range(n)],
        "segment": rng.choice(["SMB", "ENT"], n), "industry": "x", "region": "EU", "plan": "p", "csm": "c",
        "created_at": pd.Timestamp("2024-01-01"), "customer_number": np.arange(n), "crm_key": [f"k{i}" for i in range(n)],
        "monthly_usage": usage, "tickets_last_year": tickets, "churned": churned,
    })
    ws = open_workspace(str(tmp_path / "flat"))
    with ws.warehouse.writer("raw", fresh=True) as con:
        con.register("_a", accounts)
        con.execute("DROP TABLE accounts")
        con.execute("CREATE TABLE accounts AS SELECT * FROM _a")
    with ws.warehouse.reader() as con:
        res = train(con, TrainConfig(algorithm="auto", cv_folds=3, inner_folds=2))
    assert res.evaluation.validation == "cv" and res.n_test == n
    feats = set(res.trained.features)
    assert {"monthly_usage", "tickets_last_year"} <= feats
    assert not feats & {"account_id", "name", "customer_number", "crm_key", "churned", "created_at"}
    assert res.metrics["roc_auc"] > 0.7
    assert res.predictions["obs_date"].eq("").all() and len(res.predictions) == n
    with ws.warehouse.reader() as con, pytest.raises(UserError, match="expansion"):
        train(con, TrainConfig(target="expansion"))


def test_not_enough_history_is_a_user_error(tmp_path):
    ws = open_workspace(str(tmp_path / "short"))
    write_company(ws.warehouse, make_company(n=30, months=4, seed=1, end=date(2026, 3, 31)))
    with ws.warehouse.reader() as con, pytest.raises(UserError, match="(?i)not enough (labelled )?history"):
        train(con, TrainConfig())
