"""Model quality on short histories: 3 and 6 months of events, 30-day horizon.

``python -m bench.short_history`` generates event logs shaped like real exports (one
subscription row per monthly billing period, the log ending mid-period, accounts that
signed up before usage tracking began; ``tests/support/subscription_log.py``), trains
through the product's own path (``train --horizon-days 30``, algorithm ``auto`` and
``logreg``) and compares, on the *same* test rows, a plain logistic regression (median
imputation, standard scaling, one-hot categories, ``C=1``) fitted on the *same* training
rows. It prints one line per log and seed and writes ``bench/results/short_history.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data.compat import limit_threads
from data.workspace import open_workspace
from models.observations import build_observations
from models.split_choice import SHORT_TEST_SHARE, choose_split, sized_config
from models.training import TrainConfig, train
from tests.support.subscription_log import make_log, write_log

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SHAPES = {"3 months": date(2023, 3, 31), "6 months": date(2023, 6, 30),
          "12 months (periods cut at the end)": date(2023, 12, 30)}
DEFAULT_SHAPES = "3 months,6 months"


def plain_logistic_auc(obs, fit: pd.DataFrame, test: pd.DataFrame, label: str = "label_churn") -> dict:
    """ROC-AUC and PR-AUC of an untuned logistic regression fitted on ``fit`` and scored on ``test``."""
    def design(frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[obs.numeric].astype(float)
        if obs.categorical:
            x = x.join(pd.get_dummies(frame[obs.categorical].astype("object").fillna("(none)"), dtype=float))
        return x

    x_fit, x_test = design(fit), design(test)
    x_test = x_test.reindex(columns=x_fit.columns, fill_value=0.0)
    keep = [c for c in x_fit.columns if x_fit[c].notna().any()]
    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(x_fit[keep], fit[label].to_numpy())
    p = model.predict_proba(x_test[keep])[:, 1]
    y = test[label].to_numpy()
    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p))}


def split_rows(obs, config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training rows of the tested model and the test rows, as :func:`models.training.train` draws them."""
    labelled = obs.labelled()
    dates = sorted(labelled["obs_date"].unique())
    split = choose_split(dates, sized_config(config, len(dates), obs.cadence))
    ids = labelled["account_id"].astype(str)
    accounts = np.sort(ids.unique())
    draw = pd.Series(np.random.default_rng([config.seed, 1]).random(len(accounts)), index=accounts)
    held = (draw.reindex(ids).to_numpy() < SHORT_TEST_SHARE) if split.short else np.zeros(len(ids), dtype=bool)
    od = labelled["obs_date"]
    fit = labelled[od.isin(split.fit).to_numpy() & ~held]
    test = labelled[od.isin(split.test).to_numpy() & (held if split.short else True)]
    return fit, test


def measure(shape: str, end: date, n: int, seed: int, tmp: Path) -> dict:
    ws = open_workspace(str(tmp / f"{shape.replace(' ', '_')}_{seed}"))
    ends = "truncated" if "cut at the end" in shape else "scheduled"
    write_log(ws.warehouse, make_log(n=n, start=date(2023, 1, 1), end=end, seed=seed, ends=ends))
    out: dict = {"shape": shape, "accounts": n, "seed": seed}
    with ws.warehouse.reader() as con:
        obs = build_observations(con, horizon_days=30)
        out["cadence"] = obs.cadence
        for algo in ("auto", "logreg"):
            config = TrainConfig(algorithm=algo, horizon_days=30, seed=0)
            t = time.perf_counter()
            result = train(con, config, observations=obs)
            out[algo] = {"roc_auc": round(result.metrics["roc_auc"], 4), "pr_auc": round(result.metrics["pr_auc"], 4),
                         "chose": result.trained.algorithm, "seconds": round(time.perf_counter() - t, 1)}
        h = result.evaluation.history
        out.update(labelled_dates=h["labelled_dates"], test_dates=h["test_dates"], purge_days=h["purge_days"],
                   accounts_held_out=h["accounts_held_out"], n_test=result.n_test, churns_test=result.positives_test)
        fit, test = split_rows(obs, TrainConfig(horizon_days=30, seed=0))
        assert len(test) == result.n_test, "the baseline must score the product's test rows"
        out["plain_logreg"] = {k: round(v, 4) for k, v in plain_logistic_auc(obs, fit, test).items()}
        out["n_fit"] = int(len(fit))
    return out


def main(argv: list[str] | None = None) -> int:
    limit_threads()  # one BLAS/OpenMP thread per process, as in app.py and cli.py
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1500)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--shapes", default=DEFAULT_SHAPES, help=f"comma-separated, of: {', '.join(SHAPES)}")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="csai-short-"))
    rows = []
    for shape in args.shapes.split(","):
        end = SHAPES[shape]
        for seed in (int(s) for s in args.seeds.split(",")):
            r = measure(shape, end, args.accounts, seed, tmp)
            rows.append(r)
            print(f"{shape} seed {seed}: {r['cadence']} dates, {r['labelled_dates']} labelled, test {r['n_test']} rows "
                  f"({r['churns_test']} churns), purge {r['purge_days']} d | auto ({r['auto']['chose']}) "
                  f"ROC-AUC {r['auto']['roc_auc']:.3f} PR-AUC {r['auto']['pr_auc']:.3f} | logreg "
                  f"{r['logreg']['roc_auc']:.3f} | plain LR {r['plain_logreg']['roc_auc']:.3f} "
                  f"PR-AUC {r['plain_logreg']['pr_auc']:.3f}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "short_history.json").write_text(json.dumps({"runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
