"""Charts that can go into a QBR deck: title, units and date inside, PNG export, named top items, one colour per meaning."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from components import charts, plot
from components.palette import PALETTE, RISK_PATTERNS, RISK_SYMBOLS, TONE_SYMBOLS
from tests.support.apptest import run_app
from tests.support.workspaces import write_tiny_scores as write_scores


@pytest.fixture()
def movements():
    return pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-02-01"]), "start_mrr": [40_000.0, 46_300.0],
                         "new": [8_000.0, 0.0], "expansion": [300.0, 1_000.0], "contraction": [0.0, -1_500.0],
                         "churn": [-2_000.0, -16_078.0], "net": [6_300.0, -16_578.0], "end_mrr": [46_300.0, 29_722.0]})


def test_deck_title_puts_title_units_and_as_of_date_inside_the_figure(movements):
    fig = charts.deck_title(charts.fig_mrr_bridge(movements), "12 months of MRR", units="MRR in $ a month",
                            as_of=date(2026, 11, 30))
    assert "12 months of MRR" in fig.layout.title.text
    assert fig.layout.title.subtitle.text == "MRR in $ a month<br>data as of 30 Nov 2026"
    assert fig.layout.margin.t >= 60 and fig.layout.height > 300  # room for the title; the plot keeps its size


def test_deck_title_keeps_a_builders_own_note():
    fig = charts.fig_shap_waterfall(pd.DataFrame({"rank": [1], "label": ["Logins"], "shap": [0.4], "sentence": ["x"],
                                                  "group": ["Usage"]}), -2.0, 0.1, 0.2, scale="model", p_base=0.1)
    fig = charts.deck_title(fig, "What drives this account's risk", units="probability of churn", as_of="2026-11-30")
    assert charts.MODEL_SCALE_NOTE in fig.layout.title.subtitle.text
    assert "data as of 30 Nov 2026" in fig.layout.title.subtitle.text


def test_bridge_caption_uses_the_same_amounts_as_the_bars(movements):
    steps = charts.mrr_bridge_steps(movements)
    fig = charts.fig_mrr_bridge(movements)
    caption = charts.mrr_bridge_caption(steps)
    assert list(fig.data[0].text) == list(steps["text"])
    for text in fig.data[0].text:  # every amount printed on a bar is in the caption, as printed
        assert text.lstrip("+−") in caption
    assert "$18k of churn" in caption  # 2,000 + 16,078
    assert float(steps.loc[steps["kind"] == "end", "amount"].iloc[0]) == movements["end_mrr"].iloc[-1]


def test_bridge_labels_cannot_overlap(movements):
    """Each bar and its amount has its own row: horizontal bars, distinct categories, text beside the bar."""
    (trace,) = charts.fig_mrr_bridge(movements).data
    assert trace.orientation == "h"
    assert len(set(trace.y)) == len(trace.y) == 6
    assert trace.textposition == "outside" and trace.cliponaxis is False


def test_one_colour_per_meaning_across_charts(movements):
    bridge = charts.fig_mrr_bridge(movements).data[0]
    colours = dict(zip(bridge.y, bridge.marker.color, strict=True))
    waterfall = {t.name: t.marker.color for t in charts.fig_mrr_waterfall(movements).data if t.type == "bar"}
    for label in ("New", "Expansion", "Contraction", "Churn"):
        assert colours[label] == waterfall[label] == PALETTE[label.lower()]
    assert colours["MRR on 31 Dec 2025"] == PALETTE["mrr"] != PALETTE["new"]
    history = charts.fig_score_history(pd.DataFrame({"scored_at": pd.to_datetime(["2026-10-01", "2026-11-01"]),
                                                     "p_churn": [0.1, 0.2], "p_expansion": [0.3, 0.2]}))
    assert history.data[1].line.color == PALETTE["expansion"]


@pytest.fixture()
def renewals():
    return pd.DataFrame({
        "account_id": [f"A{i}" for i in range(8)], "name": [f"Account {i}" for i in range(8)],
        "renewal_date": pd.date_range("2026-12-01", periods=8, freq="7D"),
        "arr": [1_000.0, 90_000.0, 5_000.0, 60_000.0, 2_000.0, 40_000.0, 500.0, 30_000.0],
        "p_churn": [0.9, 0.3, 0.5, 0.4, 0.05, 0.2, 0.8, 0.01],
        "risk_band": ["high", "high", "high", "high", "low", "medium", "high", "low"]})


def test_renewal_bubbles_name_the_top_accounts_by_expected_loss(renewals):
    fig = charts.fig_renewals(renewals, label_top=3)
    (labels,) = [t for t in fig.data if t.mode == "text"]
    # expected loss: A1 27,000, A3 24,000, A5 8,000 (A2 2,500; A0 900)
    assert set(labels.text) == {"Account 1", "Account 3", "Account 5"}
    bands = {t.name: t.marker.symbol for t in fig.data if t.mode == "markers"}
    assert bands == {"low risk": RISK_SYMBOLS["low"], "medium risk": RISK_SYMBOLS["medium"],
                     "high risk": RISK_SYMBOLS["high"]}


def test_risk_and_timeline_use_shapes_not_colour_alone():
    dist = charts.fig_risk_distribution(pd.DataFrame({
        "bin_start": [0.0, 0.1, 0.6], "bin_end": [0.01, 0.11, 0.61], "risk_band": ["low", "medium", "high"],
        "accounts": [3, 2, 1], "arr": [1.0, 2.0, 3.0]}))
    assert [t.marker.pattern.shape for t in dist.data] == [RISK_PATTERNS[b] for b in ("low", "medium", "high")]
    assert len({RISK_PATTERNS[b] for b in ("low", "medium", "high")}) == 3
    timeline = charts.fig_timeline(pd.DataFrame({
        "occurred_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]), "kind": ["Ticket", "NPS", "Invoice"],
        "detail": ["urgent", "promoter", "paid"], "tone": ["bad", "good", "neutral"]}))
    shapes = {t.name: t.marker.symbol for t in timeline.data}
    assert shapes == {"warning sign": TONE_SYMBOLS["bad"], "good sign": TONE_SYMBOLS["good"],
                      "neutral": TONE_SYMBOLS["neutral"]}
    assert len(set(shapes.values())) == 3


def test_png_export_config():
    cfg = plot.config("Renewals ahead / 90 days")
    assert cfg["displaylogo"] is False
    assert cfg["toImageButtonOptions"] == {"format": "png", "filename": "Renewals_ahead_90_days", "scale": 2}


def test_portfolio_page_charts_are_deck_ready(tiny_ws):
    """On the Portfolio page every chart has its title and date inside, a PNG button, and the bridge's caption agrees."""
    write_scores(tiny_ws.warehouse)
    at = run_app("manager", "views/portfolio.py")
    assert not at.exception and not at.error
    shown = {c.key: c for c in at.get("plotly_chart") if c.key}
    assert {"risk_distribution", "risk_by_segment", "risk_by_csm", "mrr_waterfall", "mrr_bridge",
            "survival_segment", "renewals_chart"} <= set(shown)
    for key, chart in shown.items():
        figure = json.loads(chart.proto.spec)
        config = json.loads(chart.proto.config)
        assert figure["layout"]["title"]["text"], key
        assert "data as of" in figure["layout"]["title"]["subtitle"]["text"], key
        assert config["toImageButtonOptions"]["format"] == "png" and config["displaylogo"] is False, key
    bridge = json.loads(shown["mrr_bridge"].proto.spec)["data"][0]
    caption = next(c.value for c in at.caption if "gives" in c.value and "churn" in c.value)
    for text in bridge["text"]:
        assert text.lstrip("+−") in caption


def test_data_health_charts_carry_title_units_and_date(tiny_ws):
    at = run_app("admin", "views/data.py")
    assert not at.exception and not at.error
    shown = {c.key: c for c in at.get("plotly_chart") if c.key}
    assert {"health_per_day", "health_nulls"} <= set(shown)
    for key in ("health_per_day", "health_nulls"):
        layout = json.loads(shown[key].proto.spec)["layout"]
        assert "table events" in layout["title"]["subtitle"]["text"], key
        assert "data as of" in layout["title"]["subtitle"]["text"], key
        assert json.loads(shown[key].proto.config)["toImageButtonOptions"]["format"] == "png"
