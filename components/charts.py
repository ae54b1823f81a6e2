"""Pure chart builders: DataFrame in, plotly Figure out. No queries, no ``st.*`` calls."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

# One palette everywhere: risk bands and tones.
RISK_COLORS = {"low": "#2e9e6b", "medium": "#f0a43a", "high": "#d64545"}
TONE_COLORS = {"good": "#2e9e6b", "neutral": "#7b8794", "bad": "#d64545"}
SERIES_COLORS = ["#3b6fd8", "#2e9e6b", "#f0a43a", "#8e5cd9", "#d64545", "#17a2b8", "#7b8794", "#c2557a"]
FONT = "Inter, Segoe UI, sans-serif"


def _base(fig: go.Figure, *, height: int = 320, y_title: str | None = None, x_title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), font=dict(family=FONT, size=12),
        plot_bgcolor="white", paper_bgcolor="white", hovermode="x unified",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    fig.update_xaxes(showgrid=False, title=x_title)
    fig.update_yaxes(gridcolor="#eef1f5", title=y_title, rangemode="tozero")
    return fig


def empty_figure(message: str, height: int = 200) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color="#7b8794"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig, height=height)


def fig_usage_by_type(df: pd.DataFrame) -> go.Figure:
    """Weekly quantity per event type; ``df`` has columns week, event_type, quantity."""
    if df.empty:
        return empty_figure("No product usage recorded")
    fig = go.Figure()
    for i, (etype, part) in enumerate(df.groupby("event_type", sort=True)):
        fig.add_trace(go.Scatter(
            x=part["week"], y=part["quantity"], name=str(etype).replace("_", " "), mode="lines",
            line=dict(width=2, color=SERIES_COLORS[i % len(SERIES_COLORS)]),
        ))
    return _base(fig, y_title="events per week")


def fig_active_users(df: pd.DataFrame, seats: pd.DataFrame | None = None) -> go.Figure:
    """Weekly active users (columns week, active_users) against seats purchased over time.

    ``seats`` has subscription periods (start_date, end_date, seats); it is drawn as a step line.
    """
    if df.empty:
        return empty_figure("No active users recorded")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df["week"], y=df["active_users"], name="active users", mode="lines",
                             line=dict(width=2, color=SERIES_COLORS[0]), fill="tozeroy",
                             fillcolor="rgba(59,111,216,0.12)"))
    if seats is not None and not seats.empty:
        weeks = pd.to_datetime(df["week"])
        starts = pd.to_datetime(seats["start_date"])
        ends = pd.to_datetime(seats["end_date"]).fillna(pd.Timestamp.max)
        seat_line = [
            float(seats.loc[(starts <= w) & (ends > w), "seats"].fillna(0).sum()) for w in weeks
        ]
        fig.add_trace(go.Scatter(x=df["week"], y=seat_line, name="seats purchased", mode="lines",
                                 line=dict(width=2, dash="dash", color=SERIES_COLORS[6], shape="hv")))
    return _base(fig, y_title="users")


def fig_timeline(df: pd.DataFrame) -> go.Figure:
    """Tickets, NPS, invoices and contact changes as dots on one time axis, coloured by tone."""
    if df.empty:
        return empty_figure("No tickets, NPS, invoices or contact changes")
    kinds = ["Ticket", "NPS", "Invoice", "Contact"]
    fig = go.Figure()
    for tone, color in TONE_COLORS.items():
        part = df[df["tone"] == tone]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["occurred_at"], y=part["kind"], mode="markers", name={"good": "good sign", "neutral": "neutral",
                                                                 "bad": "warning sign"}[tone],
            marker=dict(size=10 if tone != "neutral" else 7, color=color, line=dict(width=0)),
            text=part["detail"], hovertemplate="%{x|%d %b %Y}<br>%{text}<extra></extra>",
        ))
    fig = _base(fig, height=260)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(categoryorder="array", categoryarray=kinds[::-1], gridcolor="#eef1f5", rangemode=None)
    return fig


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
    fig = _base(fig, height=280, y_title=f"{what} per day")
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
    fig = _base(fig, height=max(160, 26 * len(columns) + 60), x_title="share of rows empty")
    fig.update_xaxes(range=[0, 1.12], tickformat=".0%", showgrid=True, gridcolor="#eef1f5")
    fig.update_yaxes(gridcolor=None, rangemode=None)
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig
