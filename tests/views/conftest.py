"""AppTest helpers: run the real app.py as a given user, on a given page."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data import users as user_store
from data.workspace import open_workspace
from tests.data.tiny import write_tiny

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def run_app(username: str | None = None, page: str | None = None, params: dict | None = None) -> AppTest:
    """Run app.py logged in as ``username`` (None = logged out), optionally on ``page`` with query params."""
    at = AppTest.from_file(APP, default_timeout=30)
    if username:
        at.session_state["authentication_status"] = True
        at.session_state["username"] = username
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    at.run()
    return at


@pytest.fixture()
def tiny_ws(tmp_path, monkeypatch):
    """A workspace with the hand-made company and one user per role."""
    ws = open_workspace(str(tmp_path / "ws"))
    write_tiny(ws.warehouse)
    auth = ws.settings.auth_file
    for name, role, csm in [("admin", "admin", None), ("manager", "manager", None), ("datasci", "data_scientist", None),
                            ("csm1", "csm", "Avery Chen"), ("csm2", "csm", "Jordan Patel")]:
        user_store.add_user(auth, name, role=role, password=f"{name}-password", csm=csm)
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    return ws


@pytest.fixture(autouse=True)
def served_on_loopback():
    """Streamlit's ``server.address`` set to 127.0.0.1, as ``make run`` does (AppTest leaves it unset,
    and demo logins work only on a loopback address)."""
    from streamlit import config

    old = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", old)


@pytest.fixture(autouse=True)
def no_page_errors_logged(caplog):
    """app.py logs an unexpected page exception and shows a plain message instead of raising it, so
    AppTest's ``at.exception`` no longer sees it: fail the test on any such log record instead."""
    yield
    errors = [r for r in caplog.get_records("call") if r.name == "csai.pages" and r.levelno >= logging.ERROR]
    assert not errors, "a page raised: " + "\n".join(
        f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in errors)
