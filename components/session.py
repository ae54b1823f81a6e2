"""The app's shared resources: settings, workspace, one cached warehouse connection.

``st.cache_resource`` holds one read-only DuckDB connection per warehouse version;
each query takes its own ``cursor()`` (a shared connection is not thread-safe).
When a CLI job publishes a new snapshot, the version changes and the next rerun
opens the new one, so results appear without a restart.
"""

from __future__ import annotations

import os

import duckdb
import streamlit as st

from data.settings import Settings, load_settings
from data.workspace import Workspace


@st.cache_resource(show_spinner=False)
def _workspace(path: str | None) -> Workspace:
    return Workspace(load_settings(path))


def workspace() -> Workspace:
    """The workspace named by ``CSAI_WORKSPACE`` (or ./workspace)."""
    return _workspace(os.environ.get("CSAI_WORKSPACE"))


def settings() -> Settings:
    return workspace().settings


@st.cache_resource(show_spinner=False, max_entries=2)
def _connection(root: str, version: str) -> duckdb.DuckDBPyConnection:
    return workspace().warehouse.connect()


def data_version() -> str:
    """Changes whenever a job publishes a new warehouse snapshot."""
    return workspace().warehouse.version()


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the current snapshot's cached connection."""
    ws = workspace()
    return _connection(str(ws.warehouse.root), data_version()).cursor()
