"""Cached Portfolio reads: keyed by the data version and the viewer, never global.

One cached bundle per (data version, viewer) holds every figure the page draws, so a
rerun (a filter toggle, a click) costs no query. A new scoring run or import changes
the version and the next rerun reads fresh figures. The bundle is one shared object
(``st.cache_resource``: no copy per rerun, which at 100,000 accounts costs more than the
page's drawing): callers read its frames and derive new ones, never modify them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import cached_charts, charts
from components.session import cursor, data_version, workspace
from components.tables import risk_style
from data import portfolio
from data.access import Viewer
from data.readmodel import as_of_date
from models.registry import get_model

if TYPE_CHECKING:  # importing pandas.io.formats.style (and jinja2) slows a cold start
    from pandas.io.formats.style import Styler

RENEWAL_DAYS = 180
MOVERS = 10


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def _bundle(version: str, viewer_key: str, _viewer: Viewer) -> dict:
    con = cursor()
    as_of = as_of_date(con)
    survival = portfolio.survival_data(con, _viewer, as_of)
    movements, retention = portfolio.movements_and_retention(con, _viewer, as_of, months=12)
    return {
        "as_of": as_of,
        "kpis": portfolio.kpis(con, _viewer, as_of, retention=retention),
        "retention": retention,
        "has_scores": portfolio.has_scores(con),
        "scoring_runs": portfolio.scoring_runs(con),
        "risk_distribution": portfolio.risk_distribution(con, _viewer),
        "risk_by_segment": portfolio.risk_by_group(con, _viewer, "segment"),
        "risk_by_csm": portfolio.risk_by_group(con, _viewer, "csm"),
        "renewals": portfolio.renewals(con, _viewer, as_of, days=RENEWAL_DAYS),
        "movers": portfolio.top_movers(con, _viewer, n=MOVERS),
        "movements": movements,
        "survival": survival,
        "survival_by_segment": portfolio.survival_curves(survival, "segment"),
        "cohorts": _cohorts(survival),
    }


def _cohorts(survival: pd.DataFrame) -> list[str]:
    """Signup quarters with at least 10 accounts, newest first (the choices of the cohort chart)."""
    if survival.empty:
        return []
    counts = survival["cohort"].value_counts()
    return sorted(counts[counts >= 10].index, reverse=True)


def portfolio_figures(viewer: Viewer) -> dict:
    """Every figure of the Portfolio page for ``viewer`` (see :mod:`data.portfolio` for each one's meaning)."""
    return _bundle(data_version(), viewer.cache_key, viewer)


def _risk_value(figures: dict) -> str:
    """What the risk bars measure: ARR, or accounts when the data has no revenue."""
    return "arr" if figures["kpis"].has_revenue else "accounts"


# Each chart of the page: name -> builder over the bundle.
_CHARTS = {
    "risk_distribution": lambda f: charts.fig_risk_distribution(f["risk_distribution"]),
    "risk_by_segment": lambda f: charts.fig_risk_by_group(f["risk_by_segment"], "segment", _risk_value(f)),
    "risk_by_csm": lambda f: charts.fig_risk_by_group(f["risk_by_csm"], "CSM", _risk_value(f)),
    "mrr_waterfall": lambda f: charts.fig_mrr_waterfall(f["movements"]),
    "mrr_bridge": lambda f: charts.fig_mrr_bridge(f["movements"]),
    "survival_segment": lambda f: charts.fig_survival(f["survival_by_segment"]),
}
# Each chart's title and units, drawn inside the figure with the as-of date (see charts.deck_title).
TITLES = {
    "risk_distribution": ("Accounts by predicted churn probability", "number of accounts per probability bin"),
    "risk_by_segment": ("ARR by risk band and segment", "ARR in $"),
    "risk_by_csm": ("ARR by risk band and CSM", "ARR in $"),
    "mrr_waterfall": ("MRR movements by month", "MRR change in $ a month"),
    "mrr_bridge": ("12 months of MRR, start to now", "MRR in $ a month"),
    "survival_segment": ("Customers still with us, by segment", "share of customers still subscribed"),
    "renewals": ("Renewals ahead and their churn risk", "p(churn) by renewal date · bubble size = ARR"),
    "survival_cohort": ("Customers still with us, by signup quarter", "share of customers still subscribed"),
}


# With no revenue data the risk bars count accounts (see _risk_value), and their titles say so.
ACCOUNT_TITLES = {
    "risk_by_segment": ("Accounts by risk band and segment", "number of accounts"),
    "risk_by_csm": ("Accounts by risk band and CSM", "number of accounts"),
}


def _titled(fig: go.Figure, name: str, as_of, revenue: bool = True) -> go.Figure:
    title, units = TITLES[name] if revenue else ACCOUNT_TITLES.get(name, TITLES[name])
    return charts.deck_title(fig, title, units=units, as_of=as_of)


def chart(viewer: Viewer, name: str) -> go.Figure:
    """One of the page's fixed charts (a key of ``_CHARTS``), built once per data version and viewer."""
    version = data_version()
    return cached_charts.figure(version, viewer.cache_key, name,
                                lambda: _build(name, _bundle(version, viewer.cache_key, viewer)))


def _build(name: str, bundle: dict) -> go.Figure:
    return _titled(_CHARTS[name](bundle), name, bundle["as_of"], _risk_value(bundle) == "arr")


@dataclass(frozen=True)
class RenewalsWindow:
    """The renewals of one window for one viewer; shared between reruns and sessions, read only.

    ``count``/``arr`` cover every renewal in the window, ``at_risk_*`` those in the medium or
    high band. ``table`` is what the page lists: expected ARR loss, then ARR, descending;
    p(churn) in percent; the CSM column only for viewers who see every account. ``styled``
    is ``table`` with its risk column coloured.
    """

    count: int
    arr: float
    at_risk_count: int
    at_risk_arr: float
    table: pd.DataFrame
    styled: Styler


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def _renewals_window(version: str, viewer_key: str, days: int, include_monthly: bool,
                     _viewer: Viewer) -> RenewalsWindow:
    ahead = renewals_ahead(_bundle(version, viewer_key, _viewer)["renewals"], days, include_monthly)
    at_risk = ahead[ahead["risk_band"].isin(["high", "medium"])]
    shown = ["name", "renewal_date", "arr", "p_churn", "risk_band", "expected_arr_loss"]
    shown += ["csm"] if _viewer.sees_all_accounts else []
    table = ahead.sort_values(["expected_arr_loss", "arr"], ascending=False, na_position="last")
    table = table[[*shown, "account_id"]].reset_index(drop=True)
    table["p_churn"] = table["p_churn"] * 100
    return RenewalsWindow(count=len(ahead), arr=float(ahead["arr"].sum()), at_risk_count=len(at_risk),
                          at_risk_arr=float(at_risk["arr"].sum()), table=table, styled=risk_style(table))


def renewals_window(viewer: Viewer, days: int, include_monthly: bool) -> RenewalsWindow:
    """The renewals within ``days`` of the as-of date (annual contracts only unless ``include_monthly``)."""
    return _renewals_window(data_version(), viewer.cache_key, days, include_monthly, viewer)


def renewals_ahead(renewals: pd.DataFrame, days: int, include_monthly: bool) -> pd.DataFrame:
    """The renewals within ``days`` of the as-of date; annual contracts only unless ``include_monthly``."""
    ahead = renewals[renewals["days_to_renewal"] <= days]
    return ahead if include_monthly else ahead[ahead["billing_period"] == "annual"]


def renewals_chart(viewer: Viewer, days: int, include_monthly: bool) -> go.Figure:
    """The renewal bubble chart of :func:`renewals_ahead` for this window."""
    version = data_version()

    def build() -> go.Figure:
        bundle = _bundle(version, viewer.cache_key, viewer)
        return _titled(charts.fig_renewals(renewals_ahead(bundle["renewals"], days, include_monthly)), "renewals",
                       bundle["as_of"])

    return cached_charts.figure(version, viewer.cache_key, "renewals", build, variant=(days, include_monthly))


def cohort_chart(viewer: Viewer, cohorts: list[str]) -> go.Figure:
    """Kaplan–Meier curves of the chosen signup quarters (in the given order)."""
    version = data_version()

    def build() -> go.Figure:
        bundle = _bundle(version, viewer.cache_key, viewer)
        return _titled(charts.fig_survival(portfolio.survival_curves(bundle["survival"], "cohort", groups=list(cohorts))),
                       "survival_cohort", bundle["as_of"])

    return cached_charts.figure(version, viewer.cache_key, "survival_cohort", build, variant=tuple(cohorts))


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _horizon_days(version: str, model_id: str) -> int | None:
    with contextlib.suppress(Exception):
        return get_model(workspace().engine, model_id).horizon_days
    return None


def horizon_days(model_id: str | None) -> int | None:
    """The prediction horizon (days) of the model that made the scores, if its record is available."""
    return _horizon_days(data_version(), model_id) if model_id else None
