"""The Model lab's data stored beside each model artifact: where it lives, how it is written and read.

Held-out predictions are stored beside each model artifact at registration
(:func:`save_lab_data`, called by :func:`models.registry.register_model`):
``<model id>.holdout.parquet`` holds the held-out rows (the time-split test slice, or every row's out-of-fold prediction in flat mode) with
``y_true``, ``p`` (calibrated), ``rule_risk`` (the rule health score as a risk) and the
model's features; ``<model id>.reference.parquet`` a sample of the training rows
(features and ``y_true``), the reference for drift; ``<model id>.unseen.parquet`` a sample
of rows the production model did not train on (the latest, not yet labelled, dates), which
the Explain tab explains out of sample. Models registered before this
existed have neither file; :func:`load_lab_data` then returns empty parts and the page
falls back to what the registry row stores (metrics, reliability, per segment, backtest).

Below :mod:`models.registry` (which writes these files at registration) and :mod:`models.diagnostics`
(which computes the page's figures from them); it imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

MAX_REFERENCE_ROWS = 5000
MAX_HOLDOUT_ROWS = 20000
BASE_COLUMNS = ("account_id", "obs_date", "segment", "y_true", "p", "rule_risk")


def lab_paths(artifact_path: str | Path) -> dict[str, Path]:
    """Where the held-out and reference frames of the model at ``artifact_path`` live."""
    path = Path(artifact_path)
    stem = path.name.removesuffix(".joblib")
    return {"holdout": path.with_name(f"{stem}.holdout.parquet"),
            "reference": path.with_name(f"{stem}.reference.parquet"),
            "unseen": path.with_name(f"{stem}.unseen.parquet")}


def _lab_frame(frame: pd.DataFrame, features: list[str], extra: tuple[str, ...]) -> pd.DataFrame:
    cols = [c for c in extra if c in frame.columns] + [f for f in features if f in frame.columns and f not in extra]
    out = frame[cols].reset_index(drop=True).copy()
    if "obs_date" in out:
        out["obs_date"] = out["obs_date"].astype("object").where(out["obs_date"].notna(), None).map(
            lambda v: None if v is None else str(v))
    for c in out.columns:
        if out[c].dtype == object or str(out[c].dtype) in ("category", "string"):
            out[c] = out[c].astype("object").where(out[c].notna(), None).map(lambda v: None if v is None else str(v))
    return out


def save_lab_data(artifact_path: str | Path, result) -> dict[str, Path]:
    """Write the held-out and reference frames of a :class:`models.training.TrainResult` beside its artifact.

    Does nothing for a result without them (older callers); returns the paths written.
    """
    written = {}
    paths = lab_paths(artifact_path)
    features = list(result.trained.features)
    for part, cap in (("holdout", MAX_HOLDOUT_ROWS), ("reference", MAX_REFERENCE_ROWS), ("unseen", MAX_REFERENCE_ROWS)):
        frame = getattr(result, part, None)
        if frame is None or frame.empty:
            continue
        if len(frame) > cap:
            frame = frame.sample(cap, random_state=0)
        _lab_frame(frame, features, BASE_COLUMNS).to_parquet(paths[part], index=False)
        written[part] = paths[part]
    return written


@dataclass
class LabData:
    """The stored held-out rows and training reference of one model (empty frames when not stored)."""

    holdout: pd.DataFrame
    reference: pd.DataFrame
    unseen: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_predictions(self) -> bool:
        return not self.holdout.empty and {"y_true", "p"} <= set(self.holdout.columns)


def load_lab_data(artifact_path: str | Path) -> LabData:
    paths = lab_paths(artifact_path)
    parts = {k: pd.read_parquet(p) if p.exists() else pd.DataFrame() for k, p in paths.items()}
    return LabData(holdout=parts["holdout"], reference=parts["reference"], unseen=parts["unseen"])
