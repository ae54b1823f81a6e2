"""Turn a metric frame into a numeric model matrix, and fold model columns back.

Numeric metrics pass through (NaN kept: trees use it, the linear model imputes it);
categorical metrics are one-hot encoded with rare levels pooled into ``__other__``.
Every model column remembers its *source feature*, so SHAP values of ``segment=SMB``
and ``segment=ENT`` fold back into ``segment``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OTHER = "__other__"


class FeatureEncoder:
    """One-hot encoder for categorical metrics; numeric metrics pass through.

    Parameters are keyword-only; learned state: ``levels_`` (category -> kept levels),
    ``columns_`` (model columns, in order) and ``source_`` (model column -> feature).
    """

    def __init__(self, *, numeric: list[str], categorical: list[str], max_levels: int = 30, min_count: int = 5):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.max_levels = max_levels
        self.min_count = min_count

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        self.levels_: dict[str, list[str]] = {}
        for col in self.categorical:
            counts = frame[col].astype("object").dropna().astype(str).value_counts()
            kept = [lvl for lvl, n in counts.items() if n >= self.min_count][: self.max_levels]
            self.levels_[col] = sorted(kept)
        self.columns_: list[str] = list(self.numeric)
        self.source_: dict[str, str] = {c: c for c in self.numeric}
        for col in self.categorical:
            for lvl in [*self.levels_[col], OTHER]:
                name = f"{col}={lvl}"
                self.columns_.append(name)
                self.source_[name] = col
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        parts = {c: pd.to_numeric(frame[c], errors="coerce").astype(float).to_numpy() if c in frame
                 else np.full(len(frame), np.nan) for c in self.numeric}
        for col in self.categorical:
            raw = frame[col] if col in frame else pd.Series([None] * len(frame), index=frame.index)
            values = raw.astype("object").where(raw.notna(), None).map(lambda v: None if v is None else str(v))
            kept = set(self.levels_[col])
            for lvl in self.levels_[col]:
                parts[f"{col}={lvl}"] = (values == lvl).to_numpy(dtype=float)
            parts[f"{col}={OTHER}"] = values.map(lambda v, k=kept: v is not None and v not in k).to_numpy(dtype=float)
        return pd.DataFrame(parts, index=frame.index)[self.columns_]

    @property
    def features(self) -> list[str]:
        """Source feature names (numeric then categorical)."""
        return [*self.numeric, *self.categorical]


def fold_columns(values: pd.DataFrame, source: dict[str, str], features: list[str]) -> pd.DataFrame:
    """Sum model-column contributions into their source features (one column per feature)."""
    out = pd.DataFrame(0.0, index=values.index, columns=features)
    for col in values.columns:
        out[source[col]] += values[col].to_numpy()
    return out
