"""``make bench ENGINE=spark``: the batch stages on Spark beside the embedded engine, and their growth with events.

``python -m bench.spark_run --sizes 20000,100000 [--growth 1,3,10] [--master local[2]] [--metrics-only]``
(``CSAI_BENCH_SPARK_MEMORY``: the local JVM's heap, default 1g; ``CSAI_BENCH_SPARK_PARTITIONS``: shuffle
partitions, default 4; 20,000 accounts need more of both)
builds, per size and per event multiple (1x, 3x, 10x the events of the smallest: the
generator's ``event_fraction`` base x multiple), a sample company in a temp workspace,
exports its raw tables as Parquet and trains the production models once (at 1x, embedded:
training stays on one machine). Then each engine runs in its own fresh process:

* ``metrics``: observation rows, the metric layer for every observation date and the labels
  (embedded: ``compute_metrics`` + ``compute_labels``; Spark: ``data.engines.spark_metrics``
  with the result written as Parquet);
* ``score_explain`` (at 1x): features as of the scoring date, p(churn), p(expansion), SHAP
  in calibrated units, top drivers and other factors of every account (embedded:
  ``models.scoring.score_workspace``, stored in the warehouse; Spark:
  ``models.spark_scoring.score_on_spark`` written as Parquet);
* ``session`` (Spark only): starting the local JVM.

Each stage reports wall time, CPU time and peak resident memory of the whole process tree
(the Python driver, the JVM and its Python workers), read from ``/proc``. Results print as
a table and go to ``bench/results/spark-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
END = date(2025, 6, 30)
SEED = 42
BASE_FRACTION = 0.1  # of the generator's daily event rows; 10x = every row
SPARK_CONF = {"spark.driver.memory": os.environ.get("CSAI_BENCH_SPARK_MEMORY", "1g"),  # local: driver = executor
              "spark.sql.shuffle.partitions": os.environ.get("CSAI_BENCH_SPARK_PARTITIONS", "4")}
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") / 1024


# =============================================================================== process-tree meter
def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _usage(root: int) -> tuple[float, float]:
    """(CPU seconds, resident MB) summed over ``root`` and its descendants that are alive."""
    cpu, rss = 0.0, 0.0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        rss += int(fields[21]) * _PAGE_KB / 1024
    return cpu, rss


class TreeMeter:
    """Wall, CPU and peak memory of named parts, over this process and its children (JVM, workers)."""

    def __init__(self) -> None:
        self.parts: dict[str, dict] = {}
        self._peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self._peak = max(self._peak, _usage(os.getpid())[1])

    def __call__(self, name: str, fn, *args, **kwargs):
        cpu0, rss0 = _usage(os.getpid())
        self._peak = rss0
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        cpu1, rss1 = _usage(os.getpid())
        self.parts[name] = {"wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(cpu1 - cpu0, 2),
                            "peak_mb": round(max(self._peak, rss1), 0)}
        return out


# =============================================================================== child stages
def stage_prepare(ws: str, parquet: str, n: int, fraction: float, train: bool) -> dict:
    from data.sample import build_sample  # deferred: import time (per child)
    from data.workspace import open_workspace  # deferred: import time (per child)
    from models.spark_scoring import export_raw_tables  # deferred: import time (per child)

    w = open_workspace(ws)
    summary = build_sample(w.warehouse, n_accounts=n, seed=SEED, end=END, event_fraction=fraction)
    export_raw_tables(w.warehouse, Path(parquet))
    if train:
        from data.vocabulary import TARGETS  # deferred: import time (per child)
        from models.observations import build_observations  # deferred: import time (per child)
        from models.registry import promote, register_model  # deferred: import time (per child)
        from models.training import TrainConfig  # deferred: import time (per child)
        from models.training import train as fit  # deferred: import time (per child)

        with w.warehouse.reader() as con:
            obs = build_observations(con, horizon_days=90)
            for target in TARGETS:
                config = TrainConfig(target=target, algorithm="gbm", backtest_cutoffs=1, leakage_check=False)
                record = register_model(w.engine, w.settings.models_dir, fit(con, config, observations=obs))
                promote(w.engine, record.id)
    return {"events": int(summary.rows.get("events", 0)), "accounts": n}


def stage_embedded(ws: str, score: bool) -> dict:
    from data.metrics import compute_labels, compute_metrics  # deferred: import time (per child)
    from data.workspace import open_workspace  # deferred: import time (per child)
    from models.history import plan_schedule  # deferred: import time (per child)
    from models.observations import active_rows, history_end, history_start  # deferred: import time (per child)
    from models.scoring import score_workspace  # deferred: import time (per child)

    m = TreeMeter()
    w = open_workspace(ws)

    def metrics():  # models.observations.build_observations' rows, metrics and censored labels
        with w.warehouse.reader() as con:
            end = history_end(con)
            dates = plan_schedule(history_start(con), end, label_days=90 + 30).dates
            rows = active_rows(con, dates, end)
            frame = compute_metrics(con, rows, data_end=end).frame
            labels = compute_labels(con, rows, data_end=end)
        return len(frame), len(labels)

    out = {"obs_rows": m("metrics", metrics)[0]}
    if score:  # the embedded scoring path: features as of the day after the end, scores, calibrated SHAP, stored
        out["scored"] = m("score_explain", lambda: score_workspace(w).accounts)
    return {**out, "parts": m.parts}


def stage_spark(ws: str, parquet: str, out_dir: str, score: bool, master: str) -> dict:
    from data.engines import spark_metrics as sm  # deferred: import time (per child)
    from data.engines.spark_session import spark_session  # deferred: import time (per child)
    from data.engines.spark_settings import SparkSettings, load_spark_settings  # deferred: import time (per child)
    from data.workspace import open_workspace  # deferred: import time (per child)
    from models.scoring import load_production  # deferred: import time (per child)
    from models.spark_scoring import score_on_spark  # deferred: import time (per child)

    m = TreeMeter()
    extra = load_spark_settings(dict(os.environ)).conf  # CSAI_SPARK_CONF (spark.key=value;...) on top of the bench's settings
    spark = m("session", spark_session, SparkSettings(master=master), conf={**SPARK_CONF, **extra})
    spark.sparkContext.setLogLevel("ERROR")
    sources = {p.stem: str(p) for p in Path(parquet).glob("*.parquet")}
    raw = sm.read_raw_tables(spark, sources)

    def metrics():
        frame, _, _ = sm.build_observations(spark, raw, horizon_days=90)
        frame.write.mode("overwrite").parquet(str(Path(out_dir) / "observations"))
        return spark.read.parquet(str(Path(out_dir) / "observations")).count()

    out = {"obs_rows": m("metrics", metrics)}
    if score:
        w = open_workspace(ws)
        _, churn = load_production(w.engine, "churn")
        _, expansion = load_production(w.engine, "expansion")

        def score_explain():
            features, results, _ = score_on_spark(spark, raw, churn, expansion)
            results.write.mode("overwrite").partitionBy("kind").parquet(str(Path(out_dir) / "results"))
            return spark.read.parquet(str(Path(out_dir) / "results" / "kind=score")).count()

        out["scored"] = m("score_explain", score_explain)
    spark.stop()
    return {**out, "parts": m.parts}


STAGES = {"prepare": stage_prepare, "embedded": stage_embedded, "spark": stage_spark}


def child_main(stage: str, params: str) -> None:
    out = STAGES[stage](**json.loads(params))
    print("BENCH_RESULT " + json.dumps(out, default=str), flush=True)


# =============================================================================== parent side
def run_child(stage: str, log, **params) -> dict:
    log.write(f"\n==== {stage} {json.dumps(params)}\n")
    log.flush()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CSAI_WORKSPACE": params.get("ws", "")}
    p = subprocess.run([sys.executable, "-m", "bench.spark_run", "--child", stage, json.dumps(params)], cwd=ROOT,
                       env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if p.returncode != 0 or not lines:
        print(f"  {stage}: FAILED (exit {p.returncode}); see {log.name}", flush=True)
        return {"error": f"exit {p.returncode}"}
    return json.loads(lines[-1][len("BENCH_RESULT "):])


def bench_size(n: int, growth: list[int], master: str, log, *, score: bool = True) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"csai-spark-bench-{n}-"))
    out: dict = {"accounts": n, "growth": []}
    try:
        models_ws = str(tmp / "ws-1")
        for g in growth:
            ws, parquet = str(tmp / f"ws-{g}"), str(tmp / f"parquet-{g}")
            first = g == growth[0]
            prep = run_child("prepare", log, ws=ws, parquet=parquet, n=n, fraction=min(1.0, BASE_FRACTION * g),
                             train=first and score)
            if first:
                models_ws = ws
            print(f"  {n:,} accounts, {g}x events: {prep.get('events', 0):,} event rows", flush=True)
            emb = run_child("embedded", log, ws=ws, score=first and score)
            spk = run_child("spark", log, ws=models_ws, parquet=parquet, out_dir=str(tmp / f"spark-out-{g}"),
                            score=first and score, master=master)
            out["growth"].append({"multiple": g, "events": prep.get("events"), "embedded": emb, "spark": spk})
            print("  measured: " + json.dumps(out["growth"][-1], default=str), flush=True)  # kept if a later step dies
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def print_table(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"\n{r['accounts']:,} accounts (Spark master {r['master']})")
        lines.append(f"{'events':>12} {'stage':<14} {'embedded wall/CPU/peak':>26} {'spark wall/CPU/peak':>26}")
        for g in r["growth"]:
            stages = [s for s in ("session", "metrics", "score_explain")
                      if s in g["spark"].get("parts", {}) or s in g["embedded"].get("parts", {})]
            for s in stages:
                cells = []
                for side in ("embedded", "spark"):
                    p = g[side].get("parts", {}).get(s)
                    cells.append(f"{p['wall_s']:.1f}s / {p['cpu_s']:.1f}s / {p['peak_mb']:.0f}MB" if p else "-")
                lines.append(f"{g['events']:>12,} {s:<14} {cells[0]:>26} {cells[1]:>26}")
        base = r["growth"][0]
        for side in ("embedded", "spark"):
            t0 = base[side].get("parts", {}).get("metrics", {}).get("wall_s")
            ratios = []
            for g in r["growth"]:
                t = g[side].get("parts", {}).get("metrics", {}).get("wall_s")
                ratios.append(f"{g['multiple']}x events: {t / t0:.2f}x time" if t and t0 else f"{g['multiple']}x: -")
            lines.append(f"  metric-layer growth ({side}): " + ", ".join(ratios))
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.spark_run")
    parser.add_argument("--child", nargs=2, metavar=("STAGE", "PARAMS"))
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--growth", default="1,3,10", help="event multiples (of the smallest)")
    parser.add_argument("--master", default=os.environ.get("CSAI_SPARK_MASTER", "local[2]"))
    parser.add_argument("--metrics-only", action="store_true",
                        help="only the metric layer (no training, no scoring): the stage that grows with events")
    args = parser.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    growth = sorted({int(g) for g in args.growth.split(",") if g.strip()})
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = []
    with open(Path(tempfile.gettempdir()) / f"csai-spark-bench-{stamp}.log", "w") as log:
        for n in sizes:
            print(f"Spark bench: {n:,} accounts, events x{growth}", flush=True)
            r = bench_size(n, growth, args.master, log, score=not args.metrics_only)
            r["master"] = args.master
            results.append(r)
    table = print_table(results)
    payload = {"at": stamp, "results": results, "table": table}
    (RESULTS / f"spark-{stamp}.json").write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
