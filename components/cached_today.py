"""Cached reads for the Today page and score-time captions (keyed by data version and viewer)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from components.session import cursor, data_version, workspace
from data import portfolio


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _scoring_runs(version: str) -> list[datetime]:
    return portfolio.scoring_runs(cursor())


def last_scored_at() -> datetime | None:
    """When the latest scoring run was made (naive UTC), or None before the first run."""
    runs = _scoring_runs(data_version())
    return runs[0] if runs else None


def previous_scored_at() -> datetime | None:
    """When the scoring run before the latest was made, or None with fewer than two runs."""
    runs = _scoring_runs(data_version())
    return runs[1] if len(runs) > 1 else None


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def _last_touches(marker: tuple) -> pd.DataFrame:
    """Shared, not unpickled on every rerun of Accounts: callers only read it."""
    from playbooks import today  # deferred: import time (playbooks; every page loads this module)

    return today.last_touches(workspace().engine)


def with_days_since_touch(book: pd.DataFrame) -> pd.DataFrame:
    """``book`` (rows of the viewer's scoped accounts) plus ``days_since_touch``: whole days since the latest
    note, logged activity, completed task or playbook started by a person (NA = never touched).

    The Today page's definition (:func:`playbooks.today.last_touches`). The touches of every account are
    cached under :func:`playbooks.today.touch_marker`, read on every run, so a note logged a moment ago
    counts at once without re-reading four whole tables on every rerun.
    """
    from playbooks import today  # deferred: import time (playbooks; every page loads this module)

    touches = _last_touches(today.touch_marker(workspace().engine))
    touches = touches[touches["account_id"].isin(book["account_id"])]
    return today.with_days_since_touch(book, touches).drop(columns=["last_touch_at", "last_touch_kind"])
