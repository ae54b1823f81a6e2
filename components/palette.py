"""One colour per meaning, for every chart and table: "New" is the same blue everywhere.

``PALETTE`` is the single table of colours, keyed by what a colour *means*; the chart
builders and table styles read their colours from it and define none of their own. Meanings
that agree share a colour on purpose (a high risk, a churn and a bad sign are all red; a low
risk, an expansion and a good sign all green). Colour is never the only cue: risk bands and
tones also have a marker shape and a bar pattern (``RISK_SYMBOLS``, ``RISK_PATTERNS``,
``TONE_SYMBOLS``) and are named in legends and labels.
"""

from __future__ import annotations

PALETTE: dict[str, str] = {
    # risk bands
    "low": "#2e9e6b",
    "medium": "#f0a43a",
    "high": "#d64545",
    # tones (good sign, neutral, warning sign)
    "good": "#2e9e6b",
    "neutral": "#7b8794",
    "bad": "#d64545",
    # revenue movements and levels
    "new": "#3b6fd8",
    "expansion": "#2e9e6b",
    "contraction": "#f0a43a",
    "churn": "#d64545",
    "mrr": "#52606d",
    "net": "#1f2933",
    # probabilities over time
    "p_churn": "#d64545",
    "p_expansion": "#2e9e6b",
    # metric groups (driver groups)
    "Usage": "#3b6fd8",
    "Adoption": "#17a2b8",
    "Support": "#f0a43a",
    "Billing": "#d64545",
    "Relationship": "#8e5cd9",
    "Sentiment": "#c2557a",
    "Contract": "#2e9e6b",
    "Firmographic": "#7b8794",
    # neutral chrome
    "muted": "#7b8794",
    "grid": "#eef1f5",
    "text": "#1f2933",
}

# Categorical series with no meaning of their own (segments, cohorts, event types, models), in order.
SERIES: list[str] = ["#3b6fd8", "#2e9e6b", "#f0a43a", "#8e5cd9", "#d64545", "#17a2b8", "#7b8794", "#c2557a"]

RISK_SYMBOLS = {"low": "circle", "medium": "diamond", "high": "triangle-up"}
RISK_PATTERNS = {"low": "", "medium": "/", "high": "x"}
TONE_SYMBOLS = {"good": "circle", "neutral": "circle-open", "bad": "triangle-up"}
