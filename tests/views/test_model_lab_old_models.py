"""AppTest: a model registered before ModelEvaluation (its registry row in the older flat shape) still opens on
every Model lab tab that reads a model, with its figures."""

from __future__ import annotations

import pytest

from tests.support.apptest import run_app, signed_in
from tests.support.old_registry import store_in_old_shape
from tests.support.workspaces import served_copy

LAB = "views/model_lab.py"


@pytest.fixture(scope="module")
def old_model(sample_workspace_path, tmp_path_factory):
    """A copy of the sample workspace whose production churn model's registry row is in the old shape."""
    from models.registry import production_model

    with served_copy(sample_workspace_path, tmp_path_factory.mktemp("old_lab_ws") / "ws") as ws:
        prod = production_model(ws.engine, "churn")
        assert "details" in store_in_old_shape(ws.engine, prod.id)
        yield ws, prod


@pytest.mark.parametrize("tab", ["Evaluate", "Rule score vs ML", "Compare", "Explain", "Promote", "Drift"])
def test_the_model_lab_opens_a_model_stored_in_the_old_shape(old_model, tab):
    ws, prod = old_model
    at = run_app("datasci", LAB, {"tab": tab, "model": prod.id})
    assert not at.exception, at.exception
    assert signed_in(at) and not [i.value for i in at.info if "signed out" in i.value]
    if tab == "Evaluate":
        held_out = next(m.value for m in at.metric if m.label == "Held-out rows")
        assert f"{prod.evaluation.n_test:,}" in held_out
        captions = " ".join(c.value for c in at.caption)
        assert f"calibrated with {prod.evaluation.calibration.method}" in captions
        assert "95% intervals (bootstrap over accounts" in captions
        backtest = next(d.value for d in at.dataframe if "rule_roc_auc" in d.value.columns)
        assert len(backtest) == len(prod.evaluation.backtest)
    if tab == "Rule score vs ML":
        rule = next(d.value for d in at.dataframe if "score" in d.value.columns)
        assert "Rule health score" in set(rule["score"])
