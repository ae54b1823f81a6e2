"""Portfolio charts: risk by band and group, the MRR waterfall and bridge, survival curves and renewals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.charts.base import RISK_COLORS, SERIES_COLORS, base_layout, empty_figure
from components.palette import PALETTE, RISK_PATTERNS, RISK_SYMBOLS

MOVEMENT_COLORS = {kind: PALETTE[kind] for kind in ("new", "expansion", "contraction", "churn")}
MOVEMENT_LABELS = {"new": "New", "expansion": "Expansion", "contraction": "Contraction", "churn": "Churn"}


def _short_money(value: float) -> str:
    """$950, $12k, $1.2M: short money labels for bar annotations."""
    if value >= 1_000_000:
        return f"${value / 1_000_000:,.2f}M"
    if value >= 1_000:
        return f"${value / 1_000:,.0f}k"
    return f"${value:,.0f}"


def _bands(df: pd.DataFrame) -> list[str]:
    """Risk bands present in ``df``, in low → high order (unknown bands last)."""
    present = list(dict.fromkeys(df["risk_band"].dropna()))
    return [b for b in RISK_COLORS if b in present] + [b for b in present if b not in RISK_COLORS]


def fig_risk_distribution(df: pd.DataFrame, value: str = "accounts") -> go.Figure:
    """Accounts (or ARR) per predicted churn probability bin, stacked by risk band.

    ``df`` has columns bin_start, bin_end (probabilities), risk_band, accounts, arr.
    """
    if df.empty:
        return empty_figure("No scores yet")
    fig = go.Figure()
    for band in _bands(df):
        part = df[df["risk_band"] == band]
        mid = (part["bin_start"] + part["bin_end"]) / 2 * 100
        fig.add_trace(go.Bar(
            x=mid, y=part[value], width=(part["bin_end"] - part["bin_start"]) * 100 * 0.92, name=f"{band} risk",
            marker=dict(color=RISK_COLORS.get(band, "#7b8794"),
                        pattern=dict(shape=RISK_PATTERNS.get(band, ""), fgcolor="white", fillmode="overlay",
                                     size=6)),
            customdata=list(zip(part["bin_start"] * 100, part["bin_end"] * 100, part["accounts"], part["arr"],
                                strict=True)),
            hovertemplate="p(churn) %{customdata[0]:.0f}–%{customdata[1]:.0f}%: %{customdata[2]} accounts, "
                          "$%{customdata[3]:,.0f} ARR<extra>" + f"{band} risk</extra>",
        ))
    fig = base_layout(fig, y_title="accounts" if value == "accounts" else "ARR", x_title="predicted churn probability")
    fig.update_layout(barmode="stack", hovermode="closest", bargap=0, legend_traceorder="normal")
    fig.update_xaxes(ticksuffix="%", rangemode="tozero")
    if value == "arr":
        fig.update_yaxes(tickformat="$~s")
    return fig


def fig_risk_by_group(df: pd.DataFrame, group_label: str = "segment", value: str = "arr") -> go.Figure:
    """Horizontal bars of ARR (or accounts) per group, stacked by risk band; largest group on top.

    ``df`` has columns group, risk_band, accounts, arr, expected_arr_loss. Each bar carries
    its group name as ``customdata[0]`` so a click selection names the group.
    """
    if df.empty:
        return empty_figure("No scores yet")
    totals = df.groupby("group")[value].sum().sort_values()
    fig = go.Figure()
    for band in _bands(df):
        part = df[df["risk_band"] == band].set_index("group").reindex(totals.index).dropna(subset=["risk_band"])
        part = part.reset_index()
        fig.add_trace(go.Bar(
            y=part["group"], x=part[value], orientation="h", name=f"{band} risk",
            marker=dict(color=RISK_COLORS.get(band, "#7b8794"),
                        pattern=dict(shape=RISK_PATTERNS.get(band, ""), fgcolor="white", fillmode="overlay",
                                     size=6)),
            customdata=list(zip(part["group"], part["accounts"], part["arr"], part["expected_arr_loss"], strict=True)),
            hovertemplate="%{customdata[0]}: %{customdata[1]} accounts, $%{customdata[2]:,.0f} ARR, "
                          "expected loss $%{customdata[3]:,.0f}<extra>" + f"{band} risk</extra>",
        ))
    fig = base_layout(fig, height=max(320, 30 * len(totals) + 100), x_title="ARR" if value == "arr" else "accounts")
    fig.update_layout(barmode="stack", hovermode="closest", clickmode="event+select", dragmode=False,
                      legend_traceorder="normal", bargap=0.25)
    fig.update_yaxes(categoryorder="array", categoryarray=list(totals.index), gridcolor=None, rangemode=None,
                     title=None)
    fig.update_xaxes(showgrid=True, gridcolor="#eef1f5")
    if value == "arr":
        fig.update_xaxes(tickformat="$~s")
    return fig


def fig_mrr_waterfall(df: pd.DataFrame) -> go.Figure:
    """Monthly MRR movements: new and expansion up, contraction and churn down, net change as a line.

    ``df`` has columns month, new, expansion, contraction, churn (the last two negative), net.
    """
    if df.empty:
        return empty_figure("No subscriptions in this period")
    months = pd.to_datetime(df["month"])
    fig = go.Figure()
    for kind, color in MOVEMENT_COLORS.items():
        fig.add_trace(go.Bar(x=months, y=df[kind], name=MOVEMENT_LABELS[kind], marker_color=color,
                             hovertemplate=f"{MOVEMENT_LABELS[kind]}: " + "$%{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=months, y=df["net"], name="Net change", mode="lines+markers",
                             line=dict(color=PALETTE["net"], width=2), marker=dict(size=6),
                             hovertemplate="Net change: $%{y:,.0f}<extra></extra>"))
    fig = base_layout(fig, y_title="MRR change per month")
    fig.update_layout(barmode="relative")
    fig.update_xaxes(tickformat="%b<br>%Y", dtick="M1" if len(df) <= 18 else "M3")
    fig.update_yaxes(tickformat="$~s", rangemode=None, zeroline=True, zerolinecolor="#9aa5b1")
    return fig


def mrr_bridge_steps(df: pd.DataFrame) -> pd.DataFrame:
    """The bars of the MRR bridge: MRR at the start, each kind of movement summed, MRR at the end.

    ``df`` is :func:`data.portfolio.mrr_movements` output. Returns one row per bar with kind
    (start, new, expansion, contraction, churn, end), label, amount (signed; churn and
    contraction negative), low and high (the bar's extent on the MRR axis) and text (the
    amount as printed on the bar, also used by :func:`mrr_bridge_caption`). The end bar is
    the start plus every movement, which equals the last month's ``end_mrr``.
    """
    if df.empty:
        return pd.DataFrame(columns=["kind", "label", "amount", "low", "high", "text"])
    start_day = pd.Timestamp(df["month"].iloc[0]) - pd.Timedelta(days=1)
    end_day = pd.Timestamp(df["month"].iloc[-1])
    level = float(df["start_mrr"].iloc[0])
    rows = [{"kind": "start", "label": f"MRR on {start_day:%d %b %Y}", "amount": level, "low": 0.0, "high": level}]
    for kind, label in MOVEMENT_LABELS.items():
        amount = float(df[kind].sum())
        rows.append({"kind": kind, "label": label, "amount": amount,
                     "low": min(level, level + amount), "high": max(level, level + amount)})
        level += amount
    rows.append({"kind": "end", "label": f"MRR in {end_day:%b %Y}", "amount": level, "low": 0.0, "high": level})
    steps = pd.DataFrame(rows)
    steps["text"] = [(_short_money(a) if k in ("start", "end") else
                      ("+" if a >= 0 else "−") + _short_money(abs(a)))
                     for k, a in zip(steps["kind"], steps["amount"], strict=True)]
    return steps


def mrr_bridge_caption(steps: pd.DataFrame) -> str:
    """One sentence with the bridge's own amounts (the same text as its bars), for the caption under it."""
    if steps.empty:
        return ""
    t = dict(zip(steps["kind"], steps["text"], strict=True))
    return (f"MRR of {t['start']} a year ago, plus {t['new'].lstrip('+')} from new accounts and "
            f"{t['expansion'].lstrip('+')} of expansion, less {t['contraction'].lstrip('−+')} of contraction and "
            f"{t['churn'].lstrip('−+')} of churn, gives {t['end']} a month now.")


def fig_mrr_bridge(df: pd.DataFrame) -> go.Figure:
    """MRR at the start of the window, each kind of movement summed, MRR at the end (a horizontal bridge).

    One row per bar (:func:`mrr_bridge_steps`), so the amount printed beside each bar never
    collides with another's; each movement has its colour from the palette ("New" as in
    every other chart), the two MRR levels the neutral MRR colour.
    """
    steps = mrr_bridge_steps(df)
    if steps.empty:
        return empty_figure("No subscriptions in this period")
    colors = [PALETTE["mrr"] if k in ("start", "end") else PALETTE[k] for k in steps["kind"]]
    fig = go.Figure(go.Bar(
        y=steps["label"], x=steps["high"] - steps["low"], base=steps["low"], orientation="h",
        marker_color=colors, text=steps["text"], textposition="outside", cliponaxis=False,
        customdata=steps["amount"], hovertemplate="%{y}: $%{customdata:,.0f}<extra></extra>",
    ))
    top = float(steps["high"].max())
    fig = base_layout(fig, height=300, x_title="MRR (US$ a month)")
    fig.update_layout(hovermode="closest", showlegend=False, bargap=0.3)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=list(steps["label"]),
                     rangemode=None, automargin=True, title=None)
    fig.update_xaxes(tickformat="$~s", range=[0, top * 1.22], showgrid=True, gridcolor=PALETTE["grid"])
    return fig


def _translucent(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def fig_survival(df: pd.DataFrame, group_label: str = "segment") -> go.Figure:
    """Kaplan–Meier retention curves, one step line per group inside its shaded 95 % confidence band.

    ``df`` has columns group, accounts, months, at_risk, survival, and optionally ci_low, ci_high
    and median_months (see ``data.portfolio.survival_curves``). The hover names the band, the
    accounts still at risk and the group's median survival once it is reached.
    """
    if df.empty:
        return empty_figure("Not enough accounts to draw retention curves")
    fig = go.Figure()
    banded = {"ci_low", "ci_high"} <= set(df.columns)
    for i, (name, part) in enumerate(df.groupby("group", sort=False)):
        n = int(part["accounts"].iloc[0])
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        if banded:
            fig.add_trace(go.Scatter(x=part["months"], y=part["ci_high"], mode="lines", line_shape="hv",
                                     line=dict(width=0, color=color), hoverinfo="skip", showlegend=False,
                                     legendgroup=str(name), name=f"{name} 95% band"))
            fig.add_trace(go.Scatter(x=part["months"], y=part["ci_low"], mode="lines", line_shape="hv",
                                     line=dict(width=0, color=color), fill="tonexty",
                                     fillcolor=_translucent(color, 0.15), hoverinfo="skip", showlegend=False,
                                     legendgroup=str(name), name=f"{name} 95% band"))
        median = part["median_months"].iloc[0] if "median_months" in part else float("nan")
        median_text = (f"; half had left after {median:.0f} months" if median == median
                       else "; more than half still customers")
        band = part[["ci_low", "ci_high"]].to_numpy() if banded else None
        fig.add_trace(go.Scatter(
            x=part["months"], y=part["survival"], name=f"{name} ({n:,})", mode="lines", line_shape="hv",
            line=dict(width=2, color=color), legendgroup=str(name),
            customdata=(np.column_stack([part["at_risk"].to_numpy(), band]) if banded
                        else part[["at_risk"]].to_numpy()),
            hovertemplate=f"{name}: " + "%{y:.0%} still customers after %{x:.0f} months "
                          + ("(95% CI %{customdata[1]:.0%}–%{customdata[2]:.0%}), " if banded else "(")
                          + "%{customdata[0]} at risk" + median_text + "<extra></extra>",
        ))
    fig = base_layout(fig, y_title="still customers", x_title="months since first subscription")
    floor = max(0.0, float((df["ci_low"] if banded else df["survival"]).min()) - 0.05)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(tickformat=".0%", range=[floor // 0.1 * 0.1, 1.02], rangemode=None)
    return fig


def fig_renewals(df: pd.DataFrame, label_top: int = 5) -> go.Figure:
    """Upcoming renewals: date against p(churn), bubble size by ARR, risk band by colour and shape.

    ``df`` has columns account_id, name, renewal_date, arr, p_churn, risk_band. The
    ``label_top`` renewals with the largest expected ARR loss (p(churn) × ARR) carry their
    account name on the chart (in a text-only trace, so the bubbles' traces stay as they are).
    """
    scored = df.dropna(subset=["p_churn"]) if not df.empty else df
    if scored.empty:
        return empty_figure("No scored renewals in this window")
    size_ref = max(float(scored["arr"].max()), 1.0)
    fig = go.Figure()
    for band in _bands(scored):
        part = scored[scored["risk_band"] == band]
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(part["renewal_date"]), y=part["p_churn"], mode="markers", name=f"{band} risk",
            marker=dict(size=(part["arr"].clip(lower=0) / size_ref) ** 0.5 * 34 + 6,
                        color=RISK_COLORS.get(band, "#7b8794"), symbol=RISK_SYMBOLS.get(band, "circle"),
                        opacity=0.75, line=dict(width=1, color="white")),
            # an object array, not a list of tuples: plotly checks a list element by element (slow for big books)
            customdata=part[["account_id", "name", "arr"]].to_numpy(dtype=object),
            hovertemplate="%{customdata[1]}<br>renews %{x|%d %b %Y} · p(churn) %{y:.0%} · "
                          "$%{customdata[2]:,.0f} ARR<extra></extra>",
        ))
    if label_top > 0:
        loss = scored["p_churn"] * scored["arr"].clip(lower=0)
        top = scored.loc[loss.nlargest(label_top).index].sort_values("renewal_date")
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(top["renewal_date"]), y=top["p_churn"], mode="text", text=top["name"].astype(str),
            textposition=["top center" if i % 2 == 0 else "bottom center" for i in range(len(top))],
            textfont=dict(size=11, color=PALETTE["text"]), name=f"top {label_top} by expected loss",
            showlegend=False, hoverinfo="skip",
        ))
    fig = base_layout(fig, y_title="p(churn)", x_title="renewal date")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(tickformat=".0%")
    return fig
