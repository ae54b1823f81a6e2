"""Scoring and explanations on Apache Spark, and attaching the results to the warehouse.

:func:`score_on_spark` computes the features of every active account as of the day
after the history (:mod:`data.engines.spark_metrics`), then scores and explains them per
partition with ``mapInPandas``: the production models (the whole ``TrainedModel``, so
the LightGBM booster with its encoder and calibration) travel to the executors once,
pickled inside the function (a broadcast that works on Spark Connect too, where there is
no ``SparkContext.broadcast``), and each partition runs the very code the embedded engine
runs: ``TrainedModel.predict``, ``TrainedModel.explain`` (LightGBM ``pred_contrib``,
exact TreeSHAP) and ``models.explain.Explanation.top_drivers``. The outputs are Parquet:

``<run>/features``           the metric row of every scored account
``<run>/results/kind=score``  one row per account (p_churn, risk band, SHAP base ...)
``<run>/results/kind=driver`` the top drivers per account and target
``<run>/results/kind=other``  the rest of each churn score ("no data" parts, one part per driver group)
``<run>/run.json``            scored_at, obs_date, model ids

:func:`attach_results` (``cli.py attach-results RUN``, also the last step of
``cli.py --engine spark score``) appends them to ``scores``, ``score_drivers``,
``score_other_factors`` and ``score_runs`` and replaces ``score_features`` in one new ``results`` snapshot, published
atomically: the app serves them on its next read, without a restart.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from data.engines import spark_metrics as sm
from data.engines.spark_session import spark_session
from data.engines.spark_settings import RAW_TABLES
from data.errors import UserError
from data.readmodel import RULE_SCORE_NAME
from data.vocabulary import RISK_BANDS
from models.explain import DRIVER_COLUMNS
from models.health_score import health_score
from models.scoring import (
    DRIVERS_DDL,
    OTHERS_DDL,
    RUNS_DDL,
    SCORES_DDL,
    SCORES_MIGRATIONS,
    TOP_DRIVERS,
    ScoreRun,
    load_production,
    next_run_time,
    score_with_rules,
)

RESULT_SCHEMA = (
    "kind string, account_id string, target string, p_churn double, risk_band string, p_expansion double, "
    "arr double, expected_arr_loss double, health_score double, shap_base double, shap_other double, "
    "shap_scale string, p_base double, feature string, label string, `group` string, value string, shap double, "
    "sentence string, rank int, factor_kind string")
SCORE_FIELDS = ["account_id", "target", "p_churn", "risk_band", "p_expansion", "arr", "expected_arr_loss",
                "health_score", "shap_base", "shap_other"]
EXPANSION_DRIVERS = 5

_models_cache: dict[str, tuple] = {}


def _load_models(blob: bytes, key: str) -> tuple:
    """Unpickle the models once per Python worker (workers are reused across tasks)."""
    hit = _models_cache.get(key)
    if hit is None:
        hit = pickle.loads(blob)  # noqa: S301 - our own models, pickled by this driver
        _models_cache.clear()
        _models_cache[key] = hit
    return hit


def score_batch(churn, expansion, frame: pd.DataFrame) -> pd.DataFrame:
    """Scores, top drivers and other factors of one batch of metric rows, as rows of
    ``RESULT_SCHEMA``: the embedded engine's ``models.scoring.score_workspace`` computation, per
    batch (SHAP in calibrated units where exact, ``shap_scale`` and ``p_base`` as it stores them)."""
    frame = frame.reset_index(drop=True)
    p = churn.predict(frame)
    ids = frame["account_id"].to_numpy()
    expl, shap_scale = churn.explain_calibrated(frame)  # the units the embedded engine stores (Platt: calibrated)
    p_base = churn.calibrate(expl.base_values) if shap_scale == "model" else 1 / (1 + np.exp(-expl.base_values))
    top, others = expl.split(ids, TOP_DRIVERS)
    top.insert(1, "target", "churn")
    others = others.rename(columns={"kind": "factor_kind"})
    others.insert(1, "target", "churn")
    others.insert(0, "kind", "other")
    kept = top.groupby("account_id")["shap"].sum().reindex(frame["account_id"]).fillna(0.0).to_numpy()
    shap_other = expl.values.sum(axis=1).to_numpy() - kept
    parts = [top]
    p_exp = np.full(len(frame), np.nan)
    if expansion is not None:
        p_exp = expansion.predict(frame)
        e = expansion.explain(frame).top_drivers(ids, EXPANSION_DRIVERS)
        e.insert(1, "target", "expansion")
        parts.append(e)
    arr = 12.0 * frame["mrr"].to_numpy(dtype=float)
    scores = pd.DataFrame({
        "kind": "score", "account_id": frame["account_id"].astype(str).to_numpy(), "target": "churn", "p_churn": p,
        "risk_band": churn.risk_band(p), "p_expansion": p_exp, "arr": arr, "expected_arr_loss": p * arr,
        "health_score": health_score(frame).to_numpy(dtype=float),
        "shap_base": np.broadcast_to(np.asarray(expl.base_values, float), (len(frame),)), "shap_other": shap_other,
        "shap_scale": shap_scale, "p_base": np.broadcast_to(np.asarray(p_base, dtype=float), (len(frame),))})
    drivers = pd.concat(parts, ignore_index=True)
    drivers.insert(0, "kind", "driver")
    drivers["rank"] = drivers["rank"].astype("int32")
    out = pd.concat([scores, drivers, others], ignore_index=True)
    columns = [c.split(" ")[0].strip("`") for c in RESULT_SCHEMA.split(", ")]
    for c in columns:
        if c not in out:
            out[c] = None
    out = out[columns]
    for c in ("kind", "account_id", "target", "risk_band", "shap_scale", "feature", "label", "group", "value",
              "sentence", "factor_kind"):
        # plain object columns: PySpark's Arrow conversion takes no pandas 3 (Arrow-backed) string columns
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def score_on_spark(spark, raw: dict, churn, expansion, *, end: date | None = None, account_ids=None):
    """(features, results, obs_date) for every account active on the eve of ``end`` + 1, the as-of date
    (``end``, default :func:`data.engines.spark_metrics.data_end`) and the accounts of the embedded
    ``models.scoring.features_as_of``: a billing period running to the data's end still counts."""

    end = end or sm.data_end(raw)
    if end is None:
        raise UserError("No history to score: the raw tables have no events, subscriptions, tickets or invoices.")
    obs_date = end + timedelta(days=1)
    rows = sm.active_rows(spark, raw, [obs_date], end).select("account_id", "obs_date")
    if account_ids is not None:
        rows = rows.where(rows.account_id.isin(list(account_ids)))
    features = sm.compute_metrics(raw, rows, data_end=end).frame.repartition("account_id")
    blob = pickle.dumps((churn, expansion))
    key = hashlib.sha256(blob).hexdigest()

    def score_partition(batches):
        churn_model, expansion_model = _load_models(blob, key)
        for batch in batches:
            if len(batch):
                yield score_batch(churn_model, expansion_model, batch)

    return features, features.mapInPandas(score_partition, RESULT_SCHEMA), obs_date


# --------------------------------------------------------------------------- the cli step
def export_raw_tables(warehouse, folder: Path) -> dict[str, str]:
    """Write the raw layer's canonical tables (and ``workspace_meta``) as Parquet files."""

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    with warehouse.reader() as con:
        names = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        for table in (*RAW_TABLES, "workspace_meta"):
            if table not in names:
                continue
            path = folder / f"{table}.parquet"
            con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{_sql_path(path)}' (FORMAT parquet)")  # noqa: S608
            out[table] = str(path)
    return out


def raw_sources(ws, spark_settings, run_dir: Path) -> dict[str, str]:
    """Where Spark reads each raw table: ``CSAI_SPARK_TABLES`` overrides, then ``CSAI_SPARK_INPUT``,
    else the warehouse's raw layer exported to ``run_dir/input``."""

    sources: dict[str, str] = {}
    if spark_settings.input_dir:
        base = Path(spark_settings.input_dir)
        if not base.is_dir():
            raise UserError(f"CSAI_SPARK_INPUT={base} is not a folder; point it at the folder of the raw Parquet tables.")
        for table in (*RAW_TABLES, "workspace_meta"):  # the meta table carries a stored as-of date
            for candidate in (base / f"{table}.parquet", base / table):
                if candidate.exists():
                    sources[table] = str(candidate)
                    break
    elif not set(RAW_TABLES) <= set(spark_settings.tables):
        if not ws.warehouse.has_data():
            raise UserError("The workspace has no data; import data, or set CSAI_SPARK_INPUT to the raw Parquet tables.")
        sources = export_raw_tables(ws.warehouse, run_dir / "input")
    sources.update(spark_settings.tables)
    if "accounts" not in sources:
        raise UserError("Spark has no accounts table to read: add accounts.parquet to CSAI_SPARK_INPUT or set "
                        "CSAI_SPARK_TABLES=accounts=...")
    return sources


def run_spark_score(ws, *, spark=None, scored_at: datetime | None = None, say=None,
                    output_dir: Path | None = None) -> ScoreRun:
    """``cli.py --engine spark score``: features, scores and drivers on Spark, written as Parquet
    under a new run folder, then attached to the warehouse as a new results snapshot.

    Without a production churn model the rule health score scores the accounts, as the embedded
    ``score`` does (``models.scoring.score_with_rules``), and it runs on the embedded engine: the rule
    score has no Spark implementation, so no Spark session is started (the run says so)."""

    say = say or (lambda _m: None)
    t0 = time.perf_counter()
    churn_rec, churn = load_production(ws.engine, "churn")
    if churn is None:
        say(f"No production churn model: the {RULE_SCORE_NAME.lower()} scores the accounts, on the embedded "
            "engine (the rule score does not run on Spark; no Spark session was started).")
        return score_with_rules(ws, scored_at=scored_at, say=say)
    if churn.mode == "flat":
        raise UserError("The Spark engine scores time-mode workspaces (subscriptions and events); this workspace "
                        "is flat (one row per account): use the embedded engine.")
    exp_rec, expansion = load_production(ws.engine, "expansion")
    settings = ws.settings.spark
    scored_at = scored_at or next_run_time(ws)
    spark = spark or spark_session(settings)
    base = output_dir or Path(settings.output_dir or ws.settings.workspace / "spark" / "runs")
    run_dir = base / f"{scored_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True, exist_ok=False)
    try:
        sources = raw_sources(ws, settings, run_dir)
        raw = sm.read_raw_tables(spark, sources)
        end = sm.data_end(raw)
        say(f"Scoring on Spark ({settings.remote or settings.master}) as of "
            f"{end + timedelta(days=1) if end else '-'}...")
        features, results, obs_date = score_on_spark(spark, raw, churn, expansion, end=end)
        features.write.mode("error").parquet(str(run_dir / "features"))
        results.write.mode("error").partitionBy("kind").parquet(str(run_dir / "results"))
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # no half-written run folder is left to attach
        raise
    meta = {"scored_at": scored_at.isoformat(), "obs_date": obs_date.isoformat(), "model_id": churn_rec.id,
            "expansion_model_id": exp_rec.id if exp_rec else None, "engine": "spark",
            "master": settings.remote or settings.master}
    (run_dir / "run.json").write_text(json.dumps(meta))
    shutil.rmtree(run_dir / "input", ignore_errors=True)  # the exported raw tables were only the job's input
    run = attach_results(ws, run_dir)
    run.seconds = time.perf_counter() - t0
    say(f"  scored {run.accounts:,} accounts in {run.seconds:.1f}s; expected ARR loss ${run.expected_arr_loss:,.0f}")
    return run


def spark_observations(ws, *, horizon_days: int = 90, lead_days: int = 0, gap_days: int = 30, cadence: str = "auto",
                       spark=None, say=None):
    """``cli.py --engine spark train``: the observation rows (features and labels for every date)
    built on Spark, collected as the ``ObservationSet`` the single-machine trainer fits on. The
    dates, censoring and renewal gap are the embedded ``build_observations``' (``cadence``, ``gap_days``)."""

    say = say or (lambda _m: None)
    settings = ws.settings.spark
    spark = spark or spark_session(settings)
    with tempfile.TemporaryDirectory(prefix="csai-spark-input-") as tmp:
        sources = raw_sources(ws, settings, Path(tmp))
        raw = sm.read_raw_tables(spark, sources)
        end = sm.data_end(raw)
        say(f"  building observation rows on Spark ({settings.remote or settings.master})...")
        schedule = sm.observation_schedule(raw, end=end, label_days=lead_days + horizon_days + gap_days,
                                           cadence=cadence)
        frame, metrics, dates = sm.build_observations(spark, raw, horizon_days=horizon_days, lead_days=lead_days,
                                                      end=end, gap_days=gap_days,
                                                      dates=schedule.dates if schedule else None)
        return sm.observation_set(frame, metrics, dates, end=end, horizon_days=horizon_days, lead_days=lead_days,
                                  gap_days=gap_days, schedule=schedule)


def attach_results(ws, run_dir: str | Path) -> ScoreRun:
    """Append a Spark run's Parquet outputs to the results layer in one new snapshot (atomic)."""
    run_dir = Path(run_dir)
    try:
        meta = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        raise UserError(f"{run_dir} is not a Spark scoring run (no readable run.json); give the run folder that "
                        "`cli.py --engine spark score` wrote.") from None
    scores_glob = run_dir / "results" / "kind=score" / "*.parquet"
    drivers_glob = run_dir / "results" / "kind=driver" / "*.parquet"
    others_glob = run_dir / "results" / "kind=other" / "*.parquet"
    if not list(scores_glob.parent.glob("*.parquet")):
        raise UserError(f"{run_dir} has no scores (results/kind=score); the Spark job did not finish.")
    scored_at = datetime.fromisoformat(meta["scored_at"])
    obs_date = date.fromisoformat(meta["obs_date"])
    params = {"scored_at": scored_at, "obs_date": obs_date, "model_id": meta["model_id"],
              "expansion_model_id": meta.get("expansion_model_id")}
    with ws.warehouse.writer("results") as con:
        for ddl in (SCORES_DDL, DRIVERS_DDL, OTHERS_DDL, RUNS_DDL, *SCORES_MIGRATIONS):
            con.execute(ddl)
        if con.execute("SELECT count(*) FROM scores WHERE scored_at = ?", [scored_at]).fetchall()[0][0]:
            raise UserError(f"The run scored at {scored_at} is already in the warehouse; nothing was changed.")
        con.execute(f"""
            INSERT INTO scores (scored_at, obs_date, account_id, model_id, target, p_churn, risk_band, p_expansion,
                                expansion_model_id, arr, expected_arr_loss, health_score, shap_base, shap_other,
                                shap_scale, p_base)
            SELECT $scored_at, $obs_date, account_id, $model_id, target, p_churn, risk_band, p_expansion,
                   $expansion_model_id, arr, expected_arr_loss, health_score, shap_base, shap_other, shap_scale,
                   p_base
            FROM read_parquet('{_sql_path(scores_glob)}') ORDER BY account_id""", params)  # noqa: S608 - our path
        if list(drivers_glob.parent.glob("*.parquet")):
            con.execute(f"""
                INSERT INTO score_drivers (scored_at, account_id, target, feature, label, "group", value, shap,
                                           sentence, rank)
                SELECT $scored_at, account_id, target, feature, label, "group", value, shap, sentence, rank
                FROM read_parquet('{_sql_path(drivers_glob)}') ORDER BY account_id, target, rank""",  # noqa: S608
                        {"scored_at": scored_at})
        if list(others_glob.parent.glob("*.parquet")):
            con.execute(f"""
                INSERT INTO score_other_factors (scored_at, account_id, target, kind, feature, label, "group", shap)
                SELECT $scored_at, account_id, target, factor_kind, feature, label, "group", shap
                FROM read_parquet('{_sql_path(others_glob)}') ORDER BY account_id, target""",  # noqa: S608
                        {"scored_at": scored_at})
        accounts, loss = con.execute("SELECT count(*), coalesce(sum(expected_arr_loss), 0) FROM scores "
                                     "WHERE scored_at = ?", [scored_at]).fetchall()[0]
        con.execute("INSERT INTO score_runs (scored_at, obs_date, model_id, expansion_model_id, accounts, "
                    "expected_arr_loss) VALUES ($scored_at, $obs_date, $model_id, $expansion_model_id, $accounts, "
                    "$loss)", {**params, "accounts": int(accounts), "loss": float(loss)})
        features = run_dir / "features"
        if list(features.glob("*.parquet")):
            source = _sql_path(features / "*.parquet")
            sql = f"CREATE OR REPLACE TABLE score_features AS SELECT $scored_at AS scored_at, * FROM read_parquet('{source}')"  # noqa: S608, E501
            con.execute(sql, {"scored_at": scored_at})
        bands = dict(con.execute("SELECT risk_band, count(*) FROM scores WHERE scored_at = ? GROUP BY 1",
                                 [scored_at]).fetchall())
    return ScoreRun(scored_at=scored_at, obs_date=obs_date, model_id=meta["model_id"],
                    expansion_model_id=meta.get("expansion_model_id"), accounts=int(accounts),
                    expected_arr_loss=float(loss), risk_bands={b: int(bands.get(b, 0)) for b in RISK_BANDS})


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


__all__ = ["DRIVER_COLUMNS", "attach_results", "run_spark_score", "score_batch", "score_on_spark"]
