"""Explanations: per-account SHAP drivers as sentences, and global importance.

SHAP values come from the models' ``explain`` (exact TreeSHAP for LightGBM, linear
SHAP for logistic regression), already folded to source features and in log-odds.
Positive values raise the predicted probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.metrics import render_sentence

DRIVER_COLUMNS = ["account_id", "feature", "label", "group", "value", "shap", "sentence", "rank"]


def _value_text(v) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float | np.floating) and np.isnan(v)):
        return None
    if isinstance(v, float | np.floating):
        return f"{float(v):.6g}"
    return str(v)


def top_drivers(trained, frame: pd.DataFrame, shap: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` largest-|SHAP| features per row of ``frame`` with label, group, value and sentence."""
    values = shap.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    cols = np.array(shap.columns)
    rows = []
    for i, acc in enumerate(frame["account_id"].to_numpy()):
        for r, j in enumerate(order[i]):
            f = cols[j]
            metric = trained.catalog.get(f)
            v = frame[f].iat[i] if f in frame.columns else None
            rows.append((acc, f, metric.label if metric else f, metric.group if metric else "Firmographic",
                         _value_text(v), float(values[i, j]),
                         render_sentence(metric, v) if metric else f"{f} is {v}", r + 1))
    return pd.DataFrame(rows, columns=DRIVER_COLUMNS)


def global_importance(trained, frame: pd.DataFrame, max_rows: int = 3000) -> pd.DataFrame:
    """Mean |SHAP| per feature (log-odds) over ``frame``, with catalog label and group, largest first."""
    rows = frame if len(frame) <= max_rows else frame.sample(max_rows, random_state=0)
    shap = trained.explain(rows).values
    mean_abs = shap.abs().mean(axis=0).sort_values(ascending=False)
    out = pd.DataFrame({"feature": mean_abs.index, "mean_abs_shap": mean_abs.to_numpy()})
    out["label"] = [trained.catalog[f].label if f in trained.catalog else f for f in out["feature"]]
    out["group"] = [trained.catalog[f].group if f in trained.catalog else "Firmographic" for f in out["feature"]]
    return out[["feature", "label", "group", "mean_abs_shap"]].reset_index(drop=True)


def group_importance(importance: pd.DataFrame) -> pd.DataFrame:
    """Global importance summed per driver group, largest first."""
    return (importance.groupby("group", as_index=False)["mean_abs_shap"].sum()
            .sort_values("mean_abs_shap", ascending=False).reset_index(drop=True))


def driver_sentences(trained, row: pd.Series, shap_row: pd.Series, k: int = 5) -> list[str]:
    """Top ``k`` drivers of one row as sentences, strongest first."""
    order = shap_row.abs().sort_values(ascending=False).index[:k]
    return [render_sentence(trained.catalog[f], row[f]) for f in order if f in trained.catalog]
