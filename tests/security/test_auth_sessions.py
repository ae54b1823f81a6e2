"""Re-login cookies are bound to a session and a per-user version: revocation and idle sign-out."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import extra_streamlit_components as stx
import pytest
import sqlalchemy as sa

from data import signin
from data import users as user_store
from tests.support.apptest import page_text, run_app, sign_in, signed_in
from tests.support.cli import cli


@pytest.fixture()
def cookies(monkeypatch):
    """The cookies the app writes, and the one a new session's browser sends (set ``browser['csai_auth']``)."""
    from components import auth

    written: list[dict] = []
    browser: dict[str, str] = {}
    original = stx.CookieManager.set

    def spy(self, cookie, val, **kwargs):
        written.append({"name": cookie, "value": val, **kwargs})
        return original(self, cookie, val, **kwargs)

    monkeypatch.setattr(stx.CookieManager, "set", spy)
    monkeypatch.setattr(auth, "_request_cookie", lambda name: browser.get(name))
    return written, browser


def _signed_in_with_cookie(username: str, password: str, cookies) -> tuple[object, str]:
    written, browser = cookies
    at = sign_in(run_app(None), username, password)
    assert signed_in(at)
    token = written[-1]["value"]
    assert written[-1]["name"] == "csai_auth"
    return at, token


def _new_browser_session(token: str, cookies):
    cookies[1]["csai_auth"] = token
    at = run_app(None)
    assert not at.exception
    return at


@pytest.mark.stores
def test_the_cookie_signs_in_a_new_session_and_is_strict(tiny_ws, cookies):
    _, token = _signed_in_with_cookie("csm1", "csm1-password", cookies)
    assert cookies[0][-1]["same_site"] == "strict"
    assert cookies[0][-1]["secure"] is None  # plain http here; Secure is set when served over https
    at = _new_browser_session(token, cookies)
    assert signed_in(at) and at.session_state["username"] == "csm1"
    # a forged token (other key) or a tampered username is refused
    claims = signin.read_token(user_store.load_auth(tiny_ws.settings.auth_file)["cookie"]["key"], token)
    tomorrow = datetime.now() + timedelta(days=1)
    forged = signin.make_token("not-the-workspace-cookie-key-000", "admin", claims["sv"], claims["sid"], tomorrow)
    assert not signed_in(_new_browser_session(forged, cookies))
    key = user_store.load_auth(tiny_ws.settings.auth_file)["cookie"]["key"]
    stolen_sid = signin.make_token(key, "admin", 0, claims["sid"], tomorrow)  # csm1's session, admin's name
    assert not signed_in(_new_browser_session(stolen_sid, cookies))


@pytest.mark.stores
def test_password_reset_by_cli_revokes_old_cookie_and_open_session(tiny_ws, cookies):
    live, token = _signed_in_with_cookie("csm1", "csm1-password", cookies)
    r = cli("users", "set-password", "csm1", "--password-stdin", stdin="brand-new-pass\n", ws=tiny_ws.path)
    assert r.returncode == 0, r.stderr
    assert not signed_in(_new_browser_session(token, cookies))
    live.run()
    assert not live.exception and not signed_in(live)
    assert "signed out" in page_text(live)


def test_removal_by_cli_revokes_old_cookie_even_if_the_name_comes_back(tiny_ws, cookies):
    _, token = _signed_in_with_cookie("csm2", "csm2-password", cookies)
    assert cli("users", "remove", "csm2", ws=tiny_ws.path).returncode == 0
    assert not signed_in(_new_browser_session(token, cookies))
    r = cli("users", "add", "csm2", "--role", "csm", "--csm", "Jordan Patel", "--password-stdin", stdin="another-pass-1\n", ws=tiny_ws.path)
    assert r.returncode == 0, r.stderr
    assert not signed_in(_new_browser_session(token, cookies))


def _admin_access_tab(at, username: str, button: str):
    at.selectbox(key="access_user").set_value(username)
    next(b for b in at.button if b.label == button).click()
    at.run()
    assert not at.exception
    return at


@pytest.mark.stores
def test_role_change_and_log_out_everywhere_in_admin_revoke_old_cookies(tiny_ws, cookies):
    _, token = _signed_in_with_cookie("manager", "manager-password", cookies)
    admin = run_app("admin", "views/admin.py")
    admin.selectbox(key="role_user").set_value("manager")
    admin.selectbox(key="role_new").set_value("data_scientist")
    next(b for b in admin.button if b.label == "Change role").click()
    admin.run()
    assert not admin.exception
    assert not signed_in(_new_browser_session(token, cookies))

    _, token = _signed_in_with_cookie("csm1", "csm1-password", cookies)
    admin = _admin_access_tab(run_app("admin", "views/admin.py"), "csm1", "Log out everywhere")
    assert "signed out in every browser" in page_text(admin)
    assert not signed_in(_new_browser_session(token, cookies))
    # the password still works: only the sign-ins were ended
    assert signed_in(sign_in(run_app(None), "csm1", "csm1-password"))


def test_log_out_everywhere_for_oneself(tiny_ws, cookies):
    other_browser, token = _signed_in_with_cookie("datasci", "datasci-password", cookies)
    at = _new_browser_session(token, cookies)
    assert signed_in(at)
    next(b for b in at.button if b.key == "logout_everywhere_button").click()
    at.run()
    assert not at.exception and not signed_in(at)
    other_browser.run()
    assert not signed_in(other_browser)
    assert not signed_in(_new_browser_session(token, cookies))


@pytest.mark.stores
def test_log_out_ends_the_cookie_of_that_session(tiny_ws, cookies):
    at, token = _signed_in_with_cookie("csm1", "csm1-password", cookies)
    next(b for b in at.button if b.key == "logout_button").click()
    at.run()
    assert not at.exception and not signed_in(at)
    assert not signed_in(_new_browser_session(token, cookies))


@pytest.mark.stores
def test_an_idle_session_is_signed_out(tiny_ws, cookies):
    at, token = _signed_in_with_cookie("csm1", "csm1-password", cookies)
    at.session_state["_auth_seen"] = time.time() - 9 * 3600
    at.run()
    assert not at.exception and not signed_in(at)
    assert "8 hour(s) without activity" in page_text(at)


def test_an_idle_cookie_is_refused(tiny_ws, cookies):
    _, token = _signed_in_with_cookie("csm2", "csm2-password", cookies)
    assert signed_in(_new_browser_session(token, cookies))
    with tiny_ws.engine.begin() as conn:  # nine hours pass without a click
        conn.execute(sa.update(signin.auth_sessions).values(
            last_seen_at=signin.now() - timedelta(hours=9)))
    assert not signed_in(_new_browser_session(token, cookies))


def test_idle_timeout_is_a_setting(tiny_ws, cookies, monkeypatch):
    from components import session

    monkeypatch.setenv("CSAI_IDLE_TIMEOUT_HOURS", "1")
    session._workspaces.clear()
    at, _ = _signed_in_with_cookie("csm1", "csm1-password", cookies)
    at.session_state["_auth_seen"] = time.time() - 2 * 3600
    at.run()
    assert not signed_in(at) and "1 hour(s) without activity" in page_text(at)
    monkeypatch.setenv("CSAI_IDLE_TIMEOUT_HOURS", "0")
    session._workspaces.clear()
    at = run_app(None)
    assert not at.exception
    assert "CSAI_IDLE_TIMEOUT_HOURS" in page_text(at)
    session._workspaces.clear()
