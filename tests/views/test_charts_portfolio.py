"""Portfolio chart builders on small frames: traces, values, colours, empty states."""

from __future__ import annotations

import pandas as pd
import pytest

from components import charts
from components.charts import RISK_COLORS
from data import portfolio


def annotation_text(fig) -> str:
    return " ".join(a.text for a in fig.layout.annotations)


@pytest.fixture()
def distribution():
    return pd.DataFrame({"bin_start": [0.00, 0.02, 0.02, 0.60], "bin_end": [0.02, 0.04, 0.04, 0.62],
                         "risk_band": ["low", "low", "medium", "high"], "accounts": [5, 3, 1, 2],
                         "arr": [1000.0, 600.0, 50.0, 9000.0]})


def test_risk_distribution_one_trace_per_band_in_risk_order(distribution):
    fig = charts.fig_risk_distribution(distribution)
    assert [t.name for t in fig.data] == ["low risk", "medium risk", "high risk"]
    assert [t.marker.color for t in fig.data] == [RISK_COLORS["low"], RISK_COLORS["medium"], RISK_COLORS["high"]]
    assert list(fig.data[0].x) == pytest.approx([1, 3])  # bin midpoints in percent
    assert list(fig.data[0].y) == [5, 3]
    assert fig.layout.barmode == "stack"
    arr = charts.fig_risk_distribution(distribution, value="arr")
    assert list(arr.data[2].y) == [9000.0]


def test_risk_by_group_sorted_with_group_names_for_clicks():
    df = pd.DataFrame({"group": ["SMB", "SMB", "Enterprise"], "risk_band": ["high", "low", "low"],
                       "accounts": [2, 5, 1], "arr": [100.0, 400.0, 9000.0], "expected_arr_loss": [50.0, 4.0, 90.0]})
    fig = charts.fig_risk_by_group(df)
    assert [t.name for t in fig.data] == ["low risk", "high risk"]
    low = fig.data[0]
    assert list(low.y) == ["SMB", "Enterprise"] and list(low.x) == [400.0, 9000.0]
    assert [c[0] for c in low.customdata] == ["SMB", "Enterprise"]
    assert list(fig.data[1].y) == ["SMB"] and list(fig.data[1].x) == [100.0]
    assert list(fig.layout.yaxis.categoryarray) == ["SMB", "Enterprise"]  # largest ARR drawn on top
    assert fig.data[1].marker.color == RISK_COLORS["high"]
    by_accounts = charts.fig_risk_by_group(df, value="accounts")
    assert list(by_accounts.layout.yaxis.categoryarray) == ["Enterprise", "SMB"]


@pytest.fixture()
def movements():
    return pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-02-01"]), "start_mrr": [1000.0, 1150.0],
                         "new": [200.0, 0.0], "expansion": [50.0, 10.0], "contraction": [0.0, -20.0],
                         "churn": [-100.0, -40.0], "net": [150.0, -50.0], "end_mrr": [1150.0, 1100.0]})


def test_mrr_waterfall_four_movements_and_net(movements):
    fig = charts.fig_mrr_waterfall(movements)
    assert [t.name for t in fig.data] == ["New", "Expansion", "Contraction", "Churn", "Net change"]
    assert list(fig.data[3].y) == [-100.0, -40.0]
    assert list(fig.data[4].y) == [150.0, -50.0]
    assert fig.layout.barmode == "relative"
    assert fig.data[3].marker.color == RISK_COLORS["high"]


def test_mrr_bridge_adds_up(movements):
    fig = charts.fig_mrr_bridge(movements)
    (trace,) = fig.data
    assert list(trace.y) == ["MRR on 31 Dec 2025", "New", "Expansion", "Contraction", "Churn", "MRR in Feb 2026"]
    assert list(trace.customdata) == [1000.0, 200.0, 60.0, -20.0, -140.0, 1100.0]
    # floating bars: each movement starts where the previous one ended
    assert list(trace.base) == [0.0, 1000.0, 1200.0, 1240.0, 1100.0, 0.0]
    assert list(trace.x) == [1000.0, 200.0, 60.0, 20.0, 140.0, 1100.0]
    # the closing bar is the opening MRR plus every movement the chart draws, and both match the data
    assert trace.customdata[0] + sum(trace.customdata[1:-1]) == trace.customdata[-1]
    assert (trace.customdata[0], trace.customdata[-1]) == (movements["start_mrr"].iloc[0], movements["end_mrr"].iloc[-1])


def test_survival_step_lines_per_group():
    s = pd.DataFrame({"duration_days": [30, 60, 90, 400, 400], "churned": [True, False, True, False, False],
                      "segment": ["SMB", "SMB", "SMB", "Enterprise", "Enterprise"]})
    curves = portfolio.survival_curves(s, "segment", min_accounts=2)
    fig = charts.fig_survival(curves)
    lines = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in lines] == ["Enterprise (2)", "SMB (3)"]
    assert all(t.line.shape == "hv" for t in fig.data)
    assert list(lines[1].y) == pytest.approx([1, 2 / 3, 2 / 3, 0])
    assert list(lines[0].y) == [1, 1]


def test_survival_chart_shades_each_groups_95_percent_band_and_names_the_median():
    s = pd.DataFrame({"duration_days": [30, 60, 90, 120, 400, 400, 500], "churned": [True, False, True, True, False,
                                                                                     True, False],
                      "segment": ["SMB"] * 4 + ["Enterprise"] * 3})
    curves = portfolio.survival_curves(s, "segment", min_accounts=3)
    fig = charts.fig_survival(curves)
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert [t.name for t in bands] == ["Enterprise 95% band", "SMB 95% band"]
    smb = curves[curves["group"] == "SMB"]
    assert list(bands[1].y) == pytest.approx(smb["ci_low"].tolist())
    upper = fig.data[list(fig.data).index(bands[1]) - 1]
    assert list(upper.y) == pytest.approx(smb["ci_high"].tolist())
    assert bands[1].fillcolor.startswith("rgba(") and all(t.hoverinfo == "skip" for t in bands)
    smb_line = next(t for t in fig.data if t.name == "SMB (4)")
    assert "95% CI" in smb_line.hovertemplate and "half had left after 3 months" in smb_line.hovertemplate
    enterprise_line = next(t for t in fig.data if t.name == "Enterprise (3)")
    assert "more than half still customers" in enterprise_line.hovertemplate


def test_renewals_bubbles_by_band():
    df = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "name": ["Acme", "Globex", "Initech"],
                       "renewal_date": pd.to_datetime(["2026-07-10", "2026-09-01", "2026-08-01"]),
                       "arr": [3000.0, 216000.0, 1.0], "p_churn": [0.6, 0.02, None],
                       "risk_band": ["high", "low", None]})
    fig = charts.fig_renewals(df)
    assert [t.name for t in fig.data if t.mode == "markers"] == ["low risk", "high risk"]  # unscored Initech left out
    assert fig.data[0].marker.size[0] > fig.data[1].marker.size[0]  # bigger ARR, bigger bubble


@pytest.mark.parametrize("builder", [charts.fig_risk_distribution, charts.fig_risk_by_group, charts.fig_mrr_waterfall,
                                     charts.fig_mrr_bridge, charts.fig_survival, charts.fig_renewals])
def test_empty_frames_say_so(builder):
    fig = builder(pd.DataFrame())
    assert not fig.data
    assert annotation_text(fig)
