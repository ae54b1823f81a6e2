"""One training pipeline for the CLI (``cli.py train``) and the Model lab: observations, train, register.

:func:`train_and_register` is the only place that strings the steps together, so the
command line and the page cannot drift apart. It reports :class:`models.progress.Progress`
events through ``say``.
"""

from __future__ import annotations

import time
from dataclasses import replace

from data.errors import UserError
from models.explain import feature_group
from models.observations import ObservationSet, build_observations
from models.progress import Say, progress
from models.registry import ModelRecord, promote, register_model
from models.training import TrainConfig, TrainResult, train


def restrict_groups(obs: ObservationSet, groups: list[str] | None) -> ObservationSet:
    """The observation set with only the features whose catalog group is in ``groups`` (None = all)."""
    if not groups:
        return obs
    numeric = [f for f in obs.numeric if feature_group(obs.catalog, f) in groups]
    categorical = [f for f in obs.categorical if feature_group(obs.catalog, f) in groups]
    if not numeric and not categorical:
        raise UserError("The chosen feature groups have no metrics in this workspace; pick more groups.")
    return replace(obs, numeric=numeric, categorical=categorical)


def train_and_register(ws, config: TrainConfig, *, actor: str, groups: list[str] | None = None,
                       observations: ObservationSet | None = None, make_production: bool = False,
                       say: Say | None = None) -> tuple[ModelRecord, TrainResult]:
    """Train one model on the workspace ``ws`` and register it; returns ``(record, result)``.

    ``groups`` limits the features to those metric groups (recorded as ``feature_groups`` on the
    registry row). ``observations`` are rows built elsewhere (the Spark engine); otherwise they
    are built here from ``config``. ``make_production`` promotes the new model; else it stays a
    candidate. Raises :class:`data.errors.UserError` for settings out of range or an empty
    workspace, before anything is written.
    """
    say = say or (lambda _event: None)
    config.validate()
    if not ws.warehouse.has_data():
        raise UserError("The workspace has no data; run `cli.py demo` or import data first.")
    started = time.perf_counter()
    with ws.warehouse.reader() as con:
        if observations is None:
            say(progress("observations", "Building observation rows (one per account and observation date)...",
                         within=0.1))
            observations = build_observations(con, horizon_days=config.horizon_days, lead_days=config.lead_days,
                                              gap_days=config.gap_days, cadence=config.cadence)
        observations = restrict_groups(observations, groups)
        say(progress("observations", f"{len(observations.frame):,} observation rows, "
                                     f"{len(observations.features)} features; training...", within=0.9))
        result = train(con, config, observations=observations, say=say)
    result.evaluation.train_seconds = time.perf_counter() - started
    result.evaluation.feature_groups = list(groups) if groups else None
    say(progress("registering", "Registering the model as a candidate...", within=0))
    record = register_model(ws.engine, ws.settings.models_dir, result, actor=actor)
    if make_production:
        record = promote(ws.engine, record.id, actor=actor)
    say(progress("done", f"Done: model {record.id}."))
    return record, result
