"""What the Model lab offers before training, read once per data version: the metric groups to train on,
the account columns left out unless kept, and the columns a person may keep anyway."""

from __future__ import annotations

import streamlit as st

from components.session import cursor, data_version
from data.metrics import catalog_for
from models.diagnostics.cohorts import feature_groups
from models.eligibility import attribute_report, candidate_attributes


@st.cache_data(show_spinner=False, max_entries=4)
def _groups(version: str) -> list[str]:
    return feature_groups(catalog_for(cursor()))


def metric_groups() -> list[str]:
    """The metric groups present in the workspace's catalog, in the catalog's usual order."""
    return _groups(data_version())


@st.cache_data(show_spinner=False, max_entries=4)
def _left_out(version: str, mode: str) -> dict[str, str]:
    return attribute_report(cursor(), mode)


def left_out_columns(mode: str) -> dict[str, str]:
    """Account columns training leaves out by name or kind alone (``mode``: ``time`` or ``flat``), with why."""
    return _left_out(data_version(), mode)


@st.cache_data(show_spinner=False, max_entries=4)
def _keepable(version: str) -> list[str]:
    return candidate_attributes(cursor())


def keepable_columns() -> list[str]:
    """Account columns a person may keep explicitly although they are custom or named like an outcome."""
    return _keepable(data_version())
