"""Playbook outcome charts: treated vs holdout effects (forest plot) and outcome rates per arm."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.charts.base import SERIES_COLORS, TONE_COLORS, base_layout, empty_figure


def effect_tone(metric: str, low: float | None, high: float | None) -> str:
    """good / bad / neutral for a treated − holdout interval (lower churn and higher expansion are good)."""
    if low is None or high is None or low != low or high != high:
        return "neutral"
    if high < 0:
        return "good" if metric == "churn" else "bad"
    if low > 0:
        return "bad" if metric == "churn" else "good"
    return "neutral"


def fig_outcomes_forest(df: pd.DataFrame, metric: str = "churn") -> go.Figure:
    """Forest plot: treated − holdout difference in percentage points with its 95 % interval, one row per playbook.

    ``df`` is :func:`playbooks.outcomes_frame` (columns playbook, metric, difference, ci_low,
    ci_high, enough_data, treated_rate, holdout_rate, treated_n, holdout_n). Rows without
    enough data are drawn hollow and grey; rows with no comparison at all are left out.
    """
    rows = df[(df["metric"] == metric) & df["difference"].notna()] if not df.empty else df
    if rows.empty:
        return empty_figure(f"No playbook has treated and holdout runs past their horizon yet ({metric})")
    rows = rows.sort_values("difference", ascending=metric != "churn")
    fig = go.Figure()
    for _, r in rows.iterrows():
        tone = effect_tone(metric, r["ci_low"], r["ci_high"]) if r["enough_data"] else "neutral"
        color = TONE_COLORS[tone]
        d, lo, hi = 100 * r["difference"], 100 * r["ci_low"], 100 * r["ci_high"]
        label = r["playbook"] if r["enough_data"] else f"{r['playbook']} (too few runs)"
        fig.add_trace(go.Scatter(
            x=[d], y=[label], mode="markers", showlegend=False, name=r["playbook"],
            marker=dict(size=12, color=color if r["enough_data"] else "white", line=dict(width=2, color=color),
                        symbol="diamond" if r["enough_data"] else "circle"),
            error_x=dict(type="data", symmetric=False, array=[hi - d], arrayminus=[d - lo], color=color,
                         thickness=2, width=6),
            hovertemplate=(f"<b>{r['playbook']}</b><br>{metric}: "
                           f"{100 * r['treated_rate']:.1f}% treated (n={int(r['treated_n'])}) vs "
                           f"{100 * r['holdout_rate']:.1f}% holdout (n={int(r['holdout_n'])})<br>"
                           f"difference {d:+.1f} pts, 95% CI {lo:+.1f} to {hi:+.1f}<extra></extra>"),
        ))
    fig.add_vline(x=0, line=dict(color="#7b8794", width=1, dash="dash"))
    fig = base_layout(fig, height=max(220, 70 + 48 * len(rows)),
                x_title="treated − holdout (percentage points)")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(rangemode="normal", gridcolor="#f4f6f8", automargin=True)
    fig.update_xaxes(zeroline=False, ticksuffix=" pts", showgrid=True, gridcolor="#eef1f5")
    return fig


def fig_outcome_rates(df: pd.DataFrame, metric: str = "churn") -> go.Figure:
    """Treated vs holdout rate per playbook as paired horizontal bars, labelled with the rate and n.

    ``df`` is :func:`playbooks.outcomes_frame`; playbooks without measured runs are left out.
    """
    rows = df[(df["metric"] == metric) & ((df["treated_n"] > 0) | (df["holdout_n"] > 0))] if not df.empty else df
    if rows.empty:
        return empty_figure("No runs have reached their horizon yet")
    rows = rows.sort_values("playbook", ascending=False)
    fig = go.Figure()
    for arm, color in (("holdout", TONE_COLORS["neutral"]), ("treated", SERIES_COLORS[0])):
        rate = rows[f"{arm}_rate"].fillna(0) * 100
        fig.add_trace(go.Bar(
            y=rows["playbook"], x=rate, name=arm, orientation="h", marker_color=color,
            text=[f"{v:.1f}% (n={int(n)})" for v, n in zip(rate, rows[f"{arm}_n"], strict=True)],
            textposition="outside", cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{arm}: %{{x:.1f}}%<extra></extra>",
        ))
    fig = base_layout(fig, height=max(240, 80 + 56 * len(rows)),
                x_title=f"{metric} rate within the horizon")
    fig.update_layout(barmode="group", hovermode="closest", legend=dict(traceorder="reversed"))
    top = float(max(rows["treated_rate"].fillna(0).max(), rows["holdout_rate"].fillna(0).max()) * 100)
    fig.update_xaxes(ticksuffix="%", showgrid=True, gridcolor="#eef1f5", range=[0, top * 1.45 + 1])
    fig.update_yaxes(rangemode="normal", automargin=True)
    return fig
