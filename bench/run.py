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

This module is the parent: it runs the stages (``bench/stages.py``) in child processes,
prints the table (``bench/report.py``) and checks the targets (``bench/targets.py``, one
row per target with its limit).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.report import print_table
from bench.stages import END, SEED, child_main
from bench.targets import evaluate
from data.compat import limit_threads

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
EVENT_FRACTION = 0.34  # of the generator's ~920 daily event rows per account: ~310 (>= 30M at 100,000)
DUCKDB_MEMORY_LIMIT = "1500MB"  # the batch stages' DuckDB buffer pool
# The app server's (page renders and load test): it holds the whole book's frames beside the pool, and its
# queries read one book, so it runs with less (an operator sets CSAI_DUCKDB_MEMORY_LIMIT per process the same way)
APP_DUCKDB_MEMORY_LIMIT = "1000MB"
PANDAS_MAX_DATES = {2000: None, 20000: 6}  # sizes above the largest key: 4 dates, extrapolated
SCALING_REPEATS = 3  # median of alternating runs per side


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


CEILING = 500_000  # sizes from here are the one-machine ceiling run (issue 15 item 5)


class StageRunner:
    """Runs a size's stages; with a work folder, each stage's result is kept in ``stages.json`` there
    and a later run with the same folder reuses the results of the stages that did not fail (a
    ceiling run that stops in one stage resumes from it)."""

    def __init__(self, log, env: dict, folder: Path | None) -> None:
        self.log, self.env = log, env
        self.file = folder / "stages.json" if folder else None
        self.kept = json.loads(self.file.read_text()) if self.file and self.file.exists() else {}

    def __call__(self, key: str, stage: str, **params) -> dict:
        old = self.kept.get(key)
        if old is not None and "error" not in old:
            print(f"  {key}: kept from the earlier run in this folder", flush=True)
            return old
        out = run_child(stage, self.log, self.env, **params)
        if self.file:
            self.kept[key] = out
            self.file.write_text(json.dumps(self.kept, indent=2, default=str))
        return out


def bench_size(n: int, *, largest: bool, middle: bool, repeats: int, load_sessions: int, log, keep: bool,
               quick: bool = False, workdir: Path | None = None) -> dict:
    """One size's stages. From ``CEILING`` accounts the run is the one-machine ceiling: the pipeline
    and the pages as a team runs them, without the pandas and shap references, the event-scaling
    check, the threading and the concurrency measurements; the metric build times every date for
    the accounts training observes (``CSAI_TRAIN_MAX_ACCOUNTS``), scoring every account."""
    ceiling = n >= CEILING
    tmp = workdir / f"{n}" if workdir else Path(tempfile.mkdtemp(prefix=f"csai-bench-{n}-"))
    keep = keep or workdir is not None
    env = {**os.environ, "CSAI_DUCKDB_MEMORY_LIMIT": DUCKDB_MEMORY_LIMIT, "PYTHONPATH": str(ROOT),
           "CSAI_WORKSPACE": str(tmp / "ws")}
    for k in ("OMP_NUM_THREADS",):
        env.pop(k, None)
    ws, parquet = str(tmp / "ws"), str(tmp / "parquet")
    for sub in ("obs", "floor"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    print(f"\n== {n:,} accounts ({tmp}){' - one-machine ceiling' if ceiling else ''}", flush=True)
    stage = StageRunner(log, env, tmp if workdir else None)
    r: dict = {"accounts": n, "event_fraction": EVENT_FRACTION, "ceiling": ceiling}
    try:
        r["generate"] = stage("generate", "generate", ws=ws, n=n, parquet=parquet, fraction=EVENT_FRACTION)
        r["import"] = stage("import", "import", parquet=parquet, ws=str(tmp / "ws_import"))
        shutil.rmtree(tmp / "ws_import", ignore_errors=True)
        pd_dates = 0 if ceiling else next((v for k, v in sorted(PANDAS_MAX_DATES.items()) if n <= k), 4)
        r["features"] = stage("features", "features", ws=ws, pandas_dates=pd_dates, scaling=largest and not ceiling,
                              sampled=ceiling)
        if largest and r["features"].get("scaling_subset"):
            r["features"]["scaling"] = scaling_check(log, env, ws, r["features"].pop("scaling_subset"))
        r["train"] = stage("train", "train", ws=ws, obs_out=str(tmp / "obs"),
                           backtest_cutoffs=1 if (n > 50_000 or quick) else 3)
        r["score"] = stage("score", "score", ws=ws)
        r["explain"] = stage("explain", "explain", ws=ws, obs_dir=str(tmp / "obs"), reference=not ceiling)
        r["run_due"] = stage("run_due", "run_due", ws=ws)
        r["pages"] = stage("pages", "pages", ws=ws, repeats=repeats, floor_dir=str(tmp / "floor"),
                           load_sessions=load_sessions if (largest or middle) else 0,
                           memory_limit=APP_DUCKDB_MEMORY_LIMIT)
        if middle and not quick and not ceiling:
            r["threads"] = stage("threads", "threads", obs_dir=str(tmp / "obs"), max_rows=150_000, repeats=2)
            r["concurrency"] = stage("concurrency", "concurrency", ws=ws, parquet=parquet)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return r


def scaling_check(log, env: dict, ws: str, subset: str) -> dict:
    """Metric build on a third of the accounts vs all of them: each run in a fresh process,
    the sides alternating (a busy spell on a shared machine hits both), medians of
    ``SCALING_REPEATS``. Each side pays for its own fresh memory, as a batch job does; the
    warehouse files are in the OS page cache for both (the features stage read them)."""
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
    out["time_ratio_per_3x_rows"] = round(out["time_ratio"] ** (math.log(3) / math.log(ev)), 3) if ev > 1 else None
    return out


def main(argv: list[str] | None = None) -> int:
    limit_threads()  # one BLAS/OpenMP thread per process, as in app.py and cli.py
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,20000,100000")
    ap.add_argument("--repeats", type=int, default=7, help="warm renders per page and of its floor, alternating (median, min-max)")
    ap.add_argument("--load-sessions", type=int, default=20)
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--keep", action="store_true", help="keep the temp workspaces")
    ap.add_argument("--workdir", help="build each size in WORKDIR/<size>, keep it, and reuse the stages that "
                                      "finished there in an earlier run (resume a long run)")
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
                                      quick=args.quick, workdir=Path(args.workdir) if args.workdir else None))
            partial = {"timestamp": stamp, "partial": True, "sizes_done": [r["accounts"] for r in results],
                       "results": results}
            (out_dir / f"{stamp}.json").write_text(json.dumps(partial, indent=2, default=str))
    total = time.perf_counter() - t0
    print()
    table = print_table(results)
    tg = evaluate(results)
    print(f"\nTargets (total bench time {total / 60:.1f} min):")
    for t in tg:
        print(f"  [{'ok' if t['ok'] else 'FAIL'}] {t['name']}: {t['value']} (limit {t['limit']})"
              + (f" - {t['note']}" if t.get("note") else ""))
    doc = {"timestamp": stamp, "total_s": round(total, 1), "sizes": sizes,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "settings": {"event_fraction": EVENT_FRACTION, "duckdb_memory_limit": DUCKDB_MEMORY_LIMIT,
                        "app_duckdb_memory_limit": APP_DUCKDB_MEMORY_LIMIT, "end": str(END),
                        "seed": SEED, "repeats": args.repeats},
           "results": results, "targets": tg, "table": table, "log": str(log_path)}
    text = json.dumps(doc, indent=2, default=str)
    (out_dir / f"{stamp}.json").write_text(text)
    (out_dir / "latest.json").write_text(text)
    print(f"\nWrote {out_dir / (stamp + '.json')} and latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
