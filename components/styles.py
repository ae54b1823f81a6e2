"""The app's few CSS rules, in one place, applied once per run by ``app.py``.

* Rows of metric cards (``st.columns`` holding ``st.metric``) wrap onto a second line when
  a card would be narrower than ``CARD_MIN_PX``, instead of cutting figures down to "$…".
  Card titles wrap too rather than ending in "…". Rows of charts wrap the same way when a
  chart would be narrower than ``CHART_MIN_PX`` (its title, legend and axes need the room).
* Table text (account names included) is drawn in the theme's full text colour, never the
  faded grey Streamlit uses for pinned columns, which reads as disabled.
* Below ``NARROW_PX`` (a 900 px laptop window, a tablet) the sidebar starts collapsed, as
  Streamlit's ``initial_sidebar_state="auto"`` does only below 768 px: open, it would take a
  third of the window and squeeze the page's figures. :func:`narrow_sidebar` does it once the
  sidebar is drawn; a person who opens or closes the sidebar themselves keeps their choice.
  The page's side margins shrink there too, so a row of four cards still fits on one line.
"""

from __future__ import annotations

import streamlit as st

CARD_MIN_PX = 190
NARROW_PX = 1024
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
.st-key-narrow_sidebar {{
  display: none;
}}
@media (max-width: {NARROW_PX}px) {{
  [data-testid="stMainBlockContainer"] {{
    padding-left: 2rem;
    padding-right: 2rem;
  }}
}}
</style>
"""


def apply() -> None:
    """Add the app's CSS to the page (a style-only ``st.html`` takes no space)."""
    st.html(CSS)


# Streamlit keeps the person's own sidebar choice under localStorage "stSidebarCollapsed-<app>".
# Without one, and in a narrow window, collapse the sidebar once through its own button, then
# forget the choice that click stored: it was not theirs (a wider window shows the sidebar again).
NARROW_SIDEBAR_JS = f"""
<script>
(() => {{
  if (window.innerWidth > {NARROW_PX}) return;
  const prefix = "stSidebarCollapsed-";
  let store;
  try {{ store = window.localStorage; }} catch (e) {{ store = null; }}
  const choices = () => store ? Object.keys(store).filter(k => k.startsWith(prefix)) : [];
  if (choices().length) return;
  let tries = 0;
  const collapse = () => {{
    const sidebar = document.querySelector('[data-testid="stSidebar"]');
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (sidebar && button) {{
      if (sidebar.getAttribute("data-collapsed") === "false") {{
        button.click();
        choices().forEach(k => store.removeItem(k));
      }}
    }} else if (tries++ < 50) {{
      setTimeout(collapse, 100);
    }}
  }};
  collapse();
}})();
</script>
"""


def narrow_sidebar() -> None:
    """Collapse the sidebar in a window narrower than ``NARROW_PX`` unless the person chose otherwise.

    Call inside ``st.sidebar`` after login; the element is hidden and takes no space.
    """
    with st.container(key="narrow_sidebar"):
        st.html(NARROW_SIDEBAR_JS, unsafe_allow_javascript=True)
