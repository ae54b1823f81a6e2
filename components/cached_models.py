"""Cached Model lab reads, and the background training jobs.

Per-model results (held-out rows, curves, SHAP sample) are keyed by the model id: a
registered model never changes, so they stay valid until evicted. Reads that depend on
the warehouse (observation rows, latest features, drift, data health) are keyed by the
data version too. The lab is only open to roles that see every account, so nothing here
is scoped to a book; the viewer is not part of the key.

Training runs in a worker thread owned by :class:`TrainingJobs` (one per server
process), keyed by the form's submission token: a double click or a rerun while
training finds the running job instead of starting a second one, and a model is
registered even if the user leaves the page.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from components.session import cursor, data_version, workspace
from data.errors import UserError
from data.health import data_health
from models import lab
from models.observations import build_observations
from models.pipeline import train_and_register
from models.progress import Progress, fraction_of
from models.registry import ModelRecord, get_model, list_models, load_model
from models.scoring import features_as_of


def models(target: str | None = None) -> list[ModelRecord]:
    """Registry rows, newest first (not cached: a promotion must show at once; it is one small query)."""
    return list_models(workspace().engine, target)


def model(model_id: str) -> ModelRecord:
    return get_model(workspace().engine, model_id)


@st.cache_resource(show_spinner=False, max_entries=8)
def trained_model(model_id: str, sha256: str):
    """The loaded artifact (checksum-verified), shared across sessions."""
    return load_model(model(model_id))


@st.cache_data(show_spinner=False, max_entries=16)
def _lab_data(model_id: str, artifact_path: str) -> lab.LabData:
    return lab.load_lab_data(artifact_path)


def lab_data(record: ModelRecord) -> lab.LabData:
    return _lab_data(record.id, record.artifact_path)


@st.cache_data(show_spinner=False, max_entries=16)
def _evaluation(model_id: str, artifact_path: str) -> dict:
    data = lab.load_lab_data(artifact_path)
    if not data.has_predictions:
        return {}
    h = data.holdout
    y, p = h["y_true"].to_numpy(), h["p"].to_numpy()
    out = {"y": y, "p": p, "roc": lab.roc_points(y, p), "pr": lab.pr_points(y, p), "gains": lab.gains(y, p),
           "segments": lab.segment_metrics(h), "base_rate": float(y.mean()) if len(y) else float("nan")}
    if "rule_risk" in h:
        out["rule_vs_model"] = lab.rule_vs_model(h)
        out["rule_verdict"] = lab.rule_verdict(out["rule_vs_model"])
        out["rule_roc"] = lab.roc_points(y, h["rule_risk"].to_numpy())
        out["rule_gains"] = lab.gains(y, h["rule_risk"].to_numpy())
    return out


def evaluation(record: ModelRecord) -> dict:
    """Curves and tables from the model's stored held-out predictions ({} when none were stored)."""
    return _evaluation(record.id, record.artifact_path)


@st.cache_data(show_spinner=False, max_entries=8)
def _shap(model_id: str, sha256: str, artifact_path: str) -> tuple[lab.ShapSample | None, bool]:
    data = lab.load_lab_data(artifact_path)
    if not data.unseen.empty:
        return lab.shap_sample(trained_model(model_id, sha256), data.unseen), False
    frame = data.holdout if not data.holdout.empty else data.reference
    if frame.empty:
        return None, True
    return lab.shap_sample(trained_model(model_id, sha256), frame), True


def shap_sample(record: ModelRecord) -> tuple[lab.ShapSample | None, bool]:
    """SHAP values of up to 800 rows and whether they are in-sample.

    Out of sample when the model stored rows it did not train on (the latest, unlabelled
    dates); otherwise the held-out rows, which the production model (refitted on every
    labelled date) did train on: in-sample. (None, True) when the model has no stored rows.
    """
    return _shap(record.id, record.artifact_sha256, record.artifact_path)


@st.cache_data(show_spinner=False, max_entries=16)
def _difference(a_id: str, a_path: str, b_id: str, b_path: str) -> tuple[dict, str]:
    a, b = lab.load_lab_data(a_path), lab.load_lab_data(b_path)
    return lab.difference_intervals(a.holdout if a.has_predictions else None,
                                    b.holdout if b.has_predictions else None)


def difference(a: ModelRecord, b: ModelRecord) -> tuple[dict, str]:
    """Intervals of metric(A) - metric(B) (paired on shared held-out rows, else unpaired; from the
    stored intervals when a model has no held-out rows) and how they were obtained."""
    intervals, how = _difference(a.id, a.artifact_path, b.id, b.artifact_path)
    if not intervals:
        intervals, how = lab.stored_difference(a, b), "stored"
    return intervals, how


@st.cache_data(show_spinner=False, max_entries=2, ttl=3600)
def _observations(version: str, horizon_days: int, lead_days: int) -> dict:
    obs = build_observations(cursor(), horizon_days=horizon_days, lead_days=lead_days)
    return {"frame": obs.labelled(), "numeric": obs.numeric, "categorical": obs.categorical,
            "catalog": obs.catalog, "mode": obs.mode}


def observations(horizon_days: int = 90, lead_days: int = 0) -> dict:
    """Labelled observation rows of the workspace (frame, numeric, categorical, catalog, mode)."""
    return _observations(data_version(), int(horizon_days), int(lead_days))


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _cohorts(version: str, horizon_days: int, lead_days: int, metric: str, target: str) -> pd.DataFrame:
    obs = observations(horizon_days, lead_days)
    frame = obs["frame"]
    label = "label_churn" if target == "churn" else "label_expansion"
    return lab.decile_cohorts(frame[metric], frame[label], categorical=metric in obs["categorical"])


def cohorts(metric: str, target: str = "churn", horizon_days: int = 90, lead_days: int = 0) -> pd.DataFrame:
    return _cohorts(data_version(), int(horizon_days), int(lead_days), metric, target)


@st.cache_data(show_spinner=False, max_entries=2, ttl=3600)
def _current_features(version: str) -> pd.DataFrame:
    return features_as_of(cursor())


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _drift(version: str, model_id: str, sha256: str, artifact_path: str) -> pd.DataFrame | None:
    reference = lab.load_lab_data(artifact_path).reference
    if reference.empty:
        return None
    return lab.drift_table(reference, _current_features(version), trained_model(model_id, sha256))


def drift(record: ModelRecord) -> pd.DataFrame | None:
    """PSI per feature between the model's training rows and the accounts as of the latest data."""
    return _drift(data_version(), record.id, record.artifact_sha256, record.artifact_path)


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _health(version: str, today) -> dict:
    return data_health(workspace().warehouse, today)


def health(today) -> dict:
    return _health(data_version(), today)


# --------------------------------------------------------------------------- training jobs
@dataclass
class TrainingJob:
    """One training run in a worker thread; its :class:`~models.progress.Progress` events grow as it goes."""

    key: str
    settings: dict
    started: float = field(default_factory=time.time)
    events: list[Progress] = field(default_factory=list)
    record: ModelRecord | None = None
    summary: dict | None = None
    error: str | None = None
    finished: float | None = None

    @property
    def done(self) -> bool:
        return self.finished is not None

    @property
    def messages(self) -> list[str]:
        """The log so far, one line per event."""
        return [str(e).strip() for e in self.events]

    @property
    def fraction(self) -> float:
        """How far the run is (0 to 1), from the events' stages: 1 once it has finished."""
        return 1.0 if self.done else max(0.02, fraction_of(self.events))


class TrainingJobs:
    """Process-wide registry of training jobs keyed by submission token (idempotent start)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}

    def get(self, key: str) -> TrainingJob | None:
        return self._jobs.get(key)

    def start(self, key: str, ws, config, *, groups: list[str] | None, actor: str) -> TrainingJob:
        """Start training for ``key`` unless a job with this key exists; returns the job either way."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                return job
            job = TrainingJob(key=key, settings={"target": config.target, "algorithm": config.algorithm,
                                                 "horizon_days": config.horizon_days, "lead_days": config.lead_days,
                                                 "groups": list(groups or [])})
            self._jobs[key] = job

        def run() -> None:
            try:
                record, result = train_and_register(ws, config, groups=groups, actor=actor, say=job.events.append)
                job.summary = result.summary(record.id)
                job.record = record
            except UserError as exc:
                job.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - shown to the user as a message, logged with the trace

                logging.getLogger(__name__).exception("training failed")
                job.error = f"Training failed: {exc}"
            finally:
                job.finished = time.time()

        threading.Thread(target=run, name=f"train-{key}", daemon=True).start()
        return job


@st.cache_resource(show_spinner=False)
def training_jobs() -> TrainingJobs:
    return TrainingJobs()
