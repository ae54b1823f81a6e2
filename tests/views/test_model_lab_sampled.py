"""AppTest: a model trained on a sample of the accounts (``CSAI_TRAIN_MAX_ACCOUNTS``) says so on the Model lab's
Evaluate tab, with the numbers; a model trained on every account does not."""

from __future__ import annotations

import pytest

import cli as cli_module
from models.registry import list_models
from tests.support.apptest import run_app
from tests.support.workspaces import served_copy

LAB = "views/model_lab.py"


@pytest.fixture(scope="module")
def sampled_model(sample_workspace_path, tmp_path_factory):
    with served_copy(sample_workspace_path, tmp_path_factory.mktemp("sampled_lab") / "ws") as ws:
        before = {r.id for r in list_models(ws.engine)}
        mp = pytest.MonkeyPatch()
        mp.setenv("CSAI_TRAIN_MAX_ACCOUNTS", "150")
        try:
            assert cli_module.main(["--workspace", str(ws.path), "train", "--algorithm", "logreg"]) == 0
        finally:
            mp.undo()
        (new,) = [r for r in list_models(ws.engine) if r.id not in before]
        yield ws, new


def test_the_evaluate_tab_says_the_model_observed_a_sample(sampled_model):
    ws, record = sampled_model
    rows = record.evaluation.training_rows
    assert rows["accounts_observed"] == 150 and rows["accounts_total"] > 150
    at = run_app("datasci", LAB, {"tab": "Evaluate", "model": record.id})
    captions = " ".join(c.value for c in at.caption)
    assert (f"Trained and tested on a fixed sample of 150 of {rows['accounts_total']:,} accounts "
            "(CSAI_TRAIN_MAX_ACCOUNTS)") in captions


def test_a_model_trained_on_every_account_says_nothing_of_a_sample(sampled_model):
    from models.registry import production_model

    ws, _ = sampled_model
    prod = production_model(ws.engine, "churn")
    at = run_app("datasci", LAB, {"tab": "Evaluate", "model": prod.id})
    assert "fixed sample" not in " ".join(c.value for c in at.caption)
