"""AppTest helpers for the benchmark: a logged-in session on a page, and what went wrong on it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE_FILES = {"portfolio": "views/portfolio.py", "accounts": "views/accounts.py", "account": "views/account.py"}


def new_session(page: str, params: dict | None = None, *, username: str = "manager", timeout: float = 300):
    """An AppTest of app.py logged in as ``username`` on ``page`` (not yet run)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.switch_page(PAGE_FILES[page])
    return at


def problems(at) -> list[str]:
    """Exceptions and error boxes on the rendered page, and a blank page."""
    out = [f"exception: {e.value}"[:300] for e in at.exception]
    out += [f"error: {e.value}"[:300] for e in at.error]
    if len(at.main.children) <= 1:
        out.append("blank page")
    return out


def caption_text(at) -> str:
    return " | ".join(str(c.value) for c in at.caption)
