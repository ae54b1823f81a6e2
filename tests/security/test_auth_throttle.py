"""The login throttle: five failures in 15 minutes pause sign-in per username and per client, across sessions."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from data import signin
from data.opstore import now
from tests.support.apptest import page_text, run_app, sign_in, signed_in
from tests.support.cli import ROOT


@pytest.mark.stores
def test_twelve_wrong_passwords_then_the_right_one_is_refused(tiny_ws):
    at = run_app(None)
    for i in range(12):
        at = sign_in(at, "csm1", f"wrong-password-{i}")
        assert not at.exception and not signed_in(at)
    assert "Too many failed sign-ins for this username" in page_text(at)
    at = sign_in(at, "csm1", "csm1-password")
    assert not at.exception
    assert not signed_in(at)
    assert "Too many failed sign-ins" in page_text(at) and "minute" in page_text(at)

    # a new browser session does not reset it
    again = sign_in(run_app(None), "csm1", "csm1-password")
    assert not again.exception and not signed_in(again)
    assert "Too many failed sign-ins" in page_text(again)


@pytest.mark.stores
def test_a_restart_does_not_reset_the_throttle(tiny_ws):
    at = run_app(None)
    for i in range(5):
        at = sign_in(at, "manager", f"nope-{i}")
    # a restart: a new process with its own engine reads the same counters
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; from data.workspace import open_workspace; from data.signin import lockout; "
         "print(lockout(open_workspace(sys.argv[1]).engine, 'manager', 'elsewhere'))", str(tiny_ws.path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert "reason='username'" in probe.stdout
    # and in this process with fresh engines and settings, as after a restart of the server
    from components import session
    from data import opstore

    opstore._engines.clear()
    session._workspaces.clear()
    at = sign_in(run_app(None), "manager", "manager-password")
    assert not at.exception and not signed_in(at)
    assert "Too many failed sign-ins" in page_text(at)


@pytest.mark.stores
def test_failures_from_one_client_lock_that_client_for_every_username(tiny_ws):
    at = run_app(None)
    for name in ("nobody1", "nobody2", "nobody3", "csm2", "nobody5"):
        at = sign_in(at, name, "guess-password")
    at = sign_in(at, "datasci", "datasci-password")
    assert not signed_in(at)
    assert "Too many failed sign-ins from this computer" in page_text(at)


def test_failures_for_one_username_from_many_clients_lock_the_username(tiny_ws, monkeypatch):
    from components import auth

    clients = iter(f"203.0.113.{i}" for i in range(1, 100))
    monkeypatch.setattr(auth, "_client", lambda: next(clients))
    at = run_app(None)
    for i in range(5):
        at = sign_in(at, "admin", f"guess-{i}")
    at = sign_in(at, "admin", "admin-password")
    assert not signed_in(at)
    assert "for this username" in page_text(at)


@pytest.mark.stores
def test_fewer_failures_or_an_ended_cooldown_let_the_right_password_in(tiny_ws):
    at = run_app(None)
    for i in range(4):
        at = sign_in(at, "csm2", f"typo-{i}")
    at = sign_in(at, "csm2", "csm2-password")
    assert not at.exception and signed_in(at)
    # the success ended the run of failures
    assert signin.lockout(tiny_ws.engine, "csm2", "local") is None
    for _ in range(5):
        signin.record_attempt(tiny_ws.engine, "csm2", "local", False)
    assert signin.lockout(tiny_ws.engine, "csm2", "local") is not None
    assert signin.lockout(tiny_ws.engine, "csm2", "local", at=now() + signin.COOLDOWN + timedelta(seconds=5)) is None


@pytest.mark.parametrize("remote, forwarded, expected", [
    (None, None, "local"),                                    # localhost, no proxy
    ("93.184.216.34", None, "93.184.216.34"),                 # directly exposed
    ("93.184.216.34", "151.101.1.69", "93.184.216.34"),       # a client cannot pick its identity by header
    ("127.0.0.1", "151.101.1.69, 93.184.216.34", "93.184.216.34"),  # behind a local proxy: the address it saw
    ("10.0.0.5", "93.184.216.34", "93.184.216.34"),           # behind a proxy on the private network
    ("10.0.0.5", "not-an-ip", "10.0.0.5"),
])
def test_the_client_behind_a_proxy_is_the_address_the_proxy_saw(remote, forwarded, expected):
    assert signin.client_address(remote, forwarded) == expected


def test_an_empty_form_is_not_counted(tiny_ws):
    at = run_app(None)
    for _ in range(6):
        at = sign_in(at, "", "")
    assert "Enter your username and password." in page_text(at)
    assert signed_in(sign_in(at, "csm1", "csm1-password"))
