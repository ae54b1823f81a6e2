"""The Spark engine's settings and the ``attach-results`` step, through ``cli.py`` (no JVM needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data import readmodel
from data.settings import load_settings
from data.workspace import open_workspace
from models.registry import list_models, set_status
from models.scoring import latest_scores
from tests.support.cli import ROOT


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("name", "value", "hint"), [
    ("CSAI_ENGINE", "hadoop", "CSAI_ENGINE='hadoop' is not an engine; use one of: embedded, spark."),
    ("CSAI_SPARK_MASTER", "local[two]", "CSAI_SPARK_MASTER='local[two]' is not a master URL"),
    ("CSAI_SPARK_REMOTE", "http://spark:15002", "CSAI_SPARK_REMOTE='http://spark:15002' is not a Spark Connect URL"),
    ("CSAI_SPARK_TABLES", "clicks=/data/clicks", "CSAI_SPARK_TABLES: 'clicks=/data/clicks' is not table=path-or-name"),
])
def test_bad_spark_settings_say_which_variable_to_fix(tmp_path, name, value, hint):
    result = _cli("--workspace", str(tmp_path / "ws"), "score", env={name: value})
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and hint in result.stderr
    assert "Traceback" not in result.stderr


def test_spark_settings_are_read(tmp_path):
    s = load_settings(tmp_path, environ={"CSAI_ENGINE": "Spark", "CSAI_SPARK_REMOTE": "sc://spark-host:15002",
                                         "CSAI_SPARK_TABLES": "events=lake.db.events, accounts=/data/accounts.parquet",
                                         "CSAI_SPARK_CONF": "spark.executor.memory=2g"}).spark
    assert (s.engine, s.remote, s.master) == ("spark", "sc://spark-host:15002", "local[2]")
    assert s.tables == {"events": "lake.db.events", "accounts": "/data/accounts.parquet"}
    assert s.conf == {"spark.executor.memory": "2g"}
    assert load_settings(tmp_path, environ={}).spark.engine == "embedded"


def test_attach_results_refuses_a_folder_that_is_not_a_run(sample_workspace_path, tmp_path):
    ws_path = tmp_path / "ws"
    shutil.copytree(sample_workspace_path, ws_path)
    before = open_workspace(str(ws_path)).warehouse.current()
    not_a_run = tmp_path / "somewhere"
    not_a_run.mkdir()
    result = _cli("--workspace", str(ws_path), "attach-results", str(not_a_run))
    assert result.returncode == 2
    assert f"error: {not_a_run} is not a Spark scoring run (no readable run.json)" in result.stderr
    # a run.json without finished outputs: refused too
    (not_a_run / "run.json").write_text(json.dumps({"scored_at": "2026-07-01T00:00:00", "obs_date": "2026-07-01",
                                                    "model_id": "m"}))
    result = _cli("--workspace", str(ws_path), "attach-results", str(not_a_run))
    assert result.returncode == 2 and "has no scores (results/kind=score); the Spark job did not finish" in result.stderr
    assert open_workspace(str(ws_path)).warehouse.current() == before, "nothing was written"


def test_attach_results_publishes_a_run_written_elsewhere(sample_workspace_path, tmp_path):
    """A run folder from a cluster job (Parquet written by any engine) becomes the scores the app serves."""
    ws_path = tmp_path / "ws"
    shutil.copytree(sample_workspace_path, ws_path)
    ws = open_workspace(str(ws_path))
    with ws.warehouse.reader() as con:
        last = con.execute("SELECT * FROM scores WHERE scored_at = (SELECT max(scored_at) FROM scores)").df()
        drivers = con.execute("SELECT * FROM score_drivers WHERE scored_at = (SELECT max(scored_at) FROM scores)").df()
    run = tmp_path / "run"
    (run / "results" / "kind=score").mkdir(parents=True)
    (run / "results" / "kind=driver").mkdir(parents=True)
    scores = last.drop(columns=["scored_at", "obs_date", "model_id", "expansion_model_id"])
    scores["p_churn"] = 0.5
    scores.to_parquet(run / "results" / "kind=score" / "part-0.parquet")
    drivers.drop(columns=["scored_at"]).to_parquet(run / "results" / "kind=driver" / "part-0.parquet")
    (run / "run.json").write_text(json.dumps({"scored_at": "2030-01-02T03:04:05", "obs_date": "2026-07-01",
                                              "model_id": str(last["model_id"].iloc[0]), "expansion_model_id": None}))
    result = _cli("--workspace", str(ws_path), "attach-results", str(run), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accounts"] == len(last)
    served = latest_scores(ws.warehouse)
    assert (served["scored_at"] == pd.Timestamp("2030-01-02T03:04:05")).all() and (served["p_churn"] == 0.5).all()
    assert served["top_driver"].notna().any()
    again = _cli("--workspace", str(ws_path), "attach-results", str(run))
    assert again.returncode == 2 and "already in the warehouse; nothing was changed" in again.stderr
    assert Path(run / "run.json").exists()


def test_spark_score_without_a_production_model_falls_back_to_the_rule_score(sample_workspace_path, tmp_path):
    """``--engine spark score`` with no production model scores like the embedded ``score``: the rule health
    score (issue 12), run on the embedded engine, and says so; no Spark session or run folder is made."""
    ws_path = tmp_path / "ws"
    shutil.copytree(sample_workspace_path, ws_path)
    ws = open_workspace(str(ws_path))
    for record in list_models(ws.engine):
        if record.status == "production":
            set_status(ws.engine, record.id, "archived")
    # a Spark master nobody can reach: the fallback must not need Spark at all
    spark = _cli("--workspace", str(ws_path), "--engine", "spark", "score", "--json",
                 env={"CSAI_SPARK_MASTER": "spark://127.0.0.1:9"})
    assert spark.returncode == 0, spark.stderr
    summary = json.loads(spark.stdout.strip().splitlines()[-1])
    assert summary["model_id"] == readmodel.RULE_MODEL_ID and summary["score"] == readmodel.RULE_SCORE_NAME
    assert summary["engine"] == "embedded"
    assert "the rule health score scores the accounts, on the embedded engine" in spark.stderr
    assert not (ws_path / "spark").exists(), "no Spark run folder"
    embedded = _cli("--workspace", str(ws_path), "score", "--json")
    assert embedded.returncode == 0, embedded.stderr
    mine = json.loads(embedded.stdout.strip().splitlines()[-1])
    assert mine["engine"] == "embedded" and mine["accounts"] == summary["accounts"] > 200
    assert mine["risk_bands"] == summary["risk_bands"]
    with ws.warehouse.reader() as con:
        runs = con.execute("SELECT scored_at FROM score_runs WHERE model_id = ? ORDER BY scored_at",
                           [readmodel.RULE_MODEL_ID]).fetchall()
        assert len(runs) == 2
        first, second = (con.execute("SELECT account_id, health_score, risk_band, p_churn FROM scores "
                                     "WHERE scored_at = ? ORDER BY account_id", [r[0]]).df() for r in runs)
        reasons = [con.execute("SELECT account_id, rank, feature, sentence FROM score_drivers WHERE scored_at = ? "
                               "ORDER BY account_id, rank", [r[0]]).df() for r in runs]
    assert first.equals(second) and len(reasons[0]) > 0 and reasons[0].equals(reasons[1])
    text = _cli("--workspace", str(ws_path), "--engine", "spark", "score",
                env={"CSAI_SPARK_MASTER": "spark://127.0.0.1:9"})
    assert text.returncode == 0 and "on the embedded engine" in text.stdout
    assert "with the rule health score (no production churn model yet)" in text.stdout
