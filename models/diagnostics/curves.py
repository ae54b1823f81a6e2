"""Curves of held-out predictions: ROC, precision-recall, cumulative gains, and confusion at a capacity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from models.diagnostics.comparison import rule_verdict, rule_vs_model, segment_metrics
from models.model_evaluation import HeldOutCurves


def _thin(df: pd.DataFrame, max_points: int) -> pd.DataFrame:
    if len(df) <= max_points:
        return df.reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(df) - 1, max_points).round().astype(int))
    return df.iloc[idx].reset_index(drop=True)


def roc_points(y, p, *, max_points: int = 300) -> pd.DataFrame:
    """ROC curve: columns fpr, tpr, threshold (from (0, 0) to (1, 1)); empty with one class only."""
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        return pd.DataFrame(columns=["fpr", "tpr", "threshold"])
    fpr, tpr, thr = roc_curve(y, np.asarray(p, dtype=float))
    return _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(thr, 1.0)}), max_points)


def pr_points(y, p, *, max_points: int = 300) -> pd.DataFrame:
    """Precision-recall curve: columns recall, precision, threshold; empty with one class only."""
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        return pd.DataFrame(columns=["recall", "precision", "threshold"])
    precision, recall, thr = precision_recall_curve(y, np.asarray(p, dtype=float))
    thr = np.append(thr, 1.0)
    df = pd.DataFrame({"recall": recall, "precision": precision, "threshold": thr}).iloc[::-1]
    return _thin(df, max_points)


def gains(y, p, *, bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by score decile (highest scores first).

    Columns: decile (1 = top 10%), rows, positives, rate, lift (decile rate / overall
    rate), share_contacted and share_captured (cumulative shares of rows and positives).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return pd.DataFrame(columns=["decile", "rows", "positives", "rate", "lift", "share_contacted",
                                     "share_captured"])
    order = np.argsort(-p, kind="stable")
    chunks = np.array_split(order, min(bins, len(y)))
    base = y.mean()
    rows = []
    for i, chunk in enumerate(chunks, start=1):
        rows.append({"decile": i, "rows": len(chunk), "positives": float(y[chunk].sum()),
                     "rate": float(y[chunk].mean()) if len(chunk) else float("nan")})
    df = pd.DataFrame(rows)
    df["lift"] = df["rate"] / base if base > 0 else float("nan")
    df["share_contacted"] = df["rows"].cumsum() / len(y)
    df["share_captured"] = df["positives"].cumsum() / y.sum() if y.sum() > 0 else float("nan")
    return df


@dataclass(frozen=True)
class Confusion:
    """Counts when the rows with p >= ``threshold`` (or the ``flagged`` highest) are called positive."""

    tp: int
    fp: int
    fn: int
    tn: int
    threshold: float

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return self.tp / self.flagged if self.flagged else float("nan")

    @property
    def recall(self) -> float:
        pos = self.tp + self.fn
        return self.tp / pos if pos else float("nan")

    def matrix(self) -> pd.DataFrame:
        """2 x 2 frame: rows actual (churned / stayed), columns predicted (flagged / not flagged)."""
        return pd.DataFrame([[self.tp, self.fn], [self.fp, self.tn]], index=["actual positive", "actual negative"],
                            columns=["flagged", "not flagged"])


def confusion_at(y, p, *, threshold: float | None = None, top_n: int | None = None) -> Confusion:
    """Confusion counts at a probability ``threshold`` or for a capacity of the ``top_n`` highest scores.

    With ``top_n``, exactly ``top_n`` rows are flagged (ties broken by row order) and the
    reported threshold is the lowest flagged probability.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if (threshold is None) == (top_n is None):
        raise ValueError("give exactly one of threshold and top_n")
    if top_n is not None:
        n = int(max(0, min(top_n, len(y))))
        order = np.argsort(-p, kind="stable")
        flag = np.zeros(len(y), dtype=bool)
        flag[order[:n]] = True
        thr = float(p[order[n - 1]]) if n else 1.0
    else:
        flag = p >= threshold
        thr = float(threshold)
    tp = int((flag & (y == 1)).sum())
    fp = int((flag & (y == 0)).sum())
    fn = int((~flag & (y == 1)).sum())
    tn = int((~flag & (y == 0)).sum())
    return Confusion(tp=tp, fp=fp, fn=fn, tn=tn, threshold=thr)


def held_out_curves(holdout: pd.DataFrame) -> HeldOutCurves | None:
    """The curves and tables of a model's stored held-out rows (None when it stored none): the model's
    ROC, precision-recall and gains, per-segment metrics, and the rule score's on the same rows."""
    if holdout is None or holdout.empty or not {"y_true", "p"} <= set(holdout.columns):
        return None
    y, p = holdout["y_true"].to_numpy(), holdout["p"].to_numpy()
    rule = {}
    if "rule_risk" in holdout:
        table = rule_vs_model(holdout)
        rule = {"rule_vs_model": table, "rule_verdict": rule_verdict(table),
                "rule_roc": roc_points(y, holdout["rule_risk"].to_numpy()),
                "rule_gains": gains(y, holdout["rule_risk"].to_numpy())}
    return HeldOutCurves(y=y, p=p, base_rate=float(y.mean()) if len(y) else float("nan"), roc=roc_points(y, p),
                         pr=pr_points(y, p), gains=gains(y, p), segments=segment_metrics(holdout), **rule)
