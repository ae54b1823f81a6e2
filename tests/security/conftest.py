"""Helpers for the authentication attack tests: a demo workspace, the CLI, signing in through the page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from data import users as user_store
from data.workspace import open_workspace
from tests.data.tiny import write_tiny
from tests.views.conftest import run_app, served_on_loopback, tiny_ws  # noqa: F401 - fixtures re-exported

ROOT = Path(__file__).resolve().parents[2]


def cli(ws: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python cli.py --workspace WS ARGS`` in a new process."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(ws), *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def page_text(at) -> str:
    """Everything a person reads on the page: text, notices, and table cells."""
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
def demo_ws(tmp_path, monkeypatch):
    """A tiny company with the demo logins (the demo mark set), served by the app."""
    ws = open_workspace(str(tmp_path / "ws"))
    write_tiny(ws.warehouse)
    user_store.create_demo_users(ws.settings.auth_file, ["Avery Chen", "Jordan Patel"])
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    return ws


@pytest.fixture(params=[None, "0.0.0.0", "192.0.2.10"], ids=["unset", "all-interfaces", "public-ip"])
def exposed_server(request, served_on_loopback):  # noqa: F811 - runs after the loopback default
    """``server.address`` of a server reachable from other machines (unset means every interface)."""
    from streamlit import config

    config.set_option("server.address", request.param)
    return request.param
