"""SHAP values of a sample of rows, for the Model lab's importance, beeswarm and dependence charts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.explain import Explanation


@dataclass
class ShapSample:
    """The explanation of a sample of rows (log-odds SHAP, folded to features) and the categorical features."""

    explanation: Explanation
    categorical: list[str]

    @property
    def features(self) -> pd.DataFrame:
        return self.explanation.data

    @property
    def values(self) -> pd.DataFrame:
        return self.explanation.values

    @property
    def labels(self) -> dict[str, str]:
        return self.explanation.labels

    @property
    def groups(self) -> dict[str, str]:
        return self.explanation.groups

    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature: feature, label, group, mean_abs_shap (largest first)."""
        return self.explanation.importance()

    def group_importance(self) -> pd.DataFrame:
        """Mean |sum of SHAP over the group's features| per group, largest first."""
        return self.explanation.group_importance()

    def beeswarm(self, top: int = 12) -> pd.DataFrame:
        """Long frame for a beeswarm: label, shap, value (text) and colour (0-1 rank of the value; NaN for categories)."""
        parts = []
        for f in self.importance()["feature"].head(top):
            v = self.features[f]
            colour = (pd.to_numeric(v, errors="coerce").rank(pct=True) if f not in self.categorical
                      else pd.Series(np.nan, index=v.index))
            parts.append(pd.DataFrame({"feature": f, "label": self.labels[f], "shap": self.values[f].to_numpy(),
                                       "value": v.astype("object").where(v.notna(), None).map(
                                           lambda x: "missing" if x is None else (f"{x:.4g}" if isinstance(
                                               x, float | np.floating) else str(x))).to_numpy(),
                                       "colour": colour.to_numpy()}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["feature", "label", "shap", "value", "colour"])

    def dependence(self, feature: str) -> pd.DataFrame:
        """value and shap of one feature per sampled row (rows with a missing value dropped)."""
        v = self.features[feature]
        df = pd.DataFrame({"value": v.to_numpy(), "shap": self.values[feature].to_numpy()})
        return df[df["value"].notna()].reset_index(drop=True)


def shap_sample(trained, frame: pd.DataFrame, *, max_rows: int = 800, seed: int = 0) -> ShapSample:
    """Explain a sample of ``frame`` (e.g. the held-out rows) with the model's own SHAP."""
    rows = frame if len(frame) <= max_rows else frame.sample(max_rows, random_state=seed)
    rows = rows.reset_index(drop=True).copy()
    for f in trained.numeric:
        if f in rows:
            rows[f] = pd.to_numeric(rows[f], errors="coerce").astype(float)
        else:
            rows[f] = np.nan
    for f in trained.categorical:
        if f not in rows:
            rows[f] = None
    expl = trained.explain(rows)
    feats = expl.feature_names
    expl = replace(expl, values=expl.values.reset_index(drop=True), data=rows[feats])
    return ShapSample(explanation=expl, categorical=[f for f in feats if f in trained.categorical])
