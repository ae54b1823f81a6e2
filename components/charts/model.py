"""Model lab charts: ROC, precision-recall, reliability, gains and lift, confusion, backtest,
importance, beeswarm, dependence, cohorts and drift (PSI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.charts.base import RISK_COLORS, SERIES_COLORS, TONE_COLORS, base_layout, empty_figure
from components.palette import PALETTE
from data.vocabulary import METRIC_GROUPS
from models.model_evaluation import Calibration

GROUP_COLORS = {group: PALETTE[group] for group in METRIC_GROUPS}
_DIAGONAL = dict(color="#b8c0cc", width=1, dash="dot")


def _unit_axes(fig: go.Figure, x_title: str, y_title: str, *, height: int = 340) -> go.Figure:
    fig = base_layout(fig, height=height, x_title=x_title, y_title=y_title)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(range=[0, 1], tickformat=".0%", showgrid=True, gridcolor="#eef1f5")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def fig_roc(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """ROC curves (one trace per named frame with fpr, tpr) and the chance diagonal."""
    curves = {k: v for k, v in curves.items() if v is not None and not v.empty}
    if not curves:
        return empty_figure("No held-out predictions stored for this model")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=_DIAGONAL, name="chance", hoverinfo="skip"))
    for i, (name, df) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=df["fpr"], y=df["tpr"], mode="lines", name=name,
                                 line=dict(width=2, color=SERIES_COLORS[i % len(SERIES_COLORS)]),
                                 hovertemplate="false alarms %{x:.0%}<br>caught %{y:.0%}<extra>" + name + "</extra>"))
    return _unit_axes(fig, "false positive rate (stayers flagged)", "true positive rate (churners caught)")


def fig_pr(df: pd.DataFrame, base_rate: float | None = None) -> go.Figure:
    """Precision-recall curve (columns recall, precision) with the base rate as the no-skill line."""
    if df is None or df.empty:
        return empty_figure("No held-out predictions stored for this model")
    fig = go.Figure()
    if base_rate is not None and base_rate == base_rate:
        fig.add_trace(go.Scatter(x=[0, 1], y=[base_rate, base_rate], mode="lines", line=_DIAGONAL,
                                 name=f"base rate {base_rate:.1%}", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=df["recall"], y=df["precision"], mode="lines", name="model",
                             line=dict(width=2, color=SERIES_COLORS[0]),
                             hovertemplate="caught %{x:.0%}<br>precision %{y:.0%}<extra></extra>"))
    return _unit_axes(fig, "recall (share of positives caught)", "precision (share of flagged that are positive)")


def fig_reliability(curves: dict[str, Calibration | None]) -> go.Figure:
    """Reliability diagram: observed rate vs mean predicted probability per bin, one trace per model.

    Each value is a model's :class:`~models.model_evaluation.Calibration` (its reliability bins).
    Axes span the predictions (not 0-1) so the low probabilities of churn stay readable.
    """
    frames = {k: v.frame() for k, v in curves.items() if v is not None and v.reliability}
    if not frames:
        return empty_figure("No reliability data stored for this model")
    top = max(float(max(f["mean_predicted"].max(), f["observed_rate"].max())) for f in frames.values())
    top = min(1.0, top * 1.1 + 0.01)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", line=_DIAGONAL, name="perfect calibration",
                             hoverinfo="skip"))
    for i, (name, df) in enumerate(frames.items()):
        fig.add_trace(go.Scatter(
            x=df["mean_predicted"], y=df["observed_rate"], mode="lines+markers", name=name,
            line=dict(width=2, color=SERIES_COLORS[i % len(SERIES_COLORS)]),
            marker=dict(size=7), customdata=df["n"] if "n" in df else None,
            hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}<br>%{customdata:,} rows<extra>" + name + "</extra>"))
    fig = base_layout(fig, height=340, x_title="mean predicted probability", y_title="observed rate")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(range=[0, top], tickformat=".0%", showgrid=True, gridcolor="#eef1f5")
    fig.update_yaxes(range=[0, top], tickformat=".0%")
    return fig


def fig_gains(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Cumulative gains: share of positives captured vs share of rows contacted (highest scores first)."""
    curves = {k: v for k, v in curves.items() if v is not None and not v.empty}
    if not curves:
        return empty_figure("No held-out predictions stored for this model")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=_DIAGONAL, name="random order",
                             hoverinfo="skip"))
    for i, (name, df) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(
            x=[0, *df["share_contacted"]], y=[0, *df["share_captured"]], mode="lines+markers", name=name,
            line=dict(width=2, color=SERIES_COLORS[i % len(SERIES_COLORS)]),
            hovertemplate="top %{x:.0%} of accounts<br>%{y:.0%} of positives<extra>" + name + "</extra>"))
    return _unit_axes(fig, "share of accounts contacted (highest scores first)", "share of positives captured")


def fig_lift(df: pd.DataFrame) -> go.Figure:
    """Lift per score decile (decile rate / overall rate) as bars, with the no-lift line at 1."""
    if df is None or df.empty:
        return empty_figure("No held-out predictions stored for this model")
    fig = go.Figure(go.Bar(
        x=[f"{int(d)}" for d in df["decile"]], y=df["lift"], marker_color=SERIES_COLORS[0],
        text=[f"{v:.1f}×" for v in df["lift"]], textposition="outside", cliponaxis=False,
        customdata=df["rate"], hovertemplate="decile %{x}: lift %{y:.2f}×<br>rate %{customdata:.1%}<extra></extra>"))
    fig.add_hline(y=1, line=_DIAGONAL)
    fig = base_layout(fig, height=300, x_title="score decile (1 = highest 10%)", y_title="lift")
    fig.update_layout(hovermode="closest")
    return fig


def fig_confusion(matrix: pd.DataFrame) -> go.Figure:
    """2 x 2 confusion matrix (rows actual, columns predicted) as an annotated heatmap."""
    if matrix is None or matrix.empty:
        return empty_figure("No held-out predictions stored for this model")
    z = matrix.to_numpy()
    good = [[1, 0], [0, 1]]
    fig = go.Figure(go.Heatmap(
        z=good, x=list(matrix.columns), y=list(matrix.index), showscale=False, hoverinfo="skip",
        colorscale=[[0, "#fbe3e3"], [1, "#dff2e8"]], xgap=3, ygap=3))
    for i, row in enumerate(matrix.index):
        for j, col in enumerate(matrix.columns):
            fig.add_annotation(x=col, y=row, text=f"<b>{int(z[i][j]):,}</b>", showarrow=False, font=dict(size=18))
    fig = base_layout(fig, height=260)
    fig.update_yaxes(autorange="reversed", rangemode="normal", showgrid=False)
    fig.update_layout(hovermode=False)
    return fig


def fig_backtest(df: pd.DataFrame) -> go.Figure:
    """ROC-AUC of the model and of the rule health score per backtest cut-off (test window start)."""
    if df is None or df.empty:
        return empty_figure("No backtest stored (flat data is cross-validated instead)")
    fig = go.Figure()
    for i, (col, name) in enumerate((("roc_auc", "ML model"), ("rule_roc_auc", "rule health score"))):
        if col in df and df[col].notna().any():
            fig.add_trace(go.Scatter(x=df["test_start"], y=df[col], mode="lines+markers", name=name,
                                     line=dict(width=2, color=SERIES_COLORS[0] if i == 0 else TONE_COLORS["neutral"]),
                                     hovertemplate="test from %{x}: AUC %{y:.3f}<extra>" + name + "</extra>"))
    fig.add_hline(y=0.5, line=_DIAGONAL)
    fig = base_layout(fig, height=300, x_title="start of the test window", y_title="ROC-AUC")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0.4, 1.0], rangemode="normal")
    return fig


def fig_importance(df: pd.DataFrame, *, label_col: str = "label", top: int = 15) -> go.Figure:
    """Mean |SHAP| as horizontal bars (largest at the top), coloured by metric group.

    ``df`` has columns mean_abs_shap, group and ``label_col`` (use "group" for the per-group view).
    """
    if df is None or df.empty:
        return empty_figure("No explanations for this model")
    rows = df.head(top).iloc[::-1]
    colors = [GROUP_COLORS.get(g, SERIES_COLORS[0]) for g in rows["group"]]
    fig = go.Figure(go.Bar(
        x=rows["mean_abs_shap"], y=rows[label_col], orientation="h", marker_color=colors,
        customdata=rows["group"], hovertemplate="%{y} (%{customdata})<br>mean |SHAP| %{x:.3f}<extra></extra>"))
    fig = base_layout(fig, height=max(220, 60 + 24 * len(rows)), x_title="mean |SHAP| (log-odds)")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(rangemode="normal", automargin=True)
    return fig


def fig_beeswarm(df: pd.DataFrame) -> go.Figure:
    """Beeswarm-style SHAP summary: one dot per row and feature, x = SHAP, colour = feature value rank.

    ``df`` has label, shap, value (text) and colour (0 = low value, 1 = high, NaN = category or
    missing, drawn grey). Features keep the frame's order from top to bottom.
    """
    if df is None or df.empty:
        return empty_figure("No explanations for this model")
    order = list(dict.fromkeys(df["label"]))
    pos = {lab: len(order) - 1 - i for i, lab in enumerate(order)}
    rng = np.random.default_rng(0)
    y = df["label"].map(pos).to_numpy(dtype=float) + rng.uniform(-0.3, 0.3, len(df))
    known = df["colour"].notna().to_numpy()
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=df["shap"][~known], y=y[~known], mode="markers", name="category or missing",
        marker=dict(size=5, color="#b8c0cc", opacity=0.6), text=df["value"][~known],
        hovertemplate="value %{text}<br>SHAP %{x:+.2f}<extra></extra>"))
    fig.add_trace(go.Scattergl(
        x=df["shap"][known], y=y[known], mode="markers", name="feature value",
        marker=dict(size=5, color=df["colour"][known], colorscale=[[0, "#3b6fd8"], [0.5, "#c9b6e4"], [1, "#d64545"]],
                    cmin=0, cmax=1, opacity=0.75,
                    colorbar=dict(title="value", tickvals=[0, 1], ticktext=["low", "high"], thickness=10, len=0.6)),
        text=df["value"][known], hovertemplate="value %{text}<br>SHAP %{x:+.2f}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#7b8794", width=1))
    fig = base_layout(fig, height=max(260, 60 + 34 * len(order)), x_title="SHAP value (log-odds; right = raises the score)")
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_yaxes(tickvals=list(pos.values()), ticktext=list(pos.keys()), rangemode="normal", showgrid=False,
                     automargin=True)
    return fig


def fig_dependence(df: pd.DataFrame, label: str = "value", *, categorical: bool = False) -> go.Figure:
    """SHAP dependence: SHAP value of one feature against its value (columns value, shap)."""
    if df is None or df.empty:
        return empty_figure("No known values of this feature in the sample")
    fig = go.Figure()
    if categorical:
        fig.add_trace(go.Box(x=df["value"].astype(str), y=df["shap"], boxpoints="all", jitter=0.4, pointpos=0,
                             marker=dict(size=4, color=SERIES_COLORS[0]), line=dict(color=SERIES_COLORS[0]),
                             name=label))
    else:
        fig.add_trace(go.Scattergl(x=df["value"], y=df["shap"], mode="markers", name=label,
                                   marker=dict(size=5, color=SERIES_COLORS[0], opacity=0.55),
                                   hovertemplate=label + " %{x:.4g}<br>SHAP %{y:+.2f}<extra></extra>"))
    fig.add_hline(y=0, line=dict(color="#7b8794", width=1))
    fig = base_layout(fig, height=320, x_title=label, y_title="SHAP value (log-odds)")
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_yaxes(rangemode="normal")
    return fig


def fig_cohorts(df: pd.DataFrame, *, base_rate: float | None = None, outcome: str = "churn",
                label: str = "metric") -> go.Figure:
    """Outcome rate per metric bucket with 95% confidence intervals (columns label, rate, ci_low, ci_high, n)."""
    if df is None or df.empty:
        return empty_figure("No rows to group")
    fig = go.Figure(go.Bar(
        x=df["label"], y=df["rate"], marker_color=[TONE_COLORS["neutral"] if b == "missing" else SERIES_COLORS[0]
                                                   for b in df["label"]],
        error_y=dict(type="data", symmetric=False, array=(df["ci_high"] - df["rate"]).to_numpy(),
                     arrayminus=(df["rate"] - df["ci_low"]).to_numpy(), color="#4a5562", thickness=1.2),
        customdata=np.stack([df["n"], df["ci_low"], df["ci_high"]], axis=1),
        hovertemplate="%{x}<br>" + outcome + " rate %{y:.1%} (95% CI %{customdata[1]:.1%}–%{customdata[2]:.1%})"
                      "<br>%{customdata[0]:,} rows<extra></extra>"))
    if base_rate is not None and base_rate == base_rate:
        fig.add_hline(y=base_rate, line=_DIAGONAL, annotation_text=f"overall {base_rate:.1%}",
                      annotation_position="top left")
    fig = base_layout(fig, height=340, x_title=label, y_title=f"{outcome} rate within the horizon")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=".0%")
    return fig


def fig_psi(df: pd.DataFrame, *, threshold: float = 0.2, top: int = 20) -> go.Figure:
    """PSI per feature as horizontal bars (largest at the top); bars above ``threshold`` in the warning colour."""
    if df is None or df.empty:
        return empty_figure("No drift data for this model")
    rows = df.dropna(subset=["psi"]).head(top).iloc[::-1]
    colors = [RISK_COLORS["high"] if v > threshold else (RISK_COLORS["medium"] if v > 0.1 else RISK_COLORS["low"])
              for v in rows["psi"]]
    fig = go.Figure(go.Bar(x=rows["psi"], y=rows["label"], orientation="h", marker_color=colors,
                           hovertemplate="%{y}<br>PSI %{x:.3f}<extra></extra>"))
    fig.add_vline(x=threshold, line=dict(color=RISK_COLORS["high"], width=1, dash="dash"),
                  annotation_text=f"shift > {threshold}", annotation_position="top right")
    fig = base_layout(fig, height=max(240, 60 + 24 * len(rows)), x_title="population stability index (PSI)")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(rangemode="normal", automargin=True)
    return fig
