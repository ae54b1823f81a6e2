"""The app's few CSS rules, in one place, applied once per run by ``app.py``.

* Rows of metric cards (``st.columns`` holding ``st.metric``) wrap onto a second line when
  a card would be narrower than ``CARD_MIN_PX``, instead of cutting figures down to "$…".
  Card titles wrap too rather than ending in "…". Rows of charts wrap the same way when a
  chart would be narrower than ``CHART_MIN_PX`` (its title, legend and axes need the room).
* Table text (account names included) is drawn in the theme's full text colour, never the
  faded grey Streamlit uses for pinned columns, which reads as disabled.
"""

from __future__ import annotations

import streamlit as st

CARD_MIN_PX = 190
CHART_MIN_PX = 360
TEXT_COLOR = "#1f2933"  # the theme's textColor: 15:1 on white

CSS = f"""
<style>
div[data-testid="stHorizontalBlock"]:has(> div[data-testid="stColumn"] div[data-testid="stMetric"]) {{
  flex-wrap: wrap;
  row-gap: 0.75rem;
}}
div[data-testid="stHorizontalBlock"]:has(> div[data-testid="stColumn"] div[data-testid="stMetric"])
  > div[data-testid="stColumn"] {{
  min-width: {CARD_MIN_PX}px;
  flex: 1 1 {CARD_MIN_PX}px;
}}
div[data-testid="stHorizontalBlock"]:has(> div[data-testid="stColumn"] div[data-testid="stPlotlyChart"]) {{
  flex-wrap: wrap;
}}
div[data-testid="stHorizontalBlock"]:has(> div[data-testid="stColumn"] div[data-testid="stPlotlyChart"])
  > div[data-testid="stColumn"] {{
  min-width: {CHART_MIN_PX}px;
  flex: 1 1 {CHART_MIN_PX}px;
}}
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {{
  white-space: normal !important;
  overflow: visible !important;
  text-overflow: clip !important;
}}
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {{
  overflow: visible !important;
  text-overflow: clip !important;
}}
</style>
"""


def apply() -> None:
    """Add the app's CSS to the page (a style-only ``st.html`` takes no space)."""
    st.html(CSS)
