"""The demo workspace (conftest's small sample company) starts with promoted models and scores."""

from __future__ import annotations


def test_demo_trains_promotes_and_scores(sample_workspace):
    from models.registry import production_model
    from models.scoring import account_explanation, latest_scores

    churn = production_model(sample_workspace.engine, "churn")
    expansion = production_model(sample_workspace.engine, "expansion")
    assert churn is not None and expansion is not None
    scores = latest_scores(sample_workspace.warehouse)
    assert len(scores) > 0 and (scores["model_id"] == churn.id).all()
    assert scores["p_expansion"].between(0, 1).all() and scores["top_driver"].notna().any()
    e = account_explanation(sample_workspace.warehouse, scores["account_id"].iloc[0])
    assert e is not None and e.sentences() and e.expansion_drivers is not None


def test_demo_churn_model_ranks_planted_causes_over_lead_source(sample_workspace):
    from models.registry import production_model

    top = production_model(sample_workspace.engine, "churn").evaluation.top_features[:5]
    assert "lead_source" not in {t["feature"] for t in top}
