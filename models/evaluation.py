"""Model quality metrics: ROC-AUC, PR-AUC, Brier, top-decile lift, ECE, O:E, log-loss, reliability, per segment.

All functions take true labels and predicted probabilities; none of them fit anything.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def expected_calibration_error(y, p, *, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean prediction| over ``bins`` equal-count (quantile) bins.

    Churn probabilities crowd near zero: equal-width bins would put nearly every prediction
    in the first bin, where over- and under-prediction cancel out. Quantile bins give each
    bin the same number of rows, so the error is measured where the predictions are.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(bins, len(y))):
        if len(chunk):
            total += len(chunk) * abs(y[chunk].mean() - p[chunk].mean())
    return float(total / len(y))


def observed_expected_ratio(y, p) -> float:
    """Observed positives / expected positives (sum of the predictions); 1.0 is right on average.

    1.8 means the model predicts 45 % fewer churns than happen; NaN when nothing is expected.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    expected = float(p.sum())
    return float(y.sum() / expected) if len(y) and expected > 0 else float("nan")


def log_loss(y, p, *, eps: float = 1e-6) -> float:
    """Mean negative log-likelihood of the labels under the predicted probabilities (lower is better);
    probabilities are clipped to [eps, 1 - eps] so one confident miss cannot make it infinite."""
    from sklearn.metrics import (
        log_loss as sklearn_log_loss,  # deferred: import time (sklearn loads only when metrics run)
    )

    y = np.asarray(y, dtype=int)
    if len(y) == 0:
        return float("nan")
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    return float(sklearn_log_loss(y, p, labels=[0, 1]))


def top_decile_lift(y, p) -> float:
    """Churn rate among the 10% highest-scored rows divided by the overall rate."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    n = max(1, int(math.ceil(0.1 * len(y))))
    order = np.argsort(-p, kind="stable")[:n]
    return float(y[order].mean() / y.mean())


def classification_metrics(y, p) -> dict[str, float]:
    """``roc_auc``, ``pr_auc``, ``brier``, ``top_decile_lift``, ``ece`` (quantile bins), ``oe_ratio``
    (observed / expected positives) and ``log_loss`` (NaN when undefined)."""
    from sklearn.metrics import (  # deferred: import time (sklearn loads only when metrics run)
        average_precision_score,
        brier_score_loss,
        roc_auc_score,
    )

    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "top_decile_lift": top_decile_lift(y, p),
        "ece": expected_calibration_error(y, p),
        "oe_ratio": observed_expected_ratio(y, p),
        "log_loss": log_loss(y, p),
    }


def reliability_curve(y, p, *, bins: int = 10) -> list[dict]:
    """Points for a reliability plot: equal-count bins of predicted probability."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return []
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, min(bins, len(y))):
        if len(chunk):
            out.append({"mean_predicted": float(p[chunk].mean()), "observed_rate": float(y[chunk].mean()),
                        "n": int(len(chunk))})
    return out


def per_segment(y, p, segments, *, min_rows: int = 30) -> dict[str, dict]:
    """:func:`classification_metrics` per segment value (segments with too few rows skipped)."""
    df = pd.DataFrame({"y": np.asarray(y, dtype=int), "p": np.asarray(p, dtype=float),
                       "s": pd.Series(segments).astype("object").fillna("(none)").astype(str).to_numpy()})
    out = {}
    for seg, g in df.groupby("s"):
        if len(g) >= min_rows:
            out[seg] = {**classification_metrics(g["y"], g["p"]), "n": int(len(g)), "positives": int(g["y"].sum())}
    return out


def clean_json(obj):
    """Replace NaN/inf with None recursively so a dict serialises as strict JSON."""
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def truth_probability(con, rows: pd.DataFrame, *, horizon_days: int = 90, lead_days: int = 0) -> np.ndarray:
    """The sample company's true probability of churn within the horizon, per (account_id, obs_date) row.

    Uses ``sample_truth`` (true monthly hazard per active account-month): 1 - prod(1 - h)
    over the months starting in [obs_date + lead, obs_date + lead + horizon). Months after an
    account churned have no hazard row; the last known hazard is carried forward, so
    churners are not made to look safer. NaN where the table has nothing for the account.
    """
    df = pd.DataFrame({"account_id": rows["account_id"].astype(str).to_numpy(),
                       "obs_date": pd.to_datetime(rows["obs_date"]).dt.date.to_numpy()})
    df["row_id"] = np.arange(len(df))
    con.register("_truth_rows", df)
    try:
        out = con.execute("""
            WITH months AS (
                SELECT r.row_id, r.account_id, CAST(m.month AS DATE) AS month
                FROM _truth_rows r,
                     LATERAL (SELECT unnest(generate_series(date_trunc('month', r.obs_date + $lead),
                                                            r.obs_date + $lead + $horizon - 1,
                                                            INTERVAL 1 MONTH)) AS month) m
                WHERE m.month >= r.obs_date + $lead),
            joined AS (
                SELECT m.row_id, t.hazard
                FROM months m ASOF LEFT JOIN sample_truth t ON t.account_id = m.account_id AND m.month >= t.month)
            SELECT row_id, 1 - exp(sum(ln(1 - least(hazard, 0.999999)))) AS p_true FROM joined GROUP BY row_id
        """, {"lead": int(lead_days), "horizon": int(horizon_days)}).df()
    finally:
        con.unregister("_truth_rows")
    p = np.full(len(df), np.nan)
    p[out["row_id"].to_numpy(dtype=int)] = out["p_true"].to_numpy(dtype=float)
    return p
