"""Cached score reads for the Accounts and Account pages (keyed by data version and viewer).

Scope first: every function checks the viewer's book through ``data.queries`` before it
touches scores, so a CSM never receives another book's scores or drivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import cached_charts, charts
from components.session import cursor, data_version, workspace
from components.tables import RISK_BAND_LABELS
from data import queries, readmodel
from data.access import Viewer
from models import scoring
from models.registry import get_model, load_model, production_model


@dataclass(frozen=True)
class AccountsList:
    """The Accounts page's source table, shared by every rerun and session: read it, never modify it.

    ``frame`` is the viewer's scored overview (see :func:`_scored_overview`), riskiest first
    (p(churn), then ARR, descending; unscored last) once any account is scored, with the
    band's display label in ``risk_label``. ``driver_groups`` are the top-driver groups present.
    """

    frame: pd.DataFrame
    has_scores: bool
    driver_groups: list[str]
    has_previous: bool = False
    has_revenue: bool = True
    rule_score: bool = False  # the latest scores come from the rule health score (no production model)


SCORE_COLUMNS = ["account_id", "p_churn", "risk_band", "p_churn_change", "top_driver", "top_driver_group",
                 "p_expansion", "expected_arr_loss", "health_score"]
NUMERIC = ["p_churn", "p_churn_change", "p_expansion", "expected_arr_loss", "health_score", "arr", "mrr"]


def _scored_overview(con, viewer: Viewer) -> pd.DataFrame:
    overview = queries.account_overview(con, viewer)
    scores = readmodel.latest_scores(con, columns=SCORE_COLUMNS)
    if scores.empty:
        frame = overview.assign(p_churn=None, risk_band=pd.NA, p_churn_change=None, top_driver=pd.NA,
                                top_driver_group=pd.NA, p_expansion=None, expected_arr_loss=None, health_score=None)
    else:
        frame = overview.merge(scores, on="account_id", how="left")
    del overview, scores  # at 1,000,000 accounts each is hundreds of MB: free them before the next copy
    for column in NUMERIC:  # missing = NaN (drawn blank), never the text "None"; column by column, no frame copy
        if frame[column].dtype != "float64":
            frame[column] = frame[column].astype("float64")
    return frame


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def _accounts_list(version: str, viewer_key: str, _viewer: Viewer) -> AccountsList:
    frame = _scored_overview(cursor(), _viewer)
    revenue = readmodel.data_shape(cursor()) == "billing"
    has_scores = bool(frame["p_churn"].notna().any())
    rule_score = has_scores and readmodel.is_rule_score(readmodel.score_source(cursor()))
    if has_scores:
        # Stable: ties keep the overview's order (ARR, then account id), as sorting any filtered subset would.
        # The order is computed on two columns and the frame copied once, by position.
        order = frame[["p_churn", "arr"]].sort_values(["p_churn", "arr"], ascending=[False, False],
                                                       na_position="last", kind="stable").index.to_numpy()
        frame = frame.take(order)
        frame["risk_label"] = frame["risk_band"].map(RISK_BAND_LABELS).fillna("not scored")
    frame.index = pd.RangeIndex(len(frame))
    return AccountsList(frame=frame, has_scores=has_scores,
                        driver_groups=sorted(frame["top_driver_group"].dropna().unique()),
                        has_previous=bool(frame["p_churn_change"].notna().any()), has_revenue=revenue,
                        rule_score=rule_score)


def accounts_list(viewer: Viewer) -> AccountsList:
    """The viewer's accounts with their latest p(churn), band, change, top driver, p(expansion), expected loss.

    Held as one shared object per data version and viewer (no copy per rerun: at 100,000
    accounts a copy costs more than drawing the table).
    """
    return _accounts_list(data_version(), viewer.cache_key, viewer)


def book_size(viewer: Viewer) -> int:
    """How many accounts the viewer's book has."""
    return len(accounts_list(viewer).frame)


def find_accounts(viewer: Viewer, needle: str | None, limit: int) -> tuple[pd.DataFrame, int]:
    """The viewer's accounts whose name or id contains ``needle`` (any case; ``None``: every account), largest ARR
    first (then by id), at most ``limit`` of them (``account_id``, ``name``, ``arr``), and how many match.

    Read from the shared Accounts list, so the picker keeps no second copy of a large book.
    """
    base = accounts_list(viewer).frame
    if needle is None:
        hit = np.ones(len(base), dtype=bool)
    else:
        low = needle.strip().lower()
        hit = (base["name"].str.lower().str.contains(low, regex=False, na=False)
               | base["account_id"].astype(str).str.lower().str.contains(low, regex=False, na=False)).to_numpy()
    found = base.loc[hit, ["account_id", "name", "arr"]]
    found = found.sort_values(["arr", "account_id"], ascending=[False, True], na_position="last", kind="stable")
    return found.head(limit).reset_index(drop=True), int(hit.sum())


TABLE_ROWS = 5_000  # rows sent to the browser per view; the totals and the CSV export cover every shown account
# "Sort by" choices: None keeps the list order (riskiest first once scored); otherwise (column, ascending).
ORDERS: dict[str, tuple[str, bool] | None] = {
    "Risk": None, "Expected loss": ("expected_arr_loss", False), "ARR": ("arr", False),
    "Renewal date": ("renewal_date", True), "Name": ("name", True),
}
SCORE_ORDERS = ("Risk", "Expected loss")  # only offered once accounts are scored
PROBABILITY_ORDERS = ("Expected loss",)  # not offered for the rule health score (no probability, no expected loss)


@dataclass(frozen=True)
class AccountFilters:
    """The Accounts page's filters: text search (name or id), chosen values per column (empty = all),
    status ("Active", "Churned" or "All") and an optional renewal window in days from the as-of date."""

    search: str = ""
    segments: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    csms: tuple[str, ...] = ()
    bands: tuple[str, ...] = ()
    driver_groups: tuple[str, ...] = ()
    status: str = "Active"
    renewal_days: int | None = None
    order: str = "Risk"


@dataclass(frozen=True)
class AccountsView:
    """The accounts one filter choice shows (shared between reruns and sessions: read only).

    ``rows`` has every shown account with the listed columns in the chosen order (list order
    is riskiest first once scored; ``risk_band`` holds the band's label), built when asked for
    (the CSV export): the view keeps only the shown rows' positions in the shared list, not a
    copy of them (at 1,000,000 accounts a copy is about 200 MB per filter choice). ``table`` is
    its first :data:`TABLE_ROWS` rows, the part drawn in the browser. The totals cover every
    shown account.
    """

    table: pd.DataFrame
    arr: float
    expected_arr_loss: float
    renewing_90: int
    has_revenue: bool = True
    expected_churned: float = 0.0
    rule_score: bool = False
    high_risk: int = 0  # accounts shown in the high risk band, and their ARR
    high_risk_arr: float = 0.0
    positions: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # in the list, in order
    source: pd.DataFrame | None = field(default=None, repr=False)  # the shared list (AccountsList.frame)
    columns: tuple[str, ...] = ()

    @property
    def accounts(self) -> int:
        return len(self.positions)

    @property
    def rows(self) -> pd.DataFrame:
        if self.source is None:
            return self.table
        return _listed(self.source, self.positions, list(self.columns))


def _listed(base: pd.DataFrame, positions: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The listed ``columns`` of ``base``'s rows at ``positions``, in that order, indexed from 0."""
    return base[columns].take(positions).rename(columns={"risk_label": "risk_band"}).reset_index(drop=True)


def _renewing_within(frame: pd.DataFrame, as_of: pd.Timestamp, days: int) -> pd.Series:
    """The Renewal filter: any renewal (monthly plans' next anniversary included) within ``days``."""
    renew = pd.to_datetime(frame["renewal_date"])
    return (renew >= as_of) & (renew <= as_of + timedelta(days=days))


@st.cache_resource(show_spinner=False, max_entries=4, ttl=600)
def _accounts_view(version: str, viewer_key: str, filters: AccountFilters, as_of: pd.Timestamp,
                   _viewer: Viewer) -> AccountsView:
    accounts = _accounts_list(version, viewer_key, _viewer)
    base = accounts.frame
    shown = pd.Series(True, index=base.index)  # one row mask, then a single copy of the listed columns
    if filters.search:
        needle = filters.search.strip().lower()
        shown &= (base["name"].str.lower().str.contains(needle, regex=False, na=False)
                  | base["account_id"].str.lower().str.contains(needle, regex=False, na=False))
    for column, chosen in (("segment", filters.segments), ("plan", filters.plans), ("csm", filters.csms),
                           ("risk_band", filters.bands), ("top_driver_group", filters.driver_groups)):
        if chosen:
            shown &= base[column].isin(chosen)
    if filters.status == "Active":
        shown &= base["status"] == "active"
    elif filters.status == "Churned":
        shown &= base["status"] == "churned"
    if filters.renewal_days is not None:
        shown &= _renewing_within(base, as_of, filters.renewal_days)
    columns = ["name", "segment", "plan", "csm", "arr", "seats", "renewal_date", "tenure_days", "status", "account_id"]
    if accounts.has_scores:
        columns = ["name", "risk_label", "p_churn", "p_churn_change", "top_driver", "p_expansion", "expected_arr_loss",
                   "segment", "plan", "csm", "arr", "seats", "renewal_date", "status", "account_id"]
    if accounts.rule_score:  # a scorecard, not a probability: its 0-100 score and reasons, no expected loss
        columns = ["name", "risk_label", "health_score", "top_driver", "segment", "plan", "csm", "arr", "seats",
                   "renewal_date", "status", "account_id"]
    if not accounts.has_revenue:  # no revenue data: no ARR, expected loss, seats or renewal columns
        columns = [c for c in columns if c not in ("arr", "seats", "renewal_date", "expected_arr_loss", "p_expansion")]
    high = base["risk_band"] == "high" if "risk_band" in base else pd.Series(False, index=base.index)
    positions = np.flatnonzero(shown.to_numpy())
    order = ORDERS.get(filters.order)
    if order and order[0] in columns:  # stable: ties keep the list order (base has a 0..n-1 index)
        ranked = base[order[0]].take(positions).sort_values(ascending=order[1], na_position="last", kind="stable")
        positions = ranked.index.to_numpy()
    return AccountsView(table=_listed(base, positions[:TABLE_ROWS], columns), arr=float(base["arr"][shown].sum()),
                        expected_arr_loss=float(pd.to_numeric(base["expected_arr_loss"][shown]).sum()),
                        renewing_90=int((readmodel.renewing_within(base, as_of, 90) & shown).sum()),
                        has_revenue=accounts.has_revenue,
                        expected_churned=float(pd.to_numeric(base["p_churn"][shown]).sum()),
                        rule_score=accounts.rule_score, high_risk=int((high & shown).sum()),
                        high_risk_arr=float(base["arr"][high & shown].sum()),
                        positions=positions, source=base, columns=tuple(columns))


def accounts_view(viewer: Viewer, filters: AccountFilters, as_of) -> AccountsView:
    """The viewer's accounts that pass ``filters`` (renewal windows count from ``as_of``).

    Kept for the last few filter choices, so a rerun with the same filters (a row click, a
    selection) copies nothing.
    """
    return _accounts_view(data_version(), viewer.cache_key, filters, pd.Timestamp(as_of), viewer)


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def _explanation(version: str, viewer_key: str, account_id: str, _viewer: Viewer):
    con = cursor()
    queries.require_account(con, _viewer, account_id)
    return scoring.account_explanation(con, account_id), scoring.score_history(con, account_id)


def explanation(viewer: Viewer, account_id: str):
    """(AccountExplanation or None, score history) for an account in the viewer's book.

    Shared between reruns and sessions like :func:`components.cached.account_detail`: read only.
    """
    return _explanation(data_version(), viewer.cache_key, account_id, viewer)


TECHNICAL_ROLES = frozenset({"admin", "data_scientist"})  # see model ids and calibration; others read plain words


def technical(viewer: Viewer) -> bool:
    """True when ``viewer`` reads model ids and calibration terms (admins, data scientists), not CSMs or managers."""
    return bool(TECHNICAL_ROLES.intersection(viewer.roles))


def _data_as_of(explanation):
    """The data's as-of date of a score: the day before its observation date (scores observe the day after
    the data's end), as the pages' "data as of" says; the scoring time for scores without one."""
    if explanation.obs_date is not None and not pd.isna(explanation.obs_date):
        return pd.Timestamp(explanation.obs_date) - pd.Timedelta(days=1)
    return explanation.scored_at


def _build_explanation_chart(name: str, explanation, history: pd.DataFrame, plain: bool = True) -> go.Figure:
    if name == "shap_waterfall":
        return charts.deck_title(
            charts.fig_shap_waterfall(explanation.drivers, explanation.shap_base, explanation.shap_other,
                                      explanation.p_churn, scale=explanation.shap_scale,
                                      p_base=explanation.p_base, others=explanation.other_factors, plain=plain),
            "What drives this account's risk", units="probability of churn",
            as_of=_data_as_of(explanation))
    if name == "score_history":
        return charts.deck_title(charts.fig_score_history(history), "Probability history",
                                 units="probability per scoring run",
                                 as_of=history["scored_at"].max() if not history.empty else None)
    raise ValueError(f"unknown explanation chart {name!r}")


def explanation_chart(viewer: Viewer, account_id: str, name: str) -> go.Figure:
    """The account's SHAP waterfall (``shap_waterfall``) or score history (``score_history``) chart.

    Built once per data version, viewer and account; only for a scored account in the viewer's book.
    """
    version = data_version()

    def build() -> go.Figure:
        return _build_explanation_chart(name, *_explanation(version, viewer.cache_key, account_id, viewer),
                                        plain=not technical(viewer))

    return cached_charts.figure(version, viewer.cache_key, name, build, variant=account_id)


@st.cache_resource(show_spinner=False, max_entries=4)
def _model(model_id: str):
    return load_model(get_model(workspace().engine, model_id))


def production_churn_record():
    """The registry record of the production churn model (its horizon, id), or None; no model is loaded."""
    return production_model(workspace().engine, "churn")


def trained_model(record):
    """The trained model of a registry ``record`` (loaded once per process; loading takes seconds)."""
    return _model(record.id)


@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _features(version: str, viewer_key: str, account_id: str, _viewer: Viewer) -> pd.DataFrame:
    con = cursor()
    queries.require_account(con, _viewer, account_id)
    return scoring.account_features(con, account_id)


def account_features(viewer: Viewer, account_id: str) -> pd.DataFrame:
    """The account's metric row as of the scoring date (for the what-if form)."""
    return _features(data_version(), viewer.cache_key, account_id, viewer)
