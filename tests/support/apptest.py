"""AppTest helpers: run the real app.py as a given user on a given page, and read what a page says.

Every run goes through the page-crash guard of ``tests/support/apptest_guard.py`` (autouse).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Dataframe

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DATA_PAGE = "views/data.py"
TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error")


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


def texts(at) -> str:
    """Every text a person reads on the page (titles, headings, markdown, captions, alert boxes, metrics), one per line."""
    parts = [e.value for kind in TEXT_ELEMENTS for e in at.get(kind)]
    parts += [str(m.value) for m in at.metric] + [m.label for m in at.metric]
    return "\n".join(str(p) for p in parts)


def all_text(at) -> str:
    """Every element of the page as text (protobufs, and table cells as CSV): what any user could read."""
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(node, Dataframe):
            out.append(node.value.to_csv())
        elif getattr(node, "proto", None) is not None:
            out.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def button(at, label: str):
    """The first button labelled ``label``."""
    return next(b for b in at.button if b.label == label)


def upload(at, name: str, content: bytes):
    """Put a CSV file into the Data page's uploader and rerun."""
    at.file_uploader(key="data_upload").set_value((name, content, "text/csv"))
    at.run()
    assert not at.exception
    return at


def page_text(at) -> str:
    """Everything a person reads on the page: text, notices, and table cells (as CSV)."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value for e in at.success] + [e.value for e in at.subheader]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(str(p) for p in parts)


def sign_in(at, username: str, password: str):
    """Submit the sign-in form; in a browser the cookie component then reruns the app, here we rerun."""
    inputs = {t.label: t for t in at.text_input}
    inputs["Username"].input(username)
    inputs["Password"].input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    if at.session_state["authentication_status"]:
        at.run()
    return at


def signed_in(at) -> bool:
    return "Username" not in [t.label for t in at.text_input] and bool(at.session_state["authentication_status"])


@pytest.fixture()
def served_on_loopback():
    """Streamlit's ``server.address`` set to 127.0.0.1, as ``make run`` does (AppTest leaves it unset,
    and demo logins work only on a loopback address). Autouse for the page tests (tests/views/conftest.py)."""
    from streamlit import config

    old = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", old)


def record_downloads(monkeypatch) -> dict[str, object]:
    """Capture what each ``st.download_button`` would serve, by key (the data or its callable)."""
    import streamlit as st  # deferred: import time (only the tests that record downloads)

    served: dict[str, object] = {}
    original = st.download_button

    def recording(label, data, *args, **kwargs):
        served[kwargs.get("key")] = data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording)
    return served
