"""Built chart figures, cached per data version, viewer and view choice.

Building a plotly figure (trace validation, ``update_layout``) costs more than drawing it,
so a rerun (a widget click, a tab change) reuses the figure built for the same inputs.
``st.cache_resource`` hands every caller the same Figure without copying: callers only
pass it to ``st.plotly_chart`` (which copies it with ``to_dict``) and never change it.

The key is (data version, viewer, chart name, variant). ``build`` must draw only from what
that key determines: the viewer's cached reads *for that same version* (read inside
``build``, not before, so a snapshot published mid-run cannot file old figures under the
new version) and the view choices spelled out in ``variant`` (a renewal window, an
account id, the chosen cohorts).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import plotly.graph_objects as go
import streamlit as st


@st.cache_resource(show_spinner=False, max_entries=1024, ttl=3600)
def _figure(version: str, viewer_key: str, name: str, variant: Hashable, _build: Callable[[], go.Figure]) -> go.Figure:
    # Rebuilt from its own dict: numeric arrays are then held already encoded (plotly's base64
    # typed arrays) instead of being re-encoded from numpy on every draw. Same chart; only empty
    # ``title: {}`` stubs are dropped. The dict comes from a validated figure, so it is not validated twice.
    return go.Figure(_build().to_dict(), _validate=False)


def figure(version: str, viewer_key: str, name: str, build: Callable[[], go.Figure],
           variant: Hashable = ()) -> go.Figure:
    """The figure ``build()`` returns, built once per (``version``, ``viewer_key``, ``name``, ``variant``)."""
    return _figure(version, viewer_key, name, variant, build)
