"""AppTest helpers: run the real app.py as a given user on a given page, and read what a page says.

Every run goes through the page-crash guard of ``tests/support/apptest_guard.py`` (autouse).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

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


def button(at, label: str):
    """The first button labelled ``label``."""
    return next(b for b in at.button if b.label == label)


def upload(at, name: str, content: bytes):
    """Put a CSV file into the Data page's uploader and rerun."""
    at.file_uploader(key="data_upload").set_value((name, content, "text/csv"))
    at.run()
    assert not at.exception
    return at
