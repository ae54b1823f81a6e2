"""Model quality check (issue 3 targets): the sample company against its true hazard, and flat tables.

``python -m bench.model_quality`` (``make quality``) measures, through the product's own
training path:

1. **Sample company** (2,000 accounts, default demo seed and end date, and a second seed):
   the held-out ROC-AUC of ``train --algorithm auto`` against the AUC the true hazard in
   ``sample_truth`` reaches on the same held-out rows - both the hazard of the
   observation month (what an oracle knowing the account's state at the observation date
   sees) and the probability over the whole 90-day horizon (which also knows the hazards
   of the two following months, i.e. states after the observation date); the 95 %
   account-clustered bootstrap interval of the held-out ROC-AUC; calibration as the
   observed/expected ratio, the quantile-bin ECE and the log-loss; training time; the
   groups of the top five global drivers.
2. **Flat tables** (one row per account with a label): nested CV ROC-AUC of ``auto``
   against the better of a tuned logistic regression and a tuned LightGBM on the same
   outer folds, on tables derived from the sample company and on differently shaped
   synthetic ones; and that no identifier-like column became a feature.

Prints a table and writes ``bench/results/model_quality.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from data.compat import limit_threads
from data.metrics import active_accounts, compute_labels, compute_metrics
from data.sample import generate_sample, write_sample
from data.workspace import open_workspace
from models.evaluation import truth_probability
from models.flat_training import cross_validate
from models.observations import build_observations
from models.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
IDENTIFIERS = {"account_id", "name", "customer_number", "crm_key", "contact_email", "created_at", "churned"}


# --------------------------------------------------------------------------- sample company
def sample_company(n: int, seed: int, end: date, tmp: Path) -> dict:
    ws = open_workspace(str(tmp / f"sample_{seed}"))
    write_sample(ws.warehouse, generate_sample(n_accounts=n, seed=seed, end=end), seed=seed, end=end)
    with ws.warehouse.reader() as con:
        t = time.perf_counter()
        result = train(con, TrainConfig(algorithm="auto"))
        seconds = time.perf_counter() - t
        pr = result.predictions
        p_month = truth_probability(con, pr, horizon_days=1)
        p_horizon = truth_probability(con, pr, horizon_days=90)
    ok = ~np.isnan(p_month) & ~np.isnan(p_horizon)
    y, p = pr["y_true"].to_numpy()[ok], pr["p"].to_numpy()[ok]
    auc = float(roc_auc_score(y, p))
    auc_month = float(roc_auc_score(y, p_month[ok]))
    auc_horizon = float(roc_auc_score(y, p_horizon[ok]))
    top = result.global_importance.head(5)
    roc_iv = result.evaluation.intervals["scores"]["model"]["roc_auc"]
    rule_diff = result.evaluation.intervals["differences"]["model - rule"]["roc_auc"]
    return {
        "accounts": n, "seed": seed, "end": str(end), "algorithm": result.trained.algorithm,
        "params": result.trained.params, "held_out_rows": int(ok.sum()), "positives": int(y.sum()),
        "roc_auc": round(auc, 4), "truth_auc_obs_month": round(auc_month, 4),
        "truth_auc_90d": round(auc_horizon, 4), "ratio_obs_month": round(auc / auc_month, 4),
        "ratio_90d": round(auc / auc_horizon, 4), "ece": round(float(result.metrics["ece"]), 4),
        "roc_auc_all_rows": round(float(result.metrics["roc_auc"]), 4),
        "roc_auc_ci95": [round(roc_iv["low"], 4), round(roc_iv["high"], 4)],
        "model_minus_rule_auc_ci95": [round(rule_diff["low"], 4), round(rule_diff["high"], 4)],
        "oe_ratio": round(float(result.metrics["oe_ratio"]), 4), "log_loss": round(float(result.metrics["log_loss"]), 4),
        "calibration": result.evaluation.calibration.method,
        "excluded_features": sorted(result.evaluation.excluded_features),
        "unverifiable_snapshot_features": result.evaluation.leakage.get("unverifiable", []),
        "train_seconds": round(seconds, 1),
        "backtest_auc": [round(float(b.model["roc_auc"]), 4) for b in result.evaluation.backtest],
        "top5": [f"{r.feature} ({r.group})" for r in top.itertuples()],
        "top5_firmographic_attributes": [r.feature for r in top.itertuples()
                                         if r.group == "Firmographic" and r.feature != "segment"],
    }


# --------------------------------------------------------------------------- flat tables
def _derived_tables(n: int, tmp: Path) -> dict[str, pd.DataFrame]:
    """Flat CRM-like exports of the sample company: a snapshot of metrics and a label."""
    end = date(2026, 11, 30)
    ws = open_workspace(str(tmp / "flat_source"))
    write_sample(ws.warehouse, generate_sample(n_accounts=n, seed=11, end=end), seed=11, end=end)
    at = date(2026, 3, 1)
    with ws.warehouse.reader() as con:
        ids = active_accounts(con, at)
        obs = pd.DataFrame({"account_id": ids, "obs_date": at})
        metrics = compute_metrics(con, obs)
        labels = compute_labels(con, obs, horizon_days=180)
        accounts = con.execute("SELECT account_id, name, segment, industry, region, plan, csm, created_at "
                               "FROM accounts").df()
    frame = metrics.frame.drop(columns=["obs_date"]).merge(labels[["account_id", "label_churn"]], on="account_id")
    frame = frame.drop(columns=[c for c in ("segment", "industry", "region", "plan", "csm") if c in frame])
    frame = accounts.merge(frame, on="account_id").rename(columns={"label_churn": "churned"})
    rich = frame.copy()
    rich["customer_number"] = np.arange(len(rich)) + 10_000
    rich["contact_email"] = [f"owner{i}@example.com" for i in range(len(rich))]
    keep = ["account_id", "name", "segment", "industry", "region", "plan", "csm", "created_at", "mrr", "seats",
            "tenure_days", "seat_utilisation", "tickets_90d", "nps_latest", "contract_annual", "churned"]
    crm = frame[keep].copy()
    return {"sample: all metrics at 2026-03-01 (180-day label)": rich, "sample: CRM export (few columns)": crm}


def _synthetic_tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(5)
    out = {}

    def base(n):
        return pd.DataFrame({"account_id": [f"S{i:05d}" for i in range(n)], "name": [f"Company {i}" for i in range(n)],
                             "crm_key": [f"k-{rng.integers(1e9)}" for _ in range(n)],
                             "created_at": pd.Timestamp("2023-01-01")})

    n = 3000  # linear in the log-odds: logistic regression's home ground
    x = rng.normal(size=(n, 8))
    logit = -2.2 + x[:, :5] @ np.array([0.8, -0.6, 0.5, 0.4, -0.3])
    df = base(n)
    for j in range(8):
        df[f"x{j}"] = x[:, j]
    df["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    out["synthetic: linear, 8 numeric"] = df

    n = 3000  # thresholds and an interaction: trees' home ground
    u, t, seats = rng.uniform(0, 1, n), rng.poisson(2, n), rng.integers(1, 200, n)
    plan = rng.choice(["basic", "pro", "enterprise"], n, p=[0.5, 0.35, 0.15])
    logit = -2.5 + 2.2 * (u < 0.25) + 0.9 * (t >= 4) * (plan == "basic") - 0.8 * (seats > 120) + rng.normal(0, 0.3, n)
    df = base(n).assign(usage=u, tickets=t, seats=seats, plan=plan)
    df["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    out["synthetic: thresholds + interaction"] = df

    n = 500  # small and noisy, with a high-cardinality category and missing values
    u = rng.normal(size=n)
    city = rng.choice([f"city{i}" for i in range(80)], n)
    logit = -1.6 - 0.7 * u
    df = base(n).assign(usage=np.where(rng.random(n) < 0.2, np.nan, u), city=city,
                        employees=rng.lognormal(4, 1, n).round())
    df["customer_number"] = np.arange(n) + 1
    df["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    out["synthetic: small, noisy, 80-level category, missing"] = df
    return out


def flat_table(name: str, table: pd.DataFrame, tmp: Path, folds: int, repeats: int) -> dict:
    ws = open_workspace(str(tmp / f"flat_{abs(hash(name))}"))
    with ws.warehouse.writer("raw", fresh=True) as con:
        con.register("_a", table)
        con.execute("DROP TABLE accounts")
        con.execute("CREATE TABLE accounts AS SELECT * FROM _a")
        con.unregister("_a")
    out = {"table": name, "rows": int(len(table)), "positives": int(table["churned"].sum())}
    with ws.warehouse.reader() as con:
        obs = build_observations(con)
    out["features"] = len(obs.features)
    out["identifier_features"] = sorted(set(obs.features) & IDENTIFIERS)
    y = obs.labelled()["label_churn"].to_numpy(dtype=int)
    for algo in ("logreg", "gbm", "auto"):
        t = time.perf_counter()
        aucs, picked = [], []
        for seed in range(repeats):  # repeated CV: the same outer folds for every algorithm per repeat
            oof, choices = cross_validate(obs, TrainConfig(algorithm=algo, cv_folds=folds, seed=seed))
            aucs.append(float(roc_auc_score(y, oof)))
            picked += [c["algorithm"] for c in choices]
        out[algo] = round(float(np.mean(aucs)), 4)
        out[f"{algo}_repeats"] = [round(a, 4) for a in aucs]
        out[f"{algo}_s"] = round(time.perf_counter() - t, 1)
        if algo == "auto":
            out["auto_choices"] = {a: picked.count(a) for a in sorted(set(picked))}
    out["best_single"] = max(out["logreg"], out["gbm"])
    out["auto_minus_best"] = round(out["auto"] - out["best_single"], 4)
    return out


def main(argv: list[str] | None = None) -> int:
    limit_threads()  # one BLAS/OpenMP thread per process, as in app.py and cli.py
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--seeds", default="42,7")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3, help="repeated outer CV (fold seeds 0..N-1) on flat tables")
    ap.add_argument("--flat-accounts", type=int, default=5000, help="size of the company the flat tables come from")
    ap.add_argument("--skip-sample", action="store_true")
    ap.add_argument("--skip-flat", action="store_true")
    ap.add_argument("--out", default=str(RESULTS / "model_quality.json"),
                    help="where to write the JSON results (default bench/results/model_quality.json)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="csai-quality-"))
    doc: dict = {"sample": [], "flat": []}
    try:
        if not args.skip_sample:
            for seed in (int(s) for s in args.seeds.split(",")):
                r = sample_company(args.accounts, seed, date(2026, 11, 30), tmp)
                doc["sample"].append(r)
                print(f"sample seed {seed}: {r['algorithm']} held-out ROC-AUC {r['roc_auc_all_rows']:.3f} "
                      f"(95% CI {r['roc_auc_ci95'][0]:.3f}-{r['roc_auc_ci95'][1]:.3f}) | O:E {r['oe_ratio']:.2f} | "
                      f"ECE (quantile bins) {r['ece']:.4f} | log-loss {r['log_loss']:.4f} | ML-rule AUC "
                      f"{r['model_minus_rule_auc_ci95']}", flush=True)
                print(f"  {r['algorithm']} AUC on rows with a true hazard {r['roc_auc']:.3f} | true hazard at obs month "
                      f"{r['truth_auc_obs_month']:.3f} ({r['ratio_obs_month']:.1%}) | over 90 days "
                      f"{r['truth_auc_90d']:.3f} ({r['ratio_90d']:.1%}) | ECE {r['ece']:.4f} | "
                      f"{r['train_seconds']:.0f}s | backtest {r['backtest_auc']} | top5 {r['top5']}", flush=True)
        if not args.skip_flat:
            tables = {**_derived_tables(args.flat_accounts, tmp), **_synthetic_tables()}
            for name, table in tables.items():
                r = flat_table(name, table, tmp, args.folds, args.repeats)
                doc["flat"].append(r)
                print(f"flat {name}: rows {r['rows']}, positives {r['positives']} | logreg {r['logreg']:.3f} "
                      f"gbm {r['gbm']:.3f} auto {r['auto']:.3f} ({r['auto_minus_best']:+.3f}) "
                      f"choices {r['auto_choices']} | identifier features {r['identifier_features']}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
