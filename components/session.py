"""The app's shared resources: settings, workspace, data version, one cached warehouse connection.

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

# Workspace per (CSAI_WORKSPACE, CSAI_DATABASE_URL) value, and (pointer file stat, version) per warehouse root.
# Plain dicts: both are read many times per rerun, where a st.cache_resource lookup or a file read costs more.
_workspaces: dict[tuple[str | None, str | None], Workspace] = {}
_versions: dict[str, tuple[tuple[int, int, int], str]] = {}


def workspace() -> Workspace:
    """The workspace named by ``CSAI_WORKSPACE`` (or ./workspace); settings are read once per process.

    Keyed by ``CSAI_DATABASE_URL`` too: one folder served with another operational store gets its own
    settings and engine, never the first store's.
    """
    key = (os.environ.get("CSAI_WORKSPACE"), os.environ.get("CSAI_DATABASE_URL"))
    ws = _workspaces.get(key)
    if ws is None:
        ws = _workspaces.setdefault(key, Workspace(load_settings(key[0])))
    return ws


def settings() -> Settings:
    return workspace().settings


@st.cache_resource(show_spinner=False, max_entries=2)
def _connection(root: str, version: str) -> duckdb.DuckDBPyConnection:
    con = workspace().warehouse.connect()
    # Rows in any order unless a query asks: the whole book's queries at 1,000,000 accounts need about half the
    # memory and run 2-4x faster. Every app query orders what it shows (ORDER BY with a unique tie-breaker).
    con.execute("SET preserve_insertion_order = false")
    return con


def data_version() -> str:
    """Changes whenever a job publishes a new warehouse snapshot.

    The snapshot pointer is re-read only when its file changed: jobs replace it atomically
    (a new inode), so an unchanged ``stat`` means an unchanged version.
    """
    warehouse = workspace().warehouse
    stamp = warehouse.pointer_stamp()
    if stamp is None:
        return warehouse.version()
    root = str(warehouse.root)
    known = _versions.get(root)
    if known is not None and known[0] == stamp:
        return known[1]
    version = warehouse.version()
    _versions[root] = (stamp, version)
    return version


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the current snapshot's cached connection."""
    ws = workspace()
    return _connection(str(ws.warehouse.root), data_version()).cursor()
