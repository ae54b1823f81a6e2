"""Model lab charts are deck-ready: title, units, model and as-of date inside each figure; a PNG button named
after the chart."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.apptest import run_app
from tests.support.workspaces import served_copy

LAB = "views/model_lab.py"
CHARTS = {
    "Evaluate": {"eval_roc": "ROC curve", "eval_pr": "Precision–recall curve",
                 "eval_reliability": "Reliability diagram", "eval_gains": "Cumulative gains",
                 "eval_lift": "Lift by score decile", "eval_confusion": "Flagged vs what happened",
                 "eval_backtest": "Backtest over cut-off dates"},
    "Explain": {"explain_importance": "What drives the score, by metric",
                "explain_groups": "What drives the score, by metric group",
                "explain_beeswarm": "Every account's push, metric by metric",
                "explain_dependence": "How "},
    "Cohorts": {"cohort_chart": "Churn within 90 days by "},
    "Rule score vs ML": {"rule_roc": "ROC: ML model vs rule health score",
                         "rule_gains": "Cumulative gains: ML model vs rule health score",
                         "rule_backtest": "Backtest: ML model vs rule health score"},
    "Drift": {"drift_chart": "Drift since training, per metric"},
}
MODEL_CHARTS = set(CHARTS["Evaluate"]) | set(CHARTS["Explain"]) | set(CHARTS["Rule score vs ML"]) | {"drift_chart"}


@pytest.fixture(scope="module")
def deck_ws(sample_workspace_path, tmp_path_factory):
    with served_copy(sample_workspace_path, tmp_path_factory.mktemp("lab_deck_ws") / "ws") as ws:
        yield ws


@pytest.mark.parametrize("tab", list(CHARTS))
def test_lab_charts_carry_title_units_model_and_date(deck_ws, tab):
    from models.registry import production_model

    model = production_model(deck_ws.engine, "churn")
    at = run_app("datasci", LAB, {"tab": tab})
    assert not at.exception and not at.error
    shown = {c.key: c for c in at.get("plotly_chart") if c.key}
    assert set(CHARTS[tab]) <= set(shown)
    for key, title in CHARTS[tab].items():
        layout = json.loads(shown[key].proto.spec)["layout"]
        config = json.loads(shown[key].proto.config)
        assert title in " ".join(re.sub(r"<[^>]+>", " ", layout["title"]["text"]).split()), key  # wrapped lines
        subtitle = layout["title"]["subtitle"]["text"]
        assert "data as of" in subtitle, key
        if key in MODEL_CHARTS:
            assert f"model {model.id}" in subtitle or model.id in subtitle, key
        assert config["toImageButtonOptions"]["format"] == "png" and config["displaylogo"] is False, key
        assert config["toImageButtonOptions"]["filename"].startswith(re.sub(r"[^A-Za-z0-9_-]+", "_", title.split()[0])
                                                                     .strip("_")), key
    # the title is inside the figure, not repeated above it
    assert not any(m.value.strip("*") in CHARTS[tab].values() for m in at.markdown)
