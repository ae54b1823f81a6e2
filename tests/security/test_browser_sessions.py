"""In a real browser against `streamlit run`: the re-login cookie's flags and revocation, no error details."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from bench.browser import AUTH_COOKIE, ROOT, Server, free_port, login, wait_for_auth_cookie, wait_idle
from data import users as user_store
from data.workspace import open_workspace
from tests.support.cli import cli
from tests.support.workspaces import write_tiny

pytestmark = pytest.mark.e2e


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture()
def tiny_server(tmp_path):
    ws = open_workspace(str(tmp_path / "ws"))
    write_tiny(ws.warehouse)
    for name, role, csm in [("manager", "manager", None), ("csm1", "csm", "Avery Chen")]:
        user_store.add_user(ws.settings.auth_file, name, role=role, password=f"{name}-password", csm=csm)
    with Server(ws.path) as server:
        yield server, ws


def _signed_in(page, server, username: str) -> None:
    login(page, server.url, username, f"{username}-password", path="/accounts")
    page.get_by_role("heading", name="Accounts").first.wait_for()  # a rerun may briefly show the old heading too
    wait_for_auth_cookie(page)


def _shows_sign_in(page) -> bool:
    page.get_by_role("button", name="Sign in").wait_for()
    return True


def test_cookie_flags_and_revocation_by_password_reset(page, tiny_server):
    server, ws = tiny_server
    _signed_in(page, server, "csm1")
    cookie = next(c for c in page.context.cookies() if c["name"] == AUTH_COOKIE)
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http on 127.0.0.1; set when served over https
    assert cookie["httpOnly"] is False  # written by JavaScript (the cookie manager component): see README
    page.reload()
    page.get_by_role("heading", name="Accounts").first.wait_for()  # the cookie signs the new session in

    r = cli("users", "set-password", "csm1", "--password-stdin", stdin="a-new-password\n", ws=ws.path)
    assert r.returncode == 0, r.stderr
    page.reload()
    assert _shows_sign_in(page)
    wait_idle(page)
    assert page.get_by_role("heading", name="Accounts").count() == 0


def test_damaged_warehouse_shows_a_plain_message_in_the_browser(page, tiny_server):
    server, ws = tiny_server
    _signed_in(page, server, "manager")
    pointer = ws.warehouse.root / "CURRENT.json"
    pointer.write_text(pointer.read_text()[:5])
    page.reload()
    page.get_by_text("The data of this workspace cannot be read").wait_for()
    wait_idle(page)
    content = page.content()
    assert "cli.py demo --force" in content
    assert str(ws.path) not in content and "Traceback" not in content and "JSONDecodeError" not in content
    assert str(ws.warehouse.root) in (ws.path / "streamlit.log").read_text()  # details in the server log


def test_an_uncaught_exception_shows_no_details_in_the_browser(page, tmp_path):
    port = free_port()
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "tests" / "security" / "apps" / "crash_app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator('[data-testid="stException"], [data-testid="stAlert"]').first.wait_for()
        wait_idle(page)
        text = page.inner_text("body")
        assert "/srv/secret" not in text and "Traceback" not in text and "RuntimeError" not in text
        assert "crash_app.py" not in text
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    assert "/srv/secret/operational.sqlite" in (tmp_path / "streamlit.log").read_text()
