"""Model registry: every trained model's id, metadata, artifact checksum and status.

Rows live in the operational store (table ``model_registry``); artifacts are joblib
files under ``settings.models_dir`` whose SHA-256 is recorded and verified on load.
Status is ``candidate`` (new), ``production`` (at most one per target) or ``archived``.
Promotion archives the previous production model of the target and writes an audit row.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import joblib
import sqlalchemy as sa

from data.errors import UserError
from data.opstore import audit, metadata, now
from models.artifacts import save_lab_data
from models.evaluation import clean_json
from models.model_evaluation import ModelEvaluation

STATUSES = ("candidate", "production", "archived")

model_registry = sa.Table(
    "model_registry",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("target", sa.String(20), nullable=False),
    sa.Column("algorithm", sa.String(20), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("features", sa.Text, nullable=False),
    sa.Column("training_start", sa.String(20), nullable=True),
    sa.Column("training_end", sa.String(20), nullable=True),
    sa.Column("horizon_days", sa.Integer, nullable=True),
    sa.Column("validation", sa.String(20), nullable=True),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("artifact_path", sa.String(1000), nullable=False),
    sa.Column("artifact_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="candidate"),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=True),
    sa.Index("ix_model_registry_target_status", "target", "status"),
)


@dataclass(frozen=True)
class ModelRecord:
    """One registry row, JSON columns decoded."""

    id: str
    target: str
    algorithm: str
    params: dict
    features: list[str]
    training_start: str | None
    training_end: str | None
    horizon_days: int | None
    validation: str | None
    evaluation: ModelEvaluation  # the ``metrics`` column (either stored shape), see models.model_evaluation
    artifact_path: str
    artifact_sha256: str
    status: str
    created_at: datetime
    created_by: str | None


def _record(row) -> ModelRecord:
    m = row._mapping
    return ModelRecord(id=m["id"], target=m["target"], algorithm=m["algorithm"], params=json.loads(m["params"]),
                       features=json.loads(m["features"]), training_start=m["training_start"],
                       training_end=m["training_end"], horizon_days=m["horizon_days"], validation=m["validation"],
                       evaluation=ModelEvaluation.from_json(json.loads(m["metrics"]), validation=m["validation"]),
                       artifact_path=m["artifact_path"],
                       artifact_sha256=m["artifact_sha256"], status=m["status"], created_at=m["created_at"],
                       created_by=m["created_by"])


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def new_model_id(target: str, algorithm: str) -> str:
    return f"{target}-{algorithm}-{now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def register_model(engine: sa.Engine, models_dir: str | Path, result, *, actor: str = "cli") -> ModelRecord:
    """Save ``result.trained`` as an artifact and add a ``candidate`` row; returns the record.

    ``result`` is a :class:`models.training.TrainResult`; the ``metrics`` column stores its
    :class:`~models.model_evaluation.ModelEvaluation` as JSON (:meth:`~ModelEvaluation.to_json`).
    """
    trained = result.trained
    model_id = new_model_id(trained.target, trained.algorithm)
    folder = Path(models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model_id}.joblib"
    tmp = folder / f".{model_id}.tmp"
    joblib.dump(trained, tmp, compress=3)
    tmp.replace(path)
    digest = sha256_file(path)
    save_lab_data(path, result)
    evaluation = result.evaluation.to_json()
    row = {
        "id": model_id, "target": trained.target, "algorithm": trained.algorithm,
        "params": json.dumps(clean_json(trained.params), sort_keys=True),
        "features": json.dumps(trained.features), "training_start": trained.training_window[0],
        "training_end": trained.training_window[1], "horizon_days": trained.horizon_days,
        "validation": result.evaluation.validation, "metrics": json.dumps(evaluation, sort_keys=True),
        "artifact_path": str(path), "artifact_sha256": digest, "status": "candidate", "created_at": now(),
        "created_by": actor,
    }
    with engine.begin() as conn:
        conn.execute(model_registry.insert().values(**row))
        audit(conn, actor, "model.register", model_id, model_target=trained.target, algorithm=trained.algorithm,
              roc_auc=evaluation["metrics"].get("roc_auc"))
    return get_model(engine, model_id)


def get_model(engine: sa.Engine, model_id: str) -> ModelRecord:
    with engine.connect() as conn:
        row = conn.execute(sa.select(model_registry).where(model_registry.c.id == model_id)).first()
    if row is None:
        raise UserError(f"No model with id {model_id!r}; run `cli.py train` or pick one from the model list.")
    return _record(row)


def list_models(engine: sa.Engine, target: str | None = None) -> list[ModelRecord]:
    """Newest first."""
    q = sa.select(model_registry).order_by(model_registry.c.created_at.desc(), model_registry.c.id.desc())
    if target:
        q = q.where(model_registry.c.target == target)
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(q)]


def production_model(engine: sa.Engine, target: str) -> ModelRecord | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(model_registry).where(model_registry.c.target == target,
                                                           model_registry.c.status == "production")).first()
    return _record(row) if row else None


def promote(engine: sa.Engine, model_id: str, *, actor: str = "cli") -> ModelRecord:
    """Make ``model_id`` the production model of its target; the previous one is archived."""
    record = get_model(engine, model_id)
    with engine.begin() as conn:
        previous = conn.execute(sa.select(model_registry.c.id).where(
            model_registry.c.target == record.target, model_registry.c.status == "production",
            model_registry.c.id != model_id)).scalars().all()
        if previous:
            conn.execute(model_registry.update().where(model_registry.c.id.in_(previous)).values(status="archived"))
        conn.execute(model_registry.update().where(model_registry.c.id == model_id).values(status="production"))
        audit(conn, actor, "model.promote", model_id, model_target=record.target, replaced=previous)
    return get_model(engine, model_id)


def set_status(engine: sa.Engine, model_id: str, status: str, *, actor: str = "cli") -> None:
    if status not in STATUSES:
        raise UserError(f"Status must be one of {', '.join(STATUSES)}.")
    if status == "production":
        promote(engine, model_id, actor=actor)
        return
    with engine.begin() as conn:
        conn.execute(model_registry.update().where(model_registry.c.id == model_id).values(status=status))
        audit(conn, actor, f"model.{status}", model_id)


def load_model(record: ModelRecord):
    """Load a model artifact after checking its SHA-256 against the registry."""
    path = Path(record.artifact_path)
    if not path.exists():
        raise UserError(f"The artifact of model {record.id} is missing ({path}); retrain the model.")
    digest = sha256_file(path)
    if digest != record.artifact_sha256:
        raise UserError(f"The artifact of model {record.id} does not match its checksum; it was changed on disk. "
                        "Retrain the model.")
    return joblib.load(path)
