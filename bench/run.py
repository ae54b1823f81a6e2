"""``make bench``: build sample companies and measure every stage, with reference ratios and targets.

``python -m bench.run --sizes 2000,20000,100000`` builds, per size, a sample company in a
temp workspace and runs each heavy stage in its own subprocess, which reports its wall
time, CPU time (user + system, all threads) and peak resident memory (``ru_maxrss``);
the parent stays small. Stages: generate + write to the warehouse (``build_sample``:
table by table, events chunk by chunk, as one step) and the Parquet export,
import of the Parquet files into a fresh workspace through the product's import path,
the metric layer for all observation dates (and the pandas reference), train (each
algorithm), score, explain every account (and the shap-on-HistGradientBoosting
reference), ``run-due``, and page renders (AppTest: cold first render, warm median of N
alternating with the floor page; and a load test of 20 chromium sessions against
``streamlit run``, ``bench/load_test.py``). At the largest size the 10M -> 30M event-row
scaling check times the metric build on a third of the accounts and again on all of them,
each run in a fresh process like a batch job, the sides alternating (median of three); at
the middle size (<= 20,000 accounts) the concurrency
check and the LightGBM threading measurement run.

Results print as a table and go to ``bench/results/<timestamp>.json`` and
``bench/results/latest.json`` with a ``targets`` list of ``{name, value, limit, ok}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
END = date(2025, 6, 30)
SEED = 42
EVENT_FRACTION = 0.34  # of the generator's ~920 daily event rows per account: ~310 (>= 30M at 100,000)
DUCKDB_MEMORY_LIMIT = "1500MB"
RAW_TABLES = ("accounts", "subscriptions", "events", "tickets", "nps", "invoices", "contacts")
PANDAS_MAX_DATES = {2000: None, 20000: 6}  # sizes above the largest key: 4 dates, extrapolated
SCALING_SHARE = 1 / 3
SCALING_REPEATS = 3  # median of alternating runs per side


# =============================================================================== child side
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
    from data.sample import build_sample
    from data.users import add_user, demo_logins, demo_password
    from data.workspace import open_workspace
    from playbooks.starter import ensure_starter_playbooks

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
    from data.importer import ImportSpec, import_tables
    from data.sources import Source
    from data.workspace import open_workspace

    m = Meter()
    w = open_workspace(ws)
    specs = [ImportSpec(t, Source(path=str(Path(parquet) / f"{t}.parquet"))) for t in RAW_TABLES]
    result = m("import", import_tables, w.warehouse, specs, "replace", fresh=True, max_mb=1_000_000)
    return {"parts": m.parts, "rows": result.tables}


def stage_features(ws: str, pandas_dates: int | None, scaling: bool) -> dict:
    from bench import reference_pandas
    from data.metrics import compute_metrics
    from data.workspace import open_workspace
    from models.observations import active_rows, observation_dates

    m = Meter()
    w = open_workspace(ws)
    out: dict = {}
    with w.warehouse.reader() as con:
        dates = observation_dates(con)
        rows = m("observation_rows", active_rows, con, dates)
        metrics = m("metrics", compute_metrics, con, rows)
        out.update(obs_rows=len(rows), dates=len(dates), metric_columns=len(metrics.numeric) + len(metrics.categorical),
                   events=con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        out["product_peak_mb"] = _peak_mb()
        out["pandas"] = reference_pandas.run(con, rows, metrics.frame, max_dates=pandas_dates)
        del metrics
    if scaling:
        out["scaling_subset"] = _scaling_subset(w, rows)
    out["parts"] = m.parts
    return out


def _scaling_subset(w, rows) -> str:
    """A raw snapshot warehouse with a third of the accounts (about a third of the event
    rows), built the same way as the full one, so the two sides differ only in rows."""
    import numpy as np
    import pandas as pd

    from data.warehouse import Warehouse

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
    from data.metrics import compute_metrics
    from data.warehouse import Warehouse
    from data.workspace import open_workspace
    from models.observations import active_rows, observation_dates

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


def scaling_check(log, env: dict, ws: str, subset: str) -> dict:
    """Metric build on a third of the accounts vs all of them: each run in a fresh process,
    the sides alternating (a busy spell on a shared machine hits both), medians of
    ``SCALING_REPEATS``. Each side pays for its own fresh memory, as a batch job does; the
    warehouse files are in the OS page cache for both (the features stage read them)."""
    import numpy as np

    runs: dict[str, list[dict]] = {"subset": [], "full": []}
    try:
        for _ in range(SCALING_REPEATS):
            for label, warehouse in (("subset", subset), ("full", None)):
                runs[label].append(run_child("scaling_side", log, env, ws=ws, warehouse=warehouse))
    finally:
        shutil.rmtree(subset, ignore_errors=True)
    out: dict = {}
    for label, side in runs.items():
        ok = [r for r in side if "seconds" in r]
        if not ok:
            return {"error": f"{label} side failed"}
        out[label] = {"events": ok[0]["events"], "obs_rows": ok[0]["obs_rows"],
                      "seconds": round(statistics.median(r["seconds"] for r in ok), 3),
                      "runs_s": [r["seconds"] for r in ok], "cpu_runs_s": [r["cpu_seconds"] for r in ok]}
    ev = out["full"]["events"] / max(out["subset"]["events"], 1)
    out["event_ratio"] = round(ev, 3)
    out["time_ratio"] = round(out["full"]["seconds"] / max(out["subset"]["seconds"], 1e-9), 3)
    # normalised to exactly 3x the rows (10M -> 30M), assuming the measured slope
    out["time_ratio_per_3x_rows"] = round(out["time_ratio"] ** (np.log(3) / np.log(ev)), 3) if ev > 1 else None
    return out


def stage_train(ws: str, obs_out: str, backtest_cutoffs: int) -> dict:
    from data.workspace import open_workspace
    from models.observations import build_observations
    from models.registry import promote, register_model
    from models.training import TrainConfig, train

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
    from data.workspace import open_workspace
    from models.scoring import score_workspace

    m = Meter()
    run = m("score", score_workspace, open_workspace(ws))
    return {"parts": m.parts, "accounts": run.accounts}


def stage_explain(ws: str, obs_dir: str) -> dict:
    import pandas as pd

    from bench import reference_shap
    from data.workspace import open_workspace
    from models.scoring import features_as_of, load_production

    m = Meter()
    w = open_workspace(ws)
    record, trained = load_production(w.engine, "churn")
    with w.warehouse.reader() as con:
        frame = m("features_as_of", features_as_of, con)

    expl = m("explain", trained.explain, frame)
    drivers = m("driver_sentences", expl.top_drivers, frame["account_id"].to_numpy(), 10)
    product_peak = _peak_mb()
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
    from models.registry import production_model

    rec = production_model(w.engine, "churn")
    return rec.evaluation.metric("roc_auc") if rec is not None else None


def stage_rundue(ws: str) -> dict:
    from data.workspace import open_workspace
    from playbooks import run_due

    m = Meter()
    w = open_workspace(ws)
    summary = m("run_due", run_due, w.engine, w.warehouse, w.settings)
    return {"parts": m.parts, "runs_created": summary["runs_created"], "eligible": summary["eligible"]}


def stage_pages(ws: str, repeats: int, floor_dir: str, load_sessions: int) -> dict:
    import pickle

    from bench import floor_page, load_test
    from bench.apptest import new_session, problems

    os.environ["CSAI_WORKSPACE"] = ws
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
        from streamlit.testing.v1 import AppTest

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
        out["pages"][page] = {"cold_s": round(cold, 3), "warm": _stats(warm), "floor": _stats(floor),
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
    from data.workspace import open_workspace

    with open_workspace(ws).warehouse.reader() as con:
        return [r[0] for r in con.execute(
            "SELECT account_id FROM scores WHERE scored_at = (SELECT max(scored_at) FROM scores) "
            "ORDER BY p_churn DESC, account_id LIMIT ?", [k]).fetchall()]


def stage_concurrency(ws: str, parquet: str) -> dict:
    from bench import concurrency

    os.environ["CSAI_WORKSPACE"] = ws
    out = concurrency.run(ws, parquet, _top_account(ws), env=dict(os.environ))
    out["peak_mb"] = _peak_mb()
    return out


def stage_threads(obs_dir: str, max_rows: int, repeats: int) -> dict:
    """LightGBM fit time with explicit thread counts vs the library default, quiet and busy."""
    import numpy as np
    import pandas as pd

    from models.estimators import PARAM_GRIDS, GradientBoostingModel

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
                out[condition][label] = {**_stats(walls), "cpu_median_s": round(float(np.median(cpus)), 3)}
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
    w, c = time.perf_counter(), _cpu()
    out = STAGES[stage](**json.loads(params))
    out.update(wall_s=round(time.perf_counter() - w, 3), cpu_s=round(_cpu() - c, 3), peak_mb=_peak_mb())
    print("BENCH_RESULT " + json.dumps(out, default=str), flush=True)


# =============================================================================== parent side
def _stats(values: list[float]) -> dict:
    return {"median_s": round(statistics.median(values), 3), "min_s": round(min(values), 3),
            "max_s": round(max(values), 3), "n": len(values)}


def run_child(stage: str, log, env: dict, **params) -> dict:
    """Run one stage in a fresh interpreter; returns its result (or an ``error``)."""
    log.write(f"\n==== {stage} {json.dumps(params)}\n")
    log.flush()
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "bench.run", "--child", stage, json.dumps(params)], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=log, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if p.returncode != 0 or not lines:
        print(f"  {stage}: FAILED (exit {p.returncode}); see {log.name}", flush=True)
        return {"error": f"exit {p.returncode}", "wall_s": round(time.perf_counter() - t, 3)}
    out = json.loads(lines[-1][len("BENCH_RESULT "):])
    print(f"  {stage}: {out['wall_s']:.1f}s wall, {out['cpu_s']:.1f}s CPU, {out['peak_mb']:.0f} MB peak", flush=True)
    return out


def bench_size(n: int, *, largest: bool, middle: bool, repeats: int, load_sessions: int, log, keep: bool,
               quick: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"csai-bench-{n}-"))
    env = {**os.environ, "CSAI_DUCKDB_MEMORY_LIMIT": DUCKDB_MEMORY_LIMIT, "PYTHONPATH": str(ROOT),
           "CSAI_WORKSPACE": str(tmp / "ws")}
    for k in ("OMP_NUM_THREADS",):
        env.pop(k, None)
    ws, parquet = str(tmp / "ws"), str(tmp / "parquet")
    (tmp / "obs").mkdir()
    (tmp / "floor").mkdir()
    print(f"\n== {n:,} accounts ({tmp})", flush=True)
    r: dict = {"accounts": n, "event_fraction": EVENT_FRACTION}
    try:
        r["generate"] = run_child("generate", log, env, ws=ws, n=n, parquet=parquet, fraction=EVENT_FRACTION)
        r["import"] = run_child("import", log, env, parquet=parquet, ws=str(tmp / "ws_import"))
        shutil.rmtree(tmp / "ws_import", ignore_errors=True)
        pd_dates = next((v for k, v in sorted(PANDAS_MAX_DATES.items()) if n <= k), 4)
        r["features"] = run_child("features", log, env, ws=ws, pandas_dates=pd_dates, scaling=largest)
        if largest and r["features"].get("scaling_subset"):
            r["features"]["scaling"] = scaling_check(log, env, ws, r["features"].pop("scaling_subset"))
        r["train"] = run_child("train", log, env, ws=ws, obs_out=str(tmp / "obs"),
                               backtest_cutoffs=1 if (n > 50_000 or quick) else 3)
        r["score"] = run_child("score", log, env, ws=ws)
        r["explain"] = run_child("explain", log, env, ws=ws, obs_dir=str(tmp / "obs"))
        r["run_due"] = run_child("run_due", log, env, ws=ws)
        r["pages"] = run_child("pages", log, env, ws=ws, repeats=repeats, floor_dir=str(tmp / "floor"),
                               load_sessions=load_sessions if (largest or middle) else 0)
        if middle and not quick:
            r["threads"] = run_child("threads", log, env, obs_dir=str(tmp / "obs"), max_rows=150_000, repeats=2)
            r["concurrency"] = run_child("concurrency", log, env, ws=ws, parquet=parquet)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return r


# =============================================================================== report
STAGE_ROWS = [
    ("generate + write", "generate", "generate_write"), ("export parquet", "generate", "export_parquet"),
    ("import parquet", "import", "import"), ("metrics (all dates)", "features", "metrics"),
    ("observations (train)", "train", "observations"), ("train logreg", "train", "train_logreg"),
    ("train gbm", "train", "train_gbm"), ("score", "score", "score"), ("features for scoring", "explain", "features_as_of"),
    ("explain all accounts", "explain", "explain"), ("driver sentences", "explain", "driver_sentences"),
    ("run-due", "run_due", "run_due"),
]


def _part(r: dict, stage: str, part: str) -> dict | None:
    return (r.get(stage) or {}).get("parts", {}).get(part)


def print_table(results: list[dict]) -> str:
    lines = []
    sizes = [r["accounts"] for r in results]
    head = f"{'stage':<26}" + "".join(f"{f'{n:,} accts':>30}" for n in sizes)
    lines += [head, f"{'':<26}" + "".join(f"{'wall s / CPU s / peak MB':>30}" for _ in sizes), "-" * len(head)]
    for label, stage, part in STAGE_ROWS:
        cells = []
        for r in results:
            p = _part(r, stage, part)
            cells.append(f"{p['wall_s']:>9.1f} /{p['cpu_s']:>7.1f} /{p['peak_mb']:>7.0f}" if p else f"{'-':>30}")
        lines.append(f"{label:<26}" + "".join(f"{c:>30}" for c in cells))
    lines.append("-" * len(head))

    def row(label, fn):
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("-")
        lines.append(f"{label:<26}" + "".join(f"{c:>30}" for c in cells))

    row("event rows", lambda r: f"{r['features']['events']:,}")
    row("observation rows", lambda r: f"{r['features']['obs_rows']:,}")
    row("pandas metrics s", lambda r: f"{r['features']['pandas']['seconds']:.1f}"
        + (" (extrap.)" if r["features"]["pandas"]["extrapolated"] else ""))
    row("metric speedup vs pandas", lambda r: f"{r['features']['pandas']['seconds'] / _part(r, 'features', 'metrics')['wall_s']:.1f}x"
        + (" same" if r["features"]["pandas"]["identical"] else " DIFF"))
    row("explain / shap-HGB s", lambda r: f"{_part(r, 'explain', 'explain')['wall_s']:.1f} / "
        f"{r['explain']['shap_reference']['explain_s']:.1f}")
    row("AUC product / HGB", lambda r: f"{r['explain']['product_auc']:.3f} / {r['explain']['shap_reference']['auc']:.3f}")
    for page in ("portfolio", "accounts", "account"):
        row(f"{page} warm s (min-max)", lambda r, p=page: "{median_s:.2f} ({min_s:.2f}-{max_s:.2f})".format(
            **r["pages"]["pages"][p]["warm"]))
        row(f"{page} floor s", lambda r, p=page: "{median_s:.2f} ({min_s:.2f}-{max_s:.2f})".format(
            **r["pages"]["pages"][p]["floor"]))
        row(f"{page} warm/floor, cold s", lambda r, p=page: f"{r['pages']['pages'][p]['ratio']:.2f}x, "
            f"{r['pages']['pages'][p]['cold_s']:.2f}")
    row("AppTest process peak MB", lambda r: f"{r['pages']['peak_mb_after_load']:.0f}")
    row("server peak MB (load test)", lambda r: f"{r['pages']['load_test']['server_peak_mb']:.0f}")
    row("load test p50/p95 s", lambda r: f"{r['pages']['load_test']['p50_s']:.2f} / {r['pages']['load_test']['p95_s']:.2f}"
        f" ({r['pages']['load_test']['error_count']} err)")
    text = "\n".join(lines)
    print(text)
    return text


def targets(results: list[dict]) -> list[dict]:
    out = []

    def add(name, value, limit, ok, note=""):
        out.append({"name": name, "value": value, "limit": limit, "ok": bool(ok), **({"note": note} if note else {})})

    largest = max(results, key=lambda r: r["accounts"])
    for r in results:
        n = r["accounts"]
        try:
            pd_ref = r["features"]["pandas"]
            speed = pd_ref["seconds"] / _part(r, "features", "metrics")["wall_s"]
            add(f"feature build speedup vs pandas ({n:,} accounts)", round(speed, 2), ">= 10", speed >= 10
                and pd_ref["identical"], ("pandas extrapolated from "
                                          f"{pd_ref['dates_measured']} of {pd_ref['dates_total']} dates; " if
                                          pd_ref["extrapolated"] else "") + ("identical values" if pd_ref["identical"]
                                                                              else f"mismatches {pd_ref['mismatches']}"))
        except (KeyError, TypeError):
            add(f"feature build speedup vs pandas ({n:,} accounts)", None, ">= 10", False, "stage failed")
        try:
            e = r["explain"]
            speed = e["shap_reference"]["explain_s"] / _part(r, "explain", "explain")["wall_s"]
            auc_ok = (e["product_auc"] or 0) >= e["shap_reference"]["auc"] - 0.005
            add(f"explain speedup vs shap on HGB ({n:,} accounts)", round(speed, 2), ">= 2 at equal or better AUC",
                speed >= 2 and auc_ok, f"AUC {e['product_auc']:.3f} vs HGB {e['shap_reference']['auc']:.3f} "
                                       "(0.005 tolerance)")
        except (KeyError, TypeError):
            add(f"explain speedup vs shap on HGB ({n:,} accounts)", None, ">= 2", False, "stage failed")
        for page in ("portfolio", "accounts", "account"):
            try:
                p = r["pages"]["pages"][page]
                add(f"warm {page} render / floor ({n:,} accounts)", p["ratio"], "<= 1.5",
                    p["ratio"] <= 1.5 and not p["problems"], "; ".join(p["problems"][:2]))
            except (KeyError, TypeError):
                add(f"warm {page} render / floor ({n:,} accounts)", None, "<= 1.5", False, "stage failed")
    n = largest["accounts"]
    try:
        s = largest["features"]["scaling"]
        add(f"metric time ratio for 3x event rows ({s['subset']['events']:,} -> {s['full']['events']:,})",
            s["time_ratio"], "<= 3.3", s["time_ratio"] <= 3.3 * max(1.0, s["event_ratio"] / 3),
            f"event ratio {s['event_ratio']}, normalised to exactly 3x: {s['time_ratio_per_3x_rows']}")
    except (KeyError, TypeError):
        add("metric time ratio for 3x event rows", None, "<= 3.3", False, "scaling check not run")
    try:
        cold = max(p["cold_s"] for p in largest["pages"]["pages"].values())
        add(f"cold first render, slowest page ({n:,} accounts)", cold, "< 3 s", cold < 3)
    except (KeyError, TypeError, ValueError):
        add(f"cold first render ({n:,} accounts)", None, "< 3 s", False, "stage failed")
    stages = ["generate", "import", "features", "train", "score", "explain", "run_due"]
    peaks = {s: (largest.get(s) or {}).get("product_peak_mb") or (largest.get(s) or {}).get("peak_mb") for s in stages}
    known = [v for v in peaks.values() if v]
    peak = max(known) if known else None
    add(f"peak pipeline memory MB ({n:,} accounts)", peak, "< 4096", peak is not None and peak < 4096
        and len(known) == len(stages), "per stage (product part): " + ", ".join(f"{k} {v}" for k, v in peaks.items()))
    try:
        apptest = largest["pages"]["peak_mb_after_load"]
        server = (largest["pages"].get("load_test") or {}).get("server_peak_mb")
        app = max(apptest, server or 0)
        add(f"app process peak MB while serving ({n:,} accounts)", app, "< 1536", app < 1536,
            f"AppTest process (3 pages and their floors) {apptest}; streamlit server under the load test {server}")
    except (KeyError, TypeError):
        add(f"app process peak MB while serving ({n:,} accounts)", None, "< 1536", False, "stage failed")
    for r in results:
        if "load_test" in (r.get("pages") or {}):
            lt = r["pages"]["load_test"]
            add(f"load test, {lt['sessions']} sessions, errors ({r['accounts']:,} accounts)", lt["error_count"], "0",
                lt["error_count"] == 0, f"p50 {lt.get('p50_s')} s, p95 {lt.get('p95_s')} s")
        if "concurrency" in r:
            c = r["concurrency"]
            add(f"pages serve during import/train/score, new scores shown ({r['accounts']:,} accounts)",
                c.get("problem_count"), "0 problems, new scores shown", c.get("ok", False),
                f"{c.get('renders')} renders, lock errors {c.get('lock_errors')}, "
                f"new scores shown {c.get('new_scores_shown_without_restart')}")
    return out


def main(argv: list[str] | None = None) -> int:
    from data.compat import limit_threads

    limit_threads()  # one BLAS/OpenMP thread per process, as in app.py and cli.py
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,20000,100000")
    ap.add_argument("--repeats", type=int, default=7, help="warm renders per page and of its floor, alternating (median, min-max)")
    ap.add_argument("--load-sessions", type=int, default=20)
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--keep", action="store_true", help="keep the temp workspaces")
    ap.add_argument("--quick", action="store_true",
                    help="smoke mode: no threading, concurrency or load test; one warm render per page")
    ap.add_argument("--child", nargs=2, metavar=("STAGE", "PARAMS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    if args.quick:
        args.repeats, args.load_sessions = 1, 0
    middle = max((s for s in sizes if s <= 20_000), default=sizes[0])
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = Path(tempfile.gettempdir()) / f"csai-bench-{stamp}.log"
    t0 = time.perf_counter()
    results = []
    with open(log_path, "w") as log:
        for n in sizes:
            results.append(bench_size(n, largest=n == sizes[-1], middle=n == middle, repeats=args.repeats,
                                      load_sessions=args.load_sessions, log=log, keep=args.keep,
                                      quick=args.quick))
            partial = {"timestamp": stamp, "partial": True, "sizes_done": [r["accounts"] for r in results],
                       "results": results}
            (out_dir / f"{stamp}.json").write_text(json.dumps(partial, indent=2, default=str))
    total = time.perf_counter() - t0
    print()
    table = print_table(results)
    tg = targets(results)
    print(f"\nTargets (total bench time {total / 60:.1f} min):")
    for t in tg:
        print(f"  [{'ok' if t['ok'] else 'FAIL'}] {t['name']}: {t['value']} (limit {t['limit']})"
              + (f" - {t['note']}" if t.get("note") else ""))
    doc = {"timestamp": stamp, "total_s": round(total, 1), "sizes": sizes,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "settings": {"event_fraction": EVENT_FRACTION, "duckdb_memory_limit": DUCKDB_MEMORY_LIMIT, "end": str(END),
                        "seed": SEED, "repeats": args.repeats},
           "results": results, "targets": tg, "table": table, "log": str(log_path)}
    text = json.dumps(doc, indent=2, default=str)
    (out_dir / f"{stamp}.json").write_text(text)
    (out_dir / "latest.json").write_text(text)
    print(f"\nWrote {out_dir / (stamp + '.json')} and latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
