"""Cached page reads: keyed by the data version and the viewer, never global.

A new warehouse snapshot (a CLI import or scoring run) changes the version, so the
next rerun reads fresh data without a restart.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components import cached_charts, charts
from components.session import cursor, data_version
from data import queries, readmodel
from data.access import Viewer


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _options(version: str, viewer_key: str, _viewer: Viewer) -> dict:
    return queries.filter_options(cursor(), _viewer)


def filter_options(viewer: Viewer) -> dict:
    return _options(data_version(), viewer.cache_key, viewer)


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def _account_detail(version: str, viewer_key: str, account_id: str, _viewer: Viewer) -> dict:
    con = cursor()
    return {
        "overview": queries.require_account(con, _viewer, account_id),
        "usage": queries.usage_by_week(con, _viewer, account_id),
        "active_users": queries.active_users_by_week(con, _viewer, account_id),
        "subscriptions": queries.seats_history(con, _viewer, account_id),
        "timeline": queries.timeline(con, _viewer, account_id),
        "contacts": queries.contacts(con, _viewer, account_id),
    }


def account_detail(viewer: Viewer, account_id: str) -> dict:
    """Everything the Account page shows; raises NotInBook outside the viewer's book.

    One shared object per data version, viewer and account (no unpickled copy per rerun):
    read its frames, derive new ones, never modify them.
    """
    return _account_detail(data_version(), viewer.cache_key, account_id, viewer)


_ACCOUNT_CHARTS = {
    "usage": lambda d: charts.fig_usage_by_type(d["usage"]),
    "active_users": lambda d: charts.fig_active_users(d["active_users"], d["subscriptions"]),
    "timeline": lambda d: charts.fig_timeline(d["timeline"]),
}
# Title and units drawn inside each figure (with the as-of date and the account's name) for a PNG export.
ACCOUNT_CHART_TITLES = {
    "usage": ("Usage by event type", "events per week"),
    "active_users": ("Active users vs seats", "users per week"),
    "timeline": ("Tickets, NPS, invoices and contacts", "events by date"),
}


def account_chart(viewer: Viewer, account_id: str, name: str) -> go.Figure:
    """One chart of :func:`account_detail` (a key of ``_ACCOUNT_CHARTS``), built once per version, viewer, account."""
    version = data_version()

    def build() -> go.Figure:
        detail = _account_detail(version, viewer.cache_key, account_id, viewer)
        title, units = ACCOUNT_CHART_TITLES[name]
        account = detail["overview"].get("name")
        return charts.deck_title(_ACCOUNT_CHARTS[name](detail), f"{account}: {title}" if account else title,
                                 units=units, as_of=_as_of(version))

    return cached_charts.figure(version, viewer.cache_key, name, build, variant=account_id)


@st.cache_data(show_spinner=False, max_entries=4)
def _as_of(version: str):
    return readmodel.as_of_date(cursor())


def as_of():
    """The workspace's as-of date: the end of its data (:func:`data.readmodel.as_of_date`)."""
    return _as_of(data_version())
