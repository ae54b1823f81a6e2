"""One training pipeline with progress as data: the CLI and the Model lab both run
``models.pipeline.train_and_register``, which reports ``Progress(stage, fraction, message)`` events."""

from __future__ import annotations

import pytest

import cli as cli_module
from data.workspace import open_workspace
from models import pipeline
from models.progress import STAGES, Progress
from models.registry import list_models
from models.training import TrainConfig
from tests.support.synthetic import make_company, write_company


@pytest.fixture(scope="module")
def company_ws(tmp_path_factory):
    ws = open_workspace(str(tmp_path_factory.mktemp("pipeline") / "ws"))
    write_company(ws.warehouse, make_company(n=120, months=15, seed=5))
    return ws


FAST = dict(algorithm="logreg", backtest_cutoffs=1, leakage_check=False, bootstrap_draws=50)


def test_training_reports_progress_events_in_stage_order(company_ws, monkeypatch):
    from models import candidates as candidate_search
    from models import time_training

    chosen: list = []
    real_select = time_training.select_candidates
    monkeypatch.setattr(time_training, "select_candidates", lambda *a, **k: chosen.append(real_select(*a, **k)) or chosen[-1])
    events: list = []
    record, result = pipeline.train_and_register(company_ws, TrainConfig(**FAST), actor="test",
                                                 groups=["Usage", "Billing"], say=events.append)
    candidates = chosen[0]  # the model choice: typed candidates, best first, the first one trained
    assert candidates and all(isinstance(c, candidate_search.Candidate) for c in candidates)
    assert [c.auc for c in candidates] == sorted((c.auc for c in candidates), reverse=True)
    assert result.trained.algorithm == candidates[0].algorithm == "logreg"
    assert result.trained.params == candidates[0].params
    assert events and all(isinstance(e, Progress) for e in events)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 0.2
    order = list(STAGES)
    assert [order.index(e.stage) for e in events] == sorted(order.index(e.stage) for e in events)
    assert {"observations", "model_choice", "evaluation", "registering", "done"} <= {e.stage for e in events}
    assert events[-1].stage == "done" and events[-1].fraction == 1.0 and record.id in events[-1].message
    assert str(events[0]) == events[0].message  # a log prints the message
    assert record.evaluation.feature_groups == ["Usage", "Billing"] and record.status == "candidate"
    assert {f for f in result.trained.features} and all(
        result.trained.catalog[f].group in ("Usage", "Billing") for f in result.trained.features
        if f in result.trained.catalog)


def test_the_cli_trains_through_the_same_pipeline(company_ws, monkeypatch, capsys):
    calls = []
    real = pipeline.train_and_register

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "train_and_register", spy)
    before = {r.id for r in list_models(company_ws.engine)}
    code = cli_module.main(["--workspace", str(company_ws.path), "train", "--algorithm", "logreg", "--promote"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(calls) == 1 and calls[0]["make_production"] is True and calls[0]["actor"] == "cli"
    new = [r for r in list_models(company_ws.engine) if r.id not in before]
    assert len(new) == 1 and new[0].status == "production"
    assert "observation rows" in out and "Promoted to production." in out


def test_the_model_lab_progress_bar_follows_stages_not_wording():
    from components.cached_models import TrainingJob

    job = TrainingJob(key="k", settings={})
    assert job.fraction == 0.02  # started, nothing reported yet
    job.events.append(Progress("model_choice", 0.6, "a message worded in any way at all"))
    assert job.fraction == 0.6
    job.events.append(Progress("evaluation", 0.9, "chose nothing; left out nothing"))
    assert job.fraction == 0.9 and job.messages[-1] == "chose nothing; left out nothing"
    job.finished = job.started + 1
    assert job.fraction == 1.0
