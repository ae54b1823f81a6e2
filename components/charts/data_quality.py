"""Data page charts: rows per day of an imported table and the share of empty values per column."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.charts.base import RISK_COLORS, SERIES_COLORS, base_layout, empty_figure


def fig_events_per_day(df: pd.DataFrame, what: str = "rows") -> go.Figure:
    """Rows per day (bars) and their 7-day average (line); ``df`` has columns day, rows.

    Days without rows are filled with zero so gaps in a feed show as gaps, not as a
    smooth line. ``what`` names the rows on the y axis (e.g. "events").
    """
    if df is None or df.empty:
        return empty_figure(f"No {what} with a date yet")
    daily = df.assign(day=pd.to_datetime(df["day"])).groupby("day", as_index=True)["rows"].sum().sort_index()
    daily = daily.reindex(pd.date_range(daily.index.min(), daily.index.max(), freq="D"), fill_value=0)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=daily.index, y=daily.values, name=f"{what} per day", marker_color=SERIES_COLORS[0],
                         opacity=0.45, hovertemplate="%{x|%d %b %Y}: %{y:,}<extra></extra>"))
    fig.add_trace(go.Scatter(x=daily.index, y=daily.rolling(7, min_periods=1).mean().values, name="7-day average",
                             mode="lines", line=dict(width=2, color=SERIES_COLORS[0]),
                             hovertemplate="%{x|%d %b %Y}: %{y:,.1f}<extra></extra>"))
    fig = base_layout(fig, height=280, y_title=f"{what} per day")
    fig.update_layout(bargap=0, hovermode="closest")
    return fig


def fig_null_rates(null_rates: dict[str, float]) -> go.Figure:
    """Share of empty values per column as horizontal bars (0-100%), worst at the top.

    Bars at or above 50% are drawn in the warning colour: such a column adds little.
    """
    if not null_rates:
        return empty_figure("No columns")
    items = sorted(null_rates.items(), key=lambda kv: kv[1])
    columns = [c for c, _ in items]
    rates = [float(r) for _, r in items]
    colors = [RISK_COLORS["high"] if r >= 0.5 else RISK_COLORS["medium"] if r > 0 else RISK_COLORS["low"] for r in rates]
    fig = go.Figure(go.Bar(x=rates, y=columns, orientation="h", marker_color=colors,
                           text=[f"{r:.0%}" for r in rates], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:.1%} empty<extra></extra>"))
    fig = base_layout(fig, height=max(160, 26 * len(columns) + 60), x_title="share of rows empty")
    fig.update_xaxes(range=[0, 1.12], tickformat=".0%", showgrid=True, gridcolor="#eef1f5")
    fig.update_yaxes(gridcolor=None, rangemode=None)
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig
