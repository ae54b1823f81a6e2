"""Cached reads for the Today page and score-time captions (keyed by data version and viewer)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from components.session import cursor, data_version
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
