"""Model quality metrics: ROC-AUC, PR-AUC, Brier, top-decile lift, ECE, reliability, per segment.

All functions take true labels and predicted probabilities; none of them fit anything.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def expected_calibration_error(y, p, *, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean prediction| over 10 equal-width probability bins."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / len(y))


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
    """``roc_auc``, ``pr_auc``, ``brier``, ``top_decile_lift``, ``ece`` (NaN when undefined)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "top_decile_lift": top_decile_lift(y, p),
        "ece": expected_calibration_error(y, p),
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
