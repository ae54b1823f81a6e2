"""What every chart shares: the layout, the colours by meaning, the empty figure and the deck title."""

from __future__ import annotations

import textwrap
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from components.palette import PALETTE, SERIES
from data.vocabulary import RISK_BANDS

RISK_COLORS = {band: PALETTE[band] for band in RISK_BANDS}
TONE_COLORS = {tone: PALETTE[tone] for tone in ("good", "neutral", "bad")}
SERIES_COLORS = SERIES
FONT = "Inter, Segoe UI, sans-serif"


def base_layout(fig: go.Figure, *, height: int = 320, y_title: str | None = None,
                x_title: str | None = None) -> go.Figure:
    """The house style on ``fig``: white plot, top legend, light grid, axis titles; returns ``fig``."""
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
    """A blank chart that says why it is blank (every ``fig_*`` returns one for empty input)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color="#7b8794"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, height=height)
