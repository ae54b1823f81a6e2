"""Unit tests of the data-health chart builders: small frames in, traces and values out."""

from __future__ import annotations

import pandas as pd

from components.charts import RISK_COLORS, fig_events_per_day, fig_null_rates


def test_events_per_day_fills_gaps_and_averages():
    df = pd.DataFrame({"day": ["2026-01-03", "2026-01-01"], "rows": [2, 4]})
    fig = fig_events_per_day(df, what="events")
    assert len(fig.data) == 2
    bars, line = fig.data
    assert bars.type == "bar" and line.type == "scatter"
    assert [pd.Timestamp(x).day for x in bars.x] == [1, 2, 3]
    assert list(bars.y) == [4, 0, 2]  # the missing day is a zero bar, not skipped
    assert list(line.y) == [4.0, 2.0, 2.0]  # running 7-day mean
    assert fig.layout.yaxis.title.text == "events per day"


def test_events_per_day_sums_repeated_days():
    df = pd.DataFrame({"day": pd.to_datetime(["2026-01-01", "2026-01-01"]), "rows": [1, 5]})
    assert list(fig_events_per_day(df).data[0].y) == [6]


def test_events_per_day_empty_says_so():
    fig = fig_events_per_day(pd.DataFrame(columns=["day", "rows"]), what="tickets")
    assert len(fig.data) == 0
    assert "No tickets" in fig.layout.annotations[0].text


def test_null_rates_sorted_worst_on_top_and_coloured():
    fig = fig_null_rates({"name": 0.0, "region": 0.8, "plan": 0.1})
    assert len(fig.data) == 1
    bar = fig.data[0]
    assert list(bar.y) == ["name", "plan", "region"]  # plotly draws the last bar at the top
    assert list(bar.x) == [0.0, 0.1, 0.8]
    assert list(bar.marker.color) == [RISK_COLORS["low"], RISK_COLORS["medium"], RISK_COLORS["high"]]
    assert list(bar.text) == ["0%", "10%", "80%"]


def test_null_rates_without_columns():
    assert len(fig_null_rates({}).data) == 0
