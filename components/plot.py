"""Drawing a chart on a page: one place for the plotly settings every chart shares.

Every chart has a camera button ("Download as PNG") that saves it at twice the screen
resolution under a file name that says what it is, so it can go straight into a deck; the
plotly logo and the zoom/select tools that business users never need are left out.
"""

from __future__ import annotations

import re
from typing import Any

import plotly.graph_objects as go
import streamlit as st

_REMOVED_BUTTONS = ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "toggleSpikelines",
                    "hoverClosestCartesian", "hoverCompareCartesian"]


def config(filename: str) -> dict[str, Any]:
    """The plotly ``config`` of a chart: PNG export named ``filename`` (sanitised), no logo, few tools."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", filename).strip("_") or "chart"
    return {
        "displaylogo": False,
        "displayModeBar": "hover",
        "modeBarButtonsToRemove": _REMOVED_BUTTONS,
        "toImageButtonOptions": {"format": "png", "filename": safe, "scale": 2},
    }


def show(fig: go.Figure, *, key: str, filename: str | None = None, **kwargs: Any):
    """``st.plotly_chart(fig)`` with the shared :func:`config`; returns what it returns (a selection event or None).

    ``filename`` names the PNG download (default: ``key``); other keyword arguments go to
    ``st.plotly_chart`` (``on_select``, ``selection_mode``, ...).
    """
    return st.plotly_chart(fig, key=key, config=config(filename or key), **kwargs)
