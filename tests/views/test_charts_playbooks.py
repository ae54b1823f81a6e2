"""Unit tests of the playbook outcome chart builders (pure: DataFrame in, Figure out)."""

from __future__ import annotations

import pandas as pd
import pytest

from components import charts
from playbooks.outcomes import compare_arms


def frame(*rows: dict) -> pd.DataFrame:
    """An :func:`playbooks.outcomes_frame`-shaped table built from real comparisons."""
    out = []
    for r in rows:
        cmp = compare_arms(r["metric"], r["te"], r["tn"], r["he"], r["hn"], horizon_days=90)
        out.append({"playbook": r["playbook"], "metric": r["metric"], "treated_n": cmp.treated_n,
                    "treated_events": cmp.treated_events, "treated_rate": cmp.treated_rate, "holdout_n": cmp.holdout_n,
                    "holdout_events": cmp.holdout_events, "holdout_rate": cmp.holdout_rate,
                    "difference": cmp.difference, "ci_low": cmp.ci_low, "ci_high": cmp.ci_high,
                    "enough_data": cmp.enough_data, "statement": cmp.statement})
    return pd.DataFrame(out)


OUTCOMES = frame(
    {"playbook": "Helps", "metric": "churn", "te": 10, "tn": 400, "he": 30, "hn": 100},      # 2.5 % vs 30 %
    {"playbook": "Hurts", "metric": "churn", "te": 120, "tn": 400, "he": 5, "hn": 100},      # 30 % vs 5 %
    {"playbook": "Nothing", "metric": "churn", "te": 40, "tn": 400, "he": 10, "hn": 100},    # 10 % vs 10 %
    {"playbook": "Too few", "metric": "churn", "te": 2, "tn": 20, "he": 1, "hn": 5},
    {"playbook": "No runs", "metric": "churn", "te": 0, "tn": 0, "he": 0, "hn": 0},
    {"playbook": "Helps", "metric": "expansion", "te": 160, "tn": 400, "he": 10, "hn": 100},  # 40 % vs 10 %
)


@pytest.mark.parametrize(("metric", "low", "high", "tone"), [
    ("churn", -0.3, -0.1, "good"), ("churn", 0.1, 0.3, "bad"), ("churn", -0.1, 0.1, "neutral"),
    ("expansion", 0.1, 0.3, "good"), ("expansion", -0.3, -0.1, "bad"), ("churn", None, None, "neutral"),
])
def test_effect_tone_reads_direction_per_metric(metric, low, high, tone):
    assert charts.effect_tone(metric, low, high) == tone


def test_forest_plot_has_one_row_per_comparable_playbook_with_its_interval():
    fig = charts.fig_outcomes_forest(OUTCOMES, "churn")
    rows = {t.name: t for t in fig.data}
    assert set(rows) == {"Helps", "Hurts", "Nothing", "Too few"}  # "No runs" has nothing to compare
    helps = rows["Helps"]
    d = OUTCOMES.iloc[0]
    assert helps.x[0] == pytest.approx(100 * d["difference"])
    assert helps.error_x.array[0] == pytest.approx(100 * (d["ci_high"] - d["difference"]))
    assert helps.error_x.arrayminus[0] == pytest.approx(100 * (d["difference"] - d["ci_low"]))
    assert helps.marker.line.color == charts.TONE_COLORS["good"]
    assert rows["Hurts"].marker.line.color == charts.TONE_COLORS["bad"]
    assert rows["Nothing"].marker.line.color == charts.TONE_COLORS["neutral"]
    too_few = rows["Too few"]
    assert too_few.y[0] == "Too few (too few runs)" and too_few.marker.color == "white"
    assert any(s.x0 == 0 for s in fig.layout.shapes)  # the no-effect line
    assert "percentage points" in fig.layout.xaxis.title.text


def test_forest_plot_colours_expansion_the_other_way_round():
    fig = charts.fig_outcomes_forest(OUTCOMES, "expansion")
    assert [t.name for t in fig.data] == ["Helps"]
    assert fig.data[0].marker.line.color == charts.TONE_COLORS["good"]


def test_forest_plot_without_comparisons_says_so():
    fig = charts.fig_outcomes_forest(OUTCOMES[OUTCOMES["playbook"] == "No runs"], "churn")
    assert not fig.data and "No playbook has treated and holdout runs" in fig.layout.annotations[0].text
    assert charts.fig_outcomes_forest(pd.DataFrame(), "churn").layout.annotations


def test_rate_bars_pair_treated_and_holdout_with_sample_sizes():
    fig = charts.fig_outcome_rates(OUTCOMES, "churn")
    by_arm = {t.name: t for t in fig.data}
    assert set(by_arm) == {"treated", "holdout"}
    treated = dict(zip(by_arm["treated"].y, by_arm["treated"].x, strict=True))
    assert treated["Helps"] == pytest.approx(2.5) and treated["Hurts"] == pytest.approx(30.0)
    assert "No runs" not in treated
    labels = dict(zip(by_arm["holdout"].y, by_arm["holdout"].text, strict=True))
    assert labels["Helps"] == "30.0% (n=100)"
    assert fig.layout.xaxis.range[1] > 30  # room for the labels
    assert charts.fig_outcome_rates(pd.DataFrame(), "churn").layout.annotations
