"""Account 360 charts: product usage, active users against seats, the event timeline, score history,
the reasons waterfall and the what-if bars."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.charts.base import RISK_COLORS, SERIES_COLORS, TONE_COLORS, base_layout, empty_figure
from components.palette import PALETTE, TONE_SYMBOLS
from models.explain import waterfall_steps as shap_steps  # the waterfall's steps live with the explanation


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
    return base_layout(fig, y_title="events per week")


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
    return base_layout(fig, y_title="users")


def fig_timeline(df: pd.DataFrame) -> go.Figure:
    """Tickets, NPS, invoices and contact changes as marks on one time axis; tone by colour *and* shape.

    A warning sign is a red triangle, a good sign a green dot, a neutral event a grey ring,
    and the legend names each, so the timeline reads without colour vision.
    """
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
            marker=dict(size=10 if tone != "neutral" else 8, color=color, symbol=TONE_SYMBOLS[tone],
                        line=dict(width=1.5 if tone == "neutral" else 0, color=color)),
            text=part["detail"], hovertemplate="%{x|%d %b %Y}<br>%{text}<extra></extra>",
        ))
    fig = base_layout(fig, height=260)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(categoryorder="array", categoryarray=kinds[::-1], gridcolor="#eef1f5", rangemode=None)
    return fig


def fig_score_history(history: pd.DataFrame) -> go.Figure:
    """p(churn) and p(expansion) per scoring run; ``history`` has scored_at, p_churn, p_expansion."""
    if history.empty:
        return empty_figure("Not scored yet")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=history["scored_at"], y=history["p_churn"], name="churn", mode="lines+markers",
                             line=dict(width=2, color=PALETTE["p_churn"]),
                             hovertemplate="%{x|%d %b %Y}: %{y:.0%}<extra>churn</extra>"))
    if "p_expansion" in history and history["p_expansion"].notna().any():
        fig.add_trace(go.Scatter(x=history["scored_at"], y=history["p_expansion"], name="expansion",
                                 mode="lines+markers", line=dict(width=2, color=PALETTE["p_expansion"]),
                                 hovertemplate="%{x|%d %b %Y}: %{y:.0%}<extra>expansion</extra>"))
    fig = base_layout(fig, height=240, y_title="probability")
    fig.update_yaxes(tickformat=".0%", range=[0, max(0.2, float(history[["p_churn"]].max().max()) * 1.3)])
    return fig


MODEL_SCALE_NOTE = "Start and end are calibrated; the bars are on the model's own (uncalibrated) scale"


PLAIN_SCALE_NOTE = "The last step matches scores to the churn rates actually observed"


def _step_text(delta: float, measure: str) -> str:
    """A waterfall bar's label: "+2.3%", or "+<0.1%" for a step too small to show at one decimal (never "-0.0%")."""
    if measure != "relative":
        return "<0.1%" if 0 < delta < 0.0005 else f"{delta:.1%}"
    if abs(delta) < 0.0005:
        return "+<0.1%" if delta > 0 else "−<0.1%" if delta < 0 else "0%"
    return f"{delta:+.1%}"


def fig_shap_waterfall(drivers: pd.DataFrame, base: float, other: float, p_final: float | None = None,
                       title: str | None = None, *, scale: str = "model", p_base: float | None = None,
                       others: pd.DataFrame | None = None, plain: bool = False) -> go.Figure:
    """Horizontal waterfall from the average account's risk to this account's: one bar per reason, then
    the stored other factors ("no data" and one bar per driver group; see :func:`models.explain.waterfall_steps`).

    With ``scale`` "model" the title says that the bars are on the model's scale; ``plain`` (readers
    who are not data scientists) says it without the word calibration.
    """
    if drivers.empty:
        return empty_figure("No drivers stored for this account")
    steps = shap_steps(drivers, base, other, p_final, scale=scale, p_base=p_base, others=others, plain=plain)
    fig = go.Figure(go.Waterfall(
        orientation="h", measure=steps["measure"], y=steps["label"], x=steps["delta"],
        text=[_step_text(d, m) for d, m in zip(steps["delta"], steps["measure"], strict=True)],
        textposition="outside", cliponaxis=False, customdata=steps["sentence"],
        hovertemplate="%{y}: %{customdata}<extra></extra>",
        increasing=dict(marker=dict(color=RISK_COLORS["high"])),
        decreasing=dict(marker=dict(color=RISK_COLORS["low"])),
        totals=dict(marker=dict(color="#3b6fd8")),
        connector=dict(line=dict(color="#c5ccd6", width=1)),
    ))
    fig = base_layout(fig, height=70 + 34 * len(steps) + (24 if scale != "calibrated" else 0))
    if scale != "calibrated":
        note = PLAIN_SCALE_NOTE if plain else MODEL_SCALE_NOTE
        title = f"{title} · {note}" if title else note
    fig.update_layout(hovermode="closest", showlegend=False,
                      title=dict(text=title, font=dict(size=12)) if title else None)
    fig.update_layout(margin=dict(r=max(fig.layout.margin.r or 0, 64)))  # room for the last bar's label
    fig.update_yaxes(autorange="reversed", gridcolor="rgba(0,0,0,0)", rangemode=None, automargin=True)
    fig.update_xaxes(tickformat=".0%", title="probability of churn", showgrid=True, gridcolor="#eef1f5")
    return fig


def fig_what_if(p_before: float, p_after: float) -> go.Figure:
    """Two bars: the current probability and the what-if probability, coloured by direction."""
    color = RISK_COLORS["low"] if p_after <= p_before else RISK_COLORS["high"]
    fig = go.Figure(go.Bar(x=[p_before, p_after], y=["Now", "What-if"], orientation="h",
                           marker=dict(color=["#7b8794", color]), text=[f"{p_before:.1%}", f"{p_after:.1%}"],
                           textposition="outside", hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    fig = base_layout(fig, height=150)
    fig.update_xaxes(tickformat=".0%", range=[0, max(p_before, p_after) * 1.35 + 0.01])
    fig.update_yaxes(autorange="reversed", rangemode=None)
    fig.update_layout(hovermode="closest")
    return fig
