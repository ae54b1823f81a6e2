"""Pure chart builders: DataFrame in, plotly Figure out. No queries, no ``st.*`` calls."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.palette import PALETTE, RISK_PATTERNS, RISK_SYMBOLS, SERIES, TONE_SYMBOLS
from data.vocabulary import METRIC_GROUPS, RISK_BANDS
from models.explain import waterfall_steps as shap_steps  # the waterfall's steps live with the explanation
from models.model_evaluation import Calibration

# Views of the one palette (components.palette): risk bands, tones, categorical series.
RISK_COLORS = {band: PALETTE[band] for band in RISK_BANDS}
TONE_COLORS = {tone: PALETTE[tone] for tone in ("good", "neutral", "bad")}
SERIES_COLORS = SERIES
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


DECK_TITLE_CHARS = 44  # a title longer than this wraps, so it fits a chart a third of a page wide


def _wrapped(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, break_long_words=False) or [""]


def _legend_rows(fig: go.Figure, width_px: int = 380) -> int:
    """Rows a horizontal legend takes in a chart ``width_px`` wide (a third of a page), estimated from its names."""
    names = [t.name for t in fig.data if t.name and t.showlegend is not False]
    widths = [40 + 7 * len(str(n)) for n in names]
    rows, used = 1, 0
    for w in widths:
        if used and used + w > width_px:
            rows, used = rows + 1, 0
        used += w
    return rows


def deck_title(fig: go.Figure, title: str, *, units: str | None = None, as_of: date | str | None = None) -> go.Figure:
    """Put the title, the units and the as-of date inside ``fig`` (so a PNG export carries them); returns ``fig``.

    The title is bold (wrapped when long); under it, in grey, the units, any note the builder
    had as its own title, and "data as of 30 Nov 2026", one per line. The top margin grows by
    the room they take, and so does the figure's height, so the plot keeps its size.
    """
    lines = [units] if units else []
    existing = fig.layout.title.text if fig.layout.title and fig.layout.title.text else None
    if existing:  # a builder's own note (e.g. the waterfall's scale) stays, under the title
        lines.append(existing)
    if as_of is not None and str(as_of) != "NaT":
        lines.append(f"data as of {pd.Timestamp(as_of):%d %b %Y}")
    title_lines = _wrapped(title, DECK_TITLE_CHARS)
    legend = fig.layout.showlegend is not False and len(fig.data) > 1
    top_before = fig.layout.margin.t if fig.layout.margin and fig.layout.margin.t is not None else 30
    top = 14 + 19 * len(title_lines) + 15 * len(lines) + (24 * _legend_rows(fig) + 4 if legend else 6)
    fig.update_layout(
        title=dict(text="<br>".join(f"<b>{t}</b>" for t in title_lines), x=0, xanchor="left", xref="container",
                   y=1, yanchor="top", yref="container", pad=dict(t=8, l=4), font=dict(size=14),
                   subtitle=dict(text="<br>".join(lines), font=dict(size=11, color=PALETTE["muted"]))),
        margin=dict(t=top),
    )
    if legend:
        fig.update_layout(legend=dict(y=1.0, yanchor="bottom"))
    if fig.layout.height:  # the plot keeps its size; the title gets the extra room
        fig.update_layout(height=fig.layout.height + max(0, top - top_before))
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


# --------------------------------------------------------------------------- portfolio
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
    fig = _base(fig, y_title="accounts" if value == "accounts" else "ARR", x_title="predicted churn probability")
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
    fig = _base(fig, height=max(320, 30 * len(totals) + 100), x_title="ARR" if value == "arr" else "accounts")
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
    fig = _base(fig, y_title="MRR change per month")
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
    fig = _base(fig, height=300, x_title="MRR (US$ a month)")
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
    fig = _base(fig, y_title="still customers", x_title="months since first subscription")
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
    fig = _base(fig, y_title="p(churn)", x_title="renewal date")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(tickformat=".0%")
    return fig


# ----------------------------------------------------------------- account 360 (scores and reasons)
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
    fig = _base(fig, height=240, y_title="probability")
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
    fig = _base(fig, height=70 + 34 * len(steps) + (24 if scale != "calibrated" else 0))
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
    fig = _base(fig, height=150)
    fig.update_xaxes(tickformat=".0%", range=[0, max(p_before, p_after) * 1.35 + 0.01])
    fig.update_yaxes(autorange="reversed", rangemode=None)
    fig.update_layout(hovermode="closest")
    return fig


# --------------------------------------------------------------------------- playbook outcomes


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
    fig = _base(fig, height=max(220, 70 + 48 * len(rows)),
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
    fig = _base(fig, height=max(240, 80 + 56 * len(rows)),
                x_title=f"{metric} rate within the horizon")
    fig.update_layout(barmode="group", hovermode="closest", legend=dict(traceorder="reversed"))
    top = float(max(rows["treated_rate"].fillna(0).max(), rows["holdout_rate"].fillna(0).max()) * 100)
    fig.update_xaxes(ticksuffix="%", showgrid=True, gridcolor="#eef1f5", range=[0, top * 1.45 + 1])
    fig.update_yaxes(rangemode="normal", automargin=True)
    return fig


# ----------------------------------------------------------------- model lab
GROUP_COLORS = {group: PALETTE[group] for group in METRIC_GROUPS}
_DIAGONAL = dict(color="#b8c0cc", width=1, dash="dot")


def _unit_axes(fig: go.Figure, x_title: str, y_title: str, *, height: int = 340) -> go.Figure:
    fig = _base(fig, height=height, x_title=x_title, y_title=y_title)
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
    fig = _base(fig, height=340, x_title="mean predicted probability", y_title="observed rate")
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
    fig = _base(fig, height=300, x_title="score decile (1 = highest 10%)", y_title="lift")
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
    fig = _base(fig, height=260)
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
    fig = _base(fig, height=300, x_title="start of the test window", y_title="ROC-AUC")
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
    fig = _base(fig, height=max(220, 60 + 24 * len(rows)), x_title="mean |SHAP| (log-odds)")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(rangemode="normal", automargin=True)
    return fig


def fig_beeswarm(df: pd.DataFrame) -> go.Figure:
    """Beeswarm-style SHAP summary: one dot per row and feature, x = SHAP, colour = feature value rank.

    ``df`` has label, shap, value (text) and colour (0 = low value, 1 = high, NaN = category or
    missing, drawn grey). Features keep the frame's order from top to bottom.
    """
    import numpy as np

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
    fig = _base(fig, height=max(260, 60 + 34 * len(order)), x_title="SHAP value (log-odds; right = raises the score)")
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
    fig = _base(fig, height=320, x_title=label, y_title="SHAP value (log-odds)")
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_yaxes(rangemode="normal")
    return fig


def fig_cohorts(df: pd.DataFrame, *, base_rate: float | None = None, outcome: str = "churn",
                label: str = "metric") -> go.Figure:
    """Outcome rate per metric bucket with 95% confidence intervals (columns label, rate, ci_low, ci_high, n)."""
    import numpy as np

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
    fig = _base(fig, height=340, x_title=label, y_title=f"{outcome} rate within the horizon")
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
    fig = _base(fig, height=max(240, 60 + 24 * len(rows)), x_title="population stability index (PSI)")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(rangemode="normal", automargin=True)
    return fig
