"""The benchmark's stages, each run in a fresh child process by ``bench/run.py``.

``python -m bench.run --child STAGE PARAMS`` calls :func:`child_main`, which runs one
stage and prints its result (plus the process's wall time, CPU time and peak resident
memory) on a ``BENCH_RESULT`` line for the parent. The product's modules are imported
inside each stage so that only the child that needs them loads them; the parent stays small.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

END = date(2025, 6, 30)
SEED = 42
RAW_TABLES = ("accounts", "subscriptions", "events", "tickets", "nps", "invoices", "contacts")
SCALING_SHARE = 1 / 3


class Meter:
    """Sub-timings inside a child: wall, CPU and peak memory so far, per named part."""

    def __init__(self) -> None:
        self.parts: dict[str, dict] = {}

    def __call__(self, name: str, fn, *args, **kwargs):
        w, c = time.perf_counter(), _cpu()
        out = fn(*args, **kwargs)
        self.parts[name] = {"wall_s": round(time.perf_counter() - w, 3), "cpu_s": round(_cpu() - c, 3),
                            "peak_mb": _peak_mb()}
        return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def stage_generate(ws: str, n: int, parquet: str, fraction: float) -> dict:
    from data.sample import build_sample  # deferred: import time (child process only)
    from data.users import add_user, demo_logins, demo_password  # deferred: import time (child process only)
    from data.workspace import open_workspace  # deferred: import time (child process only)
    from playbooks.starter import ensure_starter_playbooks  # deferred: import time (child process only)

    m = Meter()
    w = open_workspace(ws)
    # generated and written table by table, the events chunk by chunk (as `cli.py demo` could)
    summary = m("generate_write", build_sample, w.warehouse, n_accounts=n, seed=SEED, end=END, event_fraction=fraction)
    rows = {k: v for k, v in summary.rows.items() if k in RAW_TABLES}
    # The demo's usernames and passwords as ordinary users: demo logins end at the first import
    # (the concurrency stage imports) and refuse AppTest sessions, which have no loopback address.
    for spec in demo_logins(sorted(set(summary.csms))):
        add_user(w.settings.auth_file, spec["username"], role=spec["role"], password=demo_password(spec["username"]),
                 csm=spec["csm"], name=spec["name"] or None)
    ensure_starter_playbooks(w.engine)

    def export():
        Path(parquet).mkdir(parents=True, exist_ok=True)
        with w.warehouse.reader() as con:
            for t in RAW_TABLES:
                con.execute(f"COPY (SELECT * FROM {t}) TO '{Path(parquet) / (t + '.parquet')}' (FORMAT parquet)")  # noqa: S608

    m("export_parquet", export)
    return {"parts": m.parts, "rows": rows}


def stage_import(parquet: str, ws: str) -> dict:
    from data.importer import ImportSpec, import_tables  # deferred: import time (child process only)
    from data.sources import Source  # deferred: import time (child process only)
    from data.workspace import open_workspace  # deferred: import time (child process only)

    m = Meter()
    w = open_workspace(ws)
    specs = [ImportSpec(t, Source(path=str(Path(parquet) / f"{t}.parquet"))) for t in RAW_TABLES]
    result = m("import", import_tables, w.warehouse, specs, "replace", fresh=True, max_mb=1_000_000)
    return {"parts": m.parts, "rows": result.tables}


def stage_features(ws: str, pandas_dates: int | None, scaling: bool, sampled: bool = False) -> dict:
    """The metric build for every observation date: of every account, or (``sampled``, the ceiling
    run) of the accounts training observes (``CSAI_TRAIN_MAX_ACCOUNTS``); ``pandas_dates`` 0 skips
    the pandas reference."""
    from bench import reference_pandas  # deferred: import time (child process only)
    from data.metrics import compute_metrics  # deferred: import time (child process only)
    from data.settings import read_model_settings  # deferred: import time (child process only)
    from data.workspace import open_workspace  # deferred: import time (child process only)
    from models.observations import (  # deferred: import time (child process only)
        active_rows,
        observation_dates,
        sample_accounts,
    )

    m = Meter()
    w = open_workspace(ws)
    out: dict = {}
    with w.warehouse.reader() as con:
        dates = observation_dates(con)
        rows = m("observation_rows", active_rows, con, dates)
        if sampled:
            out["all_obs_rows"] = len(rows)
            rows, out["accounts_observed"], out["accounts_total"] = sample_accounts(
                rows, read_model_settings().train_max_accounts)
        metrics = m("metrics", compute_metrics, con, rows)
        out.update(obs_rows=len(rows), dates=len(dates), metric_columns=len(metrics.numeric) + len(metrics.categorical),
                   events=con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        out["product_peak_mb"] = _peak_mb()
        out["pandas"] = (reference_pandas.run(con, rows, metrics.frame, max_dates=pandas_dates)
                         if pandas_dates != 0 else None)
        del metrics
    if scaling:
        out["scaling_subset"] = _scaling_subset(w, rows)
    out["parts"] = m.parts
    return out


def _scaling_subset(w, rows) -> str:
    """A raw snapshot warehouse with a third of the accounts (about a third of the event
    rows), built the same way as the full one, so the two sides differ only in rows."""
    import numpy as np  # deferred: import time (child process only)
    import pandas as pd  # deferred: import time (child process only)

    from data.warehouse import Warehouse  # deferred: import time (child process only)

    ids = sorted(rows["account_id"].astype(str).unique())
    keep = sorted(np.random.default_rng(0).choice(ids, size=int(len(ids) * SCALING_SHARE), replace=False).tolist())
    sub_root = Path(str(w.warehouse.root) + "_subset")
    src = w.warehouse.root / w.warehouse.current()["raw"]
    with Warehouse(sub_root).writer("raw", fresh=True) as con:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        con.register("_keep", pd.DataFrame({"account_id": keep}))
        for t in RAW_TABLES:
            con.execute(f"DROP TABLE IF EXISTS raw.{t}")
            sql = f"CREATE TABLE raw.{t} AS SELECT * FROM src.{t} WHERE account_id IN (SELECT account_id FROM _keep)"  # noqa: S608, E501
            con.execute(sql)  # our table names
        con.execute("INSERT INTO raw.workspace_meta SELECT * FROM src.workspace_meta")
        con.unregister("_keep")
        con.execute("DETACH src")
    return str(sub_root)


def stage_scaling_side(ws: str, warehouse: str | None) -> dict:
    """One side of the scaling check in a fresh process (as ``cli.py train`` / ``score`` run):
    the metric build for every observation date of the workspace, on ``warehouse`` (the
    subset snapshot) or on the workspace's own."""
    from data.metrics import compute_metrics  # deferred: import time (child process only)
    from data.warehouse import Warehouse  # deferred: import time (child process only)
    from data.workspace import open_workspace  # deferred: import time (child process only)
    from models.observations import active_rows, observation_dates  # deferred: import time (child process only)

    w = open_workspace(ws)
    with w.warehouse.reader() as con:
        dates = observation_dates(con)
    with (Warehouse(Path(warehouse)) if warehouse else w.warehouse).reader() as con:
        rows = active_rows(con, dates)
        events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        t, c = time.perf_counter(), _cpu()
        compute_metrics(con, rows)
        return {"events": int(events), "obs_rows": int(len(rows)), "seconds": round(time.perf_counter() - t, 3),
                "cpu_seconds": round(_cpu() - c, 3)}




def stage_train(ws: str, obs_out: str, backtest_cutoffs: int) -> dict:
    from data.workspace import open_workspace  # deferred: import time (child process only)
    from models.observations import build_observations  # deferred: import time (child process only)
    from models.registry import promote, register_model  # deferred: import time (child process only)
    from models.training import TrainConfig, train  # deferred: import time (child process only)

    m = Meter()
    w = open_workspace(ws)
    out: dict = {"algorithms": {}}
    with w.warehouse.reader() as con:
        obs = m("observations", build_observations, con)
        for algo in ("logreg", "gbm"):
            config = TrainConfig(algorithm=algo, backtest_cutoffs=backtest_cutoffs)
            result = m(f"train_{algo}", train, con, config, observations=obs)
            record = register_model(w.engine, w.settings.models_dir, result, actor="bench")
            if algo == "gbm":
                promote(w.engine, record.id, actor="bench")
                evaluation = result.evaluation
            out["algorithms"][algo] = {"model_id": record.id, "roc_auc": result.metrics["roc_auc"],
                                       "n_train": result.n_train, "n_test": result.n_test,
                                       "backtest_cutoffs": len(result.evaluation.backtest)}
    frame = obs.labelled()
    frame = frame[["account_id", "obs_date", "label_churn", *obs.features]]
    frame.to_parquet(Path(obs_out) / "labelled.parquet")
    (Path(obs_out) / "obs.json").write_text(json.dumps({
        "numeric": obs.numeric, "categorical": obs.categorical, "test_dates": evaluation.test_dates,
        "calibration_dates": evaluation.calibration_dates}))
    out.update(obs_rows=int(len(obs.frame)), labelled_rows=int(len(frame)), parts=m.parts)
    return out


def stage_score(ws: str) -> dict:
    from data.workspace import open_workspace  # deferred: import time (child process only)
    from models.scoring import score_workspace  # deferred: import time (child process only)

    m = Meter()
    run = m("score", score_workspace, open_workspace(ws))
    return {"parts": m.parts, "accounts": run.accounts}


def stage_explain(ws: str, obs_dir: str, reference: bool = True) -> dict:
    import pandas as pd  # deferred: import time (child process only)

    from bench import reference_shap  # deferred: import time (child process only)
    from data.workspace import open_workspace  # deferred: import time (child process only)
    from models.scoring import features_as_of, load_production  # deferred: import time (child process only)

    m = Meter()
    w = open_workspace(ws)
    record, trained = load_production(w.engine, "churn")
    with w.warehouse.reader() as con:
        frame = m("features_as_of", features_as_of, con)

    expl = m("explain", trained.explain, frame)
    drivers = m("driver_sentences", expl.top_drivers, frame["account_id"].to_numpy(), 10)
    product_peak = _peak_mb()
    if not reference:  # the ceiling run: the product's explanation only
        return {"parts": m.parts, "accounts": int(len(frame)), "driver_rows": int(len(drivers)),
                "product_algorithm": trained.algorithm, "product_peak_mb": product_peak,
                "product_auc": _production_auc(w)}
    meta = json.loads((Path(obs_dir) / "obs.json").read_text())
    labelled = pd.read_parquet(Path(obs_dir) / "labelled.parquet")
    od = pd.to_datetime(labelled["obs_date"])
    test_start = pd.Timestamp(meta["test_dates"][0])
    train_frame = labelled[od < test_start - pd.Timedelta(days=90)]
    test_frame = labelled[od >= test_start]
    ref = reference_shap.run(train_frame, test_frame, frame, numeric=meta["numeric"],
                             categorical=meta["categorical"])
    return {"parts": m.parts, "accounts": int(len(frame)), "driver_rows": int(len(drivers)),
            "product_algorithm": trained.algorithm, "product_peak_mb": product_peak, "shap_reference": ref,
            "product_auc": _production_auc(w)}


def _production_auc(w) -> float | None:
    from models.registry import production_model  # deferred: import time (child process only)

    rec = production_model(w.engine, "churn")
    return rec.evaluation.metric("roc_auc") if rec is not None else None


def stage_rundue(ws: str) -> dict:
    from data.workspace import open_workspace  # deferred: import time (child process only)
    from playbooks import run_due  # deferred: import time (child process only)

    m = Meter()
    w = open_workspace(ws)
    summary = m("run_due", run_due, w.engine, w.warehouse, w.settings)
    return {"parts": m.parts, "runs_created": summary["runs_created"], "eligible": summary["eligible"]}


def stage_pages(ws: str, repeats: int, floor_dir: str, load_sessions: int, memory_limit: str | None = None) -> dict:
    """Cold and warm renders of three pages beside their floor, then the load test's server; both run with
    the app server's DuckDB ``memory_limit`` (``CSAI_DUCKDB_MEMORY_LIMIT``) when given."""
    import pickle  # deferred: import time (child process only)

    from bench import floor_page, load_test  # deferred: import time (child process only)
    from bench.apptest import new_session, problems  # deferred: import time (child process only)

    os.environ["CSAI_WORKSPACE"] = ws
    if memory_limit:
        os.environ["CSAI_DUCKDB_MEMORY_LIMIT"] = memory_limit  # before the first connection; the server inherits it
    account_id = _top_account(ws)
    out: dict = {"account_id": account_id, "pages": {}}
    for page, params in (("portfolio", None), ("accounts", None), ("account", {"id": account_id})):
        at = new_session(page, params)
        t = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t
        issues = problems(at)
        spec = floor_page.capture(at.main)
        spec_path = Path(floor_dir) / f"{page}.pkl"
        spec_path.write_bytes(pickle.dumps(spec))
        os.environ["BENCH_FLOOR_SPEC"] = str(spec_path)
        from streamlit.testing.v1 import AppTest  # deferred: import time (child process only)

        fat = AppTest.from_file(str(Path(floor_page.__file__)), default_timeout=300)
        fat.run()
        warm, floor = [], []
        for _ in range(repeats):  # alternating, so a busy spell on a shared machine hits both
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
            issues += problems(at)
            t = time.perf_counter()
            fat.run()
            floor.append(time.perf_counter() - t)
        out["pages"][page] = {"cold_s": round(cold, 3), "warm": stats(warm), "floor": stats(floor),
                              "ratio": round(statistics.median(warm) / statistics.median(floor), 3),
                              "elements": floor_page.count_elements(spec), "problems": issues[:10],
                              "floor_problems": [f"exception: {e.value}"[:200] for e in fat.exception]}
    out["serving_peak_mb"] = _peak_mb()
    if load_sessions:
        out["load_test"] = load_test.run(_top_accounts(ws, load_sessions), sessions=load_sessions)
    out["peak_mb_after_load"] = _peak_mb()
    return out


def _top_account(ws: str) -> str:
    return _top_accounts(ws, 1)[0]


def _top_accounts(ws: str, k: int) -> list[str]:
    """The ``k`` accounts with the highest churn risk in the latest scores."""
    from data.workspace import open_workspace  # deferred: import time (child process only)

    with open_workspace(ws).warehouse.reader() as con:
        return [r[0] for r in con.execute(
            "SELECT account_id FROM scores WHERE scored_at = (SELECT max(scored_at) FROM scores) "
            "ORDER BY p_churn DESC, account_id LIMIT ?", [k]).fetchall()]


def stage_concurrency(ws: str, parquet: str) -> dict:
    from bench import concurrency  # deferred: import time (child process only)

    os.environ["CSAI_WORKSPACE"] = ws
    out = concurrency.run(ws, parquet, _top_account(ws), env=dict(os.environ))
    out["peak_mb"] = _peak_mb()
    return out


def stage_threads(obs_dir: str, max_rows: int, repeats: int) -> dict:
    """LightGBM fit time with explicit thread counts vs the library default, quiet and busy."""
    import numpy as np  # deferred: import time (child process only)
    import pandas as pd  # deferred: import time (child process only)

    from models.estimators import PARAM_GRIDS, GradientBoostingModel  # deferred: import time (child process only)

    meta = json.loads((Path(obs_dir) / "obs.json").read_text())
    frame = pd.read_parquet(Path(obs_dir) / "labelled.parquet")
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=0)
    params = {**PARAM_GRIDS["gbm"][0], "n_estimators": 150}
    settings = {"num_threads=1": 1, "num_threads=2": 2, "default (OpenMP: all cores)": 0}
    out: dict = {"rows": int(len(frame)), "params": params, "cores": os.cpu_count(), "quiet": {}, "busy": {}}
    for condition in ("quiet", "busy"):
        hog = None
        if condition == "busy":  # another engineer's job: one process spinning on one core
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for label, threads in settings.items():
                walls, cpus = [], []
                for _ in range(repeats):
                    w, c = time.perf_counter(), _cpu()
                    GradientBoostingModel(numeric=meta["numeric"], categorical=meta["categorical"],
                                          num_threads=threads, **params).fit(frame, frame["label_churn"])
                    walls.append(time.perf_counter() - w)
                    cpus.append(_cpu() - c)
                out[condition][label] = {**stats(walls), "cpu_median_s": round(float(np.median(cpus)), 3)}
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
    return out


STAGES = {"generate": stage_generate, "import": stage_import, "features": stage_features, "train": stage_train,
          "score": stage_score, "explain": stage_explain, "run_due": stage_rundue, "pages": stage_pages,
          "concurrency": stage_concurrency, "threads": stage_threads,
          "scaling_side": stage_scaling_side}


def child_main(stage: str, params: str) -> None:
    """Run ``stage`` with its JSON ``params`` and print the ``BENCH_RESULT`` line the parent reads."""
    w, c = time.perf_counter(), _cpu()
    out = STAGES[stage](**json.loads(params))
    out.update(wall_s=round(time.perf_counter() - w, 3), cpu_s=round(_cpu() - c, 3), peak_mb=_peak_mb())
    print("BENCH_RESULT " + json.dumps(out, default=str), flush=True)


def stats(values: list[float]) -> dict:
    """Median, min, max and count of repeated timings (seconds)."""
    return {"median_s": round(statistics.median(values), 3), "min_s": round(min(values), 3),
            "max_s": round(max(values), 3), "n": len(values)}
