"""Model lab chart builders on small frames: trace counts and the values drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components import charts
from models.diagnostics import cohorts, curves
from models.model_evaluation import Calibration, ReliabilityBin

Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])


def test_roc_has_chance_line_and_one_trace_per_model():
    roc = curves.roc_points(Y, P)
    fig = charts.fig_roc({"A": roc, "B": roc, "missing": None})
    assert len(fig.data) == 3
    assert fig.data[0].name == "chance"
    assert list(fig.data[1].x) == list(roc["fpr"])
    assert charts.fig_roc({"A": None}).layout.annotations[0].text.startswith("No held-out")


def test_pr_curve_and_base_rate():
    fig = charts.fig_pr(curves.pr_points(Y, P), base_rate=0.3)
    assert len(fig.data) == 2
    assert list(fig.data[0].y) == [0.3, 0.3]


def test_reliability_axes_span_the_predictions():
    calibration = Calibration(method="platt", reliability=(ReliabilityBin(0.02, 0.03, 50), ReliabilityBin(0.2, 0.18, 50)))
    fig = charts.fig_reliability({"A": calibration, "B": None, "not stored": Calibration()})
    assert len(fig.data) == 2
    assert list(fig.data[1].y) == [0.03, 0.18]
    assert fig.layout.xaxis.range[1] < 0.5


def test_gains_and_lift():
    g = curves.gains(Y, P, bins=5)
    fig = charts.fig_gains({"model": g})
    assert len(fig.data) == 2
    assert fig.data[1].y[0] == 0 and fig.data[1].y[-1] == 1.0
    lift = charts.fig_lift(g)
    assert len(lift.data) == 1
    assert list(lift.data[0].text)[0] == f"{g['lift'].iloc[0]:.1f}×"


def test_confusion_annotates_counts():
    cm = curves.confusion_at(Y, P, top_n=3)
    fig = charts.fig_confusion(cm.matrix())
    texts = sorted(a.text for a in fig.layout.annotations)
    assert texts == sorted(f"<b>{v}</b>" for v in (cm.tp, cm.fn, cm.fp, cm.tn))


def test_backtest_model_and_rule_lines():
    df = pd.DataFrame({"test_start": ["2026-01-01", "2026-03-01"], "roc_auc": [0.8, 0.82],
                       "rule_roc_auc": [0.6, 0.62]})
    fig = charts.fig_backtest(df)
    assert [t.name for t in fig.data] == ["ML model", "rule health score"]
    assert list(fig.data[0].y) == [0.8, 0.82]


def test_importance_bars_largest_on_top_coloured_by_group():
    df = pd.DataFrame({"label": ["A", "B", "C"], "group": ["Usage", "Billing", "Usage"],
                       "mean_abs_shap": [0.5, 0.3, 0.1]})
    fig = charts.fig_importance(df)
    assert list(fig.data[0].y) == ["C", "B", "A"]  # plotly draws bottom-up
    assert fig.data[0].marker.color[2] == charts.GROUP_COLORS["Usage"]
    by_group = charts.fig_importance(pd.DataFrame({"group": ["Usage"], "mean_abs_shap": [0.6]}), label_col="group")
    assert list(by_group.data[0].y) == ["Usage"]


def test_beeswarm_splits_known_and_grey_values():
    df = pd.DataFrame({"label": ["A", "A", "B"], "shap": [0.2, -0.1, 0.4], "value": ["1", "2", "x"],
                       "colour": [0.0, 1.0, np.nan]})
    fig = charts.fig_beeswarm(df)
    assert len(fig.data) == 2
    assert list(fig.data[0].x) == [0.4] and sorted(fig.data[1].x) == [-0.1, 0.2]
    assert list(fig.layout.yaxis.ticktext) == ["A", "B"]


def test_dependence_numeric_and_categorical():
    df = pd.DataFrame({"value": [1.0, 2.0, 3.0], "shap": [0.1, 0.0, -0.2]})
    assert list(charts.fig_dependence(df, "Seats").data[0].y) == [0.1, 0.0, -0.2]
    box = charts.fig_dependence(pd.DataFrame({"value": ["a", "b"], "shap": [0.1, 0.2]}), "Plan", categorical=True)
    assert box.data[0].type == "box"


def test_cohorts_bars_with_wilson_whiskers():
    df = cohorts.decile_cohorts(pd.Series(range(40)), [1] * 10 + [0] * 30, bins=4)
    fig = charts.fig_cohorts(df, base_rate=0.25, outcome="churn", label="Seats")
    bar = fig.data[0]
    assert list(bar.y) == list(df["rate"])
    assert np.allclose(bar.error_y.array, df["ci_high"] - df["rate"])
    assert fig.layout.shapes[0].y0 == 0.25


def test_psi_bars_flag_shifts():
    df = pd.DataFrame({"label": ["A", "B", "C"], "psi": [0.5, 0.15, 0.01]})
    fig = charts.fig_psi(df)
    colors = dict(zip(fig.data[0].y, fig.data[0].marker.color, strict=True))
    assert colors["A"] == charts.RISK_COLORS["high"] and colors["B"] == charts.RISK_COLORS["medium"]
    assert colors["C"] == charts.RISK_COLORS["low"]
