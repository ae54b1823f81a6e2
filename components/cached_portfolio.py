"""Cached Portfolio reads: keyed by the data version and the viewer, never global.

One cached bundle per (data version, viewer) holds every figure the page draws, so a
rerun (a filter toggle, a click) costs no query. A new scoring run or import changes
the version and the next rerun reads fresh figures.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from components.session import cursor, data_version, workspace
from data import portfolio
from data.access import Viewer
from data.queries import as_of_date

RENEWAL_DAYS = 180
MOVERS = 10


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _bundle(version: str, viewer_key: str, _viewer: Viewer) -> dict:
    con = cursor()
    as_of = as_of_date(con)
    survival = portfolio.survival_data(con, _viewer, as_of)
    return {
        "as_of": as_of,
        "kpis": portfolio.kpis(con, _viewer, as_of),
        "retention": portfolio.retention_12m(con, _viewer, as_of),
        "has_scores": portfolio.has_scores(con),
        "scoring_runs": portfolio.scoring_runs(con),
        "risk_distribution": portfolio.risk_distribution(con, _viewer),
        "risk_by_segment": portfolio.risk_by_group(con, _viewer, "segment"),
        "risk_by_csm": portfolio.risk_by_group(con, _viewer, "csm"),
        "renewals": portfolio.renewals(con, _viewer, as_of, days=RENEWAL_DAYS),
        "movers": portfolio.top_movers(con, _viewer, n=MOVERS),
        "movements": portfolio.mrr_movements(con, _viewer, as_of, months=12),
        "survival": survival,
        "survival_by_segment": portfolio.survival_curves(survival, "segment"),
    }


def portfolio_figures(viewer: Viewer) -> dict:
    """Every figure of the Portfolio page for ``viewer`` (see :mod:`data.portfolio` for each one's meaning)."""
    return _bundle(data_version(), viewer.cache_key, viewer)


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _cohort_curves(version: str, viewer_key: str, cohorts: tuple[str, ...], _viewer: Viewer) -> pd.DataFrame:
    survival = portfolio_figures(_viewer)["survival"]
    return portfolio.survival_curves(survival, "cohort", groups=list(cohorts))


def cohort_curves(viewer: Viewer, cohorts: list[str]) -> pd.DataFrame:
    """Kaplan–Meier curves of the chosen signup quarters (in the given order)."""
    return _cohort_curves(data_version(), viewer.cache_key, tuple(cohorts), viewer)


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _horizon_days(version: str, model_id: str) -> int | None:
    with contextlib.suppress(Exception):
        from models.registry import get_model

        return get_model(workspace().engine, model_id).horizon_days
    return None


def horizon_days(model_id: str | None) -> int | None:
    """The prediction horizon (days) of the model that made the scores, if its record is available."""
    return _horizon_days(data_version(), model_id) if model_id else None
