"""Fixtures for the authentication attack tests: a demo workspace, and a server reachable from other machines.

Helpers (signing in through the page, the CLI) live in ``tests/support/apptest.py`` and ``tests/support/cli.py``.
"""

from __future__ import annotations

import pytest

from data import users as user_store
from data.workspace import open_workspace
from tests.support.apptest import served_on_loopback  # noqa: F401 - the fixture, registered here
from tests.support.workspaces import write_tiny


@pytest.fixture(autouse=True)
def _loopback(served_on_loopback):  # noqa: F811 - requests the fixture imported above
    """The page tests here run as ``make run`` serves the app: on 127.0.0.1."""


@pytest.fixture()
def demo_ws(tmp_path, monkeypatch):
    """A tiny company with the demo logins (the demo mark set), served by the app."""
    ws = open_workspace(str(tmp_path / "ws"))
    write_tiny(ws.warehouse)
    user_store.create_demo_users(ws.settings.auth_file, ["Avery Chen", "Jordan Patel"])
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    return ws


@pytest.fixture(params=[None, "0.0.0.0", "192.0.2.10"], ids=["unset", "all-interfaces", "public-ip"])
def exposed_server(request, served_on_loopback):  # noqa: F811 - requests the fixture imported above
    """``server.address`` of a server reachable from other machines (unset means every interface)."""
    from streamlit import config

    config.set_option("server.address", request.param)
    return request.param
