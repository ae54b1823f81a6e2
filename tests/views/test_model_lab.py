"""AppTest of the Model lab: every tab for the roles that may open it, denial for the others,
training from the form, comparing two models and promoting one (audited)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.apptest import run_app
from tests.support.workspaces import served_copy

LAB = "views/model_lab.py"
TABS = ["Data health", "Train", "Evaluate", "Explain", "Cohorts", "Rule score vs ML", "Compare", "Promote", "Drift"]


@pytest.fixture(scope="module")
def lab_store(request):
    """The operational store of the lab workspace in tests marked ``stores`` (None: the environment's)."""
    return getattr(request, "param", None)


@pytest.fixture(scope="module")
def lab_ws(lab_store, sample_workspace_path, tmp_path_factory, request):
    """A private copy of the sample workspace (this module trains and promotes models in it).

    On PostgreSQL its operational store (registry, audit) is a private PostgreSQL copy of the sample's,
    served as ``CSAI_DATABASE_URL`` while the module's tests that use it run.
    """
    with pytest.MonkeyPatch.context() as mp:
        if lab_store == "sqlite":
            mp.delenv("CSAI_DATABASE_URL", raising=False)
        elif lab_store == "postgresql":
            from data.workspace import open_workspace
            from tests.support.postgres import store_copy

            source = open_workspace(str(sample_workspace_path)).settings.database_url
            mp.setenv("CSAI_DATABASE_URL", store_copy(request.getfixturevalue("postgres_url"),
                                                      request.getfixturevalue("postgres_template"), source))
        with served_copy(sample_workspace_path, tmp_path_factory.mktemp("lab_ws") / "ws") as ws:
            if lab_store:
                assert ws.engine.dialect.name == lab_store
            yield ws


@pytest.fixture()
def candidate(lab_ws):
    """A candidate churn model in the lab workspace: the one an earlier test trained, or a new one (CLI).

    Lets the Compare and Promote tests run in any order, alone or after the Train-form test.
    """
    import subprocess
    import sys

    from models.registry import list_models

    found = [r for r in list_models(lab_ws.engine, "churn") if r.status == "candidate"]
    if not found:
        root = Path(__file__).resolve().parents[2]
        proc = subprocess.run([sys.executable, str(root / "cli.py"), "--workspace", str(lab_ws.path), "train",
                               "--algorithm", "logreg", "--json"], capture_output=True, text=True, cwd=root,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        found = [r for r in list_models(lab_ws.engine, "churn") if r.status == "candidate"]
    return found[0]


def open_tab(username: str, tab: str, params: dict | None = None):
    return run_app(username, LAB, {"tab": tab, **(params or {})})


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def chart_keys(at) -> set[str]:
    return {c.key for c in at.get("plotly_chart") if c.key}


EXPECTED_CHARTS = {
    "Evaluate": {"eval_roc", "eval_pr", "eval_reliability", "eval_gains", "eval_lift", "eval_confusion", "eval_backtest"},
    "Explain": {"explain_importance", "explain_groups", "explain_beeswarm", "explain_dependence"},
    "Cohorts": {"cohort_chart"},
    "Rule score vs ML": {"rule_roc", "rule_gains", "rule_backtest"},
    "Compare": {"compare_roc", "compare_reliability"},
    "Drift": {"drift_chart"},
}


@pytest.mark.stores(fixture="lab_store", scope="module")
@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_for_a_data_scientist(lab_ws, tab):
    check_tab("datasci", tab)


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_for_an_admin(lab_ws, tab):
    check_tab("admin", tab)


def check_tab(username: str, tab: str) -> None:
    at = open_tab(username, tab)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Model lab"
    assert EXPECTED_CHARTS.get(tab, set()) <= chart_keys(at)
    if EXPECTED_CHARTS.get(tab):
        assert "How to read this" in captions(at)


@pytest.mark.parametrize("username", ["manager", "csm1"])
def test_other_roles_are_denied(lab_ws, username):
    at = open_tab(username, "Evaluate")
    assert not at.exception
    assert any("cannot open Model lab" in w.value for w in at.warning)
    assert not at.get("plotly_chart")


@pytest.mark.stores(fixture="lab_store", scope="module")
def test_confusion_follows_the_capacity_slider(lab_ws):
    from models.registry import production_model

    record = production_model(lab_ws.engine, "churn")
    at = open_tab("datasci", "Evaluate")
    at.slider(key="eval_top_n").set_value(25).run()
    assert not at.exception
    flagged = next(m for m in at.metric if m.label == "Flagged")
    assert flagged.value == "25"
    assert f"{record.evaluation.n_test:,}" in next(m.value for m in at.metric if m.label == "Held-out rows")


@pytest.mark.stores(fixture="lab_store", scope="module")
@pytest.mark.slow
def test_train_form_registers_a_candidate(lab_ws):
    from models.registry import list_models

    before = {r.id for r in list_models(lab_ws.engine)}
    at = open_tab("datasci", "Train")
    at.selectbox(key="train_algorithm").set_value("logreg")
    at.multiselect(key="train_groups").set_value(["Usage", "Adoption", "Support", "Billing", "Contract"])
    next(b for b in at.button if b.label == "Train model").click()
    at.run(timeout=180)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    new = [r for r in list_models(lab_ws.engine) if r.id not in before]
    assert len(new) == 1
    record = new[0]
    assert (record.target, record.algorithm, record.status, record.created_by) == ("churn", "logreg", "candidate",
                                                                                    "datasci")
    assert record.evaluation.feature_groups == ["Usage", "Adoption", "Support", "Billing", "Contract"]
    assert any(record.id in s.value for s in at.success)
    # a rerun (e.g. a second click arriving late) shows the same job and trains nothing new
    at.run(timeout=60)
    assert len([r for r in list_models(lab_ws.engine) if r.id not in before]) == 1


@pytest.mark.stores(fixture="lab_store", scope="module")
def test_compare_two_models(lab_ws, candidate):
    from models.registry import list_models

    # B defaults to the newest other model of the same target (the production one when the candidate is the
    # only model trained since)
    expected_b = next(r for r in list_models(lab_ws.engine) if r.id != candidate.id and r.target == "churn")
    at = open_tab("datasci", "Compare", {"model": candidate.id})
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table.columns) == [f"A · {candidate.id}", f"B · {expected_b.id}", "A − B (95% CI)", "Better"]
    assert table.loc["ROC-AUC", f"B · {expected_b.id}"] == f"{expected_b.evaluation.metrics['roc_auc']:.3f}"
    assert table.loc["ROC-AUC", f"A · {candidate.id}"] == f"{candidate.evaluation.metrics['roc_auc']:.3f}"
    assert set(table["Better"]) <= {"A", "B", "", "no clear winner"}
    assert {"compare_roc", "compare_reliability"} <= chart_keys(at)


@pytest.mark.stores(fixture="lab_store", scope="module")
def test_promote_needs_confirmation_then_is_audited(lab_ws, candidate):
    from data.opstore import read_audit
    from models.registry import list_models, production_model

    old = production_model(lab_ws.engine, "churn")
    at = open_tab("datasci", "Promote")
    at.selectbox(key="promote_choice").set_value(candidate.id)
    next(b for b in at.button if b.label == "Promote to production").click()
    at.run()
    assert any("Tick the confirmation box" in w.value for w in at.warning)
    assert production_model(lab_ws.engine, "churn").id == old.id  # nothing changed

    at.selectbox(key="promote_choice").set_value(candidate.id)
    at.checkbox(key="promote_confirm").check()
    next(b for b in at.button if b.label == "Promote to production").click()
    at.run()
    assert not at.exception and not at.error
    assert production_model(lab_ws.engine, "churn").id == candidate.id
    assert any(r.id == old.id and r.status == "archived" for r in list_models(lab_ws.engine, "churn"))
    rows = [r for r in read_audit(lab_ws.engine) if r["action"] == "model.promote" and r["target"] == candidate.id]
    assert rows and rows[0]["actor"] == "datasci"
    assert any(f"{candidate.id} is now the production churn model" in s.value for s in at.success)
    production_table = at.dataframe[0].value
    assert candidate.id in set(production_table["model"])
